/*
 * ldapspec.c -- parse and check LDAPDirectory lines ("NAME key=value
 * ..."; the syntax is documented in certsrc_ldap.h and
 * smime-milter.conf(5)).  Pure text handling: no connection is made and
 * the password file is not read here.
 */
#include "ldapspec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldap.h>

#include "ldapfilter.h"
enum key_type {
	KEY_URI,
	KEY_DN,
	KEY_DNLIST,	/* ';'-separated DNs */
	KEY_PATH,	/* absolute path */
	KEY_BOOL,
	KEY_FILTER,
	KEY_ATTRS,	/* ','-separated attribute descriptions */
	KEY_UINT,
};

struct spec_key {
	const char *name;
	enum key_type type;
	size_t offset;		/* into struct ldap_spec */
	const char *def;	/* default, as text; NULL = unset */
	unsigned min, max;	/* KEY_UINT */
};

#define SOFF(f) offsetof(struct ldap_spec, f)

/* Also the order of ldap_spec_canonical()'s output. */
static const struct spec_key spec_keys[] = {
	{ "uri", KEY_URI, SOFF(uri), NULL, 0, 0 },
	{ "base", KEY_DN, SOFF(base), NULL, 0, 0 },
	{ "bind-dn", KEY_DN, SOFF(bind_dn), NULL, 0, 0 },
	{ "bind-password-file", KEY_PATH, SOFF(password_file), NULL, 0, 0 },
	{ "starttls", KEY_BOOL, SOFF(starttls), "no", 0, 0 },
	{ "filter", KEY_FILTER, SOFF(filter), DEFAULT_FILTER, 0, 0 },
	{ "attrs", KEY_ATTRS, SOFF(attrs), DEFAULT_ATTRS, 0, 0 },
	{ "timeout", KEY_UINT, SOFF(timeout), "5", 1, 300 },
	{ "pool", KEY_UINT, SOFF(pool), "4", 1, 64 },
	{ "crl-dn", KEY_DNLIST, SOFF(crl_dns), NULL, 0, 0 },
	{ "max-entries", KEY_UINT, SOFF(max_entries), "50", 1, 10000 },
	{ "max-value-bytes", KEY_UINT, SOFF(max_value_bytes), "65536", 256,
	    16 * 1024 * 1024 },
};

#define SPEC_KEY_COUNT (sizeof(spec_keys) / sizeof(spec_keys[0]))

static void
strlist_free(struct strlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
strlist_add(struct strlist *l, const char *s, size_t len)
{
	char **nv;

	if ((nv = realloc(l->v, (l->n + 2) * sizeof(*nv))) == NULL)
		return -1;
	l->v = nv;
	if ((nv[l->n] = strndup(s, len)) == NULL)
		return -1;
	nv[++l->n] = NULL;
	return 0;
}

void
spec_free(struct ldap_spec *spec)
{
	free(spec->uri);
	free(spec->base);
	free(spec->bind_dn);
	free(spec->password_file);
	free(spec->filter);
	strlist_free(&spec->attrs);
	strlist_free(&spec->crl_dns);
	memset(spec, 0, sizeof(*spec));
}

static bool
valid_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > LDAP_SPEC_NAME_MAX)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-' && s[i] != '.')
			return false;
	return true;
}

static int
check_dn(const char *key, const char *dn, size_t len, char *err,
    size_t errlen)
{
	LDAPDN parsed = NULL;
	struct berval bv;
	int rc;

	bv.bv_val = (char *)dn;
	bv.bv_len = len;
	if (len == 0) {
		snprintf(err, errlen, "%s: empty DN", key);
		return -1;
	}
	rc = ldap_bv2dn(&bv, &parsed, LDAP_DN_FORMAT_LDAPV3);
	ldap_dnfree(parsed);
	if (rc != LDAP_SUCCESS) {
		snprintf(err, errlen, "%s: '%.*s' is not a valid DN (RFC 4514)",
		    key, (int)len, dn);
		return -1;
	}
	return 0;
}

/* One URI of the uri= list: ldap:// or ldaps://, a host, nothing else. */
static int
check_one_uri(const char *uri, char *err, size_t errlen)
{
	LDAPURLDesc *lud = NULL;
	const char *rest;
	int rc = -1;

	if (ldap_url_parse(uri, &lud) != LDAP_URL_SUCCESS ||
	    strstr(uri, "://") == NULL) {
		snprintf(err, errlen, "uri: '%s' is not an LDAP URL", uri);
		goto cleanup;
	}
	if (strcasecmp(lud->lud_scheme, "ldap") != 0 &&
	    strcasecmp(lud->lud_scheme, "ldaps") != 0) {
		snprintf(err, errlen, "uri: '%s': scheme must be ldap or "
		    "ldaps", uri);
		goto cleanup;
	}
	if (lud->lud_host == NULL || lud->lud_host[0] == '\0') {
		snprintf(err, errlen, "uri: '%s' has no host", uri);
		goto cleanup;
	}
	/* Past "scheme://host:port", at most a "/" (libldap fills in a
	 * default scope, so the URL description cannot tell). */
	rest = strstr(uri, "://") + 3;
	rest += strcspn(rest, "/?#");
	if ((rest[0] != '\0' && strcmp(rest, "/") != 0) ||
	    (lud->lud_dn != NULL && lud->lud_dn[0] != '\0') ||
	    lud->lud_attrs != NULL || lud->lud_filter != NULL ||
	    lud->lud_exts != NULL) {
		snprintf(err, errlen, "uri: '%s': only scheme, host and port "
		    "belong in the URI (the search base goes in base=)", uri);
		goto cleanup;
	}
	rc = 0;
cleanup:
	if (lud != NULL)
		ldap_free_urldesc(lud);
	return rc;
}

/* Check a uri= value; returns the number of URIs, or -1. */
static int
check_uri_list(const char *value, char *err, size_t errlen)
{
	char one[SPEC_VALUE_MAX];
	const char *p = value, *comma;
	size_t n = 0, len;

	for (;;) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (len == 0) {
			snprintf(err, errlen, "uri: empty element in '%s'",
			    value);
			return -1;
		}
		if (++n > MAX_URIS) {
			snprintf(err, errlen, "uri: more than %d URIs",
			    MAX_URIS);
			return -1;
		}
		snprintf(one, sizeof(one), "%.*s", (int)len, p);
		if (strpbrk(one, " \t") != NULL) {
			snprintf(err, errlen, "uri: white space in '%s'",
			    one);
			return -1;
		}
		if (check_one_uri(one, err, errlen) != 0)
			return -1;
		if (comma == NULL)
			return (int)n;
		p = comma + 1;
	}
}

/*
 * Attribute description (RFC 4512 2.5): a descriptor (letter, then
 * letters, digits, hyphens) or a numeric OID, then ";option"s.
 */
static bool
valid_attr(const char *s, size_t len)
{
	size_t i = 0;

	if (len == 0)
		return false;
	if (isalpha((unsigned char)s[0])) {
		while (i < len && (isalnum((unsigned char)s[i]) ||
		    s[i] == '-'))
			i++;
	} else {
		while (i < len && (isdigit((unsigned char)s[i]) ||
		    (s[i] == '.' && i > 0 && s[i - 1] != '.' &&
		    i + 1 < len && isdigit((unsigned char)s[i + 1]))))
			i++;
	}
	while (i < len && s[i] == ';') {
		size_t start = ++i;

		while (i < len && (isalnum((unsigned char)s[i]) ||
		    s[i] == '-'))
			i++;
		if (i == start)
			return false;
	}
	return i == len && i > 0;
}

static int
set_attrs(struct strlist *l, const char *value, char *err, size_t errlen)
{
	const char *p = value, *comma;
	size_t len, i;

	strlist_free(l);
	for (;;) {
		comma = strchr(p, ',');
		len = comma != NULL ? (size_t)(comma - p) : strlen(p);
		if (!valid_attr(p, len)) {
			snprintf(err, errlen, "attrs: '%.*s' is not an "
			    "attribute name", (int)len, p);
			return -1;
		}
		for (i = 0; i < l->n; i++) {
			if (strlen(l->v[i]) == len &&
			    strncasecmp(l->v[i], p, len) == 0) {
				snprintf(err, errlen, "attrs: '%.*s' listed "
				    "twice", (int)len, p);
				return -1;
			}
		}
		if (l->n == MAX_ATTRS) {
			snprintf(err, errlen, "attrs: more than %d "
			    "attributes", MAX_ATTRS);
			return -1;
		}
		if (strlist_add(l, p, len) != 0)
			goto oom;
		if (comma == NULL)
			return 0;
		p = comma + 1;
	}
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* ';'-separated DNs; a ';' escaped as "\;" belongs to the DN. */
static int
set_dn_list(struct strlist *l, const char *key, const char *value,
    char *err, size_t errlen)
{
	const char *p = value, *q;

	strlist_free(l);
	for (;;) {
		for (q = p; *q != '\0' && *q != ';'; q++)
			if (*q == '\\' && q[1] != '\0')
				q++;
		if (check_dn(key, p, (size_t)(q - p), err, errlen) != 0)
			return -1;
		if (l->n == MAX_CRL_DNS) {
			snprintf(err, errlen, "%s: more than %d DNs", key,
			    MAX_CRL_DNS);
			return -1;
		}
		if (strlist_add(l, p, (size_t)(q - p)) != 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (*q == '\0')
			return 0;
		p = q + 1;
	}
}

static int
parse_uint(const char *s, unsigned long long *out)
{
	unsigned long long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (!isdigit((unsigned char)*s) || v > 100000000ull)
			return -1;
		v = v * 10 + (unsigned)(*s - '0');
	}
	*out = v;
	return 0;
}

static int
set_string(char **field, const char *value, char *err, size_t errlen)
{
	char *dup;

	if ((dup = strdup(value)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(*field);
	*field = dup;
	return 0;
}

/* Validate value for key k and store it in spec. */
static int
set_key(struct ldap_spec *spec, const struct spec_key *k, const char *value,
    char *err, size_t errlen)
{
	void *field = (char *)spec + k->offset;
	unsigned long long n;
	char why[200];
	int rc;

	switch (k->type) {
	case KEY_URI:
		if ((rc = check_uri_list(value, err, errlen)) < 0)
			return -1;
		spec->nuris = (unsigned)rc;
		return set_string(field, value, err, errlen);
	case KEY_DN:
		if (check_dn(k->name, value, strlen(value), err, errlen) != 0)
			return -1;
		return set_string(field, value, err, errlen);
	case KEY_DNLIST:
		return set_dn_list(field, k->name, value, err, errlen);
	case KEY_PATH:
		if (value[0] != '/') {
			snprintf(err, errlen, "%s: path must be absolute, "
			    "got '%s'", k->name, value);
			return -1;
		}
		return set_string(field, value, err, errlen);
	case KEY_BOOL:
		if (strcasecmp(value, "yes") == 0)
			*(bool *)field = true;
		else if (strcasecmp(value, "no") == 0)
			*(bool *)field = false;
		else {
			snprintf(err, errlen, "%s: expected yes or no, got "
			    "'%s'", k->name, value);
			return -1;
		}
		return 0;
	case KEY_FILTER:
		if (ldap_filter_template_check(value, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: %s: '%s'", k->name, why,
			    value);
			return -1;
		}
		return set_string(field, value, err, errlen);
	case KEY_ATTRS:
		return set_attrs(field, value, err, errlen);
	case KEY_UINT:
		if (parse_uint(value, &n) != 0) {
			snprintf(err, errlen, "%s: expected a number, got "
			    "'%s'", k->name, value);
			return -1;
		}
		if (n < k->min || n > k->max) {
			snprintf(err, errlen, "%s: %s is out of range (%u to "
			    "%u)", k->name, value, k->min, k->max);
			return -1;
		}
		*(unsigned *)field = (unsigned)n;
		return 0;
	}
	snprintf(err, errlen, "%s: internal error: bad key type", k->name);
	return -1;
}

static const struct spec_key *
find_key(const char *name)
{
	size_t i;

	for (i = 0; i < SPEC_KEY_COUNT; i++)
		if (strcmp(spec_keys[i].name, name) == 0)
			return &spec_keys[i];
	return NULL;
}

/*
 * Read the next "key=value" token at *pp into key and value (unquoted).
 * Returns 1 for a token, 0 at the end of the spec, -1 with a reason.
 */
static int
next_token(const char **pp, char *key, size_t keylen, char *value,
    size_t vallen, char *err, size_t errlen)
{
	const char *p = *pp, *start, *end;
	size_t len;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return 0;
	start = p;
	while (*p != '\0' && *p != '=' && *p != ' ' && *p != '\t')
		p++;
	if (*p != '=') {
		snprintf(err, errlen, "expected key=value, got '%.*s'",
		    (int)(p - start), start);
		return -1;
	}
	if (p == start) {
		snprintf(err, errlen, "'=' without a key before it");
		return -1;
	}
	if ((size_t)(p - start) >= keylen) {
		snprintf(err, errlen, "unknown key '%.*s'", (int)(p - start),
		    start);
		return -1;
	}
	snprintf(key, keylen, "%.*s", (int)(p - start), start);
	p++;
	if (*p == '"') {
		start = ++p;
		if ((end = strchr(p, '"')) == NULL) {
			snprintf(err, errlen, "%s: missing closing '\"'", key);
			return -1;
		}
		p = end + 1;
		if (*p != '\0' && *p != ' ' && *p != '\t') {
			snprintf(err, errlen, "%s: text after the closing "
			    "'\"'", key);
			return -1;
		}
	} else {
		start = p;
		while (*p != '\0' && *p != ' ' && *p != '\t') {
			if (*p == '"') {
				snprintf(err, errlen, "%s: '\"' inside a value "
				    "(quote the whole value)", key);
				return -1;
			}
			p++;
		}
		end = p;
	}
	len = (size_t)(end - start);
	if (len == 0) {
		snprintf(err, errlen, "%s: empty value", key);
		return -1;
	}
	if (len >= vallen) {
		snprintf(err, errlen, "%s: value longer than %zu characters",
		    key, vallen - 1);
		return -1;
	}
	memcpy(value, start, len);
	value[len] = '\0';
	*pp = p;
	return 1;
}

/* Name token at the start of spec; *rest is set past it. */
static int
parse_name(const char *spec, char *out, size_t outlen, const char **rest,
    char *err, size_t errlen)
{
	const char *p = spec, *start;
	size_t len;

	while (*p == ' ' || *p == '\t')
		p++;
	start = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	len = (size_t)(p - start);
	if (len == 0) {
		snprintf(err, errlen, "empty directory spec: expected NAME "
		    "uri=... base=...");
		return -1;
	}
	if (memchr(start, '=', len) != NULL) {
		snprintf(err, errlen, "missing directory name before '%.*s'",
		    (int)len, start);
		return -1;
	}
	if (!valid_name(start, len)) {
		snprintf(err, errlen, "bad directory name '%.*s': 1 to %d of "
		    "letters, digits, '_', '-', '.'", (int)len, start,
		    LDAP_SPEC_NAME_MAX);
		return -1;
	}
	if (len >= outlen) {
		snprintf(err, errlen, "directory name too long");
		return -1;
	}
	memcpy(out, start, len);
	out[len] = '\0';
	*rest = p;
	return 0;
}

/* Checks between keys, once all are read. */
static int
check_combination(const struct ldap_spec *spec, char *err, size_t errlen)
{
	if (spec->uri == NULL) {
		snprintf(err, errlen, "uri: missing (required)");
		return -1;
	}
	if (spec->base == NULL) {
		snprintf(err, errlen, "base: missing (required)");
		return -1;
	}
	if ((spec->bind_dn == NULL) != (spec->password_file == NULL)) {
		snprintf(err, errlen, "%s: given without %s (both or "
		    "neither)", spec->bind_dn != NULL ? "bind-dn" :
		    "bind-password-file", spec->bind_dn != NULL ?
		    "bind-password-file" : "bind-dn");
		return -1;
	}
	if (spec->starttls && strncasecmp(spec->uri, "ldaps:", 6) == 0) {
		snprintf(err, errlen, "starttls: yes with an ldaps:// URI "
		    "(TLS is already on)");
		return -1;
	}
	if (spec->starttls && strcasestr(spec->uri, ",ldaps:") != NULL) {
		snprintf(err, errlen, "starttls: yes with an ldaps:// URI "
		    "(TLS is already on)");
		return -1;
	}
	return 0;
}

/*
 * Parse text into *spec (defaults, then the keys given).  On failure
 * *spec is freed and err holds the reason.
 */
int
spec_parse(const char *text, struct ldap_spec *spec, char *err,
    size_t errlen)
{
	bool seen[SPEC_KEY_COUNT] = { false };
	char key[32], value[SPEC_VALUE_MAX];
	const struct spec_key *k;
	const char *p;
	size_t i;
	int rc;

	memset(spec, 0, sizeof(*spec));
	if (parse_name(text, spec->name, sizeof(spec->name), &p, err,
	    errlen) != 0)
		goto fail;
	for (i = 0; i < SPEC_KEY_COUNT; i++)
		if (spec_keys[i].def != NULL && set_key(spec, &spec_keys[i],
		    spec_keys[i].def, err, errlen) != 0)
			goto fail;
	while ((rc = next_token(&p, key, sizeof(key), value, sizeof(value),
	    err, errlen)) > 0) {
		if ((k = find_key(key)) == NULL) {
			snprintf(err, errlen, "unknown key '%s'", key);
			goto fail;
		}
		if (seen[k - spec_keys]) {
			snprintf(err, errlen, "%s: given twice", key);
			goto fail;
		}
		seen[k - spec_keys] = true;
		if (set_key(spec, k, value, err, errlen) != 0)
			goto fail;
	}
	if (rc < 0 || check_combination(spec, err, errlen) != 0)
		goto fail;
	return 0;
fail:
	spec_free(spec);
	return -1;
}

int
ldap_spec_check(const char *text, char *err, size_t errlen)
{
	struct ldap_spec spec;

	if (spec_parse(text, &spec, err, errlen) != 0)
		return -1;
	spec_free(&spec);
	return 0;
}

int
ldap_spec_name(const char *text, char *out, size_t outlen)
{
	char name[LDAP_SPEC_NAME_MAX + 1], err[200];
	const char *rest;

	if (parse_name(text, name, sizeof(name), &rest, err,
	    sizeof(err)) != 0 || strlen(name) >= outlen)
		return -1;
	memcpy(out, name, strlen(name) + 1);
	return 0;
}

/* Append " key=value" (quoted if it has white space) at *off in out. */
static void
emit_pair(char *out, size_t outlen, size_t *off, const char *key,
    const char *value)
{
	const char *q = strpbrk(value, " \t") != NULL ? "\"" : "";
	int n;

	if (*off >= outlen)
		return;
	n = snprintf(out + *off, outlen - *off, " %s=%s%s%s", key, q, value,
	    q);
	*off += n > 0 ? (size_t)n : 0;
}

static void
join_list(const struct strlist *l, const char *sep, char *buf,
    size_t buflen)
{
	size_t i, off = 0;

	buf[0] = '\0';
	for (i = 0; i < l->n && off < buflen; i++) {
		int n = snprintf(buf + off, buflen - off, "%s%s",
		    i > 0 ? sep : "", l->v[i]);

		off += n > 0 ? (size_t)n : 0;
	}
}

int
ldap_spec_canonical(const char *text, char *out, size_t outlen, char *err,
    size_t errlen)
{
	struct ldap_spec spec;
	char buf[SPEC_VALUE_MAX];
	size_t i, off;
	int rc = -1;

	if (spec_parse(text, &spec, err, errlen) != 0)
		return -1;
	off = (size_t)snprintf(out, outlen, "%s", spec.name);
	for (i = 0; i < SPEC_KEY_COUNT; i++) {
		const struct spec_key *k = &spec_keys[i];
		const void *field = (const char *)&spec + k->offset;

		switch (k->type) {
		case KEY_URI:
		case KEY_DN:
		case KEY_PATH:
		case KEY_FILTER:
			if (*(char *const *)field != NULL)
				emit_pair(out, outlen, &off, k->name,
				    *(char *const *)field);
			break;
		case KEY_BOOL:
			emit_pair(out, outlen, &off, k->name,
			    *(const bool *)field ? "yes" : "no");
			break;
		case KEY_ATTRS:
		case KEY_DNLIST:
			if (((const struct strlist *)field)->n == 0)
				break;
			join_list(field, k->type == KEY_ATTRS ? "," : ";",
			    buf, sizeof(buf));
			emit_pair(out, outlen, &off, k->name, buf);
			break;
		case KEY_UINT:
			snprintf(buf, sizeof(buf), "%u",
			    *(const unsigned *)field);
			emit_pair(out, outlen, &off, k->name, buf);
			break;
		}
	}
	if (off >= outlen) {
		snprintf(err, errlen, "canonical form longer than %zu bytes",
		    outlen);
		goto cleanup;
	}
	rc = 0;
cleanup:
	spec_free(&spec);
	return rc;
}
