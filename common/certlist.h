/*
 * certlist.h -- candidate certificates for one address, as the sources
 * find them and the validator judges them.
 *
 * Ownership: a cert_list owns one reference to every X509 in it (and to
 * its extra chain certificates); cert_list_free() drops them.  Sources
 * append with cert_list_add(), which takes its own references, so the
 * caller keeps (and must free) whatever it passed in.
 */
#ifndef SMIME_CERTLIST_H
#define SMIME_CERTLIST_H

#include <stddef.h>
#include <openssl/x509.h>

/* Verdicts of the validator, in the order checks are made. */
enum cert_verdict {
	CERT_UNCHECKED = 0,
	CERT_OK,
	CERT_UNSUPPORTED_KEY,	/* not RSA or EC P-256/P-384/P-521 */
	CERT_WEAK_KEY,		/* RSA below MinRSABits */
	CERT_ADDRESS_MISMATCH,	/* address not in subjectAltName */
	CERT_KEY_USAGE,		/* no keyEncipherment / keyAgreement */
	CERT_EXT_KEY_USAGE,	/* EKU without emailProtection/any */
	CERT_EXPIRED,
	CERT_NOT_YET_VALID,
	CERT_UNTRUSTED,		/* no chain to a trust anchor */
	CERT_REVOKED,
	CERT_CRL_MISSING,	/* RequireCRL yes and no usable CRL */
	CERT_INVALID,		/* any other chain error */
};

/* Stable keyword for logs, smimectl and tests ("ok", "expired", ...). */
const char *cert_verdict_name(enum cert_verdict v);

/*
 * Content-encryption algorithms a recipient is known to support, from
 * the SMIMECapabilities of its signed mail (harvesting) or a per-
 * certificate override.  The CMS step uses GCM only when every recipient
 * of a message is known to support it.
 */
enum smime_cap {
	CAP_AES128_CBC = 1u << 0,
	CAP_AES256_CBC = 1u << 1,
	CAP_AES128_GCM = 1u << 2,
	CAP_AES256_GCM = 1u << 3,
};

struct smime_caps {
	unsigned known;		/* 0: nothing known about this recipient */
	unsigned mask;		/* enum smime_cap bits */
};

/*
 * Parse "aes256-gcm aes128-gcm aes256-cbc" (space/comma separated, one
 * line, '#' comments) into caps.  0, or -1 with the unknown word in err.
 */
int smime_caps_parse(const char *text, struct smime_caps *caps, char *err,
    size_t errlen);

/* Write caps as such a line ("unknown" if nothing is known). */
void smime_caps_format(const struct smime_caps *caps, char *out,
    size_t outlen);

struct cert_candidate {
	X509 *cert;
	STACK_OF(X509) *extra;	/* certificates that came with it, or NULL */
	char source[64];	/* "dir", "ldap:corp", "harvested", ... */
	char origin[256];	/* file name, LDAP DN, ... (for messages) */
	struct smime_caps caps;	/* what the recipient is known to support */
	enum cert_verdict verdict;
	char reason[256];	/* human-readable detail of the verdict */
};

struct cert_list {
	struct cert_candidate *items;
	size_t count, cap;
};

/* An empty list needs no initialiser beyond zeroing. */
#define CERT_LIST_INIT { NULL, 0, 0 }

/*
 * Append cert (and optional extra chain certs) with its source and origin.
 * Takes new references; returns 0 or -1 when out of memory.
 */
int cert_list_add(struct cert_list *list, X509 *cert, STACK_OF(X509) *extra,
    const char *source, const char *origin);

/*
 * Append a copy of c: new references, and its verdict, reason and
 * capabilities kept.  0 or -1 when out of memory.
 */
int cert_list_add_copy(struct cert_list *list,
    const struct cert_candidate *c);

/* Append a copy of every candidate of from (see cert_list_add_copy). */
int cert_list_copy(struct cert_list *to, const struct cert_list *from);

/* Move every candidate of from to the end of to; from becomes empty. */
int cert_list_move(struct cert_list *to, struct cert_list *from);

/* Drop all references and storage; the list is empty afterwards. */
void cert_list_free(struct cert_list *list);

/* Upper bound on candidates per address, per source (untrusted input). */
#define CERT_LIST_MAX_PER_SOURCE 64

#endif
