/*
 * policy_parse.c -- read smime-milter.policy(5): includes, logical lines,
 * group definitions, the default and the rules.  Every error names
 * file:line:col.  Groups are resolved in policy_groups.c, the policy
 * assembled in policy_load.c, its look-up structures built in
 * policy_index.c.
 *
 * Logical lines work like Postfix's main.cf: a line that starts with
 * white space continues the previous one, so long member lists and rules
 * can be wrapped.  "#" starts a comment where a word could start.
 */
#include <errno.h>
#include <glob.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "policy_parser.h"

#define MAX_FILE_BYTES (256u * 1024u * 1024u)
#define MAX_TOKENS 1000000u
#define MAX_NAME 64
#define MAX_ADDRESS 998

void
pp_fail(struct parser *ps, const char *file, unsigned line, unsigned col,
    const char *fmt, ...)
{
	char why[512];
	va_list ap;

	if (ps->failed)
		return;
	ps->failed = true;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (col > 0)
		snprintf(ps->err, ps->errlen, "%s:%u:%u: %s", file, line, col,
		    why);
	else
		snprintf(ps->err, ps->errlen, "%s:%u: %s", file, line, why);
}

void
pp_fail_oom(struct parser *ps)
{
	pp_fail(ps, ps->file != NULL ? ps->file : "policy", 0, 0,
	    "out of memory");
}

const char *
pp_keep(struct parser *ps, const char *s)
{
	const char *out = policy_strdup(ps->p, s, strlen(s));

	if (out == NULL)
		pp_fail_oom(ps);
	return out;
}

void *
pp_grow(struct parser *ps, void *v, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return v;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	if ((nv = realloc(v, ncap * size)) == NULL) {
		pp_fail_oom(ps);
		return NULL;
	}
	*cap = ncap;
	return nv;
}

/* ---- settings ---------------------------------------------------- */

enum setting_id {
	SET_SIGN, SET_DIGEST, SET_ENCRYPT, SET_CIPHER, SET_KEY_TRANSPORT,
	SET_MISSING_CERT, SET_BCC, SET_ENCRYPT_TO_SENDER, SET_PROTECT_HEADERS,
	SET_ALLOW_PLAIN_OK, SET_COUNT
};

struct word {
	const char *name;
	int value;
};

static const struct word sign_words[] = {
	{ "none", SIGN_NONE }, { "clear", SIGN_CLEAR },
	{ "opaque", SIGN_OPAQUE }, { NULL, 0 } };
static const struct word digest_words[] = {
	{ "sha256", DIGEST_SHA256 }, { "sha384", DIGEST_SHA384 },
	{ "sha512", DIGEST_SHA512 }, { NULL, 0 } };
static const struct word encrypt_words[] = {
	{ "never", POL_ENCRYPT_NEVER },
	{ "opportunistic", POL_ENCRYPT_OPPORTUNISTIC },
	{ "required", POL_ENCRYPT_REQUIRED }, { NULL, 0 } };
static const struct word cipher_words[] = {
	{ "auto", CMS_CIPHER_AUTO }, { "aes128-gcm", CMS_CIPHER_AES128_GCM },
	{ "aes256-gcm", CMS_CIPHER_AES256_GCM },
	{ "aes128-cbc", CMS_CIPHER_AES128_CBC },
	{ "aes256-cbc", CMS_CIPHER_AES256_CBC }, { NULL, 0 } };
static const struct word kt_words[] = {
	{ "auto", CMS_KT_AUTO }, { "rsa-oaep", CMS_KT_RSA_OAEP },
	{ "rsa-pkcs1", CMS_KT_RSA_PKCS1 }, { NULL, 0 } };
static const struct word missing_words[] = {
	{ "reject", POL_MISSING_REJECT }, { "defer", POL_MISSING_DEFER },
	{ "notify", POL_MISSING_NOTIFY }, { "sign-only", POL_MISSING_SIGN_ONLY },
	{ "plain", POL_MISSING_PLAIN }, { NULL, 0 } };
static const struct word bcc_words[] = {
	{ "individual", POL_BCC_INDIVIDUAL }, { "shared", POL_BCC_SHARED },
	{ NULL, 0 } };
static const struct word bool_words[] = {
	{ "yes", 1 }, { "no", 0 }, { NULL, 0 } };

static const struct setting {
	const char *name;
	const struct word *words;
	const char *allowed;
} settings[SET_COUNT] = {
	[SET_SIGN] = { "sign", sign_words, "none, clear, opaque" },
	[SET_DIGEST] = { "digest", digest_words, "sha256, sha384, sha512" },
	[SET_ENCRYPT] = { "encrypt", encrypt_words,
	    "never, opportunistic, required" },
	[SET_CIPHER] = { "cipher", cipher_words,
	    "auto, aes128-gcm, aes256-gcm, aes128-cbc, aes256-cbc" },
	[SET_KEY_TRANSPORT] = { "key-transport", kt_words,
	    "auto, rsa-oaep, rsa-pkcs1" },
	[SET_MISSING_CERT] = { "missing-cert", missing_words,
	    "reject, defer, notify, sign-only, plain" },
	[SET_BCC] = { "bcc", bcc_words, "individual, shared" },
	[SET_ENCRYPT_TO_SENDER] = { "encrypt-to-sender", bool_words,
	    "yes, no" },
	[SET_PROTECT_HEADERS] = { "protect-headers", bool_words, "yes, no" },
	[SET_ALLOW_PLAIN_OK] = { "allow-plain-ok", bool_words, "yes, no" },
};

static void
set_value(struct policy_settings *s, enum setting_id id, int v)
{
	switch (id) {
	case SET_SIGN: s->sign = (enum sign_mode)v; break;
	case SET_DIGEST: s->digest = (enum sign_digest)v; break;
	case SET_ENCRYPT: s->encrypt = (enum pol_encrypt)v; break;
	case SET_CIPHER: s->cipher = (enum cms_cipher)v; break;
	case SET_KEY_TRANSPORT:
		s->key_transport = (enum cms_keytransport)v;
		break;
	case SET_MISSING_CERT: s->missing_cert = (enum pol_missing)v; break;
	case SET_BCC: s->bcc = (enum pol_bcc)v; break;
	case SET_ENCRYPT_TO_SENDER: s->encrypt_to_sender = v != 0; break;
	case SET_PROTECT_HEADERS: s->protect_headers = v != 0; break;
	case SET_ALLOW_PLAIN_OK: s->allow_plain_ok = v != 0; break;
	case SET_COUNT: break;
	}
}

/* "key=value" words from tok[first] on into s; *mask gets their bits. */
static void
parse_settings(struct parser *ps, size_t first, struct policy_settings *s,
    unsigned *mask)
{
	size_t i;

	for (i = first; i < ps->ntok && !ps->failed; i++) {
		const struct token *t = &ps->tok[i];
		char *eq = strchr(t->text, '=');
		const struct word *w;
		int id;

		if (eq == NULL || eq == t->text) {
			pp_fail(ps, ps->file, t->line, t->col, "expected "
			    "setting=value, found \"%.60s\"", t->text);
			return;
		}
		*eq = '\0';
		for (id = 0; id < SET_COUNT; id++)
			if (strcasecmp(t->text, settings[id].name) == 0)
				break;
		if (id == SET_COUNT) {
			pp_fail(ps, ps->file, t->line, t->col, "unknown setting "
			    "\"%.60s\"", t->text);
			return;
		}
		if (*mask & (1u << id)) {
			pp_fail(ps, ps->file, t->line, t->col, "%s given twice",
			    settings[id].name);
			return;
		}
		for (w = settings[id].words; w->name != NULL; w++)
			if (strcasecmp(eq + 1, w->name) == 0)
				break;
		if (w->name == NULL) {
			pp_fail(ps, ps->file, t->line,
			    t->col + (unsigned)(eq + 1 - t->text), "%s: "
			    "\"%.60s\" is not one of %s", settings[id].name,
			    eq + 1, settings[id].allowed);
			return;
		}
		set_value(s, (enum setting_id)id, w->value);
		*mask |= 1u << id;
	}
}

/* The defaults, with the settings the rule gives itself on top. */
void
pp_merge_settings(const struct policy_settings *defaults,
    const struct raw_rule *r, struct policy_settings *out)
{
	int id;

	*out = *defaults;
	for (id = 0; id < SET_COUNT; id++)
		if (r->mask & (1u << id))
			switch ((enum setting_id)id) {
			case SET_SIGN: out->sign = r->s.sign; break;
			case SET_DIGEST:
				out->digest = r->s.digest;
				break;
			case SET_ENCRYPT:
				out->encrypt = r->s.encrypt;
				break;
			case SET_CIPHER:
				out->cipher = r->s.cipher;
				break;
			case SET_KEY_TRANSPORT:
				out->key_transport =
				    r->s.key_transport;
				break;
			case SET_MISSING_CERT:
				out->missing_cert =
				    r->s.missing_cert;
				break;
			case SET_BCC: out->bcc = r->s.bcc; break;
			case SET_ENCRYPT_TO_SENDER:
				out->encrypt_to_sender =
				    r->s.encrypt_to_sender;
				break;
			case SET_PROTECT_HEADERS:
				out->protect_headers =
				    r->s.protect_headers;
				break;
			case SET_ALLOW_PLAIN_OK:
				out->allow_plain_ok =
				    r->s.allow_plain_ok;
				break;
			case SET_COUNT:
				break;
			}
}

/* ---- patterns ---------------------------------------------------- */

static bool
valid_name(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' ||
		    *s == '.'))
			return false;
	return n > 0 && n <= MAX_NAME;
}

/* Printable, no white space: what an address pattern may contain
 * (bytes above 127 allowed for UTF-8 addresses). */
static bool
valid_address_text(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 32 || *s == 127 || *s == '<' ||
		    *s == '>' || *s == ',' || *s == ';')
			return false;
	return true;
}

static bool
valid_domain(const char *d)
{
	return *d != '\0' && *d != '.' && d[strlen(d) - 1] != '.' &&
	    strstr(d, "..") == NULL && strchr(d, '@') == NULL &&
	    strchr(d, '*') == NULL;
}

/* Parse one pattern word; on error pp_fail() and return -1. */
static int
parse_pattern(struct parser *ps, const char *text, unsigned line,
    unsigned col, struct pref *out)
{
	char buf[MAX_ADDRESS + 1];
	const char *at;

	memset(out, 0, sizeof(*out));
	out->file = ps->file;
	out->line = line;
	out->col = col;
	if (strlen(text) > MAX_ADDRESS) {
		pp_fail(ps, ps->file, line, col, "pattern longer than %d bytes",
		    MAX_ADDRESS);
		return -1;
	}
	if (strcmp(text, "*") == 0 || strcmp(text, "*@*") == 0) {
		out->pat.kind = PAT_ANY;
		return 0;
	}
	if (text[0] == '@') {
		if (!valid_name(text + 1)) {
			pp_fail(ps, ps->file, line, col, "bad group name \"%.60s\""
			    " (letters, digits, '.', '-', '_')", text + 1);
			return -1;
		}
		out->pat.kind = PAT_GROUP;
		return (out->name = pp_keep(ps, text + 1)) != NULL ? 0 : -1;
	}
	if (!valid_address_text(text) || (at = strrchr(text, '@')) == NULL ||
	    at == text || at[1] == '\0') {
		pp_fail(ps, ps->file, line, col, "\"%.60s\" is not an address, "
		    "*@domain, *@*.domain, @group or *", text);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	policy_lower(buf);
	if (strncmp(buf, "*@*.", 4) == 0) {
		out->pat.kind = PAT_SUBDOMAIN;
		out->pat.key = buf + 4;
	} else if (strncmp(buf, "*@", 2) == 0) {
		out->pat.kind = PAT_DOMAIN;
		out->pat.key = buf + 2;
	} else {
		if (strchr(buf, '*') != NULL) {
			pp_fail(ps, ps->file, line, col, "\"%.60s\": wildcards "
			    "only as *@domain or *@*.domain", text);
			return -1;
		}
		out->pat.kind = PAT_EXACT;
		out->pat.key = buf;
	}
	if (out->pat.kind != PAT_EXACT && !valid_domain(out->pat.key)) {
		pp_fail(ps, ps->file, line, col, "\"%.60s\": bad domain", text);
		return -1;
	}
	return (out->pat.key = pp_keep(ps, out->pat.key)) != NULL ? 0 : -1;
}

/* ---- statements -------------------------------------------------- */


/* A directory that does not exist matches nothing; one that cannot be
 * read is an error, since rules in it would silently be missing. */
static int
glob_error(const char *epath, int eerrno)
{
	(void)epath;
	return eerrno != ENOENT && eerrno != ENOTDIR;
}

static void
do_include(struct parser *ps)
{
	char dir[PATH_MAX], path[PATH_MAX], *copy;
	const struct token *t = &ps->tok[1];
	const char *inc_file = ps->file;
	glob_t g;
	size_t i;
	int rc;

	if (ps->ntok != 2) {
		pp_fail(ps, ps->file, ps->tok[0].line, ps->tok[0].col,
		    "include takes one path");
		return;
	}
	if (t->text[0] == '/')
		snprintf(path, sizeof(path), "%s", t->text);
	else {
		if ((copy = strdup(ps->file)) == NULL) {
			pp_fail_oom(ps);
			return;
		}
		snprintf(dir, sizeof(dir), "%s", dirname(copy));
		free(copy);
		if ((size_t)snprintf(path, sizeof(path), "%.*s/%s",
		    (int)(sizeof(dir) / 2), dir, t->text) >= sizeof(path)) {
			pp_fail(ps, ps->file, t->line, t->col, "path too long");
			return;
		}
	}
	if (strpbrk(t->text, "*?[") == NULL) {
		(void)pp_read_file(ps, path, path, t->line, t->col);
		ps->file = inc_file;
		return;
	}
	/* A pattern may match nothing (an empty policy.d); sorted order
	 * makes the rule order predictable. */
	rc = glob(path, 0, glob_error, &g);
	if (rc != 0 && rc != GLOB_NOMATCH) {
		pp_fail(ps, ps->file, t->line, t->col, "include %s: cannot read "
		    "the directory", t->text);
		return;
	}
	for (i = 0; rc == 0 && i < g.gl_pathc && !ps->failed; i++) {
		(void)pp_read_file(ps, g.gl_pathv[i], g.gl_pathv[i], t->line,
		    t->col);
		ps->file = inc_file;
	}
	if (rc == 0)
		globfree(&g);
}

static struct raw_group *
find_raw_group(struct parser *ps, const char *name)
{
	size_t i;

	for (i = 0; i < ps->ngroups; i++)
		if (strcasecmp(ps->groups[i].name, name) == 0)
			return &ps->groups[i];
	return NULL;
}

/*
 * "group NAME = member, member ..." or "group NAME = ldap:DIR DN".
 * Commas and white space both separate members; "=" may touch its
 * neighbours.
 */
/*
 * "group NAME = ..." and "list ADDRESS = ...": a confidential list is a
 * group named after its address (with a space, so no @reference can
 * name it) whose members the milter expands itself.
 */
static void
do_group(struct parser *ps, bool list)
{
	struct raw_group *g, *dup;
	struct pref addr;
	char listname[MAX_ADDRESS + 8];
	const struct token *t0 = &ps->tok[0];
	char *name, *eq, *word, *save;
	size_t i;
	bool seen_eq = false;

	if (ps->ntok < 2) {
		pp_fail(ps, ps->file, t0->line, t0->col, list ? "list needs "
		    "an address" : "group needs a name");
		return;
	}
	name = ps->tok[1].text;
	if ((eq = strchr(name, '=')) != NULL) {
		*eq = '\0';
		seen_eq = true;
		/* Members glued to "=": shift them into a token of their
		 * own by re-pointing this one past the "=". */
		if (eq[1] != '\0') {
			ps->tok[1].text = eq + 1;
			ps->tok[1].col += (unsigned)(eq + 1 - name);
			i = 1;
			goto members;
		}
	}
	i = 2;
	if (!seen_eq) {
		if (i >= ps->ntok || ps->tok[i].text[0] != '=') {
			pp_fail(ps, ps->file, ps->tok[1].line, ps->tok[1].col,
			    "expected \"group NAME = members\"");
			return;
		}
		if (ps->tok[i].text[1] != '\0') {
			ps->tok[i].text++;
			ps->tok[i].col++;
		} else
			i++;
	}
members:
	if (list) {
		if (parse_pattern(ps, name, ps->tok[1].line, ps->tok[1].col,
		    &addr) != 0)
			return;
		if (addr.pat.kind != PAT_EXACT) {
			pp_fail(ps, ps->file, ps->tok[1].line, ps->tok[1].col,
			    "a list is one address, not \"%.60s\"", name);
			return;
		}
		snprintf(listname, sizeof(listname), "list %s", addr.pat.key);
		name = listname;
	} else if (!valid_name(name)) {
		pp_fail(ps, ps->file, ps->tok[1].line, ps->tok[1].col, "bad group "
		    "name \"%.60s\" (letters, digits, '.', '-', '_')", name);
		return;
	}
	if ((dup = find_raw_group(ps, name)) != NULL) {
		pp_fail(ps, ps->file, ps->tok[1].line, ps->tok[1].col, "%s%s "
		    "already defined at %s:%u", list ? "" : "group ", name,
		    dup->file, dup->line);
		return;
	}
	if ((ps->groups = pp_grow(ps, ps->groups, &ps->groupcap, ps->ngroups + 1,
	    sizeof(*ps->groups))) == NULL)
		return;
	g = &ps->groups[ps->ngroups++];
	memset(g, 0, sizeof(*g));
	g->file = ps->file;
	g->line = t0->line;
	g->resolved = true;
	if ((g->name = pp_keep(ps, name)) == NULL)
		return;
	if (list)
		g->list_address = addr.pat.key;
	if (i < ps->ntok && strncmp(ps->tok[i].text, "ldap:", 5) == 0) {
		char dn[4096] = "";
		size_t j;

		if (ps->tok[i].text[5] == '\0' || i + 1 >= ps->ntok) {
			pp_fail(ps, ps->file, ps->tok[i].line, ps->tok[i].col,
			    "expected \"ldap:DIRECTORY DN\"");
			return;
		}
		/* The DN is the rest of the line: it has commas and may
		 * have spaces. */
		for (j = i + 1; j < ps->ntok; j++) {
			if (j > i + 1)
				strncat(dn, " ", sizeof(dn) - strlen(dn) - 1);
			strncat(dn, ps->tok[j].text, sizeof(dn) - strlen(dn) -
			    1);
		}
		g->ldap_dir = pp_keep(ps, ps->tok[i].text + 5);
		g->ldap_dn = pp_keep(ps, dn);
		g->resolved = false;
		snprintf(dn, sizeof(dn), "%s %s", ps->tok[i].text,
		    g->ldap_dn != NULL ? g->ldap_dn : "");
		g->source = pp_keep(ps, dn);
		return;
	}
	g->source = "file";
	for (; i < ps->ntok && !ps->failed; i++) {
		char *text = ps->tok[i].text;

		for (word = strtok_r(text, ",", &save); word != NULL;
		    word = strtok_r(NULL, ",", &save)) {
			struct pref m;

			if (parse_pattern(ps, word, ps->tok[i].line,
			    ps->tok[i].col + (unsigned)(word - text), &m) != 0)
				return;
			if ((g->members = pp_grow(ps, g->members, &g->cap,
			    g->n + 1, sizeof(*g->members))) == NULL)
				return;
			g->members[g->n++] = m;
		}
	}
}

static void
do_default(struct parser *ps)
{
	if (ps->default_file != NULL) {
		pp_fail(ps, ps->file, ps->tok[0].line, ps->tok[0].col, "default "
		    "already given at %s:%u", ps->default_file,
		    ps->default_line);
		return;
	}
	ps->default_file = ps->file;
	ps->default_line = ps->tok[0].line;
	parse_settings(ps, 1, &ps->defaults, &ps->default_mask);
}

/* "from PAT [to PAT] settings..." or "to PAT settings...". */
static void
do_rule(struct parser *ps)
{
	struct raw_rule r;
	size_t i = 0;

	memset(&r, 0, sizeof(r));
	r.from.pat.kind = r.to.pat.kind = PAT_ANY;
	r.from.file = r.to.file = ps->file;
	r.file = ps->file;
	r.line = ps->tok[0].line;
	if (strcasecmp(ps->tok[0].text, "from") == 0) {
		if (ps->ntok < 2) {
			pp_fail(ps, ps->file, ps->tok[0].line, ps->tok[0].col,
			    "from needs a pattern");
			return;
		}
		if (parse_pattern(ps, ps->tok[1].text, ps->tok[1].line,
		    ps->tok[1].col, &r.from) != 0)
			return;
		i = 2;
	}
	if (i < ps->ntok && strcasecmp(ps->tok[i].text, "to") == 0) {
		if (i + 1 >= ps->ntok) {
			pp_fail(ps, ps->file, ps->tok[i].line, ps->tok[i].col,
			    "to needs a pattern");
			return;
		}
		if (parse_pattern(ps, ps->tok[i + 1].text, ps->tok[i + 1].line,
		    ps->tok[i + 1].col, &r.to) != 0)
			return;
		i += 2;
	}
	parse_settings(ps, i, &r.s, &r.mask);
	if (ps->failed)
		return;
	if ((ps->rules = pp_grow(ps, ps->rules, &ps->rulecap, ps->nrules + 1,
	    sizeof(*ps->rules))) == NULL)
		return;
	ps->rules[ps->nrules++] = r;
}

static void
dispatch(struct parser *ps)
{
	const char *kw;

	if (ps->ntok == 0 || ps->failed)
		return;
	kw = ps->tok[0].text;
	if (strcasecmp(kw, "include") == 0)
		do_include(ps);
	else if (strcasecmp(kw, "group") == 0)
		do_group(ps, false);
	else if (strcasecmp(kw, "list") == 0)
		do_group(ps, true);
	else if (strcasecmp(kw, "default") == 0)
		do_default(ps);
	else if (strcasecmp(kw, "from") == 0 || strcasecmp(kw, "to") == 0)
		do_rule(ps);
	else
		pp_fail(ps, ps->file, ps->tok[0].line, ps->tok[0].col, "unknown "
		    "keyword \"%.40s\" (include, group, list, default, from, "
		    "to)",
		    kw);
	ps->ntok = 0;
}

/* Split one physical line into tokens (in place); continuation lines
 * add to the current logical line. */
static void
scan_line(struct parser *ps, char *s, unsigned lineno)
{
	char *p = s;
	bool cont = (*p == ' ' || *p == '\t');

	if (!cont)
		dispatch(ps);
	for (;;) {
		char *start;

		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (*p == '\0' || *p == '#')
			return;
		if (cont && ps->ntok == 0) {
			pp_fail(ps, ps->file, lineno, (unsigned)(p - s) + 1,
			    "continuation line without a line to continue");
			return;
		}
		start = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (ps->ntok >= MAX_TOKENS) {
			pp_fail(ps, ps->file, lineno, (unsigned)(start - s) + 1,
			    "line too long");
			return;
		}
		if ((ps->tok = pp_grow(ps, ps->tok, &ps->tokcap, ps->ntok + 1,
		    sizeof(*ps->tok))) == NULL)
			return;
		ps->tok[ps->ntok].text = start;
		ps->tok[ps->ntok].line = lineno;
		ps->tok[ps->ntok].col = (unsigned)(start - s) + 1;
		ps->ntok++;
		if (*p != '\0')
			*p++ = '\0';
	}
}

void
pp_parse_text(struct parser *ps, char *text, size_t len)
{
	unsigned lineno = 0;
	char *line = text, *end = text + len, *nl;

	while (line < end && !ps->failed) {
		lineno++;
		nl = memchr(line, '\n', (size_t)(end - line));
		if (nl != NULL)
			*nl = '\0';
		else
			*end = '\0';
		if (memchr(line, '\0', (size_t)((nl != NULL ? nl : end) -
		    line)) != NULL) {
			pp_fail(ps, ps->file, lineno, 0, "NUL byte in the file");
			return;
		}
		scan_line(ps, line, lineno);
		line = nl != NULL ? nl + 1 : end;
	}
	dispatch(ps);
}

/* Read one file, with include-cycle detection by real path. */
int
pp_read_file(struct parser *ps, const char *path, const char *display,
    unsigned inc_line, unsigned inc_col)
{
	char *real, *text;
	const char *outer = ps->file;
	struct token *saved_tok = ps->tok;
	size_t saved_n = ps->ntok, saved_cap = ps->tokcap;
	struct stat st;
	FILE *f;
	int i, rc = -1;

	if ((real = realpath(path, NULL)) == NULL) {
		if (outer != NULL)
			pp_fail(ps, outer, inc_line, inc_col, "include %s: %s",
			    display, strerror(errno));
		else
			pp_fail(ps, display, 0, 0, "%s", strerror(errno));
		return -1;
	}
	for (i = 0; i < ps->depth; i++)
		if (strcmp(ps->stack[i], real) == 0) {
			pp_fail(ps, outer, inc_line, inc_col, "include %s: "
			    "includes itself", display);
			free(real);
			return -1;
		}
	if (ps->depth == MAX_INCLUDE_DEPTH) {
		pp_fail(ps, outer, inc_line, inc_col, "includes nested more than "
		    "%d deep", MAX_INCLUDE_DEPTH);
		free(real);
		return -1;
	}
	if ((f = fopen(path, "r")) == NULL || fstat(fileno(f), &st) != 0 ||
	    !S_ISREG(st.st_mode) || st.st_size > (off_t)MAX_FILE_BYTES) {
		if (outer != NULL)
			pp_fail(ps, outer, inc_line, inc_col, "include %s: not a "
			    "readable file of at most 256 MB", display);
		else
			pp_fail(ps, display, 0, 0, "not a readable file of at "
			    "most 256 MB");
		if (f != NULL)
			fclose(f);
		free(real);
		return -1;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL ||
	    fread(text, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		pp_fail(ps, display, 0, 0, "cannot read");
		fclose(f);
		free(text);
		free(real);
		return -1;
	}
	fclose(f);
	ps->stack[ps->depth++] = real;
	/* An included file has its own logical lines. */
	ps->tok = NULL;
	ps->ntok = ps->tokcap = 0;
	if ((ps->file = pp_keep(ps, display)) != NULL) {
		pp_parse_text(ps, text, (size_t)st.st_size);
		rc = ps->failed ? -1 : 0;
	}
	free(ps->tok);
	ps->tok = saved_tok;
	ps->ntok = saved_n;
	ps->tokcap = saved_cap;
	ps->depth--;
	free(real);
	free(text);
	return rc;
}

