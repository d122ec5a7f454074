/*
 * cmsri.h -- one content-encryption key (CEK) and RecipientInfos for it.
 *
 * RSA recipients get a KeyTransRecipientInfo built by hand (cmsktri.c).
 * EC recipients get a KeyAgreeRecipientInfo made by OpenSSL, although
 * OpenSSL 3.0 has no API to set the CEK: a small "template" CMS object is
 * encrypted by OpenSSL to one KEK recipient whose key only we hold; we
 * unwrap the CEK from it for our own content encryption, and make OpenSSL
 * load the same CEK into parsed copies of the template (by "decrypting"
 * the KEK recipient) to generate RecipientInfos for EC recipients.  When
 * no recipient has an EC key the CEK is simply drawn at random and no
 * template is made.  See cmsri.c for the exact calls.
 */
#ifndef SMIME_CMSRI_H
#define SMIME_CMSRI_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "cmsenv.h"

struct cmsri;

/*
 * Draw the CEK.  cipher: the content cipher (AES-128/256 CBC or GCM).
 * kt: key transport for RSA recipients.  agree: some recipient has an EC
 * key, so make the OpenSSL template (GCM: AuthEnvelopedData) and take the
 * CEK from it; else the CEK is RAND_priv_bytes().  NULL with a reason in
 * err.
 */
struct cmsri *cmsri_new(enum cms_cipher cipher, enum cms_keytransport kt,
    bool agree, char *err, size_t errlen);

/* The CEK (owned by r, wiped by cmsri_free) and its length. */
const unsigned char *cmsri_cek(const struct cmsri *r, size_t *len);

/*
 * Check that cert's key can be a recipient: RSA (not RSA-PSS) or EC on
 * P-256, P-384 or P-521.  0, or -1 with a reason.
 */
int cmsri_check_key(X509 *cert, char *err, size_t errlen);

/*
 * The DER of a RecipientInfos SET with one RecipientInfo per certificate
 * (n >= 1), each encrypting the CEK: KeyTransRecipientInfo for RSA,
 * KeyAgreeRecipientInfo for EC (only if r was made with agree), each
 * identified by issuer and serial number, in DER SET OF order.  *set is
 * malloc'd (caller frees).  0, or -1 with a reason in err.
 */
int cmsri_set(struct cmsri *r, X509 *const *certs, size_t n,
    unsigned char **set, size_t *setlen, char *err, size_t errlen);

/* Free everything; the KEK and the CEK are wiped.  NULL is fine. */
void cmsri_free(struct cmsri *r);

#endif
