/*
 * smime_sign.c -- CMS SignedData for S/MIME, clear and opaque.
 */
#include "smime_sign.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "der.h"
#include "mimeenc.h"
#include "sink.h"
#include "spool.h"
#include "spoolbio.h"
#include "sslerr.h"

static const struct {
	const char *name, *micalg;
} digests[] = {
	[DIGEST_SHA256] = { "sha256", "sha-256" },
	[DIGEST_SHA384] = { "sha384", "sha-384" },
	[DIGEST_SHA512] = { "sha512", "sha-512" },
};

const char *
sign_digest_micalg(enum sign_digest d)
{
	return digests[d].micalg;
}

const char *
sign_digest_name(enum sign_digest d)
{
	return digests[d].name;
}

static int
read_pem_file(const char *file, const char *what, void **out,
    void *(*reader)(FILE *, void **, pem_password_cb *, void *),
    const char *passphrase, char *err, size_t errlen)
{
	FILE *f = fopen(file, "r");

	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open %s", what, file);
		return -1;
	}
	*out = reader(f, NULL, NULL, (void *)passphrase);
	fclose(f);
	if (*out == NULL) {
		char what_file[512];

		snprintf(what_file, sizeof(what_file), "%s: cannot read %s",
		    what, file);
		ssl_error(err, errlen, what_file);
		return -1;
	}
	return 0;
}

int
signer_load(struct signer *s, const char *key_file, const char *cert_file,
    const char *chain_file, const char *passphrase, char *err,
    size_t errlen)
{
	memset(s, 0, sizeof(*s));
	if (read_pem_file(key_file, "signing key", (void **)&s->key,
	    (void *(*)(FILE *, void **, pem_password_cb *, void *))
	    PEM_read_PrivateKey, passphrase, err, errlen) != 0 ||
	    read_pem_file(cert_file, "signing certificate", (void **)&s->cert,
	    (void *(*)(FILE *, void **, pem_password_cb *, void *))
	    PEM_read_X509, NULL, err, errlen) != 0)
		goto fail;
	if (X509_check_private_key(s->cert, s->key) != 1) {
		ssl_error(err, errlen, "signing key does not match its "
		    "certificate");
		goto fail;
	}
	if (chain_file != NULL) {
		FILE *f = fopen(chain_file, "r");
		X509 *x;

		if (f == NULL || (s->chain = sk_X509_new_null()) == NULL) {
			if (f != NULL)
				fclose(f);
			snprintf(err, errlen, "certificate chain: cannot open "
			    "%s", chain_file);
			goto fail;
		}
		while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
			sk_X509_push(s->chain, x);
		ERR_clear_error();
		fclose(f);
	}
	return 0;
fail:
	signer_free(s);
	return -1;
}

void
signer_free(struct signer *s)
{
	EVP_PKEY_free(s->key);
	X509_free(s->cert);
	sk_X509_pop_free(s->chain, X509_free);
	memset(s, 0, sizeof(*s));
}

/* Our capabilities, strongest first (RFC 8551 §2.5.2). */
static int
add_capabilities(CMS_SignerInfo *si)
{
	static const int nids[] = { NID_aes_256_gcm, NID_aes_128_gcm,
	    NID_aes_256_cbc, NID_aes_128_cbc };
	STACK_OF(X509_ALGOR) *algs = NULL;
	size_t i;
	int rc = -1;

	for (i = 0; i < sizeof(nids) / sizeof(nids[0]); i++)
		if (CMS_add_simple_smimecap(&algs, nids[i], -1) != 1)
			goto done;
	if (CMS_add_smimecap(si, algs) == 1)
		rc = 0;
done:
	sk_X509_ALGOR_pop_free(algs, X509_ALGOR_free);
	return rc;
}

static int
set_pss(CMS_SignerInfo *si)
{
	EVP_PKEY_CTX *pctx = CMS_SignerInfo_get0_pkey_ctx(si);

	return pctx != NULL &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0
	    ? 0 : -1;
}

/*
 * A SignedData ready for CMS_final: our signer with our attributes.
 * CMS_BINARY: the content is canonical already and must be signed as is.
 */
static CMS_ContentInfo *
make_signed(const struct signer *s, const struct sign_options *o,
    unsigned flags, char *err, size_t errlen)
{
	const EVP_MD *md = EVP_get_digestbyname(digests[o->digest].name);
	bool pss = o->rsa_pss && EVP_PKEY_is_a(s->key, "RSA");
	CMS_ContentInfo *cms;
	CMS_SignerInfo *si;

	cms = CMS_sign(NULL, NULL, s->chain, NULL, flags | CMS_PARTIAL);
	if (cms == NULL) {
		ssl_error(err, errlen, "CMS_sign failed");
		return NULL;
	}
	si = CMS_add1_signer(cms, s->cert, s->key, md, flags |
	    (pss ? CMS_KEY_PARAM : 0));
	if (si == NULL || (pss && set_pss(si) != 0) ||
	    add_capabilities(si) != 0) {
		ssl_error(err, errlen, "cannot add the signer");
		CMS_ContentInfo_free(cms);
		return NULL;
	}
	return cms;
}

/*
 * Opaque signing without OpenSSL's streaming signer (which cannot sign
 * with RSA-PSS in 3.0): the detached SignedData is turned into one that
 * carries the content, by replacing its encapContentInfo
 *   SEQUENCE { id-data }
 * with
 *   SEQUENCE { id-data, [0] EXPLICIT OCTET STRING content }
 * and recomputing the three enclosing lengths.  The signature covers
 * only the signed attributes (content type and message digest), which
 * are the same either way.  The content is streamed from the spool.
 */
static int
write_attached(const unsigned char *der, size_t derlen,
    const struct spool *content, const struct sink *out, char *err,
    size_t errlen)
{
	struct der_cur c = der_cursor(der, derlen), in;
	struct der_elem ci, oid, ctx0, sd, ver, algs, encap, ecoid;
	const unsigned char *rest, *end = der + derlen;
	unsigned char hdr[DER_HDR_MAX];
	uint64_t clen = spool_size(content), octet, explicit0, encap_len,
	    sd_len, ctx_len, head_len;

	if (der_next(&c, DER_SEQ, &ci) != 0)
		goto bad;
	in = der_inside(&ci);
	if (der_next(&in, DER_OID, &oid) != 0 ||
	    der_next(&in, DER_CTXC(0), &ctx0) != 0)
		goto bad;
	in = der_inside(&ctx0);
	if (der_next(&in, DER_SEQ, &sd) != 0)
		goto bad;
	in = der_inside(&sd);
	if (der_next(&in, DER_INTEGER, &ver) != 0 ||
	    der_next(&in, DER_SET, &algs) != 0 ||
	    der_next(&in, DER_SEQ, &encap) != 0)
		goto bad;
	c = der_inside(&encap);
	if (der_next(&c, DER_OID, &ecoid) != 0 || !der_at_end(&c))
		goto bad;
	rest = encap.val + encap.len;
	head_len = (uint64_t)(encap.start - sd.val);	/* version, algs */
	octet = der_hdr_len(clen) + clen;
	explicit0 = der_hdr_len(octet) + octet;
	encap_len = der_total(&ecoid) + explicit0;
	sd_len = head_len + der_hdr_len(encap_len) + encap_len +
	    (uint64_t)(end - rest);
	ctx_len = der_hdr_len(sd_len) + sd_len;

	/* ContentInfo { id-signedData, [0] { SignedData { version,
	 * digestAlgorithms, encapContentInfo (new), rest as signed } } } */
	if (sink_write(out, hdr, der_put_hdr(hdr, DER_SEQ, der_total(&oid) +
	    der_hdr_len(ctx_len) + ctx_len), err, errlen) != 0 ||
	    sink_write(out, oid.start, der_total(&oid), err, errlen) != 0 ||
	    sink_write(out, hdr, der_put_hdr(hdr, DER_CTXC(0), ctx_len), err,
	    errlen) != 0 ||
	    sink_write(out, hdr, der_put_hdr(hdr, DER_SEQ, sd_len), err,
	    errlen) != 0 ||
	    sink_write(out, sd.val, head_len, err, errlen) != 0 ||
	    sink_write(out, hdr, der_put_hdr(hdr, DER_SEQ, encap_len), err,
	    errlen) != 0 ||
	    sink_write(out, ecoid.start, der_total(&ecoid), err, errlen) ||
	    sink_write(out, hdr, der_put_hdr(hdr, DER_CTXC(0), octet), err,
	    errlen) != 0 ||
	    sink_write(out, hdr, der_put_hdr(hdr, DER_OCTETS, clen), err,
	    errlen) != 0 ||
	    spool_copy_to_sink(content, out, err, errlen) != 0 ||
	    sink_write(out, rest, (size_t)(end - rest), err, errlen) != 0)
		return -1;
	return 0;
bad:
	snprintf(err, errlen, "unexpected SignedData layout");
	return -1;
}

int
smime_sign_der(const struct spool *content, const struct signer *s,
    const struct sign_options *o, const struct sink *der_out, char *err,
    size_t errlen)
{
	unsigned flags = CMS_BINARY | CMS_NOSMIMECAP | CMS_DETACHED;
	CMS_ContentInfo *cms = NULL;
	BIO *in = spool_bio_reader(content);
	unsigned char *der = NULL;
	int rc = -1, len;

	if (in == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	/* Detached in both modes: the content is digested, not stored. */
	if ((cms = make_signed(s, o, flags, err, errlen)) == NULL)
		goto done;
	if (CMS_final(cms, in, NULL, flags) != 1 ||
	    (len = i2d_CMS_ContentInfo(cms, &der)) <= 0) {
		ssl_error(err, errlen, "signing failed");
		goto done;
	}
	if (o->mode == SIGN_CLEAR)
		rc = sink_write(der_out, der, (size_t)len, err, errlen);
	else
		rc = write_attached(der, (size_t)len, content, der_out, err,
		    errlen);
done:
	ERR_clear_error();
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return rc;
}

/* Base64 of a spool in 76-character lines, each ended by CRLF. */
static int
base64_lines(const struct spool *sp, const struct sink *out, char *err,
    size_t errlen)
{
	unsigned char in[65536];
	struct b64enc enc;
	uint64_t off = 0;
	ssize_t n;

	b64enc_init(&enc, out, MIMEENC_LINE);
	while ((n = spool_read(sp, off, in, sizeof(in), err, errlen)) > 0) {
		if (b64enc_update(&enc, in, (size_t)n, err, errlen) != 0)
			return -1;
		off += (uint64_t)n;
	}
	if (n < 0 || b64enc_final(&enc, err, errlen) != 0)
		return -1;
	/* The encoder ends lines only when another one follows. */
	return enc.col > 0 ? sink_puts(out, "\r\n", err, errlen) : 0;
}

/* A boundary that cannot occur in base64 or QP content by accident. */
static int
make_boundary(char *out, size_t outlen)
{
	unsigned char r[12];
	size_t i;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -1;
	snprintf(out, outlen, "----=_smime_");
	for (i = 0; i < sizeof(r); i++)
		snprintf(out + strlen(out), outlen - strlen(out), "%02x", r[i]);
	return 0;
}

static int
write_clear(const struct spool *content, const struct spool *der,
    const struct sign_options *o, const struct sink *out, char *err,
    size_t errlen)
{
	char boundary[64], head[512];

	if (make_boundary(boundary, sizeof(boundary)) != 0) {
		snprintf(err, errlen, "no randomness for the boundary");
		return -1;
	}
	snprintf(head, sizeof(head), "Content-Type: multipart/signed; "
	    "protocol=\"application/pkcs7-signature\"; micalg=%s;\r\n"
	    "\tboundary=\"%s\"\r\n\r\n"
	    "This is a cryptographically signed message in MIME format.\r\n"
	    "\r\n--%s\r\n", sign_digest_micalg(o->digest), boundary, boundary);
	if (sink_puts(out, head, err, errlen) != 0 ||
	    spool_copy_to_sink(content, out, err, errlen) != 0)
		return -1;
	/* The CRLF before a delimiter belongs to the delimiter (RFC 2046):
	 * the signed part is exactly the content. */
	snprintf(head, sizeof(head), "\r\n--%s\r\n"
	    "Content-Type: application/pkcs7-signature; name=smime.p7s\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=smime.p7s\r\n\r\n",
	    boundary);
	if (sink_puts(out, head, err, errlen) != 0 ||
	    base64_lines(der, out, err, errlen) != 0)
		return -1;
	snprintf(head, sizeof(head), "--%s--\r\n", boundary);
	return sink_puts(out, head, err, errlen);
}

static int
write_opaque(const struct spool *der, const struct sink *out, char *err,
    size_t errlen)
{
	return sink_puts(out, "Content-Type: application/pkcs7-mime; "
	    "smime-type=signed-data; name=smime.p7m\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=smime.p7m\r\n\r\n",
	    err, errlen) != 0 ? -1 : base64_lines(der, out, err, errlen);
}

int
smime_sign_entity(const struct spool *content, const struct signer *s,
    const struct sign_options *o, const char *scratch_dir,
    const struct sink *out, char *err, size_t errlen)
{
	/* The DER of an opaque signature holds the content: spool it. */
	struct spool *der = spool_new(scratch_dir, 256 * 1024);
	struct sink der_sink;
	int rc = -1;

	if (der == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	der_sink = sink_to_spool(der);
	if (smime_sign_der(content, s, o, &der_sink, err, errlen) != 0)
		goto done;
	rc = o->mode == SIGN_CLEAR ?
	    write_clear(content, der, o, out, err, errlen) :
	    write_opaque(der, out, err, errlen);
done:
	spool_free(der);
	return rc;
}
