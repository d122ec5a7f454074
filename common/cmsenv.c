/*
 * cmsenv.c -- encrypt once, envelope per group.
 *
 * cms_envelope_new():
 *   choose the cipher -> CEK and every group's RecipientInfos (cmsri.c)
 *   -> every group's DER prefix (cmsder.c) -> encrypt the content once,
 *   streaming from its spool, base64-encoding the shared tail on the fly
 *   into one spool per line alignment that some copy needs.
 * cms_envelope_write():
 *   head = base64(prefix + the first r tail bytes), r = (3 - prefix % 3)
 *   % 3 so that the head ends on a whole quantum and its own line; the
 *   self-check reads that very text back (cmscheck.c); then MIME header
 *   fields, the head, and the shared base64 of tail[r..] are written.
 */
#include "cmsenv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "b64out.h"
#include "cmscheck.h"
#include "cmsder.h"
#include "cmsri.h"
#include "sink.h"
#include "spool.h"
#include "sslerr.h"

#define CHUNK		65536
#define DEFAULT_DIR	"/var/tmp"
#define DEFAULT_THRESHOLD (256 * 1024)

/* One copy: a group's certificates and the DER before the ciphertext. */
struct copy {
	char *label;
	X509 **certs;			/* own references, no duplicates */
	size_t ncerts;
	unsigned char *prefix;
	size_t prefixlen;
	unsigned r;			/* tail bytes that join the head */
};

/*
 * The base64 of the shared tail from one offset: in one block of memory
 * when it fits under the spool threshold (so that a copy is one write),
 * else in a spool.  Its exact size is known in advance.
 */
struct shared {
	char *mem;
	size_t len, size;
	struct spool *sp;
};

struct cms_envelope {
	enum cms_cipher cipher;
	bool auth;
	unsigned char alg[CMSDER_ALG_MAX];
	size_t alglen;
	uint64_t ctlen;			/* ciphertext octets */
	uint64_t taillen;		/* ciphertext + mac TLV */
	unsigned char tailstart[2];	/* first tail bytes, for heads */
	struct shared *shared[3];	/* base64 of tail[r..], by r */
	struct copy *copies;
	size_t ncopies;
	struct cms_envelope_stats st;
};

static const struct {
	enum cms_cipher c;
	const char *name;
} cipher_names[] = {
	{ CMS_CIPHER_AUTO, "auto" },
	{ CMS_CIPHER_AES128_GCM, "aes128-gcm" },
	{ CMS_CIPHER_AES256_GCM, "aes256-gcm" },
	{ CMS_CIPHER_AES128_CBC, "aes128-cbc" },
	{ CMS_CIPHER_AES256_CBC, "aes256-cbc" },
};

static const struct {
	enum cms_keytransport kt;
	const char *name;
} kt_names[] = {
	{ CMS_KT_AUTO, "auto" },
	{ CMS_KT_RSA_OAEP, "rsa-oaep" },
	{ CMS_KT_RSA_PKCS1, "rsa-pkcs1" },
};

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

int
cms_cipher_parse(const char *name, enum cms_cipher *out)
{
	size_t i;

	for (i = 0; i < NELEM(cipher_names); i++)
		if (strcasecmp(name, cipher_names[i].name) == 0) {
			*out = cipher_names[i].c;
			return 0;
		}
	return -1;
}

const char *
cms_cipher_name(enum cms_cipher c)
{
	size_t i;

	for (i = 0; i < NELEM(cipher_names); i++)
		if (cipher_names[i].c == c)
			return cipher_names[i].name;
	return "?";
}

int
cms_keytransport_parse(const char *name, enum cms_keytransport *out)
{
	size_t i;

	for (i = 0; i < NELEM(kt_names); i++)
		if (strcasecmp(name, kt_names[i].name) == 0) {
			*out = kt_names[i].kt;
			return 0;
		}
	return -1;
}

const char *
cms_keytransport_name(enum cms_keytransport kt)
{
	size_t i;

	for (i = 0; i < NELEM(kt_names); i++)
		if (kt_names[i].kt == kt)
			return kt_names[i].name;
	return "?";
}

enum cms_cipher
cms_cipher_choose(enum cms_cipher want, const struct cms_group *groups,
    size_t ngroups)
{
	bool all_gcm256 = true, all_gcm = true, cbc128_only = false;
	const struct smime_caps *caps;
	size_t g, i;

	if (want != CMS_CIPHER_AUTO)
		return want;
	for (g = 0; g < ngroups; g++)
		for (i = 0; i < groups[g].nrecips; i++) {
			caps = &groups[g].recips[i].caps;
			if (!caps->known) {
				all_gcm256 = all_gcm = false;
				continue;
			}
			if (!(caps->mask & CAP_AES256_GCM))
				all_gcm256 = false;
			if (!(caps->mask & (CAP_AES128_GCM | CAP_AES256_GCM)))
				all_gcm = false;
			if ((caps->mask & CAP_AES128_CBC) &&
			    !(caps->mask & CAP_AES256_CBC))
				cbc128_only = true;
		}
	if (all_gcm256)
		return CMS_CIPHER_AES256_GCM;
	if (all_gcm)
		return CMS_CIPHER_AES128_GCM;
	return cbc128_only ? CMS_CIPHER_AES128_CBC : CMS_CIPHER_AES256_CBC;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
free_copy(struct copy *c)
{
	size_t i;

	for (i = 0; i < c->ncerts; i++)
		X509_free(c->certs[i]);
	free(c->certs);
	free(c->prefix);
	free(c->label);
}

/* Take group g's certificates (duplicates once) and check their keys. */
static int
take_group(struct copy *c, const struct cms_group *grp, size_t g, char *err,
    size_t errlen)
{
	char why[256];
	size_t i, j;

	if (grp->label != NULL)
		c->label = strdup(grp->label);
	else if (asprintf(&c->label, "group %zu", g + 1) < 0)
		c->label = NULL;
	c->certs = calloc(grp->nrecips, sizeof(*c->certs));
	if (c->label == NULL || c->certs == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < grp->nrecips; i++) {
		X509 *x = grp->recips[i].cert;

		if (x == NULL) {
			snprintf(err, errlen, "%s: recipient %zu has no "
			    "certificate", c->label, i + 1);
			return -1;
		}
		if (cmsri_check_key(x, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: recipient %zu: %s",
			    c->label, i + 1, why);
			return -1;
		}
		for (j = 0; j < c->ncerts; j++)
			if (X509_cmp(c->certs[j], x) == 0)
				break;
		if (j < c->ncerts)
			continue;
		X509_up_ref(x);
		c->certs[c->ncerts++] = x;
	}
	return 0;
}

/* RecipientInfos and prefix of copy g. */
static int
build_copy(struct cms_envelope *env, struct cmsri *ri, size_t g,
    const struct cms_options *opt, char *err, size_t errlen)
{
	struct copy *c = &env->copies[g];
	struct cmsder_copy d;
	X509 **use = c->certs;
	unsigned char *set = NULL;
	size_t n = c->ncerts, setlen;
	char why[512];
	int rc = -1;

	if (opt->test_corrupt_group == g + 1) {
		/* Test hook: one recipient more than the group has. */
		if ((use = calloc(n + 1, sizeof(*use))) == NULL)
			goto oom;
		memcpy(use, c->certs, n * sizeof(*use));
		use[n++] = env->ncopies > 1 ?
		    env->copies[(g + 1) % env->ncopies].certs[0] :
		    c->certs[0];
	}
	if (cmsri_set(ri, use, n, &set, &setlen, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", c->label, why);
		goto cleanup;
	}
	env->st.recipient_infos += n;
	memset(&d, 0, sizeof(d));
	d.auth = env->auth;
	d.version = env->auth ? 0 : cmsder_env_version(set, setlen);
	d.riset = set;
	d.risetlen = setlen;
	d.alg = env->alg;
	d.alglen = env->alglen;
	d.ctlen = env->ctlen;
	if (d.version < 0) {
		snprintf(err, errlen, "%s: malformed RecipientInfos",
		    c->label);
		goto cleanup;
	}
	c->prefixlen = cmsder_prefix_len(&d);
	if ((c->prefix = malloc(c->prefixlen)) == NULL)
		goto oom;
	(void)cmsder_prefix(&d, c->prefix);
	c->r = (unsigned)((3 - c->prefixlen % 3) % 3);
	rc = 0;
	goto cleanup;
oom:
	snprintf(err, errlen, "out of memory");
cleanup:
	if (use != c->certs)
		free(use);
	free(set);
	return rc;
}

/* Characters of base64 for n bytes in CRLF-ended lines. */
static uint64_t
base64_size(uint64_t n)
{
	uint64_t chars = (n + 2) / 3 * 4;

	return chars + 2 * ((chars + B64OUT_LINE - 1) / B64OUT_LINE);
}

static struct shared *
shared_new(uint64_t size, const char *dir, uint64_t threshold)
{
	struct shared *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	if (size <= threshold && size < SIZE_MAX) {
		s->size = (size_t)size;
		if ((s->mem = malloc(s->size + 1)) != NULL)
			return s;
	} else if ((s->sp = spool_new(dir, threshold)) != NULL)
		return s;
	free(s);
	return NULL;
}

static int
shared_append(struct shared *s, const char *p, size_t n, char *err,
    size_t errlen)
{
	if (s->sp != NULL)
		return spool_append(s->sp, p, n, err, errlen);
	if (n > s->size - s->len) {
		snprintf(err, errlen, "shared base64 longer than computed");
		return -1;
	}
	memcpy(s->mem + s->len, p, n);
	s->len += n;
	return 0;
}

static uint64_t
shared_len(const struct shared *s)
{
	return s->sp != NULL ? spool_size(s->sp) : s->len;
}

static int
shared_copy(const struct shared *s, const struct sink *out, char *err,
    size_t errlen)
{
	if (s->sp != NULL)
		return spool_copy_to_sink(s->sp, out, err, errlen);
	return sink_write(out, s->mem, s->len, err, errlen);
}

static void
shared_free(struct shared *s)
{
	if (s == NULL)
		return;
	spool_free(s->sp);
	free(s->mem);
	free(s);
}

/* Shared-tail base64 encoders, one per needed alignment. */
struct tail_coder {
	struct cms_envelope *env;
	struct b64out b64[3];
	uint64_t fed;			/* tail bytes seen */
	char *text;			/* b64out_bound(CHUNK + 64) */
};

static int
feed_tail(struct tail_coder *tc, const unsigned char *p, size_t len,
    char *err, size_t errlen)
{
	struct cms_envelope *env = tc->env;
	size_t r, skip, n;

	for (r = 0; tc->fed + r < sizeof(env->tailstart) && r < len; r++)
		env->tailstart[tc->fed + r] = p[r];
	for (r = 0; r < 3; r++) {
		if (env->shared[r] == NULL)
			continue;
		skip = tc->fed >= r ? 0 : (size_t)(r - tc->fed);
		if (skip >= len)
			continue;
		n = b64out_update(&tc->b64[r], p + skip, len - skip,
		    tc->text);
		if (shared_append(env->shared[r], tc->text, n, err,
		    errlen) != 0)
			return -1;
	}
	tc->fed += len;
	return 0;
}

static int
finish_tail(struct tail_coder *tc, char *err, size_t errlen)
{
	struct cms_envelope *env = tc->env;
	size_t r, n;

	for (r = 0; r < 3; r++) {
		if (env->shared[r] == NULL)
			continue;
		n = b64out_final(&tc->b64[r], tc->text);
		if (shared_append(env->shared[r], tc->text, n, err,
		    errlen) != 0)
			return -1;
		if (shared_len(env->shared[r]) !=
		    base64_size(env->taillen - r)) {
			snprintf(err, errlen, "shared base64 of unexpected "
			    "length");
			return -1;
		}
		env->st.shared_encodings++;
		env->st.shared_base64_bytes = shared_len(env->shared[r]);
	}
	return 0;
}

/* Encrypt the content once, streaming, into the shared base64 spools. */
static int
encrypt_content(struct cms_envelope *env, const struct spool *content,
    const unsigned char *cek, const unsigned char *iv, char *err,
    size_t errlen)
{
	struct tail_coder tc;
	EVP_CIPHER_CTX *ctx = NULL;
	const EVP_CIPHER *cipher;
	unsigned char *in = NULL, *out = NULL, tag[CMSDER_TAG_LEN];
	unsigned char mac[CMSDER_MAC_TLV];
	uint64_t off = 0;
	ssize_t got;
	int n, rc = -1;
	size_t r;

	memset(&tc, 0, sizeof(tc));
	tc.env = env;
	for (r = 0; r < 3; r++)
		b64out_init(&tc.b64[r]);
	switch (env->cipher) {
	case CMS_CIPHER_AES128_GCM: cipher = EVP_aes_128_gcm(); break;
	case CMS_CIPHER_AES256_GCM: cipher = EVP_aes_256_gcm(); break;
	case CMS_CIPHER_AES128_CBC: cipher = EVP_aes_128_cbc(); break;
	default: cipher = EVP_aes_256_cbc(); break;
	}
	in = malloc(CHUNK);
	out = malloc(CHUNK + 32);
	tc.text = malloc(b64out_bound(CHUNK + 64));
	ctx = EVP_CIPHER_CTX_new();
	if (in == NULL || out == NULL || tc.text == NULL || ctx == NULL) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	if (EVP_EncryptInit_ex(ctx, cipher, NULL, NULL, NULL) != 1 ||
	    (env->auth && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12,
	    NULL) != 1) ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, cek, iv) != 1)
		goto ssl;
	while ((got = spool_read(content, off, in, CHUNK, err, errlen)) > 0) {
		off += (uint64_t)got;
		if (EVP_EncryptUpdate(ctx, out, &n, in, (int)got) != 1)
			goto ssl;
		if (feed_tail(&tc, out, (size_t)n, err, errlen) != 0)
			goto cleanup;
	}
	if (got < 0)
		goto cleanup;
	if (EVP_EncryptFinal_ex(ctx, out, &n) != 1)
		goto ssl;
	if (feed_tail(&tc, out, (size_t)n, err, errlen) != 0)
		goto cleanup;
	if (env->auth) {
		if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
		    CMSDER_TAG_LEN, tag) != 1)
			goto ssl;
		cmsder_mac(tag, mac);
		if (feed_tail(&tc, mac, sizeof(mac), err, errlen) != 0)
			goto cleanup;
	}
	if (off != env->st.content_bytes || tc.fed != env->taillen) {
		snprintf(err, errlen, "content changed while encrypting");
		goto cleanup;
	}
	rc = finish_tail(&tc, err, errlen);
	goto cleanup;
ssl:
	ssl_error(err, errlen, "content encryption failed");
cleanup:
	EVP_CIPHER_CTX_free(ctx);
	if (in != NULL)
		OPENSSL_cleanse(in, CHUNK);
	free(in);
	free(out);
	free(tc.text);
	return rc;
}

struct cms_envelope *
cms_envelope_new(const struct spool *content, const struct cms_group *groups,
    size_t ngroups, const struct cms_options *opt, char *err, size_t errlen)
{
	struct cms_envelope *env;
	struct cmsri *ri = NULL;
	unsigned char iv[16];
	const unsigned char *cek;
	const char *dir;
	uint64_t threshold;
	size_t g, ceklen;
	double t0 = now(), t1;

	if ((env = calloc(1, sizeof(*env))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (ngroups == 0) {
		snprintf(err, errlen, "no delivery group to encrypt for");
		goto fail;
	}
	if ((env->copies = calloc(ngroups, sizeof(*env->copies))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	env->ncopies = ngroups;
	for (g = 0; g < ngroups; g++) {
		if (groups[g].nrecips == 0) {
			snprintf(err, errlen, "%s: no recipients",
			    groups[g].label ? groups[g].label : "group");
			goto fail;
		}
		if (take_group(&env->copies[g], &groups[g], g, err,
		    errlen) != 0)
			goto fail;
	}
	env->cipher = cms_cipher_choose(opt->cipher, groups, ngroups);
	env->auth = env->cipher == CMS_CIPHER_AES128_GCM ||
	    env->cipher == CMS_CIPHER_AES256_GCM;

	/* The content's size fixes every length before it is encrypted. */
	env->st.content_bytes = spool_size(content);
	env->ctlen = env->auth ? env->st.content_bytes :
	    (env->st.content_bytes / 16 + 1) * 16;
	env->taillen = env->ctlen + (env->auth ? CMSDER_MAC_TLV : 0);
	env->st.ciphertext_bytes = env->ctlen;
	/* A fresh IV (CBC) or nonce (GCM), never the template's. */
	if (RAND_bytes(iv, sizeof(iv)) != 1) {
		ssl_error(err, errlen, "cannot draw an IV");
		goto fail;
	}
	env->alglen = cmsder_alg(env->auth, env->cipher ==
	    CMS_CIPHER_AES128_GCM || env->cipher == CMS_CIPHER_AES128_CBC ?
	    128 : 256, iv, env->alg);

	if ((ri = cmsri_new(env->cipher, opt->kt, err, errlen)) == NULL)
		goto fail;
	for (g = 0; g < ngroups; g++)
		if (build_copy(env, ri, g, opt, err, errlen) != 0)
			goto fail;
	t1 = now();
	env->st.recipient_seconds = t1 - t0;

	dir = opt->spool_dir != NULL ? opt->spool_dir : DEFAULT_DIR;
	threshold = opt->spool_threshold != 0 ? opt->spool_threshold :
	    DEFAULT_THRESHOLD;
	for (g = 0; g < ngroups; g++) {
		unsigned r = env->copies[g].r;

		if (env->taillen > r && env->shared[r] == NULL &&
		    (env->shared[r] = shared_new(base64_size(env->taillen -
		    r), dir, threshold)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	cek = cmsri_cek(ri, &ceklen);
	if (encrypt_content(env, content, cek, iv, err, errlen) != 0)
		goto fail;
	cmsri_free(ri);
	env->st.content_seconds = now() - t1;
	return env;
fail:
	cmsri_free(ri);
	cms_envelope_free(env);
	return NULL;
}

const char *
cms_envelope_cipher_name(const struct cms_envelope *env)
{
	return cms_cipher_name(env->cipher);
}

size_t
cms_envelope_ngroups(const struct cms_envelope *env)
{
	return env->ncopies;
}

/* base64 of prefix + tail[0..r) in whole lines; malloc'd, *len set. */
static char *
encode_head(const struct cms_envelope *env, const struct copy *c,
    size_t *len)
{
	struct b64out b;
	size_t r = c->r < env->taillen ? c->r : (size_t)env->taillen;
	char *text = malloc(b64out_bound(c->prefixlen + r) + 8);
	size_t n;

	if (text == NULL)
		return NULL;
	b64out_init(&b);
	n = b64out_update(&b, c->prefix, c->prefixlen, text);
	n += b64out_update(&b, env->tailstart, r, text + n);
	n += b64out_final(&b, text + n);
	*len = n;
	return text;
}

int
cms_envelope_write(struct cms_envelope *env, size_t group,
    const struct sink *out, char *err, size_t errlen)
{
	struct cmscheck_expect x;
	const struct copy *c;
	char *head = NULL, why[512];
	size_t headlen;
	double t0;
	int rc = -1;

	if (group >= env->ncopies) {
		snprintf(err, errlen, "no group %zu", group);
		return -1;
	}
	c = &env->copies[group];
	if ((head = encode_head(env, c, &headlen)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(&x, 0, sizeof(x));
	x.auth = env->auth;
	x.alg = env->alg;
	x.alglen = env->alglen;
	x.ctlen = env->ctlen;
	x.prefixlen = c->prefixlen;
	x.certs = c->certs;
	x.ncerts = c->ncerts;
	t0 = now();
	if (cmscheck_copy(head, headlen, &x, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", c->label, why);
		goto cleanup;
	}
	env->st.check_seconds += now() - t0;
	if (sink_puts(out, env->auth ?
	    "Content-Type: application/pkcs7-mime;\r\n"
	    "\tsmime-type=authEnveloped-data; name=smime.p7m\r\n" :
	    "Content-Type: application/pkcs7-mime;\r\n"
	    "\tsmime-type=enveloped-data; name=smime.p7m\r\n", err,
	    errlen) != 0 ||
	    sink_puts(out, "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=smime.p7m\r\n\r\n",
	    err, errlen) != 0 ||
	    sink_write(out, head, headlen, err, errlen) != 0)
		goto cleanup;
	if (env->taillen > c->r &&
	    shared_copy(env->shared[c->r], out, err, errlen) != 0)
		goto cleanup;
	rc = 0;
cleanup:
	free(head);
	return rc;
}

void
cms_envelope_stats(const struct cms_envelope *env,
    struct cms_envelope_stats *st)
{
	*st = env->st;
}

void
cms_envelope_free(struct cms_envelope *env)
{
	size_t i;

	if (env == NULL)
		return;
	for (i = 0; i < env->ncopies; i++)
		free_copy(&env->copies[i]);
	free(env->copies);
	for (i = 0; i < 3; i++)
		shared_free(env->shared[i]);
	free(env);
}
