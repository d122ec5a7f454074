/*
 * mime.c -- header field helpers: look-up, unfolding, Content-Type and
 * Content-Disposition parameters (RFC 2045, RFC 2231), classification,
 * and writing header fields back in canonical, 7-bit form (RFC 2047,
 * RFC 2231).
 */
#include "mime.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "message.h"
#include "mime_int.h"
#include "mimeenc.h"
#include "sink.h"

#define MAX_RAW_PARAMS 64	/* parameters looked at per field */
#define MAX_SECTION 999		/* RFC 2231 continuation numbers */

const struct header *
mime_find_header(const struct header *h, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (h[i].name != NULL && strcasecmp(h[i].name, name) == 0)
			return &h[i];
	return NULL;
}

static bool
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static int
tolower_ascii(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

int
mime_unfold(const char *raw, char *out, size_t outlen)
{
	size_t o = 0, end = 0;
	int rc = 0;

	assert(outlen > 0);
	while (is_wsp(*raw) || *raw == '\r' || *raw == '\n')
		raw++;
	for (; *raw != '\0'; raw++) {
		if (*raw == '\r' || *raw == '\n')
			continue;
		if (o + 1 >= outlen) {
			rc = -1;
			break;
		}
		out[o++] = *raw;
		if (!is_wsp(*raw))
			end = o;
	}
	if (rc == 0)
		o = end;	/* trailing whitespace */
	out[o] = '\0';
	return rc == 0 ? (int)o : -1;
}

bool
mime_has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* ---- UTF-8 validation --------------------------------------------- */

void
mime_utf8_feed(struct utf8v *v, const unsigned char *p, size_t n)
{
	size_t i;
	unsigned char c;

	for (i = 0; i < n && !v->bad; i++) {
		c = p[i];
		if (v->need > 0) {
			if (c < v->lo || c > v->hi)
				v->bad = true;
			v->need--;
			v->lo = 0x80;
			v->hi = 0xbf;
			continue;
		}
		if (c < 0x80)
			continue;
		v->lo = 0x80;
		v->hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			v->need = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			v->need = 2;
			if (c == 0xe0)
				v->lo = 0xa0;
			else if (c == 0xed)
				v->hi = 0x9f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			v->need = 3;
			if (c == 0xf0)
				v->lo = 0x90;
			else if (c == 0xf4)
				v->hi = 0x8f;
		} else
			v->bad = true;
	}
}

bool
mime_utf8_ok(const struct utf8v *v)
{
	return !v->bad && v->need == 0;
}

/* ---- structured field lexing -------------------------------------- */

/* RFC 2045 tspecials, space, controls and 8-bit: what ends a token. */
static bool
is_tspecial(int c)
{
	return c <= ' ' || c >= 0x7f || strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

/* Skip whitespace, line breaks and (nested) comments. */
static const char *
skip_cfws(const char *p)
{
	int depth;

	for (;;) {
		while (is_wsp(*p) || *p == '\r' || *p == '\n')
			p++;
		if (*p != '(')
			return p;
		for (depth = 0; *p != '\0'; p++) {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == '(')
				depth++;
			else if (*p == ')' && --depth == 0) {
				p++;
				break;
			}
		}
	}
}

/* Past a quoted string starting at p ('"'); an open one ends the text. */
static const char *
skip_quoted(const char *p)
{
	for (p++; *p != '\0' && *p != '"'; p++)
		if (*p == '\\' && p[1] != '\0')
			p++;
	return *p == '"' ? p + 1 : p;
}

/* Past the next ';' outside quotes and comments, or to the end. */
static const char *
skip_to_semicolon(const char *p)
{
	while (*p != '\0' && *p != ';') {
		if (*p == '"')
			p = skip_quoted(p);
		else if (*p == '(')
			p = skip_cfws(p);
		else
			p++;
	}
	return *p == ';' ? p + 1 : p;
}

/* Copy a token at *pp, lower case, into out; false if none or too long. */
static bool
get_token(const char **pp, char *out, size_t outlen)
{
	const char *p = *pp;
	size_t n = 0;

	while (*p != '\0' && !is_tspecial((unsigned char)*p)) {
		if (n + 1 < outlen)
			out[n] = (char)tolower_ascii((unsigned char)*p);
		n++;
		p++;
	}
	*pp = p;
	if (n == 0 || n >= outlen) {
		out[0] = '\0';
		return false;
	}
	out[n] = '\0';
	return true;
}

/* ---- parameters ---------------------------------------------------- */

/* One "attribute=value" as written, before RFC 2231 joining. */
struct rawparam {
	const char *name;	/* base name: RFC 2231 suffix removed */
	size_t namelen;
	int section;		/* continuation number, -1 for none */
	bool ext;		/* "*" suffix: charset and %XX encoding */
	const char *val;	/* as written, quotes included */
	size_t vallen;
};

/* Split "name*3*" into base name, section and extended flag. */
static bool
split_param_name(struct rawparam *rp, const char *name, size_t len)
{
	const char *star = memchr(name, '*', len);
	const char *p, *end = name + len;

	rp->name = name;
	rp->namelen = star != NULL ? (size_t)(star - name) : len;
	rp->section = -1;
	rp->ext = false;
	if (star == NULL)
		return rp->namelen > 0 && rp->namelen < 64;
	p = star + 1;
	if (p < end && *p >= '0' && *p <= '9') {
		rp->section = 0;
		for (; p < end && *p >= '0' && *p <= '9'; p++) {
			rp->section = rp->section * 10 + (*p - '0');
			if (rp->section > MAX_SECTION)
				return false;
		}
		if (p < end && *p == '*') {
			rp->ext = true;
			p++;
		}
	} else
		rp->ext = true;
	return p == end && rp->namelen > 0 && rp->namelen < 64;
}

/* The next well-formed parameter after *pp; false at the end. */
static bool
next_param(const char **pp, struct rawparam *rp)
{
	const char *p = *pp, *name;
	size_t namelen;

	for (;;) {
		p = skip_cfws(p);
		if (*p == '\0')
			break;
		if (*p == ';') {
			p++;
			continue;
		}
		name = p;
		while (*p != '\0' && (!is_tspecial((unsigned char)*p)))
			p++;
		namelen = (size_t)(p - name);
		p = skip_cfws(p);
		if (namelen == 0 || *p != '=' ||
		    !split_param_name(rp, name, namelen)) {
			p = skip_to_semicolon(p);
			continue;
		}
		p = skip_cfws(p + 1);
		rp->val = p;
		if (*p == '"')
			p = skip_quoted(p);
		else
			/* Liberal: "boundary=----=_Part_1" is common. */
			while (*p != '\0' && *p != ';' && *p != '"' &&
			    *p != '(' && !is_wsp(*p) && *p != '\r' &&
			    *p != '\n')
				p++;
		rp->vallen = (size_t)(p - rp->val);
		*pp = p;
		return true;
	}
	*pp = p;
	return false;
}

/* Appends to a mime_ctype's pool; a full pool makes the whole add fail. */
struct app {
	struct mime_ctype *ct;
	bool full;
	size_t limit;		/* pool bytes this append may use */
};

/*
 * Parsing leaves this much of the pool, and two parameter slots, free so
 * that the builder can always add hp= and charset=.
 */
#define POOL_RESERVE 256
#define PARAM_RESERVE 2

static void
app_putc(struct app *a, char c)
{
	if (a->full)
		return;
	if (a->ct->poolused + 1 >= a->limit) {
		a->full = true;
		return;
	}
	a->ct->pool[a->ct->poolused++] = c;
}

/* Append s[0..n) and a NUL; the offset of the copy. */
static size_t
app_str(struct app *a, const char *s, size_t n, bool lower)
{
	size_t off = a->ct->poolused, i;

	for (i = 0; i < n; i++)
		app_putc(a, lower ? (char)tolower_ascii((unsigned char)s[i]) :
		    s[i]);
	app_putc(a, '\0');
	return off;
}

static int
hexdig(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower_ascii(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Append the value of one raw parameter: unquoted, line breaks dropped,
 * and for an extended one "%XX" decoded.  want_charset: an extended
 * value's charset'language' prefix is parsed, the charset appended first
 * (its offset in *charset); *value (may be NULL) gets the offset where
 * the value starts.
 */
static void
app_value(struct app *a, const struct rawparam *rp, bool want_charset,
    size_t *charset, size_t *value)
{
	const char *v = rp->val, *end = rp->val + rp->vallen, *q1, *q2;
	bool quoted = v < end && *v == '"';
	int hi, lo;

	if (quoted) {
		v++;
		if (end > v && end[-1] == '"')
			end--;
	}
	if (rp->ext && want_charset) {
		q1 = memchr(v, '\'', (size_t)(end - v));
		q2 = q1 != NULL ? memchr(q1 + 1, '\'', (size_t)(end - q1 - 1)) :
		    NULL;
		if (q2 != NULL) {
			if (q1 - v < 64)
				*charset = app_str(a, v, (size_t)(q1 - v),
				    false);
			v = q2 + 1;
		}
	}
	if (value != NULL)
		*value = a->ct->poolused;
	for (; v < end; v++) {
		if (*v == '\r' || *v == '\n')
			continue;
		if (quoted && *v == '\\' && v + 1 < end)
			v++;
		else if (rp->ext && *v == '%' && end - v >= 3 &&
		    (hi = hexdig((unsigned char)v[1])) >= 0 &&
		    (lo = hexdig((unsigned char)v[2])) >= 0) {
			app_putc(a, (char)(hi << 4 | lo));
			v += 2;
			continue;
		}
		app_putc(a, *v);
	}
}

static bool
same_base(const struct rawparam *x, const struct rawparam *y)
{
	return x->namelen == y->namelen &&
	    strncasecmp(x->name, y->name, x->namelen) == 0;
}

/*
 * Append the RFC 2231 sections of rps[first]'s parameter in number
 * order, marking them used; true if any was extended.
 */
static bool
app_sections(struct app *a, const struct rawparam *rps, size_t nrp,
    size_t first, bool *used, size_t *charset, size_t *value)
{
	bool any_ext = false, firstsec = true;
	size_t i, best;

	for (;;) {
		best = nrp;
		for (i = first; i < nrp; i++)
			if (!used[i] && rps[i].section >= 0 &&
			    same_base(&rps[i], &rps[first]) && (best == nrp ||
			    rps[i].section < rps[best].section))
				best = i;
		if (best == nrp)
			return any_ext;
		used[best] = true;
		/* charset'language' only in the first section */
		app_value(a, &rps[best], firstsec, charset,
		    firstsec ? value : NULL);
		firstsec = false;
		any_ext |= rps[best].ext;
	}
}

/*
 * Add parameter rps[first] to ct, joining all its RFC 2231 sections, and
 * mark them used.  A duplicate name is ignored, one that does not fit
 * dropped (ct->truncated).
 */
static void
add_param(struct mime_ctype *ct, const struct rawparam *rps, size_t nrp,
    size_t first, bool *used)
{
	struct app a = { ct, false, MIME_CT_POOL - POOL_RESERVE };
	struct mime_param mp = { 0 };
	size_t start = ct->poolused, i;
	bool full;
	char name[64];

	snprintf(name, sizeof(name), "%.*s", (int)rps[first].namelen,
	    rps[first].name);
	full = ct->nparams >= MIME_CT_MAXPARAMS - PARAM_RESERVE;
	if (mime_ctype_param(ct, name) != NULL || full) {
		ct->truncated |= full;
		for (i = first; i < nrp; i++)
			if (same_base(&rps[i], &rps[first]))
				used[i] = true;
		return;
	}
	mp.name = app_str(&a, rps[first].name, rps[first].namelen, true);
	if (rps[first].section < 0) {
		used[first] = true;
		app_value(&a, &rps[first], true, &mp.charset, &mp.value);
		mp.extended = rps[first].ext;
	} else
		mp.extended = app_sections(&a, rps, nrp, first, used,
		    &mp.charset, &mp.value);
	mp.valuelen = ct->poolused - mp.value;
	app_putc(&a, '\0');
	if (a.full) {
		ct->poolused = start;
		ct->truncated = true;
		return;
	}
	ct->params[ct->nparams++] = mp;
}

static void
parse_params(const char *p, struct mime_ctype *ct)
{
	struct rawparam rps[MAX_RAW_PARAMS];
	bool used[MAX_RAW_PARAMS] = { false };
	size_t nrp = 0, i;

	while (nrp < MAX_RAW_PARAMS && next_param(&p, &rps[nrp]))
		nrp++;
	if (nrp == MAX_RAW_PARAMS && next_param(&p, &(struct rawparam){0}))
		ct->truncated = true;
	for (i = 0; i < nrp; i++)
		if (!used[i])
			add_param(ct, rps, nrp, i, used);
}

void
mime_ctype_reset(struct mime_ctype *ct, const char *type, const char *subtype)
{
	snprintf(ct->type, sizeof(ct->type), "%s", type);
	snprintf(ct->subtype, sizeof(ct->subtype), "%s", subtype);
	ct->nparams = 0;
	ct->truncated = false;
	ct->pool[0] = '\0';	/* offset 0: the empty string */
	ct->poolused = 1;
}

static int
parse_field(const char *value, struct mime_ctype *ct, bool want_subtype)
{
	const char *p;

	mime_ctype_reset(ct, "", "");
	p = skip_cfws(value);
	if (!get_token(&p, ct->type, sizeof(ct->type)))
		goto bad;
	if (want_subtype) {
		p = skip_cfws(p);
		if (*p != '/')
			goto bad;
		p = skip_cfws(p + 1);
		if (!get_token(&p, ct->subtype, sizeof(ct->subtype)))
			goto bad;
	}
	parse_params(p, ct);
	return 0;
bad:
	if (want_subtype)
		mime_ctype_reset(ct, "text", "plain");
	else
		mime_ctype_reset(ct, "", "");
	return -1;
}

int
mime_parse_content_type(const char *value, struct mime_ctype *ct)
{
	return parse_field(value, ct, true);
}

int
mime_parse_content_disposition(const char *value, struct mime_ctype *ct)
{
	return parse_field(value, ct, false);
}

const char *
mime_ctype_param(const struct mime_ctype *ct, const char *name)
{
	size_t i;

	for (i = 0; i < ct->nparams; i++)
		if (strcasecmp(ct->pool + ct->params[i].name, name) == 0)
			return ct->pool + ct->params[i].value;
	return NULL;
}

const char *
mime_param_name(const struct mime_ctype *ct, size_t i)
{
	assert(i < ct->nparams);
	return ct->pool + ct->params[i].name;
}

const char *
mime_param_value(const struct mime_ctype *ct, size_t i)
{
	assert(i < ct->nparams);
	return ct->pool + ct->params[i].value;
}

int
mime_ctype_set_param(struct mime_ctype *ct, const char *name,
    const char *value)
{
	struct app a = { ct, false, MIME_CT_POOL };
	struct mime_param mp = { 0 };
	size_t i, start = ct->poolused;

	for (i = 0; i < ct->nparams; i++)
		if (strcasecmp(ct->pool + ct->params[i].name, name) == 0) {
			memmove(&ct->params[i], &ct->params[i + 1],
			    (ct->nparams - i - 1) * sizeof(ct->params[0]));
			ct->nparams--;
			break;
		}
	if (ct->nparams == MIME_CT_MAXPARAMS)
		return -1;
	mp.name = app_str(&a, name, strlen(name), true);
	mp.value = app_str(&a, value, strlen(value), false);
	mp.valuelen = strlen(value);
	if (a.full) {
		ct->poolused = start;
		return -1;
	}
	ct->params[ct->nparams++] = mp;
	return 0;
}

/* ---- writing Content-Type and Content-Disposition ----------------- */

/* Folding writer for structured fields. */
struct fw {
	const struct sink *out;
	size_t col;
	char *err;
	size_t errlen;
	int rc;
};

static void
fw_put(struct fw *w, const char *s, size_t n)
{
	if (w->rc == 0)
		w->rc = sink_write(w->out, s, n, w->err, w->errlen);
	w->col += n;
}

/* "; piece", folded before the piece when the line would pass 76. */
static void
fw_piece(struct fw *w, const char *s, size_t n)
{
	if (w->col + 2 + n > MIMEENC_LINE) {
		fw_put(w, ";\r\n\t", 4);
		w->col = 8;
	} else
		fw_put(w, "; ", 2);
	fw_put(w, s, n);
}

/* RFC 2231 attribute-char: token characters but '*', '\'' and '%'. */
static bool
is_attr_char(unsigned char c)
{
	return c > ' ' && c < 0x7f && !is_tspecial(c) && c != '*' &&
	    c != '\'' && c != '%';
}

static bool
is_token(const char *v, size_t n)
{
	size_t i;

	if (n == 0)
		return false;
	for (i = 0; i < n; i++)
		if (is_tspecial((unsigned char)v[i]) ||
		    (unsigned char)v[i] >= 0x7f)
			return false;
	return true;
}

/* Quote v[0..n) into buf (room for 2n + 3). */
static size_t
quote(char *buf, const char *v, size_t n)
{
	size_t o = 0, i;

	buf[o++] = '"';
	for (i = 0; i < n; i++) {
		if (v[i] == '"' || v[i] == '\\')
			buf[o++] = '\\';
		buf[o++] = v[i];
	}
	buf[o++] = '"';
	return o;
}

#define PIECE 60	/* value characters per RFC 2231 section */

/*
 * name="value", always quoted (hp="cipher" as RFC 9788 writes it; some
 * parsers mishandle unquoted boundaries); long values in sections.
 */
static void
write_plain_param(struct fw *w, const char *name, const char *v, size_t n)
{
	char piece[1024];
	size_t len, off, take;
	int sec;

	if (n <= 200) {
		len = (size_t)snprintf(piece, sizeof(piece), "%s=", name);
		len += quote(piece + len, v, n);
		fw_piece(w, piece, len);
		return;
	}
	for (off = 0, sec = 0; off < n; off += take, sec++) {
		take = n - off < PIECE ? n - off : PIECE;
		len = (size_t)snprintf(piece, sizeof(piece), "%s*%d=", name,
		    sec);
		len += quote(piece + len, v + off, take);
		fw_piece(w, piece, len);
	}
}

/* name*=charset''%XX..., split in name*N* sections when long. */
static void
write_ext_param(struct fw *w, const char *name, const char *charset,
    const unsigned char *v, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char piece[1024], enc[PIECE + 4];
	size_t len, e, i = 0, total = 0;
	int sec = 0;

	for (e = 0; e < n; e++)
		total += is_attr_char(v[e]) ? 1 : 3;
	do {
		for (e = 0; i < n && e + 3 <= PIECE; i++) {
			if (is_attr_char(v[i]))
				enc[e++] = (char)v[i];
			else {
				enc[e++] = '%';
				enc[e++] = hex[v[i] >> 4];
				enc[e++] = hex[v[i] & 15];
			}
		}
		if (total <= PIECE)
			len = (size_t)snprintf(piece, sizeof(piece),
			    "%s*=%s''%.*s", name, charset, (int)e, enc);
		else if (sec == 0)
			len = (size_t)snprintf(piece, sizeof(piece),
			    "%s*0*=%s''%.*s", name, charset, (int)e, enc);
		else
			len = (size_t)snprintf(piece, sizeof(piece),
			    "%s*%d*=%.*s", name, sec, (int)e, enc);
		fw_piece(w, piece, len < sizeof(piece) ? len :
		    sizeof(piece) - 1);
		sec++;
	} while (i < n);
}

static bool
needs_ext(const struct mime_param *mp, const char *v)
{
	size_t i;

	if (mp->extended)
		return true;
	for (i = 0; i < mp->valuelen; i++)
		if (((unsigned char)v[i] < 0x20 && v[i] != '\t') ||
		    (unsigned char)v[i] >= 0x7f)
			return true;
	return false;
}

int
mime_write_ctype(const struct sink *out, const char *name,
    const struct mime_ctype *ct, char *err, size_t errlen)
{
	struct fw w = { out, 0, err, errlen, 0 };
	const struct mime_param *mp;
	struct utf8v u = { 0 };
	const char *v, *cs;
	size_t i;

	fw_put(&w, name, strlen(name));
	fw_put(&w, ": ", 2);
	fw_put(&w, ct->type, strlen(ct->type));
	if (ct->subtype[0] != '\0') {
		fw_put(&w, "/", 1);
		fw_put(&w, ct->subtype, strlen(ct->subtype));
	}
	for (i = 0; i < ct->nparams; i++) {
		mp = &ct->params[i];
		v = ct->pool + mp->value;
		if (!needs_ext(mp, v)) {
			write_plain_param(&w, ct->pool + mp->name, v,
			    mp->valuelen);
			continue;
		}
		memset(&u, 0, sizeof(u));
		mime_utf8_feed(&u, (const unsigned char *)v, mp->valuelen);
		cs = ct->pool + mp->charset;
		if (cs[0] == '\0' || !is_token(cs, strlen(cs)))
			cs = mime_utf8_ok(&u) ? "utf-8" : "unknown-8bit";
		write_ext_param(&w, ct->pool + mp->name, cs,
		    (const unsigned char *)v, mp->valuelen);
	}
	fw_put(&w, "\r\n", 2);
	return w.rc;
}

/* ---- writing other header fields ------------------------------------ */

static bool
unstructured(const char *name)
{
	return strcasecmp(name, "Subject") == 0 ||
	    strcasecmp(name, "Comments") == 0 ||
	    strcasecmp(name, "Content-Description") == 0 ||
	    strncasecmp(name, "X-", 2) == 0;
}

bool
mime_has_long_line(const char *name, const char *value)
{
	size_t col = strlen(name) + 2;

	for (; *value != '\0'; value++) {
		if (*value == '\r' || *value == '\n')
			col = 0;
		else if (++col > 998)
			return true;
	}
	return false;
}

/* Unstructured value with 8-bit bytes: RFC 2047 "B" encoded words. */
static int
write_encoded_words(const struct sink *out, const char *name,
    const char *value, char *err, size_t errlen)
{
	size_t vlen = strlen(value), n, pos, take, maxb;
	struct utf8v u = { 0 };
	struct b64enc e;
	const char *cs;
	char *buf;
	int rc = -1;

	if ((buf = malloc(vlen + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	n = (size_t)mime_unfold(value, buf, vlen + 1);
	mime_utf8_feed(&u, (unsigned char *)buf, n);
	cs = mime_utf8_ok(&u) ? "utf-8" : "unknown-8bit";
	maxb = mime_utf8_ok(&u) ? 45 : 39;	/* words of at most 75 */
	if (sink_puts(out, name, err, errlen) != 0 ||
	    sink_puts(out, ":", err, errlen) != 0)
		goto out;
	for (pos = 0; pos < n; pos += take) {
		take = n - pos < maxb ? n - pos : maxb;
		/* A word holds whole characters (RFC 2047 section 5). */
		while (mime_utf8_ok(&u) && pos + take < n && take > 1 &&
		    ((unsigned char)buf[pos + take] & 0xc0) == 0x80)
			take--;
		if (sink_puts(out, pos == 0 ? " =?" : "\r\n =?", err,
		    errlen) != 0 || sink_puts(out, cs, err, errlen) != 0 ||
		    sink_puts(out, "?B?", err, errlen) != 0)
			goto out;
		b64enc_init(&e, out, 0);
		if (b64enc_update(&e, buf + pos, take, err, errlen) != 0 ||
		    b64enc_final(&e, err, errlen) != 0 ||
		    sink_puts(out, "?=", err, errlen) != 0)
			goto out;
	}
	rc = sink_puts(out, "\r\n", err, errlen);
out:
	free(buf);
	return rc;
}

/*
 * Copy value with every line break made CRLF, whitespace-only
 * continuation lines dropped and a space after the colon; returns the
 * length written to buf (room for strlen(name) + 3 * strlen(value) + 4).
 */
static size_t
refold(char *buf, const char *name, const char *value)
{
	const char *v = value, *e, *q;
	size_t o = 0, nlen = strlen(name);
	bool first = true, blank;

	memcpy(buf, name, nlen);
	o = nlen;
	buf[o++] = ':';
	for (;;) {
		for (e = v; *e != '\0' && *e != '\r' && *e != '\n'; e++)
			;
		for (blank = true, q = v; q < e && blank; q++)
			blank = is_wsp(*q);
		if (first || !blank) {
			if (!first) {
				buf[o++] = '\r';
				buf[o++] = '\n';
			}
			if (e > v && !is_wsp(*v))
				buf[o++] = ' ';
			memcpy(buf + o, v, (size_t)(e - v));
			o += (size_t)(e - v);
		}
		first = false;
		if (*e == '\0')
			break;
		v = e[0] == '\r' && e[1] == '\n' ? e + 2 : e + 1;
	}
	return o;
}

/*
 * Write buf[0..len) folding physical lines over 998 at whitespace, before
 * a run of it, and never so that only whitespace is left for the next
 * line (refold() would drop such a line when the entity is read again).
 */
static int
write_folded(const struct sink *out, const char *buf, size_t len,
    size_t minpos, char *err, size_t errlen)
{
	const char *p = buf, *end = buf + len, *q, *s, *cut, *last;

	while (p < end) {
		q = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (q == NULL)
			q = end;
		for (last = q; last > p && is_wsp(last[-1]); last--)
			;
		while (q - p > 998) {
			cut = NULL;
			for (s = p + 998; s > p + minpos; s--)
				if (s < last && is_wsp(*s) && !is_wsp(s[-1])) {
					cut = s;
					break;
				}
			if (cut == NULL)
				break;	/* nowhere to fold: leave it */
			if (sink_write(out, p, (size_t)(cut - p), err,
			    errlen) != 0 || sink_write(out, "\r\n", 2, err,
			    errlen) != 0)
				return -1;
			p = cut;
			minpos = 1;
		}
		if (sink_write(out, p, (size_t)(q - p), err, errlen) != 0 ||
		    sink_write(out, "\r\n", 2, err, errlen) != 0)
			return -1;
		p = q + 2;
		minpos = 1;
	}
	return 0;
}

int
mime_write_field(const struct sink *out, const char *name,
    const char *value, bool *kept_8bit, char *err, size_t errlen)
{
	size_t nlen = strlen(name), vlen = strlen(value), len;
	char *buf;
	int rc;

	if (nlen + vlen > MIME_MAX_FIELD) {
		snprintf(err, errlen, "header line longer than %d bytes (%s)",
		    MIME_MAX_FIELD, name);
		return -1;
	}
	if (mime_has_8bit(value)) {
		if (unstructured(name))
			return write_encoded_words(out, name, value, err,
			    errlen);
		if (kept_8bit != NULL)
			*kept_8bit = true;
	}
	if ((buf = malloc(nlen + 3 * vlen + 4)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	len = refold(buf, name, value);
	rc = write_folded(out, buf, len, nlen + 1, err, errlen);
	free(buf);
	return rc;
}

/* ---- classification ------------------------------------------------ */

static bool
ends_with_ci(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

/* application/pkcs7-mime without smime-type: look at the file name. */
static bool
p7m_named(const struct mime_ctype *ct, const struct header *h, size_t n,
    struct mime_ctype *scratch)
{
	const struct header *cd;
	const char *name = mime_ctype_param(ct, "name");

	if (name != NULL && ends_with_ci(name, ".p7m"))
		return true;
	cd = mime_find_header(h, n, "Content-Disposition");
	if (cd == NULL || mime_parse_content_disposition(cd->value,
	    scratch) != 0)
		return false;
	name = mime_ctype_param(scratch, "filename");
	return name != NULL && ends_with_ci(name, ".p7m");
}

int
mime_classify(const struct header *h, size_t n, struct mime_info *info)
{
	const struct header *cth = mime_find_header(h, n, "Content-Type");
	struct mime_ctype *ct = NULL;
	const char *st;

	memset(info, 0, sizeof(*info));
	info->is_mime = cth != NULL ||
	    mime_find_header(h, n, "MIME-Version") != NULL;
	if (cth == NULL)
		return 0;
	/* Two structs of 9 KiB: keep them off milter thread stacks. */
	if ((ct = malloc(2 * sizeof(*ct))) == NULL)
		return 0;
	if (mime_parse_content_type(cth->value, ct) != 0)
		goto out;
	if (strcmp(ct->type, "multipart") == 0) {
		info->is_multipart = true;
		info->is_pgp_encrypted = strcmp(ct->subtype, "encrypted") == 0;
		info->is_signed = strcmp(ct->subtype, "signed") == 0;
	} else if (strcmp(ct->type, "application") == 0 &&
	    (strcmp(ct->subtype, "pkcs7-mime") == 0 ||
	    strcmp(ct->subtype, "x-pkcs7-mime") == 0)) {
		st = mime_ctype_param(ct, "smime-type");
		if (st == NULL)
			info->is_smime_encrypted = p7m_named(ct, h, n, ct + 1);
		else if (strcasecmp(st, "enveloped-data") == 0 ||
		    strcasecmp(st, "authEnveloped-data") == 0)
			info->is_smime_encrypted = true;
		else if (strcasecmp(st, "signed-data") == 0)
			info->is_signed = true;
	}
out:
	free(ct);
	return 0;
}
