/*
 * ldapfilter.c -- RFC 4515 value escaping and filter template expansion.
 */
#include "ldapfilter.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>

/* Templates longer than this are refused (a filter is one short line). */
#define TEMPLATE_MAX 1024

static const char hexdigits[] = "0123456789abcdef";

/*
 * RFC 4515 requires escaping of "*", "(", ")", "\" and NUL.  We also
 * escape everything outside printable ASCII: an escaped octet means the
 * same octet to the server, and the result stays safe to log.
 */
static int
needs_escape(unsigned char c)
{
	return c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 ||
	    c > 0x7e;
}

long
ldap_filter_escape(const char *value, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;

	assert(value != NULL || len == 0);
	assert(out != NULL || outlen == 0);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		size_t need = needs_escape(c) ? 3 : 1;

		if (o + need >= outlen)
			goto toolong;
		if (need == 1) {
			out[o++] = (char)c;
		} else {
			out[o++] = '\\';
			out[o++] = hexdigits[c >> 4];
			out[o++] = hexdigits[c & 0x0f];
		}
	}
	if (o >= outlen)
		goto toolong;
	out[o] = '\0';
	return (long)o;
toolong:
	if (outlen > 0)
		out[0] = '\0';
	return -1;
}

int
ldap_filter_template_check(const char *tmpl, char *err, size_t errlen)
{
	const char *p;
	int depth = 0, subst = 0;

	if (strlen(tmpl) > TEMPLATE_MAX) {
		snprintf(err, errlen, "longer than %d characters",
		    TEMPLATE_MAX);
		return -1;
	}
	if (tmpl[0] != '(') {
		snprintf(err, errlen, "must start with '('");
		return -1;
	}
	for (p = tmpl; *p != '\0'; p++) {
		switch (*p) {
		case '%':
			if (p[1] == 's') {
				subst++;
			} else if (p[1] == '\0') {
				snprintf(err, errlen, "lone '%%' at the end "
				    "(write %%%% for a literal '%%')");
				return -1;
			} else if (p[1] != '%') {
				snprintf(err, errlen, "'%%%c' at offset %zu: "
				    "only %%s (the address) and %%%% are "
				    "allowed", p[1], (size_t)(p - tmpl));
				return -1;
			}
			p++;
			break;
		case '\\':
			/* Literal text of a filter: "\" starts \XX. */
			if (!isxdigit((unsigned char)p[1]) ||
			    !isxdigit((unsigned char)p[2])) {
				snprintf(err, errlen, "'\\' at offset %zu is "
				    "not followed by two hex digits",
				    (size_t)(p - tmpl));
				return -1;
			}
			p += 2;
			break;
		case '(':
			depth++;
			break;
		case ')':
			if (--depth < 0) {
				snprintf(err, errlen, "unbalanced ')' at "
				    "offset %zu", (size_t)(p - tmpl));
				return -1;
			}
			break;
		default:
			if (!isprint((unsigned char)*p)) {
				snprintf(err, errlen, "control or non-ASCII "
				    "character at offset %zu",
				    (size_t)(p - tmpl));
				return -1;
			}
			break;
		}
	}
	if (depth != 0) {
		snprintf(err, errlen, "unbalanced '(': %d not closed", depth);
		return -1;
	}
	if (subst == 0) {
		snprintf(err, errlen, "no %%s (where the address goes)");
		return -1;
	}
	return 0;
}

int
ldap_filter_expand(const char *tmpl, const char *value, size_t len,
    char *out, size_t outlen)
{
	char esc[LDAP_FILTER_MAX];
	long elen;
	size_t o = 0;
	const char *p;

	assert(tmpl != NULL && out != NULL);
	if (outlen > 0)
		out[0] = '\0';
	if ((elen = ldap_filter_escape(value, len, esc, sizeof(esc))) < 0)
		return -1;
	for (p = tmpl; *p != '\0'; p++) {
		const char *add = p;
		size_t n = 1;

		if (*p == '%') {
			if (p[1] == 's') {
				add = esc;
				n = (size_t)elen;
			} else if (p[1] != '%') {
				goto fail;
			}
			p++;
		}
		if (o + n >= outlen)
			goto fail;
		memcpy(out + o, add, n);
		o += n;
	}
	if (o >= outlen)
		goto fail;
	out[o] = '\0';
	return 0;
fail:
	if (outlen > 0)
		out[0] = '\0';
	return -1;
}
