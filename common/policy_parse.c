/*
 * policy_parse.c -- read smime-milter.policy(5): includes, logical lines,
 * group definitions, the default and the rules.  Every error names
 * file:line:col.  Groups are resolved (LDAP) and flattened here; the
 * look-up structures are built by policy_index.c.
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

#include "log.h"
#include "policy_int.h"

#define MAX_INCLUDE_DEPTH 16
#define MAX_FILE_BYTES (256u * 1024u * 1024u)
#define MAX_TOKENS 1000000u
#define MAX_NAME 64
#define MAX_ADDRESS 998

struct token {
	char *text;		/* NUL-terminated, in the file's buffer */
	unsigned line, col;
};

/* A pattern as written, with where it was written (for errors). */
struct pref {
	struct pattern pat;
	const char *name;	/* PAT_GROUP: the name, until resolved */
	const char *file;
	unsigned line, col;
};

struct raw_group {
	const char *name, *file, *source, *ldap_dir, *ldap_dn;
	unsigned line;
	struct pref *members;
	size_t n, cap;
	char **ldap_members;	/* resolved LDAP members (owned) */
	size_t nldap;
	const char **kept;	/* the same, lowercased, in the arena */
	bool resolved;
};

struct raw_rule {
	struct pref from, to;
	struct policy_settings s;
	unsigned mask;		/* settings given on the line */
	const char *file;
	unsigned line;
};

struct parser {
	struct policy *p;
	const struct policy_resolver *res;
	const struct policy *prev;
	char *err;
	size_t errlen;
	bool failed;

	char *stack[MAX_INCLUDE_DEPTH];	/* real paths being read */
	int depth;

	struct token *tok;		/* the logical line being collected */
	size_t ntok, tokcap;
	const char *file;		/* of the line being collected */

	struct raw_rule *rules;
	size_t nrules, rulecap;
	struct raw_group *groups;
	size_t ngroups, groupcap;
	struct policy_settings defaults;
	unsigned default_mask;
	const char *default_file;
	unsigned default_line;
};

static void
fail(struct parser *ps, const char *file, unsigned line, unsigned col,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
fail(struct parser *ps, const char *file, unsigned line, unsigned col,
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

static void
fail_oom(struct parser *ps)
{
	fail(ps, ps->file != NULL ? ps->file : "policy", 0, 0,
	    "out of memory");
}

static const char *
keep(struct parser *ps, const char *s)
{
	const char *out = policy_strdup(ps->p, s, strlen(s));

	if (out == NULL)
		fail_oom(ps);
	return out;
}

static void *
grow(struct parser *ps, void *v, size_t *cap, size_t need, size_t size)
{
	size_t ncap;
	void *nv;

	if (need <= *cap)
		return v;
	ncap = *cap ? *cap * 2 : 16;
	while (ncap < need)
		ncap *= 2;
	if ((nv = realloc(v, ncap * size)) == NULL) {
		fail_oom(ps);
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
			fail(ps, ps->file, t->line, t->col, "expected "
			    "setting=value, found \"%.60s\"", t->text);
			return;
		}
		*eq = '\0';
		for (id = 0; id < SET_COUNT; id++)
			if (strcasecmp(t->text, settings[id].name) == 0)
				break;
		if (id == SET_COUNT) {
			fail(ps, ps->file, t->line, t->col, "unknown setting "
			    "\"%.60s\"", t->text);
			return;
		}
		if (*mask & (1u << id)) {
			fail(ps, ps->file, t->line, t->col, "%s given twice",
			    settings[id].name);
			return;
		}
		for (w = settings[id].words; w->name != NULL; w++)
			if (strcasecmp(eq + 1, w->name) == 0)
				break;
		if (w->name == NULL) {
			fail(ps, ps->file, t->line,
			    t->col + (unsigned)(eq + 1 - t->text), "%s: "
			    "\"%.60s\" is not one of %s", settings[id].name,
			    eq + 1, settings[id].allowed);
			return;
		}
		set_value(s, (enum setting_id)id, w->value);
		*mask |= 1u << id;
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

/* Parse one pattern word; on error fail() and return -1. */
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
		fail(ps, ps->file, line, col, "pattern longer than %d bytes",
		    MAX_ADDRESS);
		return -1;
	}
	if (strcmp(text, "*") == 0 || strcmp(text, "*@*") == 0) {
		out->pat.kind = PAT_ANY;
		return 0;
	}
	if (text[0] == '@') {
		if (!valid_name(text + 1)) {
			fail(ps, ps->file, line, col, "bad group name \"%.60s\""
			    " (letters, digits, '.', '-', '_')", text + 1);
			return -1;
		}
		out->pat.kind = PAT_GROUP;
		return (out->name = keep(ps, text + 1)) != NULL ? 0 : -1;
	}
	if (!valid_address_text(text) || (at = strrchr(text, '@')) == NULL ||
	    at == text || at[1] == '\0') {
		fail(ps, ps->file, line, col, "\"%.60s\" is not an address, "
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
			fail(ps, ps->file, line, col, "\"%.60s\": wildcards "
			    "only as *@domain or *@*.domain", text);
			return -1;
		}
		out->pat.kind = PAT_EXACT;
		out->pat.key = buf;
	}
	if (out->pat.kind != PAT_EXACT && !valid_domain(out->pat.key)) {
		fail(ps, ps->file, line, col, "\"%.60s\": bad domain", text);
		return -1;
	}
	return (out->pat.key = keep(ps, out->pat.key)) != NULL ? 0 : -1;
}

/* ---- statements -------------------------------------------------- */

static int read_file(struct parser *ps, const char *path,
    const char *display, unsigned inc_line, unsigned inc_col);

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
		fail(ps, ps->file, ps->tok[0].line, ps->tok[0].col,
		    "include takes one path");
		return;
	}
	if (t->text[0] == '/')
		snprintf(path, sizeof(path), "%s", t->text);
	else {
		if ((copy = strdup(ps->file)) == NULL) {
			fail_oom(ps);
			return;
		}
		snprintf(dir, sizeof(dir), "%s", dirname(copy));
		free(copy);
		if ((size_t)snprintf(path, sizeof(path), "%.*s/%s",
		    (int)(sizeof(dir) / 2), dir, t->text) >= sizeof(path)) {
			fail(ps, ps->file, t->line, t->col, "path too long");
			return;
		}
	}
	if (strpbrk(t->text, "*?[") == NULL) {
		(void)read_file(ps, path, path, t->line, t->col);
		ps->file = inc_file;
		return;
	}
	/* A pattern may match nothing (an empty policy.d); sorted order
	 * makes the rule order predictable. */
	rc = glob(path, 0, glob_error, &g);
	if (rc != 0 && rc != GLOB_NOMATCH) {
		fail(ps, ps->file, t->line, t->col, "include %s: cannot read "
		    "the directory", t->text);
		return;
	}
	for (i = 0; rc == 0 && i < g.gl_pathc && !ps->failed; i++) {
		(void)read_file(ps, g.gl_pathv[i], g.gl_pathv[i], t->line,
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
static void
do_group(struct parser *ps)
{
	struct raw_group *g, *dup;
	const struct token *t0 = &ps->tok[0];
	char *name, *eq, *word, *save;
	size_t i;
	bool seen_eq = false;

	if (ps->ntok < 2) {
		fail(ps, ps->file, t0->line, t0->col, "group needs a name");
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
			fail(ps, ps->file, ps->tok[1].line, ps->tok[1].col,
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
	if (!valid_name(name)) {
		fail(ps, ps->file, ps->tok[1].line, ps->tok[1].col, "bad group "
		    "name \"%.60s\" (letters, digits, '.', '-', '_')", name);
		return;
	}
	if ((dup = find_raw_group(ps, name)) != NULL) {
		fail(ps, ps->file, ps->tok[1].line, ps->tok[1].col, "group %s "
		    "already defined at %s:%u", name, dup->file, dup->line);
		return;
	}
	if ((ps->groups = grow(ps, ps->groups, &ps->groupcap, ps->ngroups + 1,
	    sizeof(*ps->groups))) == NULL)
		return;
	g = &ps->groups[ps->ngroups++];
	memset(g, 0, sizeof(*g));
	g->file = ps->file;
	g->line = t0->line;
	g->resolved = true;
	if ((g->name = keep(ps, name)) == NULL)
		return;
	if (i < ps->ntok && strncmp(ps->tok[i].text, "ldap:", 5) == 0) {
		char dn[4096] = "";
		size_t j;

		if (ps->tok[i].text[5] == '\0' || i + 1 >= ps->ntok) {
			fail(ps, ps->file, ps->tok[i].line, ps->tok[i].col,
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
		g->ldap_dir = keep(ps, ps->tok[i].text + 5);
		g->ldap_dn = keep(ps, dn);
		g->resolved = false;
		snprintf(dn, sizeof(dn), "%s %s", ps->tok[i].text,
		    g->ldap_dn != NULL ? g->ldap_dn : "");
		g->source = keep(ps, dn);
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
			if ((g->members = grow(ps, g->members, &g->cap,
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
		fail(ps, ps->file, ps->tok[0].line, ps->tok[0].col, "default "
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
			fail(ps, ps->file, ps->tok[0].line, ps->tok[0].col,
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
			fail(ps, ps->file, ps->tok[i].line, ps->tok[i].col,
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
	if ((ps->rules = grow(ps, ps->rules, &ps->rulecap, ps->nrules + 1,
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
		do_group(ps);
	else if (strcasecmp(kw, "default") == 0)
		do_default(ps);
	else if (strcasecmp(kw, "from") == 0 || strcasecmp(kw, "to") == 0)
		do_rule(ps);
	else
		fail(ps, ps->file, ps->tok[0].line, ps->tok[0].col, "unknown "
		    "keyword \"%.40s\" (include, group, default, from, to)",
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
			fail(ps, ps->file, lineno, (unsigned)(p - s) + 1,
			    "continuation line without a line to continue");
			return;
		}
		start = p;
		while (*p != '\0' && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (ps->ntok >= MAX_TOKENS) {
			fail(ps, ps->file, lineno, (unsigned)(start - s) + 1,
			    "line too long");
			return;
		}
		if ((ps->tok = grow(ps, ps->tok, &ps->tokcap, ps->ntok + 1,
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

static void
parse_text(struct parser *ps, char *text, size_t len)
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
			fail(ps, ps->file, lineno, 0, "NUL byte in the file");
			return;
		}
		scan_line(ps, line, lineno);
		line = nl != NULL ? nl + 1 : end;
	}
	dispatch(ps);
}

/* Read one file, with include-cycle detection by real path. */
static int
read_file(struct parser *ps, const char *path, const char *display,
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
			fail(ps, outer, inc_line, inc_col, "include %s: %s",
			    display, strerror(errno));
		else
			fail(ps, display, 0, 0, "%s", strerror(errno));
		return -1;
	}
	for (i = 0; i < ps->depth; i++)
		if (strcmp(ps->stack[i], real) == 0) {
			fail(ps, outer, inc_line, inc_col, "include %s: "
			    "includes itself", display);
			free(real);
			return -1;
		}
	if (ps->depth == MAX_INCLUDE_DEPTH) {
		fail(ps, outer, inc_line, inc_col, "includes nested more than "
		    "%d deep", MAX_INCLUDE_DEPTH);
		free(real);
		return -1;
	}
	if ((f = fopen(path, "r")) == NULL || fstat(fileno(f), &st) != 0 ||
	    !S_ISREG(st.st_mode) || st.st_size > (off_t)MAX_FILE_BYTES) {
		if (outer != NULL)
			fail(ps, outer, inc_line, inc_col, "include %s: not a "
			    "readable file of at most 256 MB", display);
		else
			fail(ps, display, 0, 0, "not a readable file of at "
			    "most 256 MB");
		if (f != NULL)
			fclose(f);
		free(real);
		return -1;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL ||
	    fread(text, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		fail(ps, display, 0, 0, "cannot read");
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
	if ((ps->file = keep(ps, display)) != NULL) {
		parse_text(ps, text, (size_t)st.st_size);
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

/* ---- groups: resolve names, read LDAP, flatten ------------------- */

static int
group_index(struct parser *ps, const char *name, uint32_t *out)
{
	size_t i;

	/* Linear: called once per reference at load time.  Policies with
	 * very many groups get a sorted table in policy_index.c. */
	for (i = 0; i < ps->ngroups; i++)
		if (strcasecmp(ps->groups[i].name, name) == 0) {
			*out = (uint32_t)i;
			return 0;
		}
	return -1;
}

static void
resolve_ref(struct parser *ps, struct pref *r)
{
	if (r->pat.kind != PAT_GROUP || ps->failed)
		return;
	if (group_index(ps, r->name, &r->pat.group) != 0)
		fail(ps, r->file, r->line, r->col, "group %s is not defined",
		    r->name);
}

/* Members of group name/source in a previous policy, to keep them when
 * the directory cannot be read now. */
static int
previous_members(struct parser *ps, const struct raw_group *g,
    char ***out, size_t *n)
{
	const struct policy *prev = ps->prev;
	size_t i, gi, k = 0;

	*out = NULL;
	*n = 0;
	if (prev == NULL)
		return -1;
	for (gi = 0; gi < prev->ngroups; gi++)
		if (strcmp(prev->groups[gi].name, g->name) == 0 &&
		    strcmp(prev->groups[gi].source, g->source) == 0 &&
		    prev->groups[gi].resolved)
			break;
	if (gi == prev->ngroups)
		return -1;
	if ((*out = calloc(prev->groups[gi].nmembers + 1, sizeof(char *))) ==
	    NULL)
		return -1;
	for (i = 0; i < prev->members.n; i++)
		if (prev->members.v[i].id == gi && k <
		    prev->groups[gi].nmembers &&
		    prev->members.v[i].kind == PAT_EXACT &&
		    ((*out)[k] = strdup(prev->members.v[i].key)) != NULL)
			k++;
	*n = k;
	return 0;
}

/* Lowercase the members and move them into the policy's arena, once:
 * every group that includes this one refers to the same strings. */
static void
keep_ldap_members(struct parser *ps, struct raw_group *g)
{
	size_t k;

	if ((g->kept = calloc(g->nldap + 1, sizeof(*g->kept))) == NULL) {
		fail_oom(ps);
		return;
	}
	for (k = 0; k < g->nldap && !ps->failed; k++) {
		policy_lower(g->ldap_members[k]);
		g->kept[k] = keep(ps, g->ldap_members[k]);
	}
}

static void
resolve_ldap(struct parser *ps, struct raw_group *g)
{
	char why[256] = "";
	size_t n = 0;

	if (g->ldap_dir == NULL)
		return;
	if (ps->res != NULL && ps->res->members(ps->res->arg, g->ldap_dir,
	    g->ldap_dn, &g->ldap_members, &n, why, sizeof(why)) == 0) {
		g->nldap = n;
		g->resolved = true;
		keep_ldap_members(ps, g);
		return;
	}
	if (previous_members(ps, g, &g->ldap_members, &g->nldap) == 0) {
		g->resolved = true;
		keep_ldap_members(ps, g);
		log_msg(LOG_LVL_WARNING, "policy: group %s (%s): %s; keeping "
		    "the %zu members read before", g->name, g->source,
		    ps->res != NULL ? why : "no LDAP", g->nldap);
		return;
	}
	log_msg(LOG_LVL_WARNING, "policy: group %s (%s): %s; mail that "
	    "depends on it is deferred until it can be read", g->name,
	    g->source, ps->res != NULL ? why : "no LDAP directory");
}

/* Depth-first search for a cycle, with an explicit stack (a chain of
 * many groups must not exhaust the C stack). */
static void
check_cycles(struct parser *ps)
{
	unsigned char *color = calloc(ps->ngroups + 1, 1);
	struct frame { uint32_t g; size_t next; } *stack;
	size_t start, sp;

	stack = calloc(ps->ngroups + 1, sizeof(*stack));
	if (color == NULL || stack == NULL) {
		free(color);
		free(stack);
		fail_oom(ps);
		return;
	}
	for (start = 0; start < ps->ngroups && !ps->failed; start++) {
		if (color[start] != 0)
			continue;
		sp = 0;
		stack[sp].g = (uint32_t)start;
		stack[sp].next = 0;
		color[start] = 1;
		while (sp != (size_t)-1 && !ps->failed) {
			struct frame *f = &stack[sp];
			struct raw_group *g = &ps->groups[f->g];

			if (f->next == g->n) {
				color[f->g] = 2;
				sp--;
				continue;
			}
			if (g->members[f->next].pat.kind == PAT_GROUP) {
				uint32_t h = g->members[f->next].pat.group;

				if (color[h] == 1)
					fail(ps, g->file, g->line, 0, "group "
					    "cycle: %s includes %s, which "
					    "includes %s again", g->name,
					    ps->groups[h].name, g->name);
				else if (color[h] == 0) {
					color[h] = 1;
					f->next++;
					sp++;
					stack[sp].g = h;
					stack[sp].next = 0;
					continue;
				}
			}
			f->next++;
		}
	}
	free(stack);
	free(color);
}

static int
add_member_entry(struct parser *ps, struct key_index *ix, size_t *cap,
    uint32_t kind, const char *key, uint32_t gid)
{
	if ((ix->v = grow(ps, ix->v, cap, ix->n + 1, sizeof(*ix->v))) ==
	    NULL)
		return -1;
	ix->v[ix->n].key = key;
	ix->v[ix->n].kind = kind;
	ix->v[ix->n].id = gid;
	ix->n++;
	return 0;
}

/* Every group's members with nested groups expanded. */
static void
flatten_groups(struct parser *ps)
{
	struct policy *p = ps->p;
	uint32_t *stack = calloc(ps->ngroups + 1, sizeof(*stack));
	size_t *seen = calloc(ps->ngroups + 1, sizeof(*seen));
	size_t cap = 0, gi, sp, k;

	if (stack == NULL || seen == NULL) {
		free(stack);
		free(seen);
		fail_oom(ps);
		return;
	}
	for (gi = 0; gi < ps->ngroups && !ps->failed; gi++) {
		struct group *out = &p->groups[gi];
		size_t before = p->members.n;

		out->resolved = true;
		sp = 0;
		stack[sp++] = (uint32_t)gi;
		seen[gi] = gi + 1;
		while (sp > 0 && !ps->failed) {
			struct raw_group *g = &ps->groups[stack[--sp]];

			if (!g->resolved)
				out->resolved = false;
			for (k = 0; g->kept != NULL && k < g->nldap; k++)
				if (add_member_entry(ps, &p->members, &cap,
				    PAT_EXACT, g->kept[k], (uint32_t)gi) != 0)
					break;
			for (k = 0; k < g->n && !ps->failed; k++) {
				const struct pattern *m = &g->members[k].pat;

				if (m->kind == PAT_ANY)
					out->has_any = true;
				else if (m->kind == PAT_GROUP) {
					if (seen[m->group] != gi + 1) {
						seen[m->group] = gi + 1;
						stack[sp++] = m->group;
					}
				} else
					(void)add_member_entry(ps,
					    &p->members, &cap, m->kind,
					    m->key, (uint32_t)gi);
			}
		}
		out->nmembers = p->members.n - before;
	}
	free(stack);
	free(seen);
}

static void
free_raw(struct parser *ps)
{
	size_t i, k;

	for (i = 0; i < ps->ngroups; i++) {
		free(ps->groups[i].members);
		for (k = 0; k < ps->groups[i].nldap; k++)
			free(ps->groups[i].ldap_members[k]);
		free(ps->groups[i].ldap_members);
		free(ps->groups[i].kept);
	}
	free(ps->groups);
	free(ps->rules);
	free(ps->tok);
}

/* Turn the parsed statements into the policy. */
static void
finish(struct parser *ps)
{
	struct policy *p = ps->p;
	size_t i;

	for (i = 0; i < ps->nrules && !ps->failed; i++) {
		resolve_ref(ps, &ps->rules[i].from);
		resolve_ref(ps, &ps->rules[i].to);
	}
	for (i = 0; i < ps->ngroups && !ps->failed; i++) {
		size_t k;

		for (k = 0; k < ps->groups[i].n; k++)
			resolve_ref(ps, &ps->groups[i].members[k]);
	}
	if (ps->failed)
		return;
	check_cycles(ps);
	if (ps->failed)
		return;
	for (i = 0; i < ps->ngroups; i++)
		resolve_ldap(ps, &ps->groups[i]);
	p->groups = calloc(ps->ngroups + 1, sizeof(*p->groups));
	p->rules = calloc(ps->nrules + 1, sizeof(*p->rules));
	if (p->groups == NULL || p->rules == NULL) {
		fail_oom(ps);
		return;
	}
	p->ngroups = ps->ngroups;
	for (i = 0; i < ps->ngroups; i++) {
		p->groups[i].name = ps->groups[i].name;
		p->groups[i].file = ps->groups[i].file;
		p->groups[i].line = ps->groups[i].line;
		p->groups[i].source = ps->groups[i].source;
		p->groups[i].ldap_dir = ps->groups[i].ldap_dir;
		p->groups[i].ldap_dn = ps->groups[i].ldap_dn;
	}
	flatten_groups(ps);
	if (ps->failed)
		return;
	p->defaults = ps->defaults;
	p->default_file = ps->default_file;
	p->default_line = ps->default_line;
	p->nrules = ps->nrules;
	for (i = 0; i < ps->nrules; i++) {
		struct raw_rule *r = &ps->rules[i];
		struct rule *out = &p->rules[i];
		int id;

		out->from = r->from.pat;
		out->to = r->to.pat;
		out->file = r->file;
		out->line = r->line;
		out->s = ps->defaults;
		/* Re-apply the rule's own settings over the defaults. */
		for (id = 0; id < SET_COUNT; id++)
			if (r->mask & (1u << id))
				switch ((enum setting_id)id) {
				case SET_SIGN: out->s.sign = r->s.sign; break;
				case SET_DIGEST:
					out->s.digest = r->s.digest;
					break;
				case SET_ENCRYPT:
					out->s.encrypt = r->s.encrypt;
					break;
				case SET_CIPHER:
					out->s.cipher = r->s.cipher;
					break;
				case SET_KEY_TRANSPORT:
					out->s.key_transport =
					    r->s.key_transport;
					break;
				case SET_MISSING_CERT:
					out->s.missing_cert =
					    r->s.missing_cert;
					break;
				case SET_BCC: out->s.bcc = r->s.bcc; break;
				case SET_ENCRYPT_TO_SENDER:
					out->s.encrypt_to_sender =
					    r->s.encrypt_to_sender;
					break;
				case SET_PROTECT_HEADERS:
					out->s.protect_headers =
					    r->s.protect_headers;
					break;
				case SET_ALLOW_PLAIN_OK:
					out->s.allow_plain_ok =
					    r->s.allow_plain_ok;
					break;
				case SET_COUNT:
					break;
				}
	}
	if (policy_index_build(p) != 0)
		fail_oom(ps);
}

static struct policy *
policy_alloc(void)
{
	struct policy *p = calloc(1, sizeof(*p));

	if (p != NULL) {
		atomic_init(&p->refs, 1);
		policy_settings_init(&p->defaults);
	}
	return p;
}

static struct policy *
run_parser(struct parser *ps, const char *path, const char *name,
    const char *text, size_t len)
{
	char *copy;

	policy_settings_init(&ps->defaults);
	if (path != NULL)
		(void)read_file(ps, path, path, 0, 0);
	else if ((copy = malloc(len + 1)) == NULL)
		fail(ps, name, 0, 0, "out of memory");
	else {
		memcpy(copy, text, len);
		if ((ps->file = keep(ps, name)) != NULL)
			parse_text(ps, copy, len);
		free(copy);
	}
	if (!ps->failed)
		finish(ps);
	free_raw(ps);
	if (ps->failed) {
		policy_release(ps->p);
		return NULL;
	}
	return ps->p;
}

struct policy *
policy_load(const char *path, const struct policy_resolver *resolver,
    const struct policy *previous, char *err, size_t errlen)
{
	struct parser ps = { .res = resolver, .prev = previous, .err = err,
	    .errlen = errlen };

	if ((ps.p = policy_alloc()) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	return run_parser(&ps, path, NULL, NULL, 0);
}

struct policy *
policy_parse(const char *name, const char *text, size_t len,
    const struct policy_resolver *resolver, const struct policy *previous,
    char *err, size_t errlen)
{
	struct parser ps = { .res = resolver, .prev = previous, .err = err,
	    .errlen = errlen };

	if ((ps.p = policy_alloc()) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	return run_parser(&ps, NULL, name, text, len);
}

struct policy *
policy_builtin(void)
{
	static const char text[] = "default sign=none encrypt=opportunistic\n";
	char err[128];

	return policy_parse("(built-in policy)", text, sizeof(text) - 1, NULL,
	    NULL, err, sizeof(err));
}

struct policy *
policy_retain(struct policy *p)
{
	if (p != NULL)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

void
policy_release(struct policy *p)
{
	if (p == NULL || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	policy_index_free(p);
	free(p->members.v);
	free(p->rules);
	free(p->groups);
	policy_arena_free(p);
	free(p);
}

size_t
policy_rule_count(const struct policy *p)
{
	return p->nrules;
}

size_t
policy_group_count(const struct policy *p)
{
	return p->ngroups;
}

size_t
policy_unresolved_count(const struct policy *p)
{
	return p->nunresolved;
}

void
policy_group_info(const struct policy *p, size_t i, const char **name,
    const char **source, size_t *members)
{
	*name = p->groups[i].name;
	*source = p->groups[i].source;
	*members = p->groups[i].resolved ? p->groups[i].nmembers :
	    (size_t)-1;
}
