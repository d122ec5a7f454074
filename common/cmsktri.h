/*
 * cmsktri.h -- KeyTransRecipientInfo for RSA recipients, built by hand
 * (RFC 5652 6.2.1) instead of through OpenSSL's CMS object code.
 *
 * OpenSSL's CMS_add1_recipient_cert() + CMS_RecipientInfo_encrypt() cost
 * about 14 us per recipient on top of the RSA operation itself; a message
 * to a thousand Bcc recipients pays that a thousand times.  Here a
 * RecipientInfo is the RSA operation (EVP_PKEY_encrypt with a context of
 * its own) plus a few memcpy()s, and its bytes are the same form OpenSSL
 * emits (tests/unit/test_cmsktri.c compares them field by field):
 *
 *   KeyTransRecipientInfo ::= SEQUENCE {
 *     version                0,
 *     rid                    IssuerAndSerialNumber,  -- the certificate's
 *     keyEncryptionAlgorithm AlgorithmIdentifier,    -- cmsktri_alg()
 *     encryptedKey           OCTET STRING }          -- RSA(CEK)
 */
#ifndef SMIME_CMSKTRI_H
#define SMIME_CMSKTRI_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/x509.h>

/*
 * The keyEncryptionAlgorithm every KeyTransRecipientInfo of ours carries,
 * as a whole TLV (static storage): rsaEncryption with NULL parameters
 * (PKCS#1 v1.5, RFC 3370 4.2.1), or with oaep id-RSAES-OAEP with hashFunc
 * SHA-256 (parameters absent), maskGenFunc MGF1 with SHA-256 and the
 * default pSourceFunc (RFC 4055 3.1, RFC 8017 A.2.1).
 */
const unsigned char *cmsktri_alg(bool oaep, size_t *len);

/*
 * The DER of one KeyTransRecipientInfo that carries cek (ceklen bytes)
 * encrypted to the RSA key of cert, identified by the issuer and serial
 * number of cert.  *der is malloc'd (caller frees).  Nothing of cek is
 * kept.  0, or -1 with a reason in err (not an RSA key, OpenSSL error).
 */
int cmsktri_make(X509 *cert, bool oaep, const unsigned char *cek,
    size_t ceklen, unsigned char **der, size_t *derlen, char *err,
    size_t errlen);

#endif
