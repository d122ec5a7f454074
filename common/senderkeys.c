/*
 * senderkeys.c -- the SenderKeys store: a sorted array of (address,
 * signer, file), built once by senderkeys_load and never changed after.
 * Reading the key files themselves is keyfile.c's job.
 */
#include "senderkeys.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>

#include "address.h"
#include "certcheck.h"
#include "keyfile.h"
#include "log.h"

#define SK_ADDR_MAX 330		/* address_normalise allows 320 */

struct entry {
	char *address;		/* lower-cased */
	char *file;		/* path of the .p12 or .key file */
	struct signer signer;
};

struct senderkeys {
	struct entry *entries;
	size_t count, cap;
};

/*
 * Is name a key file, ADDRESS.p12 or ADDRESS.key with exactly one '@'?
 * Fills address (lower-cased) and *pem.
 */
static bool
key_file_name(const char *name, char *address, bool *pem)
{
	const char *dot = strrchr(name, '.'), *at = strchr(name, '@');
	char stem[SK_ADDR_MAX];
	size_t n;

	if (dot == NULL || name[0] == '.')
		return false;
	if (strcmp(dot, ".p12") == 0)
		*pem = false;
	else if (strcmp(dot, ".key") == 0)
		*pem = true;
	else
		return false;
	n = (size_t)(dot - name);
	if (at == NULL || at > dot || strchr(at + 1, '@') != NULL ||
	    n >= sizeof(stem))
		return false;
	memcpy(stem, name, n);
	stem[n] = '\0';
	/* address_normalise would strip these; a file name keeps them. */
	if (stem[strcspn(stem, " \t<>")] != '\0')
		return false;
	return address_normalise(stem, address, SK_ADDR_MAX) == 0;
}

static int
push_entry(struct senderkeys *sk, const char *address, const char *file,
    struct signer *s)
{
	struct entry *e;

	if (sk->count == sk->cap) {
		size_t cap = sk->cap ? 2 * sk->cap : 16;

		if ((e = reallocarray(sk->entries, cap, sizeof(*e))) == NULL)
			return -1;
		sk->entries = e;
		sk->cap = cap;
	}
	e = &sk->entries[sk->count];
	e->address = strdup(address);
	e->file = strdup(file);
	if (e->address == NULL || e->file == NULL) {
		free(e->address);
		free(e->file);
		return -1;
	}
	e->signer = *s;
	sk->count++;
	return 0;
}

/* Load dir/name (a key file for address) into the store. */
static int
add_key(struct senderkeys *sk, const char *dir, const char *name,
    const char *address, bool pem, const char *pass, char *err,
    size_t errlen)
{
	struct signer s;
	char path[PATH_MAX], crt[PATH_MAX];
	int n = snprintf(path, sizeof(path), "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= sizeof(path)) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	/* ADDRESS.key -> ADDRESS.crt, same length. */
	snprintf(crt, sizeof(crt), "%.*scrt", n - 3, path);
	if ((pem ? keyfile_load_pem(&s, path, crt, pass, err, errlen) :
	    keyfile_load_p12(&s, path, pass, err, errlen)) != 0)
		return -1;
	/* A key filed under the wrong name would sign as someone else. */
	if (!cert_has_address(s.cert, address, false)) {
		snprintf(err, errlen, "%s: the certificate does not name %s "
		    "in subjectAltName", path, address);
		goto fail;
	}
	if (X509_cmp_current_time(X509_get0_notAfter(s.cert)) < 0)
		log_msg(LOG_LVL_WARNING, "sender key %s: certificate has "
		    "expired", path);
	if (push_entry(sk, address, path, &s) != 0) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	return 0;
fail:
	signer_free(&s);
	return -1;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmp_entries(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->address,
	    ((const struct entry *)b)->address);
}

/*
 * The names in dir but for those starting with '.', sorted so that errors
 * come out in a stable order.
 */
static char **
list_dir(const char *dir, size_t *countp, char *err, size_t errlen)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL, **grown;
	size_t count = 0, cap = 0;

	if (d == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return NULL;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')	/* ".", "..", hidden files */
			continue;
		if (count + 1 >= cap) {
			cap = cap ? 2 * cap : 32;
			if ((grown = reallocarray(names, cap,
			    sizeof(*names))) == NULL)
				goto oom;
			names = grown;
		}
		if ((names[count] = strdup(de->d_name)) == NULL)
			goto oom;
		count++;
	}
	closedir(d);
	if (names == NULL && (names = calloc(1, sizeof(*names))) == NULL)
		goto oom_closed;
	qsort(names, count, sizeof(*names), cmp_names);
	*countp = count;
	return names;
oom:
	closedir(d);
oom_closed:
	while (count > 0)
		free(names[--count]);
	free(names);
	snprintf(err, errlen, "%s: out of memory", dir);
	return NULL;
}

/* Is name the X.crt of an X.key in the (sorted) listing? */
static bool
is_key_certificate(const char *name, char **names, size_t count)
{
	size_t n = strlen(name);
	char key[NAME_MAX + 1];
	const char *k = key;

	if (n < 4 || n > NAME_MAX || strcmp(name + n - 4, ".crt") != 0)
		return false;
	memcpy(key, name, n - 3);
	memcpy(key + n - 3, "key", 4);
	return bsearch(&k, names, count, sizeof(*names), cmp_names) != NULL;
}

/* Every key file of the directory; names is its sorted listing. */
static int
load_dir(struct senderkeys *sk, const char *dir, char **names,
    size_t count, const char *pass_file, char *err, size_t errlen)
{
	char pass[KEYFILE_PASS_MAX] = "", address[SK_ADDR_MAX];
	bool have_pass = false, pem;
	size_t i;
	int rc = -1;

	if (pass_file != NULL) {
		if (keyfile_read_passphrase(pass_file, pass, err,
		    errlen) != 0)
			goto cleanup;
		have_pass = true;
	}
	for (i = 0; i < count; i++) {
		if (!key_file_name(names[i], address, &pem)) {
			if (!is_key_certificate(names[i], names, count))
				log_msg(LOG_LVL_DEBUG, "SenderKeys %s: ignored "
				    "%s (not ADDRESS.p12 or ADDRESS.key)", dir,
				    names[i]);
			continue;
		}
		if (!have_pass) {
			snprintf(err, errlen, "%s/%s: SenderKeyPassphraseFile "
			    "is not set", dir, names[i]);
			goto cleanup;
		}
		if (add_key(sk, dir, names[i], address, pem, pass, err,
		    errlen) != 0)
			goto cleanup;
	}
	if (sk->count > 1)	/* entries is NULL while empty */
		qsort(sk->entries, sk->count, sizeof(*sk->entries),
		    cmp_entries);
	for (i = 1; i < sk->count; i++)
		if (strcmp(sk->entries[i - 1].address,
		    sk->entries[i].address) == 0) {
			snprintf(err, errlen, "%s: %s and %s are both keys "
			    "for %s", dir, sk->entries[i - 1].file,
			    sk->entries[i].file, sk->entries[i].address);
			goto cleanup;
		}
	rc = 0;
cleanup:
	OPENSSL_cleanse(pass, sizeof(pass));
	return rc;
}

struct senderkeys *
senderkeys_load(const char *dir, const char *passphrase_file, char *err,
    size_t errlen)
{
	struct senderkeys *sk = calloc(1, sizeof(*sk));
	struct stat st;
	char **names = NULL;
	size_t count = 0;
	int rc = -1;

	assert(err != NULL && errlen > 0);
	if (sk == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (dir == NULL)
		return sk;
	if (stat(dir, &st) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		goto cleanup;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		goto cleanup;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		snprintf(err, errlen, "%s: mode %04o lets group or others "
		    "replace keys (chmod go-w)", dir,
		    (unsigned)(st.st_mode & 07777));
		goto cleanup;
	}
	if ((names = list_dir(dir, &count, err, errlen)) == NULL)
		goto cleanup;
	rc = load_dir(sk, dir, names, count, passphrase_file, err, errlen);
cleanup:
	while (count > 0)
		free(names[--count]);
	free(names);
	if (rc != 0) {
		senderkeys_free(sk);
		sk = NULL;
	}
	return sk;
}

void
senderkeys_free(struct senderkeys *sk)
{
	size_t i;

	if (sk == NULL)
		return;
	for (i = 0; i < sk->count; i++) {
		free(sk->entries[i].address);
		free(sk->entries[i].file);
		signer_free(&sk->entries[i].signer);
	}
	free(sk->entries);
	free(sk);
}

static int
cmp_key(const void *key, const void *elem)
{
	return strcmp(key, ((const struct entry *)elem)->address);
}

const struct signer *
senderkeys_find(const struct senderkeys *sk, const char *address)
{
	char norm[SK_ADDR_MAX];
	const struct entry *e;

	assert(sk != NULL && address != NULL);
	if (sk->count == 0 || address_normalise(address, norm,
	    sizeof(norm)) != 0)
		return NULL;
	e = bsearch(norm, sk->entries, sk->count, sizeof(*sk->entries),
	    cmp_key);
	return e != NULL ? &e->signer : NULL;
}

size_t
senderkeys_count(const struct senderkeys *sk)
{
	assert(sk != NULL);
	return sk->count;
}

void
senderkeys_entry(const struct senderkeys *sk, size_t i,
    const char **address, const X509 **cert, const char **file)
{
	assert(sk != NULL && i < sk->count);
	if (address != NULL)
		*address = sk->entries[i].address;
	if (cert != NULL)
		*cert = sk->entries[i].signer.cert;
	if (file != NULL)
		*file = sk->entries[i].file;
}
