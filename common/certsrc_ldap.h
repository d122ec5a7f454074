/*
 * certsrc_ldap.h -- certificates from an LDAP directory (SPEC M6).
 *
 * One LDAPDirectory configuration line describes one directory:
 *
 *   NAME key=value key=value ...
 *
 *   uri=URI[,URI...]     ldap:// or ldaps:// (required); several URIs
 *                        are tried in order (failover, done by libldap)
 *   base=DN              search base (required)
 *   bind-dn=DN           simple bind as DN ...
 *   bind-password-file=/abs/path   ... with the password in this file
 *                        (first line; the file must not be accessible
 *                        to group or others); both or neither
 *   starttls=yes|no      default no (not with ldaps://)
 *   filter=TEMPLATE      default (|(mail=%s)(mailAlternateAddress=%s)
 *                        (otherMailbox=%s)); %s = RFC 4515-escaped
 *                        address, %% = "%"
 *   attrs=A[,A...]       default userSMIMECertificate,
 *                        userCertificate;binary
 *   timeout=SECONDS      default 5 (1..300): bounds a whole look-up
 *   pool=N               connections, default 4 (1..64)
 *   crl-dn=DN[;DN...]    entries with certificateRevocationList;binary
 *   max-entries=N        default 50 (1..10000): search size limit
 *   max-value-bytes=N    default 65536 (256..16777216): larger values
 *                        are skipped
 *
 * NAME is 1..32 of [A-Za-z0-9_.-].  A value may not contain white space
 * unless the whole value is double-quoted: base="ou=Some People,dc=x"
 * (no escapes inside quotes; write a '"' in a DN as \22).
 *
 * A process using this source must ignore SIGPIPE (smfi_main does):
 * libldap writes to sockets whose peer may have gone away.
 */
#ifndef SMIME_CERTSRC_LDAP_H
#define SMIME_CERTSRC_LDAP_H

#include <stddef.h>
#include <openssl/x509.h>

#include "certsrc.h"

/* Longest directory name (without the "ldap:" prefix). */
#define LDAP_SPEC_NAME_MAX 32

/*
 * Validate an LDAPDirectory spec without connecting and without reading
 * the password file (config load, "smime-milter -n").  Returns 0, or -1
 * with a reason naming the offending key in err.
 */
int ldap_spec_check(const char *spec, char *err, size_t errlen);

/*
 * Copy the directory name of spec ("corp") into out.  Returns 0, or -1
 * if spec does not start with a valid name or out is too small.
 */
int ldap_spec_name(const char *spec, char *out, size_t outlen);

/*
 * Write the effective settings of spec, defaults included, as one line
 * in spec syntax (for "smime-milter -n" and tests; never the password,
 * only the file's name).  Returns 0, or -1 with a reason in err (bad
 * spec, or out too small).
 */
int ldap_spec_canonical(const char *spec, char *out, size_t outlen,
    char *err, size_t errlen);

/*
 * Create the source "ldap:NAME" for spec.  Reads the bind password file
 * (refusing one that is not a regular file owned by us or root, or that
 * group or others may access) but does not connect: connections are made
 * by the first look-ups.  Returns the source (free it with src->free), or
 * NULL with a reason in err.
 *
 * lookup(): LOOKUP_FOUND with each certificate of the matching entries
 * (X.509 values; the end-entity certificates of PKCS#7 bundles, with the
 * bundle's CA certificates as extra) and the entry DN as origin;
 * LOOKUP_NONE if nothing matched (or the server answered with a
 * referral, which is not chased); LOOKUP_ERROR if the directory could
 * not answer within the timeout.
 */
struct certsrc *certsrc_ldap_new(const char *spec, char *err, size_t errlen);

/*
 * Fetch the CRLs of the crl-dn entries (certificateRevocationList;binary,
 * DER) and push them onto *out, which is created if NULL; the stack owns
 * them (free with sk_X509_CRL_pop_free(s, X509_CRL_free)).  Returns
 * LOOKUP_FOUND if any was added, LOOKUP_NONE if there is no crl-dn or no
 * CRL in the entries, LOOKUP_ERROR (with *out unchanged) if a directory
 * query failed.  src must be a source made by certsrc_ldap_new().
 */
enum lookup_status certsrc_ldap_fetch_crls(struct certsrc *src,
    STACK_OF(X509_CRL) **out, char *err, size_t errlen);

/*
 * Counters since the source was created (each read atomically; the set
 * is not one snapshot).  lookups: address look-ups; errors: operations
 * that ended in LOOKUP_ERROR; timeouts: those of them that timed out;
 * reconnects: connections re-established after a failure; referrals:
 * referrals and search references met (never chased).
 */
struct ldap_counters {
	unsigned long lookups, errors, timeouts, reconnects, referrals;
};

void certsrc_ldap_counters(struct certsrc *src, struct ldap_counters *out);

#endif
