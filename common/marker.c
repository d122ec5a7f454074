/*
 * marker.c -- HMAC marker of re-submitted copies; see marker.h.
 */
#include "marker.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

int
marker_secret_load(const char *path, struct marker_secret *s, char *err,
    size_t errlen)
{
	char buf[256];
	struct stat st;
	ssize_t n;
	size_t len;
	int fd;

	memset(s, 0, sizeof(*s));
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0) {
		close(fd);
		snprintf(err, errlen, "%s: must be a regular file readable by "
		    "its owner only (chmod 600)", path);
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	buf[n] = '\0';
	len = strcspn(buf, "\r\n");
	if (len < MARKER_SECRET_MIN) {
		OPENSSL_cleanse(buf, sizeof(buf));
		snprintf(err, errlen, "%s: the secret must have at least %d "
		    "characters", path, MARKER_SECRET_MIN);
		return -1;
	}
	if (len > sizeof(s->key))
		len = sizeof(s->key);
	memcpy(s->key, buf, len);
	s->len = len;
	OPENSSL_cleanse(buf, sizeof(buf));
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* HMAC over "v1\n" t "\n" message-id "\n" then each recipient
 * (lower-cased, sorted) followed by a NUL. */
static int
compute(const struct marker_secret *s, const char *message_id,
    const char *const *rcpts, size_t n, long long t, unsigned char *mac,
    unsigned *maclen)
{
	char **sorted = calloc(n + 1, sizeof(*sorted)), *buf = NULL;
	size_t i, k, len, total;
	int ok = sorted != NULL;

	total = 64 + (message_id != NULL ? strlen(message_id) : 0);
	for (i = 0; ok && i < n; i++) {
		if ((sorted[i] = strdup(rcpts[i])) == NULL)
			ok = 0;
		else {
			for (k = 0; sorted[i][k] != '\0'; k++)
				sorted[i][k] = (char)tolower(
				    (unsigned char)sorted[i][k]);
			total += k + 1;
		}
	}
	if (ok && n > 1)
		qsort(sorted, n, sizeof(*sorted), cmp_str);
	if (ok && (buf = malloc(total)) == NULL)
		ok = 0;
	if (ok) {
		len = (size_t)snprintf(buf, total, "v1\n%lld\n%s\n", t,
		    message_id != NULL ? message_id : "");
		for (i = 0; i < n; i++) {
			k = strlen(sorted[i]) + 1;	/* with its NUL */
			memcpy(buf + len, sorted[i], k);
			len += k;
		}
		ok = HMAC(EVP_sha256(), s->key, (int)s->len,
		    (const unsigned char *)buf, len, mac, maclen) != NULL;
	}
	for (i = 0; sorted != NULL && i < n; i++)
		free(sorted[i]);
	free(sorted);
	free(buf);
	return ok ? 0 : -1;
}

int
marker_make(const struct marker_secret *s, const char *message_id,
    const char *const *rcpts, size_t nrcpts, time_t now, char *out,
    size_t outlen)
{
	unsigned char mac[EVP_MAX_MD_SIZE], b64[128];
	unsigned maclen = 0;

	if (compute(s, message_id, rcpts, nrcpts, (long long)now, mac,
	    &maclen) != 0)
		return -1;
	EVP_EncodeBlock(b64, mac, (int)maclen);
	if ((size_t)snprintf(out, outlen, "v1; t=%lld; h=%s", (long long)now,
	    b64) >= outlen)
		return -1;
	return 0;
}

bool
marker_verify(const struct marker_secret *s, const char *value,
    const char *message_id, const char *const *rcpts, size_t nrcpts,
    time_t now)
{
	char want[128];
	long long t;
	const char *p = value;

	while (*p == ' ' || *p == '\t')
		p++;
	if (s->len == 0 || sscanf(p, "v1; t=%lld;", &t) != 1)
		return false;
	if (t > (long long)now + 3600 || (long long)now - t > MARKER_MAX_AGE)
		return false;
	if (marker_make(s, message_id, rcpts, nrcpts, (time_t)t, want,
	    sizeof(want)) != 0)
		return false;
	/* Compare the whole value in constant time (trailing blanks of a
	 * header value are not part of it). */
	{
		size_t wl = strlen(want), vl = strlen(p);

		while (vl > 0 && (p[vl - 1] == ' ' || p[vl - 1] == '\t' ||
		    p[vl - 1] == '\r' || p[vl - 1] == '\n'))
			vl--;
		return vl == wl && CRYPTO_memcmp(want, p, wl) == 0;
	}
}
