/*
 * certsrc_dir.c -- the directory certificate store.
 *
 * The index is an immutable snapshot (sorted array of address -> cert)
 * behind a reference count: lookups take a reference under a short lock
 * and search without holding it, so a reload never blocks look-ups and
 * never frees a snapshot that is still being read.
 */
#include "certsrc_dir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include "certcheck.h"
#include "log.h"

#define DIR_MAX_FILE_BYTES (1024 * 1024)
#define DIR_MAX_FILES 100000

struct entry {
	char *address;
	X509 *cert;
	const char *file;	/* points into snapshot->files */
	struct smime_caps caps;	/* from FILE.caps beside it, if any */
};

struct snapshot {
	_Atomic int refs;
	struct entry *entries;
	size_t nentries;
	char **files;
	size_t nfiles;
	STACK_OF(X509) *cas;	/* CA certificates found in the directory */
	struct certdir_stats stats;
};

struct certdir {
	char *path;
	pthread_mutex_t lock;	/* guards current */
	struct snapshot *current;
};

static void
snapshot_release(struct snapshot *snap)
{
	size_t i;

	if (snap == NULL || atomic_fetch_sub(&snap->refs, 1) != 1)
		return;
	for (i = 0; i < snap->nentries; i++) {
		free(snap->entries[i].address);
		X509_free(snap->entries[i].cert);
	}
	free(snap->entries);
	for (i = 0; i < snap->nfiles; i++)
		free(snap->files[i]);
	free(snap->files);
	sk_X509_pop_free(snap->cas, X509_free);
	free(snap);
}

void
cert_fingerprint(X509 *cert, char out[65])
{
	unsigned char md[32];
	unsigned int len = sizeof(md), i;

	if (X509_digest(cert, EVP_sha256(), md, &len) != 1)
		memset(md, 0, sizeof(md));
	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* Read a whole (small) file. */
static unsigned char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	unsigned char *buf = NULL;
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > DIR_MAX_FILE_BYTES || st.st_size == 0)
		goto done;
	if ((buf = malloc((size_t)st.st_size)) == NULL)
		goto done;
	n = read(fd, buf, (size_t)st.st_size);
	if (n != st.st_size) {
		free(buf);
		buf = NULL;
		goto done;
	}
	*len = (size_t)n;
done:
	close(fd);
	return buf;
}

static int
push_cert(STACK_OF(X509) *out, X509 *x)
{
	if (sk_X509_push(out, x) == 0) {
		X509_free(x);
		return -1;
	}
	return 0;
}

static void
take_pkcs7_certs(PKCS7 *p7, STACK_OF(X509) *out)
{
	STACK_OF(X509) *certs = NULL;
	int i;

	if (p7 != NULL && PKCS7_type_is_signed(p7) && p7->d.sign != NULL)
		certs = p7->d.sign->cert;
	for (i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		if (X509_up_ref(x))
			push_cert(out, x);
	}
}

/*
 * Parse a file as PEM certificates, PEM PKCS#7, DER certificate or DER
 * PKCS#7.  Returns the number of certificates appended to out.
 */
static int
parse_cert_file(const unsigned char *buf, size_t len, STACK_OF(X509) *out)
{
	const unsigned char *p;
	BIO *bio;
	X509 *x;
	PKCS7 *p7;
	int before = sk_X509_num(out);

	if ((bio = BIO_new_mem_buf(buf, (int)len)) == NULL)
		return 0;
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL)
		push_cert(out, x);
	ERR_clear_error();
	if (sk_X509_num(out) == before) {
		(void)BIO_reset(bio);
		p7 = PEM_read_bio_PKCS7(bio, NULL, NULL, NULL);
		take_pkcs7_certs(p7, out);
		PKCS7_free(p7);
		ERR_clear_error();
	}
	BIO_free(bio);
	if (sk_X509_num(out) == before) {
		p = buf;
		x = d2i_X509(NULL, &p, (long)len);
		if (x != NULL && p == buf + len)
			push_cert(out, x);
		else
			X509_free(x);
		ERR_clear_error();
	}
	if (sk_X509_num(out) == before) {
		p = buf;
		p7 = d2i_PKCS7(NULL, &p, (long)len);
		take_pkcs7_certs(p7, out);
		PKCS7_free(p7);
		ERR_clear_error();
	}
	return sk_X509_num(out) - before;
}

struct build {
	struct snapshot *snap;
	size_t cap;
	X509 *cert;
	const char *file;
	struct smime_caps caps;
	int failed;
};

static void
add_entry(const char *address, void *arg)
{
	struct build *b = arg;
	struct snapshot *s = b->snap;
	struct entry *grown;

	if (b->failed)
		return;
	if (s->nentries == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 64;

		grown = realloc(s->entries, cap * sizeof(*grown));
		if (grown == NULL) {
			b->failed = 1;
			return;
		}
		s->entries = grown;
		b->cap = cap;
	}
	s->entries[s->nentries].address = strdup(address);
	if (s->entries[s->nentries].address == NULL ||
	    !X509_up_ref(b->cert)) {
		free(s->entries[s->nentries].address);
		b->failed = 1;
		return;
	}
	s->entries[s->nentries].cert = b->cert;
	s->entries[s->nentries].file = b->file;
	s->entries[s->nentries].caps = b->caps;
	s->nentries++;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;
	int c = strcmp(x->address, y->address);

	return c != 0 ? c : X509_cmp(x->cert, y->cert);
}

static bool
is_ca(X509 *x)
{
	return X509_check_ca(x) != 0;
}

/*
 * Capabilities of the certificates of file: "NAME.caps" beside
 * "NAME.pem" (any extension), one line of algorithm names.  Written by
 * harvesting, or by an administrator to override what is known.
 */
static struct smime_caps
read_caps_file(const char *path)
{
	struct smime_caps caps = { 0, 0 };
	char line[256], err[128];
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return caps;
	if (fgets(line, sizeof(line), f) != NULL &&
	    smime_caps_parse(line, &caps, err, sizeof(err)) != 0) {
		log_msg(LOG_LVL_WARNING, "certificate store: %s: %s, ignored",
		    path, err);
		memset(&caps, 0, sizeof(caps));
	}
	fclose(f);
	return caps;
}

static struct smime_caps
read_caps(const char *file)
{
	const char *dot = strrchr(file, '.'), *slash = strrchr(file, '/');
	size_t stem = dot != NULL && dot > slash ? (size_t)(dot - file) :
	    strlen(file);
	char path[4200];

	snprintf(path, sizeof(path), "%.*s.caps", (int)stem, file);
	return read_caps_file(path);
}

bool
certsrc_dir_caps_for(struct certsrc *src, X509 *cert, struct smime_caps *caps)
{
	struct certdir *dir = src->impl;
	char fp[65], path[4200];

	cert_fingerprint(cert, fp);
	snprintf(path, sizeof(path), "%s/%s.caps", dir->path, fp);
	*caps = read_caps_file(path);
	return caps->known != 0;
}

/* Index one parsed certificate from file. */
static void
index_cert(struct build *b, X509 *x, const char *file)
{
	struct snapshot *s = b->snap;

	if (is_ca(x)) {
		if (X509_up_ref(x) && sk_X509_push(s->cas, x) == 0)
			X509_free(x);
		return;
	}
	b->cert = x;
	b->file = file;
	b->caps = read_caps(file);
	s->stats.certs++;
	cert_foreach_address(x, true, add_entry, b);
}

static int
x509_ptr_cmp(const X509 *const *a, const X509 *const *b)
{
	return X509_cmp(*a, *b);
}

/*
 * Each CA certificate once.  Files commonly carry their chain, so a
 * directory of 1,000 recipients' files holds the same intermediate 1,000
 * times; every candidate found here carries this stack (for chain
 * building), so duplicates would cost memory and time per recipient of
 * every message.  0, or -1 when out of memory.
 */
static int
unique_cas(struct snapshot *s)
{
	STACK_OF(X509) *u;
	int i, n = sk_X509_num(s->cas);

	if (n < 2)
		return 0;
	(void)sk_X509_set_cmp_func(s->cas, x509_ptr_cmp);
	sk_X509_sort(s->cas);
	/* Reserved: no push can fail, so no CA certificate can be lost. */
	if ((u = sk_X509_new_reserve(NULL, n)) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		X509 *x = sk_X509_value(s->cas, i);
		int kept = sk_X509_num(u);

		/* Sorted: a duplicate equals the last one kept. */
		if (kept > 0 && X509_cmp(x, sk_X509_value(u, kept - 1)) == 0)
			X509_free(x);
		else
			(void)sk_X509_push(u, x);	/* reserved */
	}
	sk_X509_free(s->cas);
	s->cas = u;
	return 0;
}

/* Drop identical (address, certificate) pairs, reporting them. */
static void
drop_duplicates(struct snapshot *s)
{
	size_t i, out = 0;

	for (i = 0; i < s->nentries; i++) {
		if (out > 0 && entry_cmp(&s->entries[out - 1],
		    &s->entries[i]) == 0) {
			log_msg(LOG_LVL_NOTICE, "certificate store: %s and %s "
			    "hold the same certificate for %s",
			    s->entries[out - 1].file, s->entries[i].file,
			    s->entries[i].address);
			s->stats.duplicates++;
			free(s->entries[i].address);
			X509_free(s->entries[i].cert);
			continue;
		}
		s->entries[out++] = s->entries[i];
	}
	s->nentries = out;
}

static int
add_file_name(struct snapshot *s, size_t *cap, const char *name)
{
	char **grown;

	if (s->nfiles == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		grown = realloc(s->files, *cap * sizeof(*grown));
		if (grown == NULL)
			return -1;
		s->files = grown;
	}
	if ((s->files[s->nfiles] = strdup(name)) == NULL)
		return -1;
	s->nfiles++;
	return 0;
}

static bool
skip_name(const char *name)
{
	size_t len = strlen(name);

	/* Hidden and temporary files, and our own side files. */
	return name[0] == '.' || (len > 5 && (strcmp(name + len - 5,
	    ".note") == 0 || strcmp(name + len - 5, ".caps") == 0)) ||
	    (len > 4 && strcmp(name + len - 4, ".tmp") == 0);
}

static struct snapshot *
build_snapshot(const char *path, char *err, size_t errlen)
{
	struct build b = { 0 };
	struct dirent *e;
	size_t fcap = 0;
	char file[4096];
	DIR *d;

	if ((d = opendir(path)) == NULL) {
		snprintf(err, errlen, "certificate directory %s: %s", path,
		    strerror(errno));
		return NULL;
	}
	b.snap = calloc(1, sizeof(*b.snap));
	if (b.snap == NULL || (b.snap->cas = sk_X509_new_null()) == NULL)
		goto oom;
	atomic_init(&b.snap->refs, 1);
	while ((e = readdir(d)) != NULL && !b.failed) {
		STACK_OF(X509) *certs;
		unsigned char *buf;
		size_t len = 0;
		int i, n;

		if (skip_name(e->d_name))
			continue;
		if (b.snap->nfiles >= DIR_MAX_FILES) {
			log_msg(LOG_LVL_WARNING, "certificate directory %s: "
			    "more than %d files, rest ignored", path,
			    DIR_MAX_FILES);
			break;
		}
		snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
		if ((buf = slurp(file, &len)) == NULL) {
			struct stat st;

			if (lstat(file, &st) == 0 && S_ISDIR(st.st_mode))
				continue;
			log_msg(LOG_LVL_WARNING, "certificate store: %s: not a "
			    "readable regular file of at most %d bytes, "
			    "skipped", file, DIR_MAX_FILE_BYTES);
			b.snap->stats.skipped_files++;
			continue;
		}
		if (add_file_name(b.snap, &fcap, file) != 0 ||
		    (certs = sk_X509_new_null()) == NULL) {
			free(buf);
			goto oom;
		}
		n = parse_cert_file(buf, len, certs);
		free(buf);
		if (n == 0) {
			log_msg(LOG_LVL_WARNING, "certificate store: %s: no "
			    "certificate could be parsed, skipped", file);
			b.snap->stats.skipped_files++;
		}
		for (i = 0; i < n; i++)
			index_cert(&b, sk_X509_value(certs, i),
			    b.snap->files[b.snap->nfiles - 1]);
		sk_X509_pop_free(certs, X509_free);
		b.snap->stats.files++;
	}
	closedir(d);
	if (b.failed)
		goto oom_closed;
	if (b.snap->nentries > 1)	/* entries is NULL when empty */
		qsort(b.snap->entries, b.snap->nentries,
		    sizeof(struct entry), entry_cmp);
	drop_duplicates(b.snap);
	if (unique_cas(b.snap) != 0)
		goto oom_closed;
	b.snap->stats.addresses = b.snap->nentries;
	return b.snap;
oom:
	closedir(d);
oom_closed:
	snapshot_release(b.snap);
	snprintf(err, errlen, "certificate directory %s: out of memory",
	    path);
	return NULL;
}

static struct snapshot *
snapshot_get(struct certdir *dir)
{
	struct snapshot *snap;

	pthread_mutex_lock(&dir->lock);
	snap = dir->current;
	atomic_fetch_add(&snap->refs, 1);
	pthread_mutex_unlock(&dir->lock);
	return snap;
}

/* First entry whose address is >= address. */
static size_t
lower_bound(const struct snapshot *s, const char *address)
{
	size_t lo = 0, hi = s->nentries;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(s->entries[mid].address, address) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static enum lookup_status
dir_lookup(struct certsrc *src, const char *address, struct cert_list *out,
    char *err, size_t errlen)
{
	struct certdir *dir = src->impl;
	struct snapshot *snap = snapshot_get(dir);
	struct cert_list found = CERT_LIST_INIT;
	enum lookup_status st = LOOKUP_NONE;
	size_t i;

	for (i = lower_bound(snap, address); i < snap->nentries &&
	    strcmp(snap->entries[i].address, address) == 0 &&
	    found.count < CERT_LIST_MAX_PER_SOURCE; i++) {
		if (cert_list_add(&found, snap->entries[i].cert, snap->cas,
		    src->name, snap->entries[i].file) != 0) {
			snprintf(err, errlen, "out of memory");
			st = LOOKUP_ERROR;
			goto done;
		}
		found.items[found.count - 1].caps = snap->entries[i].caps;
	}
	if (found.count > 0) {
		if (cert_list_move(out, &found) != 0) {
			snprintf(err, errlen, "out of memory");
			st = LOOKUP_ERROR;
			goto done;
		}
		st = LOOKUP_FOUND;
	}
done:
	cert_list_free(&found);
	snapshot_release(snap);
	return st;
}

static int
dir_reload(struct certsrc *src, char *err, size_t errlen)
{
	struct certdir *dir = src->impl;
	struct snapshot *snap = build_snapshot(dir->path, err, errlen), *old;

	if (snap == NULL)
		return -1;
	pthread_mutex_lock(&dir->lock);
	old = dir->current;
	dir->current = snap;
	pthread_mutex_unlock(&dir->lock);
	snapshot_release(old);
	return 0;
}

static void
dir_free(struct certsrc *src)
{
	struct certdir *dir;

	if (src == NULL)
		return;
	dir = src->impl;
	if (dir != NULL) {
		snapshot_release(dir->current);
		pthread_mutex_destroy(&dir->lock);
		free(dir->path);
		free(dir);
	}
	free(src);
}

struct certsrc *
certsrc_dir_new(const char *name, const char *path, char *err,
    size_t errlen)
{
	struct certsrc *src = calloc(1, sizeof(*src));
	struct certdir *dir = calloc(1, sizeof(*dir));

	if (src == NULL || dir == NULL || (dir->path = strdup(path)) == NULL) {
		free(src);
		free(dir);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&dir->lock, NULL);
	snprintf(src->name, sizeof(src->name), "%s", name);
	src->lookup = dir_lookup;
	src->reload = dir_reload;
	src->free = dir_free;
	src->impl = dir;
	if ((dir->current = build_snapshot(path, err, errlen)) == NULL) {
		dir_free(src);
		return NULL;
	}
	return src;
}

void
certsrc_dir_stats(struct certsrc *src, struct certdir_stats *out)
{
	struct snapshot *snap = snapshot_get(src->impl);

	*out = snap->stats;
	snapshot_release(snap);
}

void
certsrc_dir_foreach(struct certsrc *src, void (*fn)(const char *address,
    X509 *cert, const char *file, void *arg), void *arg)
{
	struct snapshot *snap = snapshot_get(src->impl);
	size_t i;

	for (i = 0; i < snap->nentries; i++)
		fn(snap->entries[i].address, snap->entries[i].cert,
		    snap->entries[i].file, arg);
	snapshot_release(snap);
}

static int
write_file_atomically(const char *path, const void *data, size_t len,
    mode_t mode, char *err, size_t errlen)
{
	char tmp[4200];
	int fd;

	snprintf(tmp, sizeof(tmp), "%s.XXXXXX.tmp", path);
	if ((fd = mkostemps(tmp, 4, O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "cannot create %s: %s", tmp,
		    strerror(errno));
		return -1;
	}
	if (fchmod(fd, mode) != 0 || write(fd, data, len) != (ssize_t)len ||
	    fsync(fd) != 0) {
		snprintf(err, errlen, "cannot write %s: %s", tmp,
		    strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot rename %s: %s", tmp,
		    strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
certsrc_dir_add(struct certsrc *src, X509 *cert, const char *note,
    const struct smime_caps *caps, char *err, size_t errlen)
{
	struct certdir *dir = src->impl;
	char fp[65], path[4096];
	BIO *mem = BIO_new(BIO_s_mem());
	char *pem;
	long len;
	int rc = -1;

	if (mem == NULL || PEM_write_bio_X509(mem, cert) != 1) {
		snprintf(err, errlen, "cannot encode certificate");
		goto done;
	}
	cert_fingerprint(cert, fp);
	snprintf(path, sizeof(path), "%s/%s.pem", dir->path, fp);
	len = BIO_get_mem_data(mem, &pem);
	/* Newer capabilities replace older ones even for a known cert. */
	if (caps != NULL && caps->known) {
		char capspath[4200], line[128];

		snprintf(capspath, sizeof(capspath), "%s/%s.caps", dir->path,
		    fp);
		smime_caps_format(caps, line, sizeof(line) - 1);
		strcat(line, "\n");
		if (write_file_atomically(capspath, line, strlen(line), 0644,
		    err, errlen) != 0)
			goto done;
	}
	if (access(path, F_OK) == 0) {
		rc = caps != NULL && caps->known ? dir_reload(src, err,
		    errlen) : 0;
		rc = rc == 0 ? 1 : rc;
		goto done;
	}
	if (note != NULL) {
		char notepath[4200];

		snprintf(notepath, sizeof(notepath), "%s/%s.note", dir->path,
		    fp);
		if (write_file_atomically(notepath, note, strlen(note), 0644,
		    err, errlen) != 0)
			goto done;
	}
	if (write_file_atomically(path, pem, (size_t)len, 0644, err,
	    errlen) != 0)
		goto done;
	rc = dir_reload(src, err, errlen);
done:
	BIO_free(mem);
	ERR_clear_error();
	return rc;
}
