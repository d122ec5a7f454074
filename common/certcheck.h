/*
 * certcheck.h -- is this certificate usable to encrypt to this address?
 *
 * RFC 8550/8551 rules, checked in this order so that the reason given is
 * the most specific one: supported key type and size, the address in
 * subjectAltName (or, only if allowed, the legacy emailAddress of the
 * subject), keyUsage, extendedKeyUsage, then path validation against the
 * trust anchors with validity and revocation.  keyUsage/EKU are checked
 * here rather than with X509_PURPOSE_SMIME_ENCRYPT, which wrongly rejects
 * keyAgreement-only EC certificates and anyExtendedKeyUsage.
 *
 * A validator is immutable after creation and may be shared by threads.
 */
#ifndef SMIME_CERTCHECK_H
#define SMIME_CERTCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <openssl/x509.h>

#include "certlist.h"

struct certcheck_opts {
	const char *anchors;		/* PEM file or directory; NULL = none */
	const char *const *crl_files;	/* NULL-terminated; may be NULL */
	bool require_crl;		/* no usable CRL => not usable */
	bool allow_subject_email;	/* accept emailAddress in the DN */
	unsigned min_rsa_bits;
	time_t fixed_time;		/* 0 = now (tests set a fixed clock) */
};

struct certcheck;

/* Build a validator; loads anchors and CRLs.  NULL + reason on error. */
struct certcheck *certcheck_new(const struct certcheck_opts *opts,
    char *err, size_t errlen);

/*
 * Add CRLs fetched elsewhere (LDAP) before the validator is shared.
 * Takes new references.  0 or -1.
 */
int certcheck_add_crls(struct certcheck *chk, STACK_OF(X509_CRL) *crls);

void certcheck_free(struct certcheck *chk);

/* Number of trust anchors and CRLs loaded (for logs and smimectl). */
size_t certcheck_anchor_count(const struct certcheck *chk);
size_t certcheck_crl_count(const struct certcheck *chk);

/*
 * Judge cand for address (normalised).  Sets cand->verdict and
 * cand->reason and returns the verdict.  Thread-safe.
 */
enum cert_verdict certcheck_verify(const struct certcheck *chk,
    struct cert_candidate *cand, const char *address);

/* True if cert names address (case-insensitive) in subjectAltName, or in
 * the subject's emailAddress when allow_subject is set. */
bool cert_has_address(X509 *cert, const char *address, bool allow_subject);

/* Append every e-mail address of cert, lower-cased, to a callback. */
void cert_foreach_address(X509 *cert, bool include_subject,
    void (*fn)(const char *address, void *arg), void *arg);

#endif
