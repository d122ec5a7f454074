/*
 * cmsenv.c -- encrypt once, envelope per group.
 *
 * cms_envelope_new():
 *   choose the cipher -> CEK and every group's RecipientInfos (cmsri.c)
 *   -> every group's DER prefix (cmsder.c; the content's size fixes all
 *   lengths in advance) -> encrypt the content once into the shared
 *   base64 encodings the prefixes' alignments need (cmstail.c).
 * cms_envelope_write():
 *   head = base64(prefix + the first r tail bytes), r = (3 - prefix % 3)
 *   % 3 so that the head ends on a whole quantum and its own line; the
 *   self-check reads that very text back (cmscheck.c); then MIME header
 *   fields, the head, and the shared base64 of tail[r..] are written.
 * cms_envelope_new_stream():
 *   the same for one copy, but the head is written from inside the
 *   encryption pass, as soon as the first tail bytes exist (cmstail.c
 *   calls begin_stream()), and base64(tail[r..]) follows straight from
 *   the cipher.
 */
#include "cmsenv.h"

#include <openssl/evp.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/rand.h>

#include "b64out.h"
#include "cmscheck.h"
#include "cmsder.h"
#include "cmsktri.h"
#include "cmsri.h"
#include "cmstail.h"
#include "sink.h"
#include "spool.h"
#include "sslerr.h"

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

struct cms_envelope {
	enum cms_cipher cipher;
	bool auth;
	bool oaep;			/* RSA key transport */
	unsigned openssl_seen;		/* cmscheck_expect.openssl_seen */
	size_t streamed;		/* 1 + the streamed group; 0 none */
	unsigned char alg[CMSDER_ALG_MAX];
	size_t alglen;
	uint64_t ctlen;			/* ciphertext octets */
	uint64_t taillen;		/* ciphertext + mac TLV */
	struct cmstail *tail;		/* shared by all copies */
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

const EVP_CIPHER *
cms_cipher_evp(enum cms_cipher c)
{
	switch (c) {
	case CMS_CIPHER_AES128_GCM:
		return EVP_aes_128_gcm();
	case CMS_CIPHER_AES256_GCM:
		return EVP_aes_256_gcm();
	case CMS_CIPHER_AES128_CBC:
		return EVP_aes_128_cbc();
	case CMS_CIPHER_AES256_CBC:
		return EVP_aes_256_cbc();
	default:
		return NULL;
	}
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

/* Does some recipient need key agreement? */
static bool
any_ec(const struct cms_envelope *env)
{
	size_t g, i;

	for (g = 0; g < env->ncopies; g++)
		for (i = 0; i < env->copies[g].ncerts; i++)
			if (EVP_PKEY_get_base_id(X509_get0_pubkey(
			    env->copies[g].certs[i])) == EVP_PKEY_EC)
				return true;
	return false;
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

/* The streamed copy, while cmstail_encrypt() runs. */
struct stream {
	struct cms_envelope *env;
	size_t group;
	const struct sink *out;
};

static int write_head(struct cms_envelope *env, const struct copy *c,
    const unsigned char *start, const struct sink *out, char *err,
    size_t errlen);

/* cmstail's begin(): the first tail bytes exist; check, write the head. */
static int
begin_stream(void *arg, const unsigned char *start, size_t n, char *err,
    size_t errlen)
{
	struct stream *s = arg;

	(void)n;	/* the tail is never shorter than the 2 bytes used */
	return write_head(s->env, &s->env->copies[s->group], start, s->out,
	    err, errlen);
}

/* cms_envelope_new(), streaming copy st->group if st is not NULL. */
static struct cms_envelope *
envelope_new(const struct spool *content, const struct cms_group *groups,
    size_t ngroups, const struct cms_options *opt, struct stream *st,
    char *err, size_t errlen)
{
	struct cms_envelope *env;
	struct cmstail_params tp;
	struct cmsri *ri = NULL;
	unsigned char iv[16];
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
	if (st != NULL && st->group >= ngroups) {
		snprintf(err, errlen, "no group %zu", st->group);
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
	env->oaep = opt->kt == CMS_KT_RSA_OAEP;

	/* The content's size fixes every length before it is encrypted. */
	env->st.content_bytes = spool_size(content);
	env->ctlen = cmstail_ctlen(env->auth, env->st.content_bytes);
	env->taillen = env->ctlen + (env->auth ? CMSDER_MAC_TLV : 0);
	env->st.ciphertext_bytes = env->ctlen;
	/* A fresh IV (CBC) or nonce (GCM) for every message. */
	if (RAND_bytes(iv, sizeof(iv)) != 1) {
		ssl_error(err, errlen, "cannot draw an IV");
		goto fail;
	}
	env->alglen = cmsder_alg(env->auth, env->cipher ==
	    CMS_CIPHER_AES128_GCM || env->cipher == CMS_CIPHER_AES128_CBC ?
	    128 : 256, iv, env->alg);

	if ((ri = cmsri_new(env->cipher, opt->kt, any_ec(env), err,
	    errlen)) == NULL)
		goto fail;
	for (g = 0; g < ngroups; g++)
		if (build_copy(env, ri, g, opt, err, errlen) != 0)
			goto fail;
	t1 = now();
	env->st.recipient_seconds = t1 - t0;

	memset(&tp, 0, sizeof(tp));
	tp.cipher = env->cipher;
	tp.cek = cmsri_cek(ri, &ceklen);
	tp.iv = iv;
	for (g = 0; g < ngroups; g++)
		if (st == NULL || g != st->group)
			tp.need[env->copies[g].r] = true;
	tp.dir = opt->spool_dir != NULL ? opt->spool_dir : DEFAULT_DIR;
	tp.threshold = opt->spool_threshold != 0 ? opt->spool_threshold :
	    DEFAULT_THRESHOLD;
	if (st != NULL) {
		st->env = env;
		tp.stream = st->out;
		tp.stream_r = env->copies[st->group].r;
		tp.begin = begin_stream;
		tp.begin_arg = st;
		env->streamed = st->group + 1;
	}
	env->tail = cmstail_encrypt(content, &tp, err, errlen);
	/* The CEK is wiped as soon as the content is encrypted. */
	cmsri_free(ri);
	ri = NULL;
	if (env->tail == NULL)
		goto fail;
	env->st.content_seconds = now() - t1 - env->st.check_seconds;
	env->st.shared_encodings = cmstail_encodings(env->tail);
	g = st != NULL && st->group == 0 && ngroups > 1 ? 1 : 0;
	env->st.shared_base64_bytes = cmstail_base64_len(env->tail,
	    env->copies[g].r);
	return env;
fail:
	cmsri_free(ri);
	cms_envelope_free(env);
	return NULL;
}

struct cms_envelope *
cms_envelope_new(const struct spool *content, const struct cms_group *groups,
    size_t ngroups, const struct cms_options *opt, char *err, size_t errlen)
{
	return envelope_new(content, groups, ngroups, opt, NULL, err, errlen);
}

struct cms_envelope *
cms_envelope_new_stream(const struct spool *content,
    const struct cms_group *groups, size_t ngroups,
    const struct cms_options *opt, size_t first, const struct sink *out,
    char *err, size_t errlen)
{
	struct stream st = { NULL, first, out };

	return envelope_new(content, groups, ngroups, opt, &st, err, errlen);
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
    const unsigned char *start, size_t *len)
{
	struct b64out b;
	size_t r = c->r < env->taillen ? c->r : (size_t)env->taillen;
	char *text = malloc(b64out_bound(c->prefixlen + r) + 8);
	size_t n;

	if (text == NULL)
		return NULL;
	b64out_init(&b);
	n = b64out_update(&b, c->prefix, c->prefixlen, text);
	n += b64out_update(&b, start, r, text + n);
	n += b64out_final(&b, text + n);
	*len = n;
	return text;
}

/*
 * Self-check copy c from its head (start: the first tail bytes): 0 and
 * the head's text in *head (free it), or -1 with a reason.
 */
static int
check_head(struct cms_envelope *env, const struct copy *c,
    const unsigned char *start, char **head, size_t *headlen, char *err,
    size_t errlen)
{
	struct cmscheck_expect x;
	char why[512];
	unsigned seen = env->openssl_seen;
	double t0;

	if ((*head = encode_head(env, c, start, headlen)) == NULL) {
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
	x.ktri_alg = cmsktri_alg(env->oaep, &x.ktri_alglen);
	x.openssl_seen = &env->openssl_seen;
	t0 = now();
	if (cmscheck_copy(*head, *headlen, &x, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", c->label, why);
		free(*head);
		*head = NULL;
		return -1;
	}
	env->st.check_seconds += now() - t0;
	if (env->openssl_seen != seen)
		env->st.openssl_checks++;
	return 0;
}

/*
 * Self-check copy c and, if it passes, write the MIME header fields and
 * the head to out.
 */
static int
write_head(struct cms_envelope *env, const struct copy *c,
    const unsigned char *start, const struct sink *out, char *err,
    size_t errlen)
{
	char *head;
	size_t headlen;
	int rc = -1;

	if (check_head(env, c, start, &head, &headlen, err, errlen) != 0)
		return -1;
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
	rc = 0;
cleanup:
	free(head);
	return rc;
}

int
cms_envelope_check(struct cms_envelope *env, size_t group, char *err,
    size_t errlen)
{
	char *head;
	size_t headlen;

	if (group >= env->ncopies) {
		snprintf(err, errlen, "no group %zu", group);
		return -1;
	}
	if (env->streamed == group + 1)	/* checked when it was written */
		return 0;
	if (check_head(env, &env->copies[group], cmstail_start(env->tail),
	    &head, &headlen, err, errlen) != 0)
		return -1;
	free(head);
	return 0;
}

int
cms_envelope_write(struct cms_envelope *env, size_t group,
    const struct sink *out, char *err, size_t errlen)
{
	const struct copy *c;

	if (group >= env->ncopies) {
		snprintf(err, errlen, "no group %zu", group);
		return -1;
	}
	c = &env->copies[group];
	if (env->streamed == group + 1) {
		snprintf(err, errlen, "%s: copy written when the envelope "
		    "was made", c->label);
		return -1;
	}
	if (write_head(env, c, cmstail_start(env->tail), out, err,
	    errlen) != 0)
		return -1;
	if (env->taillen > c->r &&
	    cmstail_copy(env->tail, c->r, out, err, errlen) != 0)
		return -1;
	return 0;
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
	cmstail_free(env->tail);
	free(env);
}
