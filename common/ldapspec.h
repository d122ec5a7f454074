/*
 * ldapspec.h -- the parsed form of an LDAPDirectory line, shared by the
 * spec parser (ldapspec.c), the connection helper (ldapconn.c), the LDAP
 * certificate source (certsrc_ldap.c) and the group resolver
 * (ldapgroup.c).  The
 * public entry points (ldap_spec_check, ldap_spec_name,
 * ldap_spec_canonical) are declared in certsrc_ldap.h.
 */
#ifndef SMIME_LDAPSPEC_H
#define SMIME_LDAPSPEC_H

#include <stdbool.h>
#include <stddef.h>

#include "certsrc_ldap.h"

#define DEFAULT_FILTER \
	"(|(mail=%s)(mailAlternateAddress=%s)(otherMailbox=%s))"
#define DEFAULT_ATTRS	"userSMIMECertificate,userCertificate;binary"

#define SPEC_VALUE_MAX	4096	/* one config line */
#define MAX_URIS	8
#define MAX_ATTRS	16
#define MAX_CRL_DNS	16

struct strlist {
	char **v;		/* NULL-terminated (libldap's char **attrs) */
	size_t n;
};

struct ldap_spec {
	char name[LDAP_SPEC_NAME_MAX + 1];
	char *uri;		/* comma-separated list (libldap's form) */
	unsigned nuris;
	char *base;
	char *bind_dn;
	char *password_file;
	bool starttls;
	char *filter;
	struct strlist attrs;
	unsigned timeout;
	unsigned pool;
	struct strlist crl_dns;
	unsigned max_entries;
	unsigned max_value_bytes;
};

/*
 * Parse text into *spec (zeroed by the caller), defaults filled in.
 * Returns 0, or -1 with a reason naming the key in err; free with
 * spec_free() in both cases.
 */
int spec_parse(const char *text, struct ldap_spec *spec, char *err,
    size_t errlen);

/* Free what spec_parse() allocated; spec itself is the caller's. */
void spec_free(struct ldap_spec *spec);

#endif
