/*
 * cmstail.c -- encrypt once, base64 once per alignment.
 *
 * One pass: take the content through spool views, EVP-encrypt 32 KB at
 * a time, and feed the ciphertext to one base64 encoder per kept
 * alignment r (and the streamed copy's), each skipping the first r tail
 * bytes; at the end the GCM tag goes through the same encoders as the
 * mac TLV.  Every encoding's exact length is known in advance and
 * checked at the end.
 */
#include "cmstail.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "b64out.h"
#include "cmsder.h"
#include "sink.h"
#include "spool.h"
#include "sslerr.h"

#define CHUNK	32768	/* ciphertext and its base64 stay in L1/L2 */

/*
 * base64(tail[r..]): in one block of memory when it fits under the
 * threshold (a copy is then one sink write), else in a spool, or (the
 * streamed copy) straight into a sink, not kept.
 */
struct encoding {
	unsigned r;			/* tail bytes skipped */
	char *mem;
	size_t len, size;
	struct spool *sp;
	const struct sink *out;
	uint64_t written;		/* to out */
	struct b64out b64;
};

#define STREAM	3			/* enc[] index of the streamed copy */

struct cmstail {
	uint64_t len;			/* tail octets */
	unsigned char start[2];
	struct encoding *enc[4];	/* kept for r = 0, 1, 2; STREAM */
	unsigned nenc;			/* kept */
	const struct cmstail_params *p;	/* during cmstail_encrypt() */
	bool begun;			/* begin() called */
};

uint64_t
cmstail_ctlen(bool gcm, uint64_t n)
{
	return gcm ? n : (n / 16 + 1) * 16;
}

/* Characters of base64 for n bytes in CRLF-ended lines. */
static uint64_t
base64_size(uint64_t n)
{
	uint64_t chars = (n + 2) / 3 * 4;

	return chars + 2 * ((chars + B64OUT_LINE - 1) / B64OUT_LINE);
}

static struct encoding *
enc_new(unsigned r, uint64_t size, const char *dir, uint64_t threshold,
    const struct sink *out)
{
	struct encoding *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return NULL;
	b64out_init(&e->b64);
	e->r = r;
	if (out != NULL) {
		e->out = out;
		return e;
	}
	if (size <= threshold && size < SIZE_MAX) {
		e->size = (size_t)size;
		if ((e->mem = malloc(e->size + 1)) != NULL)
			return e;
	} else if ((e->sp = spool_new(dir, threshold)) != NULL)
		return e;
	free(e);
	return NULL;
}

static int
enc_append(struct encoding *e, const char *p, size_t n, char *err,
    size_t errlen)
{
	if (e->out != NULL) {
		e->written += n;
		return sink_write(e->out, p, n, err, errlen);
	}
	if (e->sp != NULL)
		return spool_append(e->sp, p, n, err, errlen);
	if (n > e->size - e->len) {
		snprintf(err, errlen, "shared base64 longer than computed");
		return -1;
	}
	memcpy(e->mem + e->len, p, n);
	e->len += n;
	return 0;
}

static uint64_t
enc_len(const struct encoding *e)
{
	if (e->out != NULL)
		return e->written;
	return e->sp != NULL ? spool_size(e->sp) : e->len;
}

static void
enc_free(struct encoding *e)
{
	if (e == NULL)
		return;
	spool_free(e->sp);
	free(e->mem);
	free(e);
}

/*
 * Feed the next len tail bytes (fed before) to every encoding; once the
 * first bytes of the tail are known, let the streamed copy begin.
 */
static int
feed(struct cmstail *t, uint64_t fed, const unsigned char *p, size_t len,
    char *text, char *err, size_t errlen)
{
	size_t i, skip, n, need = t->len < 2 ? (size_t)t->len : 2;
	struct encoding *e;

	for (i = 0; fed + i < sizeof(t->start) && i < len; i++)
		t->start[fed + i] = p[i];
	if (t->enc[STREAM] != NULL && !t->begun && fed + len >= need) {
		if (t->p->begin(t->p->begin_arg, t->start, need, err,
		    errlen) != 0)
			return -1;
		t->begun = true;
	}
	for (i = 0; i < 4; i++) {
		if ((e = t->enc[i]) == NULL)
			continue;
		skip = fed >= e->r ? 0 : (size_t)(e->r - fed);
		if (skip >= len)
			continue;
		n = b64out_update(&e->b64, p + skip, len - skip, text);
		if (enc_append(e, text, n, err, errlen) != 0)
			return -1;
	}
	return 0;
}

static int
finish(struct cmstail *t, char *text, char *err, size_t errlen)
{
	size_t i, n;

	if (t->enc[STREAM] != NULL && !t->begun) {
		snprintf(err, errlen, "streamed copy never began");
		return -1;
	}
	for (i = 0; i < 4; i++) {
		if (t->enc[i] == NULL)
			continue;
		n = b64out_final(&t->enc[i]->b64, text);
		if (enc_append(t->enc[i], text, n, err, errlen) != 0)
			return -1;
		if (enc_len(t->enc[i]) != base64_size(t->len -
		    t->enc[i]->r)) {
			snprintf(err, errlen, "shared base64 of unexpected "
			    "length");
			return -1;
		}
	}
	return 0;
}

/*
 * The one encryption pass.  The content is read through spool views
 * (its memory, or a mapped window of its file) rather than copied out
 * first; CHUNK bytes at a time are encrypted into out, which stays in
 * the CPU cache while the encoders read it.
 */
static int
encrypt_all(struct cmstail *t, const struct spool *content, bool gcm,
    const struct cmstail_params *p, char *err, size_t errlen)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	unsigned char *out = malloc(CHUNK + 32);
	unsigned char tag[CMSDER_TAG_LEN], mac[CMSDER_MAC_TLV];
	char *text = malloc(b64out_bound(CHUNK + 32));
	uint64_t off = 0, fed = 0, size = spool_size(content);
	struct spool_view v = { NULL, 0, NULL, 0 };
	size_t at, len;
	int n, rc = -1;

	if (out == NULL || text == NULL || ctx == NULL) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	if (EVP_EncryptInit_ex(ctx, cms_cipher_evp(p->cipher), NULL, NULL,
	    NULL) != 1 ||
	    (gcm && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, 12,
	    NULL) != 1) ||
	    EVP_EncryptInit_ex(ctx, NULL, NULL, p->cek, p->iv) != 1)
		goto ssl;
	for (;;) {
		if (spool_view(content, off, SPOOL_VIEW_MAX, &v, err,
		    errlen) != 0)
			goto cleanup;
		if (v.len == 0)
			break;
		for (at = 0; at < v.len; at += len) {
			len = v.len - at < CHUNK ? v.len - at : CHUNK;
			if (EVP_EncryptUpdate(ctx, out, &n, v.p + at,
			    (int)len) != 1)
				goto ssl;
			if (feed(t, fed, out, (size_t)n, text, err,
			    errlen) != 0)
				goto cleanup;
			fed += (uint64_t)n;
		}
		off += v.len;
		spool_view_end(&v);
	}
	if (EVP_EncryptFinal_ex(ctx, out, &n) != 1)
		goto ssl;
	if (feed(t, fed, out, (size_t)n, text, err, errlen) != 0)
		goto cleanup;
	fed += (uint64_t)n;
	if (gcm) {
		if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG,
		    CMSDER_TAG_LEN, tag) != 1)
			goto ssl;
		cmsder_mac(tag, mac);
		if (feed(t, fed, mac, sizeof(mac), text, err, errlen) != 0)
			goto cleanup;
		fed += sizeof(mac);
	}
	if (off != size || fed != t->len) {
		snprintf(err, errlen, "content changed while encrypting");
		goto cleanup;
	}
	rc = finish(t, text, err, errlen);
	goto cleanup;
ssl:
	ssl_error(err, errlen, "content encryption failed");
cleanup:
	spool_view_end(&v);
	EVP_CIPHER_CTX_free(ctx);
	free(out);
	free(text);
	return rc;
}

struct cmstail *
cmstail_encrypt(const struct spool *content, const struct cmstail_params *p,
    char *err, size_t errlen)
{
	bool gcm = p->cipher == CMS_CIPHER_AES128_GCM ||
	    p->cipher == CMS_CIPHER_AES256_GCM;
	struct cmstail *t = calloc(1, sizeof(*t));
	unsigned r;

	if (t == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (cms_cipher_evp(p->cipher) == NULL) {
		snprintf(err, errlen, "no content cipher chosen");
		goto fail;
	}
	t->len = cmstail_ctlen(gcm, spool_size(content)) +
	    (gcm ? CMSDER_MAC_TLV : 0);
	t->p = p;
	for (r = 0; r < 3; r++) {
		if (!p->need[r] || t->len <= r)
			continue;
		t->enc[r] = enc_new(r, base64_size(t->len - r), p->dir,
		    p->threshold, NULL);
		if (t->enc[r] == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		t->nenc++;
	}
	if (p->stream != NULL) {
		if (p->stream_r > 2 || p->begin == NULL) {
			snprintf(err, errlen, "bad stream parameters");
			goto fail;
		}
		if ((t->enc[STREAM] = enc_new(p->stream_r, 0, NULL, 0,
		    p->stream)) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
	}
	if (encrypt_all(t, content, gcm, p, err, errlen) != 0)
		goto fail;
	/* The streamed copy is written; nothing of it is kept. */
	enc_free(t->enc[STREAM]);
	t->enc[STREAM] = NULL;
	t->p = NULL;
	return t;
fail:
	cmstail_free(t);
	return NULL;
}

uint64_t
cmstail_len(const struct cmstail *t)
{
	return t->len;
}

const unsigned char *
cmstail_start(const struct cmstail *t)
{
	return t->start;
}

int
cmstail_copy(const struct cmstail *t, unsigned r, const struct sink *out,
    char *err, size_t errlen)
{
	const struct encoding *e = r < 3 ? t->enc[r] : NULL;

	if (e == NULL) {
		snprintf(err, errlen, "no shared base64 at offset %u", r);
		return -1;
	}
	if (e->sp != NULL)
		return spool_copy_to_sink(e->sp, out, err, errlen);
	return sink_write(out, e->mem, e->len, err, errlen);
}

unsigned
cmstail_encodings(const struct cmstail *t)
{
	return t->nenc;
}

uint64_t
cmstail_base64_len(const struct cmstail *t, unsigned r)
{
	return r < 3 && t->enc[r] != NULL ? enc_len(t->enc[r]) : 0;
}

void
cmstail_free(struct cmstail *t)
{
	unsigned r;

	if (t == NULL)
		return;
	for (r = 0; r < 4; r++)
		enc_free(t->enc[r]);
	free(t);
}
