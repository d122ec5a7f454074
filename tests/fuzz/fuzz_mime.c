/*
 * fuzz_mime.c -- libFuzzer target for the MIME parser and the content
 * builder (mime.h).
 *
 * The input is a message: header lines up to the first empty line, then
 * the body.  Header lines become struct header fields the way the MTA
 * would pass them (folded lines joined with "\n"), the body goes to a
 * spool.  The target builds the content to protect (with and without
 * header protection, chosen from the input size), classifies, parses
 * every header value, and checks the promises of mime_build_content():
 * on success the output ends in CRLF, has CR and LF only as CRLF, and is
 * 7-bit unless info.kept_8bit says otherwise; and (without header
 * protection) it is a fixed point: built again, it comes out unchanged
 * and nothing needs re-encoding.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"
#include "mime.h"
#include "sink.h"
#include "spool.h"

#define MAX_FIELDS 64

struct fields {
	struct header h[MAX_FIELDS];
	size_t n;
};

static void
fields_free(struct fields *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		free(f->h[i].name);
		free(f->h[i].value);
	}
}

/* A copy of p[0..n) as a C string, NUL bytes made spaces. */
static char *
cstr(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	size_t i;

	if (s == NULL)
		abort();
	for (i = 0; i < n; i++)
		s[i] = p[i] == '\0' ? ' ' : (char)p[i];
	s[n] = '\0';
	return s;
}

static void
add_line(struct fields *f, const uint8_t *p, size_t n)
{
	const uint8_t *colon;
	char *v, *more;
	size_t old;

	if (n > 0 && (p[0] == ' ' || p[0] == '\t')) {
		if (f->n == 0)
			return;
		v = f->h[f->n - 1].value;
		old = strlen(v);
		more = cstr(p, n);
		if ((v = realloc(v, old + n + 2)) == NULL)
			abort();
		v[old] = '\n';
		memcpy(v + old + 1, more, n + 1);
		free(more);
		f->h[f->n - 1].value = v;
		return;
	}
	colon = memchr(p, ':', n);
	if (colon == NULL || colon == p || f->n == MAX_FIELDS)
		return;
	f->h[f->n].name = cstr(p, (size_t)(colon - p));
	f->h[f->n].value = cstr(colon + 1, n - (size_t)(colon + 1 - p));
	f->n++;
}

/* Header lines up to the first empty one; the offset of the body. */
static size_t
parse_headers(const uint8_t *data, size_t size, struct fields *f)
{
	size_t pos = 0, n;
	const uint8_t *nl;

	while (pos < size) {
		nl = memchr(data + pos, '\n', size - pos);
		n = nl != NULL ? (size_t)(nl - (data + pos)) : size - pos;
		if (n > 0 && data[pos + n - 1] == '\r')
			n--;
		if (n == 0)
			return nl != NULL ? (size_t)(nl - data) + 1 : size;
		add_line(f, data + pos, n);
		pos = nl != NULL ? (size_t)(nl - data) + 1 : size;
	}
	return size;
}

static void
check_output(const struct membuf *mb, const struct mime_info *info)
{
	size_t i;

	if (mb->len < 2 || mb->data[mb->len - 2] != '\r' ||
	    mb->data[mb->len - 1] != '\n')
		abort();
	for (i = 0; i < mb->len; i++) {
		if (mb->data[i] == '\r' && (i + 1 == mb->len ||
		    mb->data[i + 1] != '\n') && !info->kept_8bit)
			abort();
		if (mb->data[i] == '\n' && (i == 0 || mb->data[i - 1] != '\r'))
			abort();
		if ((mb->data[i] >= 0x80 || mb->data[i] == 0) &&
		    !info->kept_8bit)
			abort();
	}
}

/* Build the content of a message held in memory; 0 or -1. */
static int
build(const uint8_t *data, size_t size, const struct mime_options *opt,
    struct membuf *mb, struct mime_info *info, char *err, size_t errlen)
{
	struct fields f = { .n = 0 };
	struct sink out = sink_to_membuf(mb);
	struct spool *sp;
	size_t body;
	int rc;

	body = parse_headers(data, size, &f);
	if ((sp = spool_new("/tmp", 1 << 20)) == NULL)
		abort();
	if (spool_append(sp, data + body, size - body, err, errlen) != 0)
		abort();
	rc = mime_build_content(f.h, f.n, sp, opt, &out, info, err, errlen);
	spool_free(sp);
	fields_free(&f);
	return rc;
}

/* The output, built again, must come out the same. */
static void
check_fixed_point(const struct membuf *first)
{
	struct membuf mb = { .limit = 64u << 20 };
	struct mime_info info;
	char err[256];

	if (build(first->data, first->len, NULL, &mb, &info, err,
	    sizeof(err)) != 0) {
		/* Line ends made CRLF can push a field over the limit. */
		if (strncmp(err, "header line longer", 18) != 0)
			abort();
	} else if (info.reencoded || mb.len != first->len ||
	    memcmp(mb.data, first->data, mb.len) != 0)
		abort();
	free(mb.data);
}

static void
exercise_parsers(const struct fields *f, struct mime_ctype *ct)
{
	char buf[256];
	size_t i, j;

	for (i = 0; i < f->n; i++) {
		mime_unfold(f->h[i].value, buf, sizeof(buf));
		mime_parse_content_type(f->h[i].value, ct);
		for (j = 0; j < ct->nparams; j++)
			if (strlen(mime_param_name(ct, j)) +
			    strlen(mime_param_value(ct, j)) > MIME_CT_POOL)
				abort();
		mime_parse_content_disposition(f->h[i].value, ct);
		(void)mime_ctype_param(ct, "filename");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fields f = { .n = 0 };
	struct mime_options opt = { (size & 1) != 0,
	    (size & 2) != 0 ? "clear" : "cipher" };
	struct membuf mb = { .limit = 64u << 20 };
	struct sink out = sink_to_membuf(&mb);
	struct mime_ctype *ct = malloc(sizeof(*ct));
	struct mime_info info;
	struct spool *sp;
	size_t body;
	char err[256];

	if (ct == NULL)
		abort();
	body = parse_headers(data, size, &f);
	if ((sp = spool_new("/tmp", 1 << 20)) == NULL)
		abort();
	if (spool_append(sp, data + body, size - body, err, sizeof(err)) != 0)
		abort();
	if (mime_build_content(f.h, f.n, sp, &opt, &out, &info, err,
	    sizeof(err)) == 0) {
		check_output(&mb, &info);
		if (!opt.protect_headers && !info.kept_8bit)
			check_fixed_point(&mb);
	}
	mime_classify(f.h, f.n, &info);
	exercise_parsers(&f, ct);
	mb.len = 0;
	(void)mime_hp_outer_fields(f.h, f.n, &out, err, sizeof(err));
	free(mb.data);
	free(ct);
	spool_free(sp);
	fields_free(&f);
	return 0;
}
