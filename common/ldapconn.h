/*
 * ldapconn.h -- one LDAP connection as an LDAPDirectory line describes
 * it: the bind password file, the time budget, and connect + StartTLS +
 * bind with every timeout taken from that budget.  Shared by the
 * certificate source (certsrc_ldap.c, which pools such connections) and
 * the group resolver (ldapgroup.c, one connection per resolution).
 */
#ifndef SMIME_LDAPCONN_H
#define SMIME_LDAPCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/time.h>
#include <time.h>

#include <ldap.h>

#include "ldapspec.h"

/*
 * Read the bind password: the first line of a regular file (not a
 * symlink) owned by us or root and closed to group and others, like a
 * private key.  Returns 0 with cred->bv_val allocated (free it with
 * ldapconn_password_free), or -1 with a reason in err (never the
 * password).
 */
int ldapconn_password_read(const char *path, struct berval *cred, char *err,
    size_t errlen);

/* Wipe and free what ldapconn_password_read() stored; cred may be empty. */
void ldapconn_password_free(struct berval *cred);

/* *deadline = now + secs on CLOCK_MONOTONIC. */
void ldapconn_deadline(struct timespec *deadline, unsigned secs);

/* Budget left until deadline, in ms (negative when past). */
long ldapconn_remaining_ms(const struct timespec *deadline);

/* Budget left as a timeval; returns -1 (tv untouched) if none is left. */
int ldapconn_remaining_tv(const struct timespec *deadline,
    struct timeval *tv);

/*
 * Open a connection for spec within the budget ending at deadline:
 * initialise, LDAPv3, no referral chasing, network and operation
 * timeouts from the budget (libldap's defaults are infinite; each URI of
 * a failover list gets an equal share), connect, StartTLS if asked, and
 * a simple bind as bind-dn with cred if the spec has one (a failed bind
 * is logged at error level, without the password).  Returns LDAP_SUCCESS
 * with *ld set (release it with ldap_unbind_ext), or the LDAP error code
 * with *ld NULL and "what: reason" in err.
 */
int ldapconn_open(const struct ldap_spec *spec, const struct berval *cred,
    const struct timespec *deadline, LDAP **ld, char *err, size_t errlen);

/*
 * True for results that mean the connection itself is unusable (server
 * down, connect error, timeout, unavailable): drop it.
 */
bool ldapconn_broken(int rc);

/*
 * err = "what: libldap's error string (server's diagnostic message)";
 * ld may be NULL.
 */
void ldapconn_reason(LDAP *ld, int rc, const char *what, char *err,
    size_t errlen);

#endif
