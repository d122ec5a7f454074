/*
 * mimebuild_hdr.c -- header fields in and out of the content builder: a
 * body part's header block read from the body spool into a struct hblock
 * (within MIME_MAX_PART_HEADER bytes and MIME_MAX_PART_FIELDS fields),
 * and an entity's header block written: for the root only its Content-*
 * fields, after the protected fields when header protection is on;
 * Content-Type and -Disposition written from their parsed form where a
 * copy would not do, and a new Content-Transfer-Encoding where the leaf
 * is re-encoded.
 */
#include "mimebuild_int.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "message.h"
#include "mime.h"
#include "mime_int.h"

/* ---- header blocks in the body ------------------------------------ */

void
mb_hb_free(struct hblock *hb)
{
	size_t i;

	for (i = 0; i < hb->n; i++) {
		free(hb->h[i].name);
		free(hb->h[i].value);
	}
	free(hb->h);
	memset(hb, 0, sizeof(*hb));
}

/* "Name:" (whitespace allowed before the colon): the name's length. */
static size_t
field_name_len(const unsigned char *p, size_t len, size_t *colon)
{
	size_t i = 0, n;

	while (i < len && p[i] > ' ' && p[i] < 0x7f && p[i] != ':')
		i++;
	n = i;
	while (i < len && mb_is_wsp(p[i]))
		i++;
	if (n == 0 || i >= len || p[i] != ':')
		return 0;
	*colon = i;
	return n;
}

/*
 * Append prefix and p[0..n) to the value of the last field, NUL and bare
 * CR made spaces; the buffer grows geometrically (many short lines).
 */
static int
hb_append(struct ctx *c, struct hblock *hb, const char *prefix,
    const unsigned char *p, size_t n)
{
	struct header *f = &hb->h[hb->n - 1];
	size_t plen = strlen(prefix), need, i;
	char *v;

	need = hb->lastlen + plen + n + 1;
	if (strlen(f->name) + need - 1 > MIME_MAX_FIELD) {
		snprintf(c->err, c->errlen, "header line longer than %d bytes",
		    MIME_MAX_FIELD);
		return -1;
	}
	if (need > hb->lastcap) {
		hb->lastcap = need < 128 ? 128 : need * 2;
		if ((v = realloc(f->value, hb->lastcap)) == NULL)
			return mb_fail(c, "out of memory");
		f->value = v;
	}
	v = f->value + hb->lastlen;
	memcpy(v, prefix, plen);
	for (i = 0; i < n; i++)
		v[plen + i] = p[i] == '\0' || p[i] == '\r' ? ' ' : (char)p[i];
	v[plen + n] = '\0';
	hb->lastlen += plen + n;
	return 0;
}

static int
hb_add_field(struct ctx *c, struct hblock *hb, const struct seg *s,
    size_t namelen, size_t colon)
{
	struct header *grown, *f;

	if (hb->n == MIME_MAX_PART_FIELDS) {
		snprintf(c->err, c->errlen, "more than %d header fields in a "
		    "body part", MIME_MAX_PART_FIELDS);
		return -1;
	}
	if (hb->n == hb->cap) {
		hb->cap = hb->cap ? hb->cap * 2 : 16;
		if ((grown = realloc(hb->h, hb->cap * sizeof(*grown))) == NULL)
			return mb_fail(c, "out of memory");
		hb->h = grown;
	}
	f = &hb->h[hb->n];
	f->value = NULL;
	if ((f->name = strndup((const char *)s->p, namelen)) == NULL)
		return mb_fail(c, "out of memory");
	hb->n++;
	hb->lastlen = hb->lastcap = 0;
	return hb_append(c, hb, "", s->p + colon + 1, s->len - colon - 1);
}

/*
 * Read the header block at start into hb.  *body is where the body
 * starts: after the empty line, or at the first line that is no header
 * field, at a delimiter line or at the end (the reader is left there).
 */
int
mb_read_headers(struct ctx *c, uint64_t start, struct hblock *hb,
    uint64_t *body)
{
	struct seg s;
	size_t namelen, colon = 0;
	bool close;
	int r;

	mb_lr_seek(c, start);
	for (;;) {
		if ((r = mb_lr_next(c, &s)) < 0)
			return -1;
		if (r == 0) {
			*body = mb_lr_tell(c);
			return 0;
		}
		if (s.len == 0 && !s.partial) {
			*body = s.next;
			return 0;
		}
		hb->bytes += s.len + 2;
		if (hb->bytes > MIME_MAX_PART_HEADER) {
			snprintf(c->err, c->errlen, "body part header block "
			    "larger than %d bytes", MIME_MAX_PART_HEADER);
			return -1;
		}
		if (mb_match_boundary(c, &s, &close) >= 0)
			break;
		if (mb_is_wsp(s.p[0]) && hb->n > 0) {
			if (s.partial || hb_append(c, hb, "\r\n", s.p,
			    s.len) != 0)
				goto toolong;
			continue;
		}
		namelen = mb_is_wsp(s.p[0]) ? 0 : field_name_len(s.p, s.len,
		    &colon);
		if (namelen == 0)
			break;	/* not a header field: the body begins */
		if (s.partial || hb_add_field(c, hb, &s, namelen, colon) != 0)
			goto toolong;
	}
	*body = s.off;
	mb_lr_seek(c, s.off);
	return 0;
toolong:
	if (s.partial)
		snprintf(c->err, c->errlen, "header line longer than %d bytes",
		    MIME_MAX_FIELD);
	return -1;
}

/* ---- header fields out ------------------------------------------------ */

/*
 * The root's fields that belong to the content: every Content-* field
 * (RFC 2045 and later: -Type, -Transfer-Encoding, -Disposition, -ID,
 * -Description, -Language, -Location, -Base, -MD5, Outlook's -Class);
 * the outer message drops them all.
 */
static bool
root_field(const char *name)
{
	return strncasecmp(name, "Content-", 8) == 0;
}

/* RFC 5322 field name: printable ASCII but ':'.  The MTA checks too. */
static bool
valid_name(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;

	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p >= 0x7f || *p == ':')
			return false;
	return p != (const unsigned char *)name;
}

/*
 * Folding that copying would change: a line break not followed by
 * whitespace (or a bare CR) gets a space after it, a continuation line
 * of only whitespace is dropped.  Inside a quoted string either changes
 * the parameter, which would no longer read as it did for the walk (a
 * boundary!).
 */
static bool
bad_fold(const char *v)
{
	const char *q;

	for (; *v != '\0'; v++) {
		if (*v == '\r' && v[1] == '\n')
			v++;
		else if (*v == '\r')
			return true;
		if (*v != '\n' || v[1] == '\0')
			continue;
		if (v[1] != ' ' && v[1] != '\t')
			return true;
		for (q = v + 1; *q == ' ' || *q == '\t'; q++)
			;
		if (*q == '\0' || *q == '\r' || *q == '\n')
			return true;
	}
	return false;
}

/* Content-Type/-Disposition to write from their parsed form. */
static bool
needs_rewrite(const struct header *f)
{
	return mime_has_8bit(f->value) || bad_fold(f->value) ||
	    mime_has_long_line(f->name, f->value);
}

static const char *
hp_mode(const struct ctx *c)
{
	return c->opt->hp_mode != NULL ? c->opt->hp_mode : "cipher";
}

/* Header protection: injected copies, HP-Outer, hp= (RFC 9788). */
static int
write_protected(struct ctx *c, struct part *p)
{
	if (mime_hp_write_injected(p->h, p->nh, &c->osink,
	    &c->info->kept_8bit, c->err, c->errlen) != 0)
		return -1;
	if (strcmp(hp_mode(c), "cipher") == 0 && mime_hp_write_outer(p->h,
	    p->nh, &c->osink, &c->info->kept_8bit, c->err, c->errlen) != 0)
		return -1;
	if (mime_ctype_set_param(&p->ct, "hp", hp_mode(c)) != 0)
		return mb_fail(c, "no room for the hp parameter");
	p->ct_dirty = true;
	return 0;
}

static int
write_field(struct ctx *c, const struct header *f)
{
	return mime_write_field(&c->osink, f->name, f->value,
	    &c->info->kept_8bit, c->err, c->errlen);
}

static int
write_cte(struct ctx *c, const char *cte)
{
	if (mb_out_puts(c, "Content-Transfer-Encoding: ") != 0 ||
	    mb_out_puts(c, cte) != 0 || mb_out_puts(c, "\r\n") != 0)
		return -1;
	return 0;
}

static int
write_disposition(struct ctx *c, const struct header *f)
{
	if (!needs_rewrite(f) || mime_parse_content_disposition(f->value,
	    c->scratch) != 0)
		return write_field(c, f);
	return mime_write_ctype(&c->osink, f->name, c->scratch, c->err,
	    c->errlen);
}

/*
 * Write p's header block and the empty line after it.  newcte: a new
 * Content-Transfer-Encoding, or NULL to keep the field.  The root writes
 * only its MIME fields; duplicate Content-Type and -Transfer-Encoding
 * fields are dropped.
 */
int
mb_write_headers(struct ctx *c, struct part *p, const char *newcte)
{
	const struct header *f;
	size_t i;
	int rc = 0;

	if (p->root && c->opt != NULL && c->opt->protect_headers &&
	    write_protected(c, p) != 0)
		return -1;
	for (i = 0; i < p->nh && rc == 0; i++) {
		f = &p->h[i];
		if (f->name == NULL || f->value == NULL ||
		    !valid_name(f->name) || (p->root && !root_field(f->name)))
			continue;
		if (strcasecmp(f->name, "Content-Type") == 0) {
			if (f != p->cth)
				continue;
			if (p->ct_dirty || needs_rewrite(f))
				rc = mime_write_ctype(&c->osink, f->name,
				    &p->ct, c->err, c->errlen);
			else
				rc = write_field(c, f);
		} else if (strcasecmp(f->name,
		    "Content-Transfer-Encoding") == 0) {
			if (f != p->cteh)
				continue;
			rc = newcte != NULL ? write_cte(c, newcte) :
			    write_field(c, f);
		} else if (strcasecmp(f->name, "Content-Disposition") == 0)
			rc = write_disposition(c, f);
		else
			rc = write_field(c, f);
	}
	if (rc == 0 && p->cth == NULL && p->ct_synth)
		rc = mime_write_ctype(&c->osink, "Content-Type", &p->ct,
		    c->err, c->errlen);
	if (rc == 0 && newcte != NULL && p->cteh == NULL)
		rc = write_cte(c, newcte);
	if (rc == 0)
		rc = mb_out_puts(c, "\r\n");
	return rc != 0 ? -1 : 0;
}
