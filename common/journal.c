/*
 * journal.c -- re-submission journal; see journal.h.
 */
#include "journal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "address.h"
#include "message.h"
#include "spool.h"

static void
hex(const unsigned char *md, unsigned n, char *out, size_t outlen)
{
	unsigned i;

	for (i = 0; i < n && 2 * i + 2 < outlen; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Feed the list in canonical form (address.h: the domain lower-cased,
 * the local part as it is, since "Bob" and "bob" may be two mailboxes),
 * sorted, each item ended by a NUL.
 */
static int
digest_list(EVP_MD_CTX *ctx, const char *const *v, size_t n)
{
	char **canon = calloc(n + 1, sizeof(*canon));
	size_t i;
	int ok = canon != NULL;

	for (i = 0; ok && i < n; i++) {
		char buf[ADDRESS_MAX + 1];

		if (address_canonical(v[i], buf, sizeof(buf)) < 0)
			snprintf(buf, sizeof(buf), "%s", v[i]);
		ok = (canon[i] = strdup(buf)) != NULL;
	}
	if (ok && n > 1)
		qsort(canon, n, sizeof(*canon), cmp_str);
	for (i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, canon[i], strlen(canon[i]) + 1) == 1;
	for (i = 0; canon != NULL && i < n; i++)
		free(canon[i]);
	free(canon);
	return ok ? 0 : -1;
}

int
journal_fingerprint(const struct message *msg, char *out, size_t outlen)
{
	static const char *const fields[] = { "Message-ID", "Date", "From",
	    "Subject", NULL };
	unsigned char md[EVP_MAX_MD_SIZE], buf[65536];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned mdlen = 0;
	uint64_t off = 0;
	ssize_t got;
	char err[128];
	size_t i, f;
	int ok = ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1;

	ok = ok && EVP_DigestUpdate(ctx, msg->sender,
	    strlen(msg->sender) + 1) == 1;
	ok = ok && digest_list(ctx, (const char *const *)msg->rcpts,
	    msg->nrcpts) == 0;
	for (f = 0; ok && fields[f] != NULL; f++)
		for (i = 0; ok && i < msg->nheaders; i++)
			if (strcasecmp(msg->headers[i].name, fields[f]) == 0)
				ok = EVP_DigestUpdate(ctx, msg->headers[i].value,
				    strlen(msg->headers[i].value) + 1) == 1;
	while (ok && (got = spool_read(msg->body, off, buf, sizeof(buf), err,
	    sizeof(err))) > 0) {
		ok = EVP_DigestUpdate(ctx, buf, (size_t)got) == 1;
		off += (uint64_t)got;
	}
	if (ok && got < 0)
		ok = 0;
	ok = ok && EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
	EVP_MD_CTX_free(ctx);
	if (!ok || outlen < JOURNAL_KEY_LEN + 1)
		return -1;
	hex(md, mdlen, out, outlen);
	return 0;
}

void
journal_copy_key(const char *const *rcpts, size_t n, char *out,
    size_t outlen)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned mdlen = 0;

	out[0] = '\0';
	if (ctx != NULL && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
	    digest_list(ctx, rcpts, n) == 0 &&
	    EVP_DigestFinal_ex(ctx, md, &mdlen) == 1)
		hex(md, mdlen, out, outlen);
	EVP_MD_CTX_free(ctx);
}

/* Only our own hex fingerprints name files: nothing can point
 * elsewhere. */
static int
record_path(const char *dir, const char *fingerprint, char *out,
    size_t outlen)
{
	size_t i;

	for (i = 0; i < JOURNAL_KEY_LEN; i++)
		if (!isxdigit((unsigned char)fingerprint[i]))
			return -1;
	if (fingerprint[i] != '\0')
		return -1;
	snprintf(out, outlen, "%s/%s", dir, fingerprint);
	return 0;
}

bool
journal_has(const char *dir, const char *fingerprint, const char *copy_key)
{
	char path[4200], line[128];
	bool found = false;
	FILE *f;

	if (record_path(dir, fingerprint, path, sizeof(path)) != 0 ||
	    (f = fopen(path, "r")) == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		found = strcmp(line, copy_key) == 0;
	}
	fclose(f);
	return found;
}

int
journal_add(const char *dir, const char *fingerprint, const char *copy_key,
    char *err, size_t errlen)
{
	char path[4200], line[128];
	int fd, len;

	if (record_path(dir, fingerprint, path, sizeof(path)) != 0) {
		snprintf(err, errlen, "journal: bad fingerprint");
		return -1;
	}
	len = snprintf(line, sizeof(line), "%s\n", copy_key);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
	    0600)) < 0 && errno == ENOENT && mkdir(dir, 0700) == 0)
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		    0600);
	if (fd < 0 || write(fd, line, (size_t)len) != len ||
	    fsync(fd) != 0) {
		snprintf(err, errlen, "journal %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void
journal_forget(const char *dir, const char *fingerprint)
{
	char path[4200];

	if (record_path(dir, fingerprint, path, sizeof(path)) == 0)
		(void)unlink(path);
}

void
journal_expire(const char *dir, time_t now)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct stat st;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strlen(e->d_name) != JOURNAL_KEY_LEN)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    0 && S_ISREG(st.st_mode) && now - st.st_mtime >
		    JOURNAL_MAX_AGE)
			(void)unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}
