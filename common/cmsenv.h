/*
 * cmsenv.h -- S/MIME encryption, once per message, many envelopes (M7,
 * M8).
 *
 * One content (a canonical MIME entity, possibly already signed) goes to
 * several delivery groups: the visible recipients, each Bcc recipient, ...
 * The content is encrypted ONCE with one content-encryption key (CEK);
 * every group gets its own complete application/pkcs7-mime entity whose
 * CMS RecipientInfos cover exactly that group's certificates, around the
 * same ciphertext.  Copy i = a short DER prefix of its own (RecipientInfos
 * and lengths) + the shared ciphertext + (GCM) the shared tag, base64
 * encoded; the shared part's base64 is made once and copied.
 *
 *   EnvelopedData (RFC 5652)          AES-128/256-CBC
 *   AuthEnvelopedData (RFC 5083/5084) AES-128/256-GCM, 12-byte nonce,
 *                                     16-byte tag, no authAttrs
 *   RSA recipients                    ktri, PKCS#1 v1.5 or OAEP (SHA-256)
 *   EC recipients (P-256/384/521)     kari, ephemeral-static ECDH,
 *                                     dhSinglePass-stdDH-sha256kdf-scheme
 *
 * Before a copy is written it is parsed back from the text to be written
 * and its recipient identifiers must equal the group's certificates
 * exactly, else cms_envelope_write() fails (fail closed: the caller
 * tempfails the message).  Our DER reader reads every copy, OpenSSL the
 * first copy with each kind of RecipientInfo (cmscheck.c says why that is
 * enough).
 *
 * Readers: openssl cms reads every combination; gpgsm 2.2 (Debian 12)
 * reads CBC with RSA PKCS#1 v1.5 only -- no AuthEnvelopedData, no OAEP.
 *
 * Parts: cmsri.c (the CEK and RecipientInfos: cmsktri.c builds RSA ones
 * by hand, OpenSSL the EC ones), cmsder.c (the DER layout around them),
 * cmstail.c (the one encryption and the shared base64), cmscheck.c (the
 * self-check), der.c, b64out.c.
 */
#ifndef SMIME_CMSENV_H
#define SMIME_CMSENV_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "certlist.h"

struct sink;
struct spool;

enum cms_cipher {
	CMS_CIPHER_AUTO = 0,	/* see cms_cipher_choose() */
	CMS_CIPHER_AES128_GCM,
	CMS_CIPHER_AES256_GCM,
	CMS_CIPHER_AES128_CBC,
	CMS_CIPHER_AES256_CBC,
};

/*
 * Key transport for RSA recipients.  auto is PKCS#1 v1.5: RFC 8551 still
 * requires receivers to support it and every deployed client does, while
 * OAEP support is patchy (older Outlook, some gateways); OAEP is used when
 * chosen explicitly.  EC recipients always use ECDH key agreement.
 */
enum cms_keytransport {
	CMS_KT_AUTO = 0,
	CMS_KT_RSA_OAEP,
	CMS_KT_RSA_PKCS1,
};

/* "auto", "aes128-gcm", ... <-> enum.  parse: 0, or -1 if unknown. */
int cms_cipher_parse(const char *name, enum cms_cipher *out);
const char *cms_cipher_name(enum cms_cipher c);
int cms_keytransport_parse(const char *name, enum cms_keytransport *out);

/* The OpenSSL cipher of c; NULL for CMS_CIPHER_AUTO. */
const EVP_CIPHER *cms_cipher_evp(enum cms_cipher c);
const char *cms_keytransport_name(enum cms_keytransport kt);

/* One delivery group: the certificates one copy is encrypted to. */
struct cms_group {
	const struct cert_candidate *recips;	/* .cert and .caps used */
	size_t nrecips;				/* >= 1 */
	const char *label;	/* for messages ("visible", "bcc:...") */
};

struct cms_options {
	enum cms_cipher cipher;
	enum cms_keytransport kt;
	/* Where the shared base64 goes past spool_threshold bytes (per
	 * encoding); NULL and 0 mean "/var/tmp" and 256 KiB. */
	const char *spool_dir;
	uint64_t spool_threshold;
	/*
	 * Test hook, never set in production: k > 0 gives group k-1 one
	 * recipient too many (another group's certificate, or a duplicate)
	 * after its set was fixed, so that the self-check must refuse it.
	 * 0 (the zero-initialised default) is off.
	 */
	unsigned test_corrupt_group;
};

/*
 * The cipher used for want over all groups.  An explicit choice is kept.
 * auto: AES-256-GCM when every recipient of the message is known
 * (caps.known) to support AES-256-GCM; AES-128-GCM when every one is
 * known to support GCM but some only AES-128-GCM; otherwise CBC:
 * AES-256-CBC, or AES-128-CBC when some recipient is known to support
 * AES-128-CBC but not AES-256-CBC.  One choice per message, never a
 * weaker copy of the same content for some (RFC 8551 2.7.1, 2.7.3).
 */
enum cms_cipher cms_cipher_choose(enum cms_cipher want,
    const struct cms_group *groups, size_t ngroups);

struct cms_envelope;

/*
 * Encrypt content for groups.  Generates the CEK, builds every group's
 * RecipientInfos (all public-key operations happen here), encrypts the
 * content once and base64-encodes the shared part once per needed line
 * alignment.  Nothing of content, groups or opt is kept: certificates are
 * referenced anew and labels copied, so the caller may free them.
 * Certificates repeated within a group count once.  Refuses keys other
 * than RSA and EC (P-256/P-384/P-521), an empty group and no groups.
 * Returns the envelope (free with cms_envelope_free) or NULL with a
 * reason in err.
 */
struct cms_envelope *cms_envelope_new(const struct spool *content,
    const struct cms_group *groups, size_t ngroups,
    const struct cms_options *opt, char *err, size_t errlen);

/*
 * cms_envelope_new(), and during its one encryption pass copy first is
 * self-checked and written to out: exactly what cms_envelope_write(env,
 * first, out) would write, but its base64 is streamed from the cipher
 * to out instead of being stored and read back.  With a single group
 * that saves writing and reading the whole encoded message.  The other
 * groups are written with cms_envelope_write() as usual; group first
 * cannot be (-1).  On failure NULL with a reason in err; out may then
 * hold part of the copy, which the caller must discard (as after a
 * failed cms_envelope_write()).  A failed self-check writes nothing.
 */
struct cms_envelope *cms_envelope_new_stream(const struct spool *content,
    const struct cms_group *groups, size_t ngroups,
    const struct cms_options *opt, size_t first, const struct sink *out,
    char *err, size_t errlen);

/* The cipher used: "aes256-gcm", "aes128-cbc", ... */
const char *cms_envelope_cipher_name(const struct cms_envelope *env);

/* Number of groups (copies). */
size_t cms_envelope_ngroups(const struct cms_envelope *env);

/*
 * Self-check copy group and, if it passes, write it to out as a MIME
 * entity: Content-Type (application/pkcs7-mime; smime-type=enveloped-data
 * or authEnveloped-data; name=smime.p7m), Content-Transfer-Encoding:
 * base64, Content-Disposition, an empty line, then base64 lines of at
 * most 76 characters, each ended by CRLF.  The caller adds the message
 * header fields.  May be called again for the same group.  0, or -1 with
 * a reason in err (a failed self-check writes nothing).
 */
int cms_envelope_write(struct cms_envelope *env, size_t group,
    const struct sink *out, char *err, size_t errlen);

/*
 * The self-check of cms_envelope_write() alone, writing nothing: a caller
 * that writes copies later (while sending them) learns now that every
 * copy is sound, before any of them goes out.  0, or -1 with a reason.
 */
int cms_envelope_check(struct cms_envelope *env, size_t group, char *err,
    size_t errlen);

/* Where the time went and what was shared, for logs and benchmarks. */
struct cms_envelope_stats {
	double recipient_seconds;	/* CEK, RecipientInfos, prefixes */
	double content_seconds;		/* encryption, shared base64 */
	double check_seconds;		/* self-checks, over all writes */
	unsigned openssl_checks;	/* copies OpenSSL read back */
	uint64_t content_bytes;
	uint64_t ciphertext_bytes;	/* encryptedContent octets */
	unsigned shared_encodings;	/* base64 encodings made (1-3) */
	uint64_t shared_base64_bytes;	/* per encoding */
	size_t recipient_infos;		/* made, over all groups */
};

void cms_envelope_stats(const struct cms_envelope *env,
    struct cms_envelope_stats *st);

/* Release everything (NULL is fine).  Key material is wiped. */
void cms_envelope_free(struct cms_envelope *env);

#endif
