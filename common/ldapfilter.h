/*
 * ldapfilter.h -- LDAP search filters from templates (RFC 4515).
 *
 * An address from a mail envelope is untrusted text: put into a filter
 * unescaped, "*" turns an equality match into a wildcard match and "(" or
 * ")" change the filter's structure.  Every value goes through
 * ldap_filter_escape(); templates are checked once, at configuration load.
 *
 * Pure functions: no libldap, no allocation, thread-safe.
 */
#ifndef SMIME_LDAPFILTER_H
#define SMIME_LDAPFILTER_H

#include <stddef.h>

/* Longest filter ldap_filter_expand() produces, terminator included. */
#define LDAP_FILTER_MAX 4096

/*
 * Escape len bytes of value for use as an assertion value in a filter:
 * "*", "(", ")", "\" and NUL become \2a \28 \29 \5c \00 (RFC 4515 section
 * 3); so do other control characters and bytes above 0x7e, so that the
 * filter is printable ASCII and safe to log (the server unescapes every
 * \XX alike, so matching is unchanged).  Lower-case hex, as in RFC 4515
 * (libldap's ldap_bv2escaped_filter_value() writes upper case: same
 * meaning).
 *
 * Writes a NUL-terminated string to out.  Returns its length, or -1 if
 * outlen is too small (out then holds "" when outlen > 0).
 */
long ldap_filter_escape(const char *value, size_t len, char *out,
    size_t outlen);

/*
 * Check a filter template: it must contain at least one "%s" (each is
 * replaced by the escaped address) and no other "%" sequence except "%%"
 * (a literal "%"); parentheses must balance, and the template must start
 * with "(".  Returns 0, or -1 with a reason in err.
 */
int ldap_filter_template_check(const char *tmpl, char *err, size_t errlen);

/*
 * Expand tmpl (which passed ldap_filter_template_check) for value:
 * every "%s" becomes the escaped value, "%%" becomes "%".  Writes a
 * NUL-terminated filter to out.  Returns 0, or -1 if the template is
 * invalid or the result does not fit in outlen.
 */
int ldap_filter_expand(const char *tmpl, const char *value, size_t len,
    char *out, size_t outlen);

#endif
