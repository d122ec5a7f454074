/*
 * certcheck.c -- certificate validation for encryption.
 */
#include "certcheck.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "sslerr.h"

struct certcheck {
	X509_STORE *store;
	bool require_crl;
	bool allow_subject_email;
	unsigned min_rsa_bits;
	time_t fixed_time;
	size_t anchors, crls;
};

/* Add every certificate of a PEM file to the store. */
static int
load_anchor_file(struct certcheck *chk, const char *path, char *err,
    size_t errlen)
{
	FILE *f = fopen(path, "r");
	X509 *x;
	size_t n = 0;

	if (f == NULL) {
		snprintf(err, errlen, "TrustAnchors: cannot open %s", path);
		return -1;
	}
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		if (X509_STORE_add_cert(chk->store, x) != 1)
			ERR_clear_error();	/* a duplicate anchor */
		X509_free(x);
		n++;
	}
	ERR_clear_error();	/* end of file reads as an error */
	fclose(f);
	if (n == 0) {
		snprintf(err, errlen, "TrustAnchors: no PEM certificate in %s",
		    path);
		return -1;
	}
	chk->anchors += n;
	return 0;
}

static bool
has_cert_suffix(const char *name)
{
	const char *dot = strrchr(name, '.');

	return dot != NULL && (strcasecmp(dot, ".pem") == 0 ||
	    strcasecmp(dot, ".crt") == 0 || strcasecmp(dot, ".cer") == 0);
}

/* A directory: every *.pem, *.crt, *.cer file in it (no c_rehash). */
static int
load_anchors(struct certcheck *chk, const char *path, char *err,
    size_t errlen)
{
	struct dirent *e;
	struct stat st;
	char file[4096];
	DIR *d;
	int rc = 0;

	if (stat(path, &st) != 0) {
		snprintf(err, errlen, "TrustAnchors: %s does not exist", path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return load_anchor_file(chk, path, err, errlen);
	if ((d = opendir(path)) == NULL) {
		snprintf(err, errlen, "TrustAnchors: cannot read %s", path);
		return -1;
	}
	while (rc == 0 && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || !has_cert_suffix(e->d_name))
			continue;
		snprintf(file, sizeof(file), "%s/%s", path, e->d_name);
		rc = load_anchor_file(chk, file, err, errlen);
	}
	closedir(d);
	if (rc == 0 && chk->anchors == 0) {
		snprintf(err, errlen, "TrustAnchors: no certificate files in %s",
		    path);
		rc = -1;
	}
	return rc;
}

/* A CRL file, PEM or DER. */
static int
load_crl_file(struct certcheck *chk, const char *path, char *err,
    size_t errlen)
{
	X509_CRL *crl;
	FILE *f = fopen(path, "rb");

	if (f == NULL) {
		snprintf(err, errlen, "CRLFile: cannot open %s", path);
		return -1;
	}
	crl = PEM_read_X509_CRL(f, NULL, NULL, NULL);
	if (crl == NULL) {
		ERR_clear_error();
		rewind(f);
		crl = d2i_X509_CRL_fp(f, NULL);
	}
	fclose(f);
	if (crl == NULL) {
		snprintf(err, errlen, "CRLFile: %s is not a CRL", path);
		ssl_append_errors(err, errlen);
		return -1;
	}
	X509_STORE_add_crl(chk->store, crl);
	X509_CRL_free(crl);
	chk->crls++;
	return 0;
}

struct certcheck *
certcheck_new(const struct certcheck_opts *opts, char *err, size_t errlen)
{
	struct certcheck *chk = calloc(1, sizeof(*chk));
	size_t i;

	if (chk == NULL || (chk->store = X509_STORE_new()) == NULL) {
		free(chk);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	chk->require_crl = opts->require_crl;
	chk->allow_subject_email = opts->allow_subject_email;
	chk->min_rsa_bits = opts->min_rsa_bits;
	chk->fixed_time = opts->fixed_time;
	if (opts->anchors != NULL &&
	    load_anchors(chk, opts->anchors, err, errlen) != 0)
		goto fail;
	for (i = 0; opts->crl_files != NULL && opts->crl_files[i]; i++)
		if (load_crl_file(chk, opts->crl_files[i], err, errlen) != 0)
			goto fail;
	return chk;
fail:
	certcheck_free(chk);
	return NULL;
}

int
certcheck_add_crls(struct certcheck *chk, STACK_OF(X509_CRL) *crls)
{
	int i;

	for (i = 0; i < sk_X509_CRL_num(crls); i++) {
		if (X509_STORE_add_crl(chk->store,
		    sk_X509_CRL_value(crls, i)) != 1)
			ERR_clear_error();
		else
			chk->crls++;
	}
	return 0;
}

void
certcheck_free(struct certcheck *chk)
{
	if (chk == NULL)
		return;
	X509_STORE_free(chk->store);
	free(chk);
}

size_t
certcheck_anchor_count(const struct certcheck *chk)
{
	return chk->anchors;
}

size_t
certcheck_crl_count(const struct certcheck *chk)
{
	return chk->crls;
}

/*
 * Pass the address in data (len bytes) to fn, lower-cased, unless it is
 * empty, too long, or holds a NUL, control, space or 8-bit byte: such a
 * value is never an address of ours (whitespace in certificate addresses
 * is a known spoofing trick).
 */
static void
emit_address(const unsigned char *data, int len,
    void (*fn)(const char *address, void *arg), void *arg)
{
	char buf[400];
	int j;

	if (len <= 0 || (size_t)len >= sizeof(buf))
		return;
	for (j = 0; j < len; j++) {
		unsigned char c = data[j];

		if (c <= 0x20 || c >= 0x7f)
			return;
		buf[j] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	buf[len] = '\0';
	fn(buf, arg);
}

void
cert_foreach_address(X509 *cert, bool include_subject,
    void (*fn)(const char *address, void *arg), void *arg)
{
	GENERAL_NAMES *names;
	int i;

	names = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	for (i = 0; i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);

		if (gn->type == GEN_EMAIL)
			emit_address(ASN1_STRING_get0_data(gn->d.rfc822Name),
			    ASN1_STRING_length(gn->d.rfc822Name), fn, arg);
	}
	GENERAL_NAMES_free(names);
	if (include_subject) {
		X509_NAME *subj = X509_get_subject_name(cert);
		int pos = -1;

		while ((pos = X509_NAME_get_index_by_NID(subj,
		    NID_pkcs9_emailAddress, pos)) >= 0) {
			unsigned char *utf8 = NULL;
			int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(
			    X509_NAME_get_entry(subj, pos)));

			emit_address(utf8, len, fn, arg);
			OPENSSL_free(utf8);
		}
	}
}

struct address_match {
	const char *want;
	bool found;
};

static void
match_address(const char *address, void *arg)
{
	struct address_match *m = arg;

	if (strcmp(address, m->want) == 0)
		m->found = true;
}

bool
cert_has_address(X509 *cert, const char *address, bool allow_subject)
{
	struct address_match m = { address, false };

	cert_foreach_address(cert, allow_subject, match_address, &m);
	return m.found;
}

static enum cert_verdict
verdict(struct cert_candidate *cand, enum cert_verdict v, const char *fmt,
    const char *detail)
{
	cand->verdict = v;
	snprintf(cand->reason, sizeof(cand->reason), fmt, detail);
	return v;
}

/* RSA of enough bits, or EC on a NIST curve OpenSSL's CMS can use. */
static enum cert_verdict
check_key(const struct certcheck *chk, struct cert_candidate *cand)
{
	EVP_PKEY *pkey = X509_get0_pubkey(cand->cert);
	char buf[80];

	if (pkey == NULL)
		return verdict(cand, CERT_UNSUPPORTED_KEY, "%s",
		    "public key cannot be decoded");
	if (EVP_PKEY_is_a(pkey, "RSA")) {
		int bits = EVP_PKEY_get_bits(pkey);

		if (bits < (int)chk->min_rsa_bits) {
			snprintf(buf, sizeof(buf), "RSA key of %d bits, "
			    "MinRSABits is %u", bits, chk->min_rsa_bits);
			return verdict(cand, CERT_WEAK_KEY, "%s", buf);
		}
		return CERT_OK;
	}
	if (EVP_PKEY_is_a(pkey, "EC")) {
		char curve[64] = "";
		size_t len = 0;

		if (EVP_PKEY_get_utf8_string_param(pkey, "group", curve,
		    sizeof(curve), &len) == 1 &&
		    (strcmp(curve, "prime256v1") == 0 ||
		    strcmp(curve, "P-256") == 0 ||
		    strcmp(curve, "secp384r1") == 0 ||
		    strcmp(curve, "P-384") == 0 ||
		    strcmp(curve, "secp521r1") == 0 ||
		    strcmp(curve, "P-521") == 0))
			return CERT_OK;
		return verdict(cand, CERT_UNSUPPORTED_KEY, "EC curve %s is "
		    "not supported (P-256, P-384, P-521 are)",
		    curve[0] ? curve : "(explicit parameters)");
	}
	/* X25519/X448 need RFC 8418 KDFs that OpenSSL 3.0 CMS lacks. */
	return verdict(cand, CERT_UNSUPPORTED_KEY, "key type %s cannot be "
	    "used for S/MIME encryption here", EVP_PKEY_get0_type_name(pkey)
	    ? EVP_PKEY_get0_type_name(pkey) : "unknown");
}

/* keyUsage, if present, must allow the key-management operation. */
static enum cert_verdict
check_key_usage(struct cert_candidate *cand)
{
	uint32_t ku = X509_get_key_usage(cand->cert);
	EVP_PKEY *pkey = X509_get0_pubkey(cand->cert);
	bool is_rsa = EVP_PKEY_is_a(pkey, "RSA");

	if (ku == UINT32_MAX)	/* no keyUsage extension: any use */
		return CERT_OK;
	if (is_rsa && !(ku & KU_KEY_ENCIPHERMENT))
		return verdict(cand, CERT_KEY_USAGE, "%s", "keyUsage lacks "
		    "keyEncipherment (needed for RSA key transport)");
	if (!is_rsa && !(ku & KU_KEY_AGREEMENT))
		return verdict(cand, CERT_KEY_USAGE, "%s", "keyUsage lacks "
		    "keyAgreement (needed for ECDH)");
	return CERT_OK;
}

static enum cert_verdict
check_ext_key_usage(struct cert_candidate *cand)
{
	uint32_t xku;

	if (!(X509_get_extension_flags(cand->cert) & EXFLAG_XKUSAGE))
		return CERT_OK;	/* no EKU: any purpose */
	xku = X509_get_extended_key_usage(cand->cert);
	if (xku & (XKU_SMIME | XKU_ANYEKU))
		return CERT_OK;
	return verdict(cand, CERT_EXT_KEY_USAGE, "%s", "extendedKeyUsage "
	    "has neither emailProtection nor anyExtendedKeyUsage");
}

/*
 * Without RequireCRL, revocation is checked only where a CRL is at hand:
 * missing or stale CRLs are not errors.  The validator rides along as
 * the store context's app data.
 */
static int
verify_cb(int ok, X509_STORE_CTX *ctx)
{
	const struct certcheck *chk = X509_STORE_CTX_get_app_data(ctx);
	int e = X509_STORE_CTX_get_error(ctx);

	if (ok || chk->require_crl)
		return ok;
	return e == X509_V_ERR_UNABLE_TO_GET_CRL ||
	    e == X509_V_ERR_CRL_HAS_EXPIRED ||
	    e == X509_V_ERR_CRL_NOT_YET_VALID ||
	    e == X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER;
}

static enum cert_verdict
map_verify_error(struct cert_candidate *cand, int e, int depth)
{
	char detail[128];

	snprintf(detail, sizeof(detail), "%s%s",
	    X509_verify_cert_error_string(e),
	    depth > 0 ? " (in the issuer chain)" : "");
	switch (e) {
	case X509_V_ERR_CERT_HAS_EXPIRED:
		return verdict(cand, CERT_EXPIRED, "%s", detail);
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return verdict(cand, CERT_NOT_YET_VALID, "%s", detail);
	case X509_V_ERR_CERT_REVOKED:
		return verdict(cand, CERT_REVOKED, "%s", detail);
	case X509_V_ERR_UNABLE_TO_GET_CRL:
	case X509_V_ERR_CRL_HAS_EXPIRED:
	case X509_V_ERR_CRL_NOT_YET_VALID:
	case X509_V_ERR_UNABLE_TO_GET_CRL_ISSUER:
		return verdict(cand, CERT_CRL_MISSING, "%s (RequireCRL is "
		    "set)", detail);
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
		return verdict(cand, CERT_UNTRUSTED, "%s: the issuing CA "
		    "certificate is in neither TrustAnchors nor the "
		    "certificate's source", detail);
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_CERT_UNTRUSTED:
		return verdict(cand, CERT_UNTRUSTED, "%s", detail);
	default:
		return verdict(cand, CERT_INVALID, "%s", detail);
	}
}

static enum cert_verdict
check_chain(const struct certcheck *chk, struct cert_candidate *cand)
{
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	X509_VERIFY_PARAM *param;
	enum cert_verdict v = CERT_OK;

	if (ctx == NULL || X509_STORE_CTX_init(ctx, chk->store, cand->cert,
	    cand->extra) != 1) {
		X509_STORE_CTX_free(ctx);
		ERR_clear_error();
		return verdict(cand, CERT_INVALID, "%s", "out of memory");
	}
	X509_STORE_CTX_set_app_data(ctx, (void *)chk);
	X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
	param = X509_STORE_CTX_get0_param(ctx);
	X509_VERIFY_PARAM_set_flags(param, X509_V_FLAG_X509_STRICT |
	    (chk->crls > 0 || chk->require_crl ?
	    X509_V_FLAG_CRL_CHECK | X509_V_FLAG_CRL_CHECK_ALL : 0));
	if (chk->fixed_time != 0)
		X509_VERIFY_PARAM_set_time(param, chk->fixed_time);
	if (X509_verify_cert(ctx) != 1)
		v = map_verify_error(cand, X509_STORE_CTX_get_error(ctx),
		    X509_STORE_CTX_get_error_depth(ctx));
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return v;
}

enum cert_verdict
certcheck_verify(const struct certcheck *chk, struct cert_candidate *cand,
    const char *address)
{
	enum cert_verdict v;

	cand->reason[0] = '\0';
	if ((v = check_key(chk, cand)) != CERT_OK)
		return v;
	if (!cert_has_address(cand->cert, address, chk->allow_subject_email))
		return verdict(cand, CERT_ADDRESS_MISMATCH, "%s is not in "
		    "subjectAltName", address);
	if ((v = check_key_usage(cand)) != CERT_OK ||
	    (v = check_ext_key_usage(cand)) != CERT_OK ||
	    (v = check_chain(chk, cand)) != CERT_OK)
		return v;
	cand->verdict = CERT_OK;
	snprintf(cand->reason, sizeof(cand->reason), "usable");
	return CERT_OK;
}
