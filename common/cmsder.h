/*
 * cmsder.h -- the DER layout of one enveloped copy, built and read back
 * by hand (OpenSSL 3.0 cannot wrap given RecipientInfos around a given
 * ciphertext).
 *
 *   ContentInfo ::= SEQUENCE {
 *     contentType   id-envelopedData | id-ct-authEnvelopedData,
 *     content [0] EXPLICIT SEQUENCE {           -- (Auth)EnvelopedData
 *       version        INTEGER,                 -- 0 or 2; Auth: 0
 *       recipientInfos SET OF RecipientInfo,    -- per copy
 *       encryptedContentInfo SEQUENCE {
 *         contentType  id-data,
 *         contentEncryptionAlgorithm AlgorithmIdentifier,  -- IV / nonce
 *         encryptedContent [0] IMPLICIT OCTET STRING },    -- shared
 *       mac            OCTET STRING (16) } }    -- Auth only; shared
 *
 * Everything up to and including the encryptedContent header is the
 * "prefix" (differs per copy); the ciphertext and, for AuthEnvelopedData,
 * the mac TLV are the shared "tail".  Definite lengths throughout.
 */
#ifndef SMIME_CMSDER_H
#define SMIME_CMSDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CMSDER_TAG_LEN	16			/* GCM tag */
#define CMSDER_MAC_TLV	(2 + CMSDER_TAG_LEN)	/* its OCTET STRING */
#define CMSDER_ALG_MAX	40		/* our AlgorithmIdentifiers */

/* The fields of one copy before its encryptedContent octets. */
struct cmsder_copy {
	bool auth;			/* AuthEnvelopedData */
	int version;
	const unsigned char *riset;	/* the whole SET OF RecipientInfo */
	size_t risetlen;
	const unsigned char *alg;	/* contentEncryptionAlgorithm */
	size_t alglen;
	uint64_t ctlen;			/* encryptedContent octets */
};

/* Length of the prefix of c. */
size_t cmsder_prefix_len(const struct cmsder_copy *c);

/* Write the prefix of c to out (cmsder_prefix_len bytes); its length. */
size_t cmsder_prefix(const struct cmsder_copy *c, unsigned char *out);

/* The mac TLV that ends an AuthEnvelopedData copy; writes CMSDER_MAC_TLV. */
void cmsder_mac(const unsigned char tag[CMSDER_TAG_LEN], unsigned char *out);

/*
 * Read a prefix back: p holds at least the prefix (len bytes, more is
 * fine).  Every enclosing length must account exactly for the prefix,
 * ctlen octets of ciphertext and (auth) the mac TLV, nothing else may be
 * present (originatorInfo, attributes).  Fills c (pointers into p) and
 * *prefixlen.  0, or -1 with a reason in err.
 */
int cmsder_parse_prefix(const unsigned char *p, size_t len,
    struct cmsder_copy *c, size_t *prefixlen, char *err, size_t errlen);

/*
 * The RecipientInfos SET inside a complete (Auth)EnvelopedData
 * ContentInfo (what i2d_CMS_ContentInfo made).  0, or -1.
 */
int cmsder_find_riset(const unsigned char *der, size_t len,
    const unsigned char **set, size_t *setlen);

/*
 * The encryptedKey of the only KEKRecipientInfo in a complete
 * ContentInfo (the template of cmsri.c).  0, or -1.
 */
int cmsder_kekri_key(const unsigned char *der, size_t len,
    const unsigned char **key, size_t *keylen);

/*
 * EnvelopedData version for a RecipientInfos SET (RFC 5652 6.1, with no
 * originatorInfo or unprotectedAttrs): 0 if every RecipientInfo is a
 * version 0 KeyTransRecipientInfo, else 2.  -1 if the SET is malformed.
 */
int cmsder_env_version(const unsigned char *set, size_t len);

/* A recipient identifier found in a RecipientInfos SET. */
struct cmsder_rid {
	const unsigned char *der;	/* IssuerAndSerialNumber or [0] SKI */
	size_t len;			/* (the whole TLV) */
	bool agree;			/* of a KeyAgreeRecipientInfo */
	/* KeyTransRecipientInfo only (agree false): */
	int version;			/* its version, -1 if not 0..127 */
	const unsigned char *alg;	/* keyEncryptionAlgorithm TLV */
	size_t alglen;
	uint64_t keylen;		/* encryptedKey octets */
};

/*
 * List the recipient identifiers of set into rids (room for max): the
 * rid of every KeyTransRecipientInfo and of every RecipientEncryptedKey
 * of every KeyAgreeRecipientInfo, in the order of the SET.  Any other
 * kind of RecipientInfo (KEK, password, other) fails.  0 with *n set, or
 * -1 with a reason in err.
 */
int cmsder_rids(const unsigned char *set, size_t len, struct cmsder_rid *rids,
    size_t max, size_t *n, char *err, size_t errlen);

/*
 * contentEncryptionAlgorithm for AES with keybits 128 or 256: CBC with a
 * 16-byte IV, or GCM with a 12-byte nonce and a 16-byte ICV (RFC 5084
 * GCMParameters).  Writes to out (CMSDER_ALG_MAX) and returns the length.
 */
size_t cmsder_alg(bool gcm, int keybits, const unsigned char *iv,
    unsigned char *out);

#endif
