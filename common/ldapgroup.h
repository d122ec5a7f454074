/*
 * ldapgroup.h -- the mail addresses of an LDAP group, for policy groups
 * ("group sales = ldap:corp cn=sales,ou=groups,dc=example,dc=com") and
 * mailing lists (SPEC M9).
 *
 * What is read (all with base-scope searches, referrals not followed):
 *   - the group entry; rfc822MailMember (nisMailAlias) and
 *     mgrpRFC822MailMember values are member addresses as they stand;
 *   - member and uniqueMember values are DNs (a uniqueMember's
 *     "#'...'B" UID is dropped); each such entry is read in turn:
 *     a group (objectClass groupOfNames, groupOfUniqueNames or
 *     nisMailAlias, or any entry with one of the four member attributes)
 *     is expanded the same way, any other entry gives its mail values;
 *   - nested groups are followed to a depth of LDAPGROUP_MAX_DEPTH below
 *     the group; each DN is read once, so cycles end.
 * Member DNs that do not exist, are referrals or are not DNs, entries
 * without mail and values that are not single addresses are skipped and
 * logged (debug; missing entries at notice).
 */
#ifndef SMIME_LDAPGROUP_H
#define SMIME_LDAPGROUP_H

#include <stddef.h>

#define LDAPGROUP_MAX_MEMBERS	100000	/* addresses, and member DNs */
#define LDAPGROUP_MAX_DEPTH	8	/* nesting levels below the group */

/*
 * Resolve group_dn in the directory of ldap_spec (the text of an
 * LDAPDirectory line, as certsrc_ldap_new takes it: uri, bind-dn and
 * bind-password-file, starttls and timeout are used; base, filter,
 * attrs, pool and the max-* keys are not).  Opens its own connection,
 * and the whole call -- connect, bind and every search -- must finish
 * within the spec's timeout.  Thread-safe; the process must ignore
 * SIGPIPE.
 *
 * Returns 0 with *members a NULL-terminated array of *nmembers distinct
 * addresses in strcmp order, the domain lower-cased and the local part
 * as the directory has it (compare local parts case-insensitively, or
 * normalise with address_normalise); free it with
 * ldapgroup_free_members().  An empty group is 0 with *nmembers == 0.
 *
 * Returns -1 with *members NULL and a reason in err when the members
 * could not be known, so the caller can fail closed ("could not look"):
 * bad spec or group DN, unreadable password file, server down or slow
 * (time-out), StartTLS or bind failure, no such group, the group entry
 * is not a group, a member entry that could not be read (any error
 * other than "no such object", a referral or a bad DN), groups nested
 * deeper than LDAPGROUP_MAX_DEPTH, more than LDAPGROUP_MAX_MEMBERS
 * addresses or member DNs, or out of memory.  Never a partial list.
 */
int ldapgroup_members(const char *ldap_spec, const char *group_dn,
    char ***members, size_t *nmembers, char *err, size_t errlen);

/* Free what ldapgroup_members() returned; NULL is allowed. */
void ldapgroup_free_members(char **members);

#endif
