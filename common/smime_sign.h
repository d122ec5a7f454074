/*
 * smime_sign.h -- S/MIME signatures over a canonical MIME entity (the
 * "content to protect" of mime.h), RFC 8551 §3.5:
 *
 *   clear   multipart/signed; protocol="application/pkcs7-signature";
 *           micalg=sha-256 -- the entity stays readable, the detached
 *           signature follows it (what Outlook expects);
 *   opaque  application/pkcs7-mime; smime-type=signed-data -- content and
 *           signature in one CMS object (survives relays that rewrap).
 *
 * Signed attributes: content type, message digest, signing time and our
 * SMIMECapabilities (AES-256-GCM, AES-128-GCM, AES-256-CBC, AES-128-CBC,
 * strongest first; OpenSSL's default list lacks GCM, so it is replaced).
 */
#ifndef SMIME_SMIME_SIGN_H
#define SMIME_SMIME_SIGN_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

struct sink;
struct spool;

enum sign_mode { SIGN_NONE = 0, SIGN_CLEAR, SIGN_OPAQUE };
enum sign_digest { DIGEST_SHA256 = 0, DIGEST_SHA384, DIGEST_SHA512 };

struct signer {
	EVP_PKEY *key;
	X509 *cert;
	STACK_OF(X509) *chain;	/* intermediates to include; may be NULL */
};

struct sign_options {
	enum sign_mode mode;
	enum sign_digest digest;
	bool rsa_pss;		/* RSASSA-PSS instead of PKCS#1 v1.5 (RSA) */
};

/*
 * Load a signer from PEM files: key (PKCS#8 or traditional, encrypted
 * with passphrase if not NULL), its certificate, and optionally a chain
 * file.  Returns 0 and fills *s (free with signer_free), or -1 + reason.
 * Refuses a key that does not match the certificate.
 */
int signer_load(struct signer *s, const char *key_file, const char *cert_file,
    const char *chain_file, const char *passphrase, char *err,
    size_t errlen);

void signer_free(struct signer *s);

/* "sha-256" etc. for micalg; "sha256" etc. for options and logs. */
const char *sign_digest_micalg(enum sign_digest d);
const char *sign_digest_name(enum sign_digest d);

/*
 * The CMS SignedData DER over content: detached for clear signing,
 * with the content embedded for opaque signing.  Streams the content
 * from the spool; writes the DER to der_out.  0 or -1 with a reason.
 */
int smime_sign_der(const struct spool *content, const struct signer *s,
    const struct sign_options *o, const struct sink *der_out, char *err,
    size_t errlen);

/*
 * The signed MIME entity (clear: multipart/signed with content verbatim
 * and the signature part; opaque: application/pkcs7-mime, base64) to
 * out.  scratch_dir/threshold: where a large opaque DER is spooled.
 * 0 or -1 with a reason.
 */
int smime_sign_entity(const struct spool *content, const struct signer *s,
    const struct sign_options *o, const char *scratch_dir,
    const struct sink *out, char *err, size_t errlen);

#endif
