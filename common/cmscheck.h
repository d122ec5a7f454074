/*
 * cmscheck.h -- the self-check every enveloped copy passes before it
 * leaves (SPEC M8): its RecipientInfos must identify exactly the
 * certificates of its delivery group, as read by two independent
 * parsers (our DER reader and OpenSSL's).
 */
#ifndef SMIME_CMSCHECK_H
#define SMIME_CMSCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

/* Kinds of RecipientInfo, for cmscheck_expect.openssl_seen. */
#define CMSCHECK_KTRI	1u	/* KeyTransRecipientInfo */
#define CMSCHECK_KARI	2u	/* KeyAgreeRecipientInfo */

/* What copy must look like. */
struct cmscheck_expect {
	bool auth;			/* AuthEnvelopedData */
	const unsigned char *alg;	/* our contentEncryptionAlgorithm */
	size_t alglen;
	uint64_t ctlen;			/* ciphertext octets (tail) */
	size_t prefixlen;		/* prefix octets heading head */
	X509 *const *certs;		/* the group, no duplicates */
	size_t ncerts;
	/* The keyEncryptionAlgorithm TLV every KeyTransRecipientInfo
	 * carries (cmsktri_alg). */
	const unsigned char *ktri_alg;
	size_t ktri_alglen;
	/*
	 * The kinds of RecipientInfo (CMSCHECK_KTRI, CMSCHECK_KARI) that
	 * OpenSSL has already read back correctly in an earlier copy of the
	 * same envelope, kept by the caller across copies.  NULL: OpenSSL
	 * reads every copy.  See cmscheck.c for why once per kind is enough.
	 */
	unsigned *openssl_seen;
};

/*
 * Check a copy from the base64 text of its first bytes (head: what will
 * be written, holding at least the whole DER prefix):
 *  - always: decode it and read the prefix with the DER reader: content
 *    type, version (RFC 5652 6.1), no originatorInfo or attributes, the
 *    algorithm and IV/nonce, every length consistent with the shared
 *    tail; list the recipient identifiers (ktri rid, kari rek rids; any
 *    other kind fails) and compare them, as a multiset, byte for byte
 *    with the IssuerAndSerialNumber of every expected certificate; every
 *    KeyTransRecipientInfo must be version 0, carry ktri_alg and an
 *    encryptedKey as long as its certificate's RSA modulus, and belong to
 *    an RSA certificate, every KeyAgreeRecipientInfo to an EC one;
 *  - when the copy has a kind of RecipientInfo not yet in *openssl_seen:
 *    rebuild the same fields around a 16-byte dummy ciphertext, parse
 *    that with d2i_CMS_ContentInfo and match every RecipientInfo (every
 *    RecipientEncryptedKey of a kari) to an expected certificate with
 *    OpenSSL's own comparison, each certificate exactly once; on success
 *    the copy's kinds are added to *openssl_seen.
 * 0 when all holds, else -1 with the first discrepancy in err.
 */
int cmscheck_copy(const char *head, size_t headlen,
    const struct cmscheck_expect *x, char *err, size_t errlen);

#endif
