/*
 * smime_read.h -- decrypt and verify S/MIME messages: the inspection
 * commands (smimectl decrypt|verify), the tests, and the inbound steps
 * to come (SPEC M13/M14).  Messages are parsed with OpenSSL's own S/MIME
 * reader, independent of the code that writes ours.
 *
 * Whole messages are read into memory here; at most SMIME_READ_MAX.
 */
#ifndef SMIME_SMIME_READ_H
#define SMIME_SMIME_READ_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "certlist.h"

struct sink;

#define SMIME_READ_MAX (256u * 1024u * 1024u)

enum verify_status {
	VERIFY_OK = 0,
	VERIFY_NOT_SIGNED,	/* no S/MIME signature in the message */
	VERIFY_MALFORMED,	/* the CMS or MIME structure is broken */
	VERIFY_CONTENT_ALTERED,	/* message digest does not match */
	VERIFY_BAD_SIGNATURE,	/* signature does not verify */
	VERIFY_UNTRUSTED,	/* signer does not chain to an anchor */
	VERIFY_EXPIRED,		/* signer (or issuer) outside validity */
	VERIFY_INVALID,		/* any other certificate problem */
};

const char *verify_status_name(enum verify_status st);

struct verify_result {
	enum verify_status status;
	char reason[256];
	STACK_OF(X509) *signers;	/* owned; may be NULL */
	struct smime_caps caps;		/* of the first signer, if sent */
	time_t signing_time;		/* 0 if not sent */
};

void verify_result_free(struct verify_result *res);

/*
 * Verify the S/MIME signature of msg (a whole message or MIME entity,
 * clear or opaque).  anchors: trusted CA certificates.  at: the time to
 * validate the signer at (0 = now).  The signed content is written to
 * content_out (may be NULL).  Returns res->status.
 */
enum verify_status smime_verify(const unsigned char *msg, size_t len,
    X509_STORE *anchors, time_t at, const struct sink *content_out,
    struct verify_result *res);

/*
 * Decrypt msg (application/pkcs7-mime enveloped-data or
 * authEnveloped-data) with key, whose certificate cert is passed to
 * CMS_decrypt (RFC 8551: a Bleichenbacher countermeasure; it also picks
 * the right RecipientInfo).  The decrypted MIME entity goes to out; for
 * AES-GCM nothing is written unless the tag verified.  0 or -1 + reason.
 */
int smime_decrypt(const unsigned char *msg, size_t len, EVP_PKEY *key,
    X509 *cert, const struct sink *out, char *err, size_t errlen);

/* A store of the PEM certificates in file (CA certificates). */
X509_STORE *smime_load_anchors(const char *file, char *err, size_t errlen);

#endif
