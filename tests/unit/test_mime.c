/*
 * test_mime.c -- header helpers, classification and the content to
 * protect: table-driven cases (non-MIME, 8-bit, binary, multiparts,
 * message/rfc822, malformed input, header protection), round trips of
 * re-encoded parts, nesting limits, and a 50 MB body in bounded memory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "message.h"
#include "mime.h"
#include "mimeenc.h"
#include "sink.h"
#include "spool.h"

static char spool_dir[] = "/tmp/test_mime.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(spool_dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	return rmdir(spool_dir);
}

/* ---- helpers ------------------------------------------------------- */

#define MAXH 64

struct hdrs {
	struct header h[MAXH];
	size_t n;
};

/*
 * "Name: value\n..." into header fields the way the MTA hands them over:
 * raw value after the colon, folded lines joined with "\n".
 */
static void
hdrs_parse(struct hdrs *hs, const char *text)
{
	const char *p = text, *e, *colon;
	size_t len, old;

	hs->n = 0;
	while (*p != '\0') {
		e = strchr(p, '\n');
		len = e != NULL ? (size_t)(e - p) : strlen(p);
		if ((*p == ' ' || *p == '\t') && hs->n > 0) {
			struct header *h = &hs->h[hs->n - 1];

			old = strlen(h->value);
			h->value = realloc(h->value, old + len + 2);
			assert_non_null(h->value);
			h->value[old] = '\n';
			memcpy(h->value + old + 1, p, len);
			h->value[old + 1 + len] = '\0';
		} else {
			colon = memchr(p, ':', len);
			assert_non_null(colon);
			assert_true(hs->n < MAXH);
			hs->h[hs->n].name = strndup(p, (size_t)(colon - p));
			hs->h[hs->n].value = strndup(colon + 1,
			    len - (size_t)(colon + 1 - p));
			hs->n++;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
}

static void
hdrs_free(struct hdrs *hs)
{
	size_t i;

	for (i = 0; i < hs->n; i++) {
		free(hs->h[i].name);
		free(hs->h[i].value);
	}
	hs->n = 0;
}

static struct spool *
body_spool(const void *body, size_t len, uint64_t threshold)
{
	struct spool *sp = spool_new(spool_dir, threshold);
	char err[256];

	assert_non_null(sp);
	if (len > 0 && spool_append(sp, body, len, err, sizeof(err)) != 0)
		fail_msg("spool: %s", err);
	return sp;
}

struct result {
	int rc;
	char err[256];
	struct mime_info info;
	char *out;		/* NUL-terminated copy */
	size_t len;
};

/* Build the content of headers + body; hp: NULL, "cipher" or "clear". */
static void
build(const char *headers, const void *body, size_t bodylen,
    const char *hp, struct result *r)
{
	struct mime_options opt = { hp != NULL, hp };
	struct membuf mb = { 0 };
	struct sink s = sink_to_membuf(&mb);
	struct hdrs hs;
	struct spool *sp;

	hdrs_parse(&hs, headers);
	/* Alternate memory and disk spools. */
	sp = body_spool(body, bodylen, bodylen % 2 ? 64 : 1 << 20);
	memset(r, 0, sizeof(*r));
	r->rc = mime_build_content(hs.h, hs.n, sp, &opt, &s, &r->info,
	    r->err, sizeof(r->err));
	r->out = malloc(mb.len + 1);
	assert_non_null(r->out);
	if (mb.len > 0)
		memcpy(r->out, mb.data, mb.len);
	r->out[mb.len] = '\0';
	r->len = mb.len;
	free(mb.data);
	spool_free(sp);
	hdrs_free(&hs);
}

/* CRLF only as pairs, no 8-bit or NUL, lines of at most 998. */
static void
assert_canonical_7bit(const char *out, size_t len)
{
	const unsigned char *p = (const unsigned char *)out;
	size_t i, col = 0;

	for (i = 0; i < len; i++) {
		if (p[i] == '\r') {
			if (i + 1 >= len || p[i + 1] != '\n')
				fail_msg("bare CR at %zu", i);
			continue;
		}
		if (p[i] == '\n') {
			if (i == 0 || p[i - 1] != '\r')
				fail_msg("bare LF at %zu", i);
			col = 0;
			continue;
		}
		if (p[i] == 0 || p[i] >= 0x80)
			fail_msg("byte 0x%02x at %zu", p[i], i);
		if (++col > 998)
			fail_msg("line over 998 at %zu", i);
	}
	assert_true(len >= 2 && out[len - 2] == '\r' && out[len - 1] == '\n');
}

/*
 * The body of the part whose header block holds marker: after the empty
 * line, up to the CRLF before the next delimiter (or the end).
 */
static const char *
part_body(const char *out, const char *marker, size_t *len)
{
	const char *p = strstr(out, marker), *b, *e;

	if (p == NULL)
		fail_msg("no \"%s\" in output:\n%s", marker, out);
	b = strstr(p, "\r\n\r\n");
	assert_non_null(b);
	b += 4;
	e = strstr(b, "\r\n--");
	if (e == NULL)
		e = b + strlen(b);
	*len = (size_t)(e - b);
	return b;
}

/* Decode with a lenient QP or base64 decoder; caller frees mb->data. */
static void
decode(bool qp, const char *in, size_t len, struct membuf *mb)
{
	struct sink s;
	struct qpdec qd;
	struct b64dec bd;
	char err[256];

	memset(mb, 0, sizeof(*mb));
	s = sink_to_membuf(mb);
	if (qp) {
		qpdec_init(&qd, &s, true);
		assert_int_equal(qpdec_update(&qd, in, len, err, sizeof(err)),
		    0);
		assert_int_equal(qpdec_final(&qd, err, sizeof(err)), 0);
	} else {
		b64dec_init(&bd, &s, true);
		assert_int_equal(b64dec_update(&bd, in, len, err, sizeof(err)),
		    0);
		assert_int_equal(b64dec_final(&bd, err, sizeof(err)), 0);
	}
}

static void
assert_decodes_to(bool qp, const char *out, const char *marker,
    const void *want, size_t wantlen)
{
	struct membuf mb;
	const char *b;
	size_t len;

	b = part_body(out, marker, &len);
	decode(qp, b, len, &mb);
	if (mb.len != wantlen || (wantlen > 0 &&
	    memcmp(mb.data, want, wantlen) != 0))
		fail_msg("part \"%s\" decodes to %zu bytes, want %zu", marker,
		    mb.len, wantlen);
	free(mb.data);
}

static char *long_text(const char *prefix, char c, size_t n,
    const char *suffix);

/* ---- header helpers ----------------------------------------------- */

static void
test_find_and_unfold(void **state)
{
	struct hdrs hs;
	char out[64];

	(void)state;
	hdrs_parse(&hs, "From: a@b\nSUBJECT: one\n\ttwo  \nsubject: other\n");
	assert_ptr_equal(mime_find_header(hs.h, hs.n, "subject"), &hs.h[1]);
	assert_null(mime_find_header(hs.h, hs.n, "To"));
	assert_int_equal(mime_unfold(hs.h[1].value, out, sizeof(out)), 7);
	assert_string_equal(out, "one\ttwo");
	assert_int_equal(mime_unfold(" a\r\n b\r\n", out, sizeof(out)), 3);
	assert_string_equal(out, "a b");
	assert_int_equal(mime_unfold("0123456789", out, 5), -1);
	assert_string_equal(out, "0123");
	assert_int_equal(mime_unfold("", out, sizeof(out)), 0);
	hdrs_free(&hs);
}

struct ct_case {
	const char *value;
	int rc;
	const char *type, *subtype;
	const char *params[6][2];	/* name, value; NULL ends */
};

static const struct ct_case ct_cases[] = {
	{ " text/plain", 0, "text", "plain", { { NULL, NULL } } },
	{ " TEXT/Plain; Charset=\"UTF-8\"", 0, "text", "plain",
	    { { "charset", "UTF-8" }, { NULL, NULL } } },
	{ " multipart/mixed;\n\tboundary=\"----=_Part_1\\\"x\"", 0,
	    "multipart", "mixed",
	    { { "boundary", "----=_Part_1\"x" }, { NULL, NULL } } },
	/* Unquoted tspecials, comments, empty and broken parameters. */
	{ " multipart/alternative (comment) ; ; boundary=----=_NextPart_0 "
	    "(c); junk; x=\"unterminated", 0, "multipart", "alternative",
	    { { "boundary", "----=_NextPart_0" }, { "x", "unterminated" },
	    { NULL, NULL } } },
	/* RFC 2231: sections out of order, extended first section. */
	{ " application/octet-stream; name*1=\" part two\"; "
	    "name*0*=utf-8'en'%C3%A9t%C3%A9; name*2*=%21", 0, "application",
	    "octet-stream", { { "name", "\xc3\xa9t\xc3\xa9 part two!" },
	    { NULL, NULL } } },
	{ " text/plain; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun"
	    "%2A%2A%2A", 0, "text", "plain",
	    { { "title", "This is ***fun***" }, { NULL, NULL } } },
	/* The first of duplicate names wins. */
	{ " text/plain; charset=a; charset=b", 0, "text", "plain",
	    { { "charset", "a" }, { NULL, NULL } } },
	/* Not a type/subtype: the RFC 2045 default. */
	{ " garbage", -1, "text", "plain", { { NULL, NULL } } },
	{ " /plain", -1, "text", "plain", { { NULL, NULL } } },
	{ "", -1, "text", "plain", { { NULL, NULL } } },
};

static void
test_parse_content_type(void **state)
{
	struct mime_ctype *ct = malloc(sizeof(*ct));
	const struct ct_case *c;
	size_t i, j;

	(void)state;
	assert_non_null(ct);
	for (i = 0; i < sizeof(ct_cases) / sizeof(ct_cases[0]); i++) {
		c = &ct_cases[i];
		assert_int_equal(mime_parse_content_type(c->value, ct), c->rc);
		assert_string_equal(ct->type, c->type);
		assert_string_equal(ct->subtype, c->subtype);
		for (j = 0; c->params[j][0] != NULL; j++) {
			const char *v = mime_ctype_param(ct, c->params[j][0]);

			if (v == NULL || strcmp(v, c->params[j][1]) != 0)
				fail_msg("case %zu: %s = \"%s\", want \"%s\"",
				    i, c->params[j][0], v ? v : "(null)",
				    c->params[j][1]);
			assert_string_equal(mime_param_name(ct, j),
			    c->params[j][0]);
			assert_string_equal(mime_param_value(ct, j),
			    c->params[j][1]);
		}
		assert_int_equal(ct->nparams, j);
	}
	free(ct);
}

static void
test_parse_bounded(void **state)
{
	struct mime_ctype *ct = malloc(sizeof(*ct));
	char *v = malloc(200000), *p;
	int i;

	(void)state;
	assert_non_null(ct);
	assert_non_null(v);
	/* 100 parameters: the first 30 are kept, the rest dropped. */
	p = v + sprintf(v, "text/plain");
	for (i = 0; i < 100; i++)
		p += sprintf(p, "; p%d=%d", i, i);
	assert_int_equal(mime_parse_content_type(v, ct), 0);
	assert_true(ct->truncated);
	assert_int_equal(ct->nparams, MIME_CT_MAXPARAMS - 2);
	assert_string_equal(mime_ctype_param(ct, "p29"), "29");
	/* A value larger than the pool is dropped, later ones are kept. */
	p = v + sprintf(v, "text/plain; big=\"");
	memset(p, 'x', 100000);
	strcpy(p + 100000, "\"; charset=utf-8");
	assert_int_equal(mime_parse_content_type(v, ct), 0);
	assert_true(ct->truncated);
	assert_null(mime_ctype_param(ct, "big"));
	assert_string_equal(mime_ctype_param(ct, "charset"), "utf-8");
	free(v);
	free(ct);
}

static void
test_parse_content_disposition(void **state)
{
	struct mime_ctype *cd = malloc(sizeof(*cd));

	(void)state;
	assert_non_null(cd);
	assert_int_equal(mime_parse_content_disposition(" Attachment; "
	    "filename=\"smime.p7m\"; size=12", cd), 0);
	assert_string_equal(cd->type, "attachment");
	assert_string_equal(cd->subtype, "");
	assert_string_equal(mime_ctype_param(cd, "FileName"), "smime.p7m");
	assert_int_equal(mime_parse_content_disposition(" ; x=y", cd), -1);
	free(cd);
}

/* ---- classification ------------------------------------------------ */

struct class_case {
	const char *headers;
	bool is_mime, multipart, smime_enc, pgp_enc, is_signed;
};

static const struct class_case class_cases[] = {
	{ "From: a@b\n", false, false, false, false, false },
	{ "MIME-Version: 1.0\n", true, false, false, false, false },
	/* Content-* without MIME-Version is MIME (field lesson 13). */
	{ "Content-Type: text/plain\n", true, false, false, false, false },
	{ "Content-Type: application/pkcs7-mime; smime-type=enveloped-data;"
	    " name=smime.p7m\n", true, false, true, false, false },
	{ "Content-Type: application/pkcs7-mime;\n smime-type="
	    "\"authEnveloped-data\"\n", true, false, true, false, false },
	{ "Content-Type: application/x-pkcs7-mime; name=\"SMIME.P7M\"\n",
	    true, false, true, false, false },
	{ "Content-Type: application/pkcs7-mime\nContent-Disposition: "
	    "attachment; filename=smime.p7m\n", true, false, true, false,
	    false },
	{ "Content-Type: application/pkcs7-mime; name=x.p7c\n", true, false,
	    false, false, false },
	{ "Content-Type: application/pkcs7-mime; smime-type=signed-data\n",
	    true, false, false, false, true },
	{ "Content-Type: application/pkcs7-mime; smime-type=certs-only\n",
	    true, false, false, false, false },
	{ "Content-Type: multipart/encrypted; protocol=\"application/"
	    "pgp-encrypted\"; boundary=x\n", true, true, false, true, false },
	{ "Content-Type: multipart/signed; protocol=\"application/"
	    "pkcs7-signature\"; micalg=sha-256; boundary=x\n", true, true,
	    false, false, true },
	{ "Content-Type: multipart/mixed; boundary=x\n", true, true, false,
	    false, false },
};

static void
test_classify(void **state)
{
	const struct class_case *c;
	struct mime_info info;
	struct hdrs hs;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(class_cases) / sizeof(class_cases[0]); i++) {
		c = &class_cases[i];
		hdrs_parse(&hs, c->headers);
		memset(&info, 0xff, sizeof(info));
		assert_int_equal(mime_classify(hs.h, hs.n, &info), 0);
		if (info.is_mime != c->is_mime ||
		    info.is_multipart != c->multipart ||
		    info.is_smime_encrypted != c->smime_enc ||
		    info.is_pgp_encrypted != c->pgp_enc ||
		    info.is_signed != c->is_signed)
			fail_msg("case %zu (%s): %d%d%d%d%d", i, c->headers,
			    info.is_mime, info.is_multipart,
			    info.is_smime_encrypted, info.is_pgp_encrypted,
			    info.is_signed);
		assert_false(info.reencoded);
		assert_int_equal(info.parts, 0);
		hdrs_free(&hs);
	}
}

/* ---- the content to protect: table --------------------------------- */

#define NOPE { NULL }

struct build_case {
	const char *name;
	const char *headers;
	const char *body;
	size_t bodylen;		/* 0: strlen(body) */
	const char *hp;		/* header protection mode or NULL */
	int rc;
	const char *err;	/* error text expected in err */
	const char *exact;	/* whole output, or NULL */
	const char *has[6];	/* substrings expected */
	const char *hasnot[4];	/* substrings not expected */
	int reencoded;		/* -1: don't care */
	unsigned parts, depth;	/* parts 0: don't care */
	bool not_7bit;		/* kept_8bit expected, skip 7-bit check */
};

static const struct build_case cases[] = {
	{ "non-MIME ascii", "From: a@b\nTo: c@d\nSubject: hi\n",
	    "hello\nworld\n", 0, NULL, 0, NULL,
	    "Content-Type: text/plain; charset=\"us-ascii\"\r\n\r\n"
	    "hello\r\nworld\r\n", NOPE, NOPE, 0, 1, 0, false },
	{ "non-MIME utf-8", "From: a@b\n", "caf\xc3\xa9\n", 0, NULL, 0, NULL,
	    "Content-Type: text/plain; charset=\"utf-8\"\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "caf=C3=A9\r\n", NOPE, NOPE, 1, 1, 0, false },
	{ "non-MIME latin-1", "From: a@b\n", "caf\xe9\n", 0, NULL, 0, NULL,
	    "Content-Type: text/plain; charset=\"unknown-8bit\"\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "caf=E9\r\n", NOPE, NOPE, 1, 1, 0, false },
	{ "empty message", "", "", 0, NULL, 0, NULL,
	    "Content-Type: text/plain; charset=\"us-ascii\"\r\n\r\n", NOPE,
	    NOPE, 0, 1, 0, false },
	{ "text/plain 8bit to QP", "MIME-Version: 1.0\nContent-Type: "
	    "text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n"
	    "Subject: x\n", "gr\xc3\xbc\xc3\x9f dich \n", 0, NULL, 0, NULL,
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "gr=C3=BC=C3=9F dich=20\r\n", NOPE, NOPE, 1, 1, 0, false },
	{ "8bit label on 7-bit text", "Content-Type: text/plain\n"
	    "Content-Transfer-Encoding: 8BIT\n", "plain\n", 0, NULL, 0, NULL,
	    "Content-Type: text/plain\r\nContent-Transfer-Encoding: 7bit\r\n"
	    "\r\nplain\r\n", NOPE, NOPE, 0, 1, 0, false },
	{ "Content-* without MIME-Version", "Content-Type: text/plain; "
	    "charset=iso-8859-1\nContent-Transfer-Encoding: 8bit\n",
	    "\xe9t\xe9\n", 0, NULL, 0, NULL,
	    "Content-Type: text/plain; charset=iso-8859-1\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n=E9t=E9\r\n",
	    NOPE, NOPE, 1, 1, 0, false },
	{ "binary attachment", "Content-Type: application/octet-stream\n"
	    "Content-Transfer-Encoding: binary\n", "\x00\x01\xff\r\n\n\r",
	    7, NULL, 0, NULL,
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nAAH/DQoKDQ==\r\n", NOPE,
	    NOPE, 1, 1, 0, false },
	{ "NUL in 7bit text", "Content-Type: text/plain\n", "a\x00z\n", 4,
	    NULL, 0, NULL, "Content-Type: text/plain\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\na=00z\r\n",
	    NOPE, NOPE, 1, 1, 0, false },
	{ "bad base64 copied", "Content-Type: image/png\n"
	    "Content-Transfer-Encoding: base64\n", "!!not*base64!!\nQQ=\n", 0,
	    NULL, 0, NULL, "Content-Type: image/png\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n!!not*base64!!\r\n"
	    "QQ=\r\n", NOPE, NOPE, 0, 1, 0, false },
	{ "8-bit in base64 dropped", "Content-Type: image/png\n"
	    "Content-Transfer-Encoding: base64\n", "QU\xffJD\n", 0, NULL, 0,
	    NULL, "Content-Type: image/png\r\nContent-Transfer-Encoding: "
	    "base64\r\n\r\nQUJD\r\n", NOPE, NOPE, 1, 1, 0, false },
	{ "unknown CTE with 8-bit", "Content-Type: application/x-foo\n"
	    "Content-Transfer-Encoding: x-uuencode\n", "\xff\n", 0, NULL, 0,
	    NULL, "Content-Type: application/x-foo\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n/wo=\r\n", NOPE, NOPE,
	    1, 1, 0, false },
	{ "garbage Content-Type is text/plain", "Content-Type: garbage\n",
	    "\xc3\xa9\n", 0, NULL, 0, NULL, "Content-Type: text/plain; "
	    "charset=\"utf-8\"\r\nContent-Transfer-Encoding: "
	    "quoted-printable\r\n\r\n=C3=A9\r\n", NOPE, NOPE, 1, 1, 0,
	    false },
	{ "other fields and 8-bit description", "Content-Type: image/gif\n"
	    "Content-Transfer-Encoding: base64\nContent-ID: <id@x>\n"
	    "Content-Description: Gr\xc3\xbc\xc3\x9f\nContent-class: "
	    "urn:content-classes:message\nMIME-Version: 1.0\nX-Foo: y\n",
	    "R0lG\n", 0, NULL, 0, NULL, "Content-Type: image/gif\r\n"
	    "Content-Transfer-Encoding: base64\r\nContent-ID: <id@x>\r\n"
	    "Content-Description: =?utf-8?B?R3LDvMOf?=\r\n"
	    "Content-class: urn:content-classes:message\r\n\r\nR0lG\r\n",
	    NOPE, NOPE, 0, 1, 0, false },
	{ "8-bit file name to RFC 2231", "Content-Type: application/pdf; "
	    "name=\"\xc3\xa9t\xc3\xa9.pdf\"\nContent-Disposition: attachment;"
	    "\n filename=\"\xc3\xa9t\xc3\xa9.pdf\"\nContent-Transfer-Encoding:"
	    " base64\n", "JVBERg==\n", 0, NULL, 0, NULL,
	    "Content-Type: application/pdf; name*=utf-8''%C3%A9t%C3%A9.pdf"
	    "\r\nContent-Disposition: attachment; filename*=utf-8''"
	    "%C3%A9t%C3%A9.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	    "JVBERg==\r\n", NOPE, NOPE, 0, 1, 0, false },
	{ "multipart/mixed: 8bit text, base64 kept",
	    "Content-Type: multipart/mixed; boundary=\"=_b\"\n",
	    "preamble \xe9\n--=_b\nContent-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n\n\xc3\xa9t\xc3\xa9\n--=_b\n"
	    "Content-Type: application/octet-stream\n"
	    "Content-Transfer-Encoding: base64\n\nAAECAwQF\nBgc=\n--=_b--\n"
	    "epilogue \xe9\n", 0, NULL, 0, NULL,
	    "Content-Type: multipart/mixed; boundary=\"=_b\"\r\n\r\n"
	    "preamble ?\r\n--=_b\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
	    "=C3=A9t=C3=A9\r\n--=_b\r\n"
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\nBgc=\r\n"
	    "--=_b--\r\n", NOPE, NOPE, 1, 3, 1, false },
	{ "nested alternative in mixed", "Content-Type: multipart/mixed; "
	    "boundary=outer\n", "--outer\nContent-Type: multipart/alternative;"
	    " boundary=inner\n\n--inner\nContent-Type: text/plain\n\n"
	    "pl\xc3\xa4in\n--inner\nContent-Type: text/html\n\n<p>h</p>\n"
	    "--inner--\n--outer\nContent-Type: text/plain\n\nlast\n"
	    "--outer--\n", 0, NULL, 0, NULL, NULL,
	    { "\r\n\r\n--inner\r\nContent-Type: text/plain; "
	    "charset=\"utf-8\"\r\nContent-Transfer-Encoding: "
	    "quoted-printable\r\n\r\npl=C3=A4in\r\n--inner\r\n",
	    "<p>h</p>\r\n--inner--\r\n--outer\r\n",
	    "\r\nlast\r\n--outer--\r\n" }, NOPE, 1, 5, 2, false },
	{ "message/rfc822 with 8bit inside", "Content-Type: multipart/mixed;"
	    " boundary=b\n", "--b\nContent-Type: message/rfc822\n"
	    "Content-Transfer-Encoding: 8bit\n\nFrom: x@y\nSubject: inner\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n\nin \xc3\xa9\n--b--\n", 0, NULL,
	    0, NULL, NULL, { "--b\r\nContent-Type: message/rfc822\r\n"
	    "Content-Transfer-Encoding: 7bit\r\n\r\nFrom: x@y\r\nSubject: "
	    "inner\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\nin =C3=A9\r\n"
	    "--b--\r\n" }, NOPE, 1, 3, 2, false },
	{ "message/rfc822 with 8-bit header block", "Content-Type: "
	    "message/rfc822\n", "From: J\xc3\xb6rg <j@x>\n\nhi\n", 0, NULL, 0,
	    NULL, "Content-Type: message/global\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n"
	    "RnJvbTogSsO2cmcgPGpAeD4KCmhpCg==\r\n", NOPE, NOPE, 1, 1, 0,
	    false },
	{ "digest parts default to message/rfc822", "Content-Type: "
	    "multipart/digest; boundary=d\n", "--d\n\nSubject: s\n\n"
	    "\xc3\xa9\n--d--\n", 0, NULL, 0, NULL, NULL,
	    { "--d\r\n\r\nSubject: s\r\nContent-Type: text/plain; "
	    "charset=\"utf-8\"\r\nContent-Transfer-Encoding: "
	    "quoted-printable\r\n\r\n=C3=A9\r\n--d--\r\n" }, NOPE, 1, 3, 2,
	    false },
	{ "digest part with 8-bit header block", "Content-Type: "
	    "multipart/digest; boundary=d\n", "--d\n\nSubject: J\xc3\xb6rg\n"
	    "\nx\n--d--\n", 0, NULL, 0, NULL, NULL, { "--d\r\n"
	    "Content-Type: message/global\r\nContent-Transfer-Encoding: "
	    "base64\r\n\r\nU3ViamVjdDogSsO2cmcKCng=\r\n--d--\r\n" }, NOPE,
	    1, 2, 1, false },
	{ "QP never starts a line with a delimiter", "Content-Type: "
	    "multipart/mixed; boundary=o\n", "--o\n\n\xc3\xa9" "aaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa--o tail\n"
	    "--o--\n", 0, NULL, 0, NULL, NULL, { "=C3=A9aaaa", "aaaa=\r\n"
	    "=2D-o tail\r\n--o--\r\n" }, NOPE, 1, 2, 1, false },
	{ "boundary ending in a space is unusable", "Content-Type: "
	    "multipart/mixed; boundary=\"b \"\n", "--b \n\nx\n--b --\n", 0,
	    NULL, 0, NULL, "Content-Type: multipart/mixed; boundary=\"b \"\r\n"
	    "\r\n--b \r\n\r\nx\r\n--b --\r\n", NOPE, NOPE, 0, 1, 0, false },
	{ "folding that copying keeps", "Content-Type: multipart/mixed; "
	    "boundary=\"a\n b\"\n", "--a b\n\nx\n--a b--\n", 0, NULL, 0,
	    NULL, "Content-Type: multipart/mixed; boundary=\"a\r\n b\"\r\n"
	    "\r\n--a b\r\n\r\nx\r\n--a b--\r\n", NOPE, NOPE, 0, 2, 1,
	    false },
	{ "folding that copying would change is rewritten", "Content-Type: "
	    "multipart/mixed; x=\"y\n \n z\"; boundary=b\n", "--b\n\nx\n"
	    "--b--\n", 0, NULL, 0, NULL, "Content-Type: multipart/mixed; "
	    "x=\"y  z\"; boundary=\"b\"\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n",
	    NOPE, NOPE, 0, 2, 1, false },
	{ "missing close boundary", "Content-Type: multipart/mixed; "
	    "boundary=b\n", "--b\nContent-Type: text/plain\n\nno close\n", 0,
	    NULL, 0, NULL, "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
	    "--b\r\nContent-Type: text/plain\r\n\r\nno close\r\n--b--\r\n",
	    NOPE, NOPE, 0, 2, 1, false },
	{ "inner close missing, outer delimiter ends it",
	    "Content-Type: multipart/mixed; boundary=o\n", "--o\n"
	    "Content-Type: multipart/mixed; boundary=i\n\n--i\n\nx\n--o\n\n"
	    "y\n--o--\n", 0, NULL, 0, NULL, NULL, { "--i\r\n\r\nx\r\n--i--"
	    "\r\n--o\r\n\r\ny\r\n--o--\r\n" }, NOPE, 0, 4, 2, false },
	{ "delimiter with transport padding", "Content-Type: multipart/mixed;"
	    " boundary=b\n", "--b  \t\n\nx\n--b--  \n", 0, NULL, 0, NULL,
	    NULL, { "\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n" }, NOPE, 0, 2, 1,
	    false },
	{ "no preamble, part without headers", "Content-Type: "
	    "multipart/mixed; boundary=b\n", "--b\nbody line\n--b--", 0, NULL,
	    0, NULL, "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
	    "\r\nbody line\r\n--b--\r\n", NOPE, NOPE, 0, 2, 1, false },
	{ "part ends inside its header block", "Content-Type: "
	    "multipart/mixed; boundary=b\n", "--b\nContent-Type: text/plain\n"
	    "--b--\n", 0, NULL, 0, NULL, "Content-Type: multipart/mixed; "
	    "boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n\r\n"
	    "--b--\r\n", NOPE, NOPE, 0, 2, 1, false },
	{ "duplicate Content-Type in a part", "Content-Type: multipart/mixed;"
	    " boundary=b\n", "--b\nContent-Type: text/plain\nContent-Type: "
	    "text/html\n\nx\n--b--\n", 0, NULL, 0, NULL, NULL,
	    { "--b\r\nContent-Type: text/plain\r\n\r\nx\r\n" },
	    { "text/html" }, 0, 2, 1, false },
	{ "no boundary, 7-bit: copied", "Content-Type: multipart/mixed\n",
	    "--x\nabc\n", 0, NULL, 0, NULL, "Content-Type: multipart/mixed\r\n"
	    "\r\n--x\r\nabc\r\n", NOPE, NOPE, 0, 1, 0, false },
	{ "no boundary, 8-bit: opaque base64", "Content-Type: "
	    "multipart/mixed\nContent-Transfer-Encoding: 8bit\n",
	    "--x\n\xff\n", 0, NULL, 0, NULL,
	    "Content-Type: application/octet-stream\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\nLS14Cv8K\r\n", NOPE,
	    NOPE, 1, 1, 0, false },
	{ "multipart/signed kept verbatim", "Content-Type: multipart/signed; "
	    "protocol=\"application/pkcs7-signature\"; boundary=s\n",
	    "--s\nContent-Type: text/plain\nContent-Transfer-Encoding: 8bit\n"
	    "\nsign\xc3\xa9\n--s\nContent-Type: application/pkcs7-signature\n"
	    "\nMIIB\n--s--\nepi\n", 0, NULL, 0, NULL, NULL,
	    { "\r\n\r\n--s\r\nContent-Type: text/plain\r\n"
	    "Content-Transfer-Encoding: 8bit\r\n\r\nsign\xc3\xa9\r\n--s\r\n",
	    "--s--\r\nepi\r\n" }, NOPE, 0, 1, 0, true },
	{ "already encrypted passes through", "Content-Type: application/"
	    "pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\n"
	    "Content-Transfer-Encoding: base64\n", "MIAGCSqG\n", 0, NULL, 0,
	    NULL, NULL, { "MIAGCSqG\r\n" }, NOPE, 0, 1, 0, false },
	{ "header protection, cipher", "Received: x\nFrom: A <a@b>\n"
	    "To: c@d,\n\te@f\nBcc: hidden@x\nSubject: Secret\nDate: d\n"
	    "Message-ID: <m@x>\nMIME-Version: 1.0\nContent-Type: text/plain\n"
	    "Reply-To: r@x\nCc: g@h\nX-Other: o\n", "hi\n", 0, "cipher", 0,
	    NULL, "From: A <a@b>\r\nTo: c@d,\r\n\te@f\r\nSubject: Secret\r\n"
	    "Date: d\r\nMessage-ID: <m@x>\r\nReply-To: r@x\r\nCc: g@h\r\n"
	    "HP-Outer: From: A <a@b>\r\nHP-Outer: To: c@d,\r\n\te@f\r\n"
	    "HP-Outer: Subject: [...]\r\nHP-Outer: Date: d\r\n"
	    "HP-Outer: Message-ID: <m@x>\r\nHP-Outer: Reply-To: r@x\r\n"
	    "HP-Outer: Cc: g@h\r\n"
	    "Content-Type: text/plain; hp=\"cipher\"\r\n\r\nhi\r\n", NOPE,
	    { "Bcc", "hidden", "Received", "X-Other" }, 0, 1, 0, false },
	{ "header protection, clear, non-MIME", "Subject: caf\xc3\xa9\n"
	    "From: a@b\n", "x\n", 0, "clear", 0, NULL,
	    "Subject: =?utf-8?B?Y2Fmw6k=?=\r\nFrom: a@b\r\n"
	    "Content-Type: text/plain; charset=\"us-ascii\"; hp=\"clear\"\r\n"
	    "\r\nx\r\n", NOPE, { "HP-Outer" }, 0, 1, 0, false },
	{ "header protection, multipart root", "Subject: s\n"
	    "Content-Type: multipart/mixed; boundary=b\n", "--b\n\nx\n--b--\n",
	    0, "cipher", 0, NULL, NULL, { "Subject: s\r\nHP-Outer: Subject: "
	    "[...]\r\nContent-Type: multipart/mixed; boundary=\"b\"; "
	    "hp=\"cipher\"\r\n\r\n--b\r\n" }, NOPE, 0, 2, 1, false },
	{ "unknown header protection mode", "Subject: s\n", "x\n", 0, "both",
	    -1, "unknown header protection mode \"both\"", NULL, NOPE, NOPE,
	    -1, 0, 0, false },
	{ "8-bit address field kept", "From: J\xc3\xb6rg <j@x>\n", "x\n", 0,
	    "cipher", 0, NULL, NULL, { "From: J\xc3\xb6rg <j@x>\r\n" }, NOPE,
	    0, 1, 0, true },
};

static void
run_case(const struct build_case *c)
{
	size_t bodylen = c->bodylen ? c->bodylen : strlen(c->body), i;
	struct result r;

	build(c->headers, c->body, bodylen, c->hp, &r);
	if (r.rc != c->rc)
		fail_msg("%s: rc %d (%s), output:\n%s", c->name, r.rc, r.err,
		    r.out);
	if (c->err != NULL && strstr(r.err, c->err) == NULL)
		fail_msg("%s: error \"%s\"", c->name, r.err);
	if (r.rc != 0)
		goto out;
	if (c->exact != NULL && strcmp(r.out, c->exact) != 0)
		fail_msg("%s: output\n%s\nwant\n%s", c->name, r.out, c->exact);
	for (i = 0; i < 6 && c->has[i] != NULL; i++)
		if (strstr(r.out, c->has[i]) == NULL)
			fail_msg("%s: no \"%s\" in\n%s", c->name, c->has[i],
			    r.out);
	for (i = 0; i < 4 && c->hasnot[i] != NULL; i++)
		if (strstr(r.out, c->hasnot[i]) != NULL)
			fail_msg("%s: \"%s\" in\n%s", c->name, c->hasnot[i],
			    r.out);
	if (c->reencoded >= 0 && r.info.reencoded != (c->reencoded == 1))
		fail_msg("%s: reencoded %d", c->name, r.info.reencoded);
	if (c->parts != 0 && (r.info.parts != c->parts ||
	    r.info.max_depth != c->depth))
		fail_msg("%s: parts %u depth %u", c->name, r.info.parts,
		    r.info.max_depth);
	if (r.info.kept_8bit != c->not_7bit)
		fail_msg("%s: kept_8bit %d", c->name, r.info.kept_8bit);
	if (!c->not_7bit)
		assert_canonical_7bit(r.out, r.len);
out:
	free(r.out);
}

static void
test_build_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run_case(&cases[i]);
}

/* ---- round trips ---------------------------------------------------- */

/* Re-encoded parts decode to the original (canonical) bytes. */
static void
test_round_trips(void **state)
{
	static const char hdr[] = "Content-Type: multipart/mixed; "
	    "boundary=\"rt\"\n";
	unsigned char bin[3000], text[6000];
	char *body, *p;
	struct result r;
	size_t i, n;

	(void)state;
	srand(7);
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)rand();
	/* Text: 8-bit, NUL, trailing blanks, one 2000-octet line, CRLF. */
	for (n = 0; n < 2000; n++)
		text[n] = (unsigned char)('a' + n % 26);
	n += (size_t)sprintf((char *)text + n, "\r\nFrom x \r\n.\r\n");
	for (i = 0; i < 256; i++)
		if (i != '\r' && i != '\n')
			text[n++] = (unsigned char)i;
	body = malloc(20000);
	assert_non_null(body);
	p = body + sprintf(body, "--rt\nContent-Type: application/x-bin\n"
	    "Content-Transfer-Encoding: binary\nContent-ID: <bin>\n\n");
	memcpy(p, bin, sizeof(bin));
	p += sizeof(bin);
	p += sprintf(p, "\r\n--rt\nContent-Type: text/plain; charset=x\n"
	    "Content-ID: <text>\n\n");
	memcpy(p, text, n);
	p += n;
	p += sprintf(p, "\r\n--rt\nContent-Type: text/plain\n"
	    "Content-Transfer-Encoding: quoted-printable\n"
	    "Content-ID: <dirtyqp>\n\nd=C3=A9j\xc3\xa0 vu=\r\n!  \r\nend\r\n"
	    "--rt--\r\n");
	build(hdr, body, (size_t)(p - body), NULL, &r);
	assert_int_equal(r.rc, 0);
	assert_canonical_7bit(r.out, r.len);
	assert_true(r.info.reencoded);
	assert_decodes_to(false, r.out, "<bin>", bin, sizeof(bin));
	assert_decodes_to(true, r.out, "<text>", text, n);
	/* Dirty quoted-printable: what a lenient reader saw, kept. */
	assert_decodes_to(true, r.out, "<dirtyqp>",
	    "d\xc3\xa9j\xc3\xa0 vu!\r\nend", 15);
	assert_non_null(strstr(r.out, "Content-Type: text/plain; "
	    "charset=\"utf-8\"\r\nContent-Transfer-Encoding: quoted-printable"
	    "\r\nContent-ID: <dirtyqp>"));
	free(r.out);
	free(body);
}

/*
 * Lines longer than the reader's 64 KiB window: in a text part (QP), a
 * binary part with a CRLF split across the window edge (base64), and
 * in the preamble (broken at 998).
 */
/* A long preamble line is broken, but never into a delimiter line. */
static void
test_long_preamble_line(void **state)
{
	char *body = long_text("", 'p', 998, "--b tail\n--b\n\nx\n--b--\n");
	struct result r;

	(void)state;
	build("Content-Type: multipart/mixed; boundary=b\n", body,
	    strlen(body), NULL, &r);
	assert_int_equal(r.rc, 0);
	assert_canonical_7bit(r.out, r.len);
	assert_non_null(strstr(r.out, "ppp\r\n?-b tail\r\n--b\r\n\r\nx\r\n"
	    "--b--\r\n"));
	assert_int_equal(r.info.parts, 2);
	free(r.out);
	free(body);
}

static void
test_lines_longer_than_window(void **state)
{
	const size_t n = 200000;
	unsigned char *text = malloc(n), *bin = malloc(n);
	char *body = malloc(3 * n), *p;
	struct result r;
	size_t i, hdr;

	(void)state;
	assert_non_null(text);
	assert_non_null(bin);
	assert_non_null(body);
	for (i = 0; i < n; i++) {
		text[i] = (unsigned char)('a' + i % 26);
		bin[i] = (unsigned char)(i % 251);
		if (bin[i] == '\n')
			bin[i] = 'x';
	}
	text[100000] = 0xe9;
	p = body + sprintf(body, "--w\n");
	memset(p, 'p', 70000);
	p += 70000;
	p += sprintf(p, "\n--w\nContent-ID: <text>\n\n");
	memcpy(p, text, n);
	p += n;
	p += sprintf(p, "\n--w\nContent-Type: application/x\n"
	    "Content-Transfer-Encoding: binary\nContent-ID: <bin>\n\n");
	/* Put a CRLF where the window ends. */
	hdr = (size_t)(p - body);
	memcpy(p, bin, n);
	for (i = 0; i < 5; i++)
		if (65536 * (i + 1) > hdr + 1 && 65536 * (i + 1) - hdr < n) {
			p[65536 * (i + 1) - hdr - 1] = '\r';
			p[65536 * (i + 1) - hdr] = '\n';
		}
	memcpy(bin, p, n);
	p += n;
	p += sprintf(p, "\r\n--w--\n");
	build("Content-Type: multipart/mixed; boundary=w\n", body,
	    (size_t)(p - body), NULL, &r);
	assert_int_equal(r.rc, 0);
	assert_canonical_7bit(r.out, r.len);
	assert_non_null(strstr(r.out, "\r\n\r\nppp"));
	assert_decodes_to(true, r.out, "<text>", text, n);
	assert_decodes_to(false, r.out, "<bin>", bin, n);
	free(r.out);
	free(body);
	free(bin);
	free(text);
}

/* ---- limits --------------------------------------------------------- */

/*
 * levels - 1 multiparts (boundaries b0..) or message/rfc822 wrappers
 * inside the root, and a text leaf at depth levels.
 */
static char *
nested_body(int levels, bool rfc822)
{
	char *b = malloc((size_t)levels * 120 + 100), *p = b;
	int i;

	assert_non_null(b);
	for (i = 1; i < levels; i++)
		p += rfc822 ? sprintf(p, "Content-Type: message/rfc822\n\n") :
		    sprintf(p, "--b%d\nContent-Type: multipart/mixed; "
		    "boundary=b%d\n\n", i - 1, i);
	if (!rfc822)
		p += sprintf(p, "--b%d\n\n", levels - 1);
	p += sprintf(p, "leaf\n");
	for (i = levels; !rfc822 && i-- > 0;)
		p += sprintf(p, "--b%d--\n", i);
	return b;
}

static void
test_nesting_limit(void **state)
{
	static const struct {
		int levels;
		bool rfc822;
		int rc;
	} t[] = {
		{ 32, false, 0 }, { 33, false, -1 }, { 100, false, -1 },
		{ 32, true, 0 }, { 33, true, -1 }, { 100, true, -1 },
	};
	struct result r;
	char *body;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		body = nested_body(t[i].levels, t[i].rfc822);
		build(t[i].rfc822 ? "Content-Type: message/rfc822\n" :
		    "Content-Type: multipart/mixed; boundary=b0\n", body,
		    strlen(body), NULL, &r);
		if (r.rc != t[i].rc)
			fail_msg("%d levels: rc %d %s", t[i].levels, r.rc,
			    r.err);
		if (r.rc == 0) {
			assert_int_equal(r.info.max_depth, 32);
			assert_int_equal(r.info.parts, 33);
			assert_canonical_7bit(r.out, r.len);
			assert_non_null(strstr(r.out, "\r\n\r\nleaf\r\n"));
		} else
			assert_string_equal(r.err, "MIME nesting deeper than "
			    "32");
		free(r.out);
		free(body);
	}
}

/* "prefix" + n copies of c + "suffix", NUL-terminated. */
static char *
long_text(const char *prefix, char c, size_t n, const char *suffix)
{
	size_t a = strlen(prefix), z = strlen(suffix);
	char *t = malloc(a + n + z + 1);

	assert_non_null(t);
	memcpy(t, prefix, a);
	memset(t + a, c, n);
	memcpy(t + a + n, suffix, z + 1);
	return t;
}

static void
test_header_line_limits(void **state)
{
	static const char mp[] = "Content-Type: multipart/mixed; boundary=b\n";
	const size_t big = 1024 * 1024;
	struct result r;
	char *t, *p;
	int i;

	(void)state;
	/* A 1 MB header line in a body part. */
	t = long_text("--b\nX-Long: ", 'x', big, "\n\nx\n--b--\n");
	build(mp, t, strlen(t), NULL, &r);
	assert_int_equal(r.rc, -1);
	assert_string_equal(r.err, "header line longer than 65536 bytes");
	free(r.out);
	free(t);
	/* Folded: the continuation lines count too. */
	t = malloc(100000);
	assert_non_null(t);
	p = t + sprintf(t, "--b\nX-Long: x");
	for (i = 0; i < 2000; i++)
		p += sprintf(p, "\n 0123456789012345678901234567890123456");
	sprintf(p, "\n\nx\n--b--\n");
	build(mp, t, strlen(t), NULL, &r);
	assert_int_equal(r.rc, -1);
	assert_string_equal(r.err, "header line longer than 65536 bytes");
	free(r.out);
	free(t);
	/* At the top, fields that are not written do not matter... */
	t = long_text("Subject: s\nX-Long: ", 'y', big, "\n");
	build(t, "x\n", 2, NULL, &r);
	assert_int_equal(r.rc, 0);
	free(r.out);
	free(t);
	/* ... but one that would be is an error. */
	t = long_text("Subject: s\nContent-ID: ", 'y', big, "\n");
	build(t, "x\n", 2, NULL, &r);
	assert_int_equal(r.rc, -1);
	assert_string_equal(r.err, "header line longer than 65536 bytes "
	    "(Content-ID)");
	free(r.out);
	free(t);
}

static void
test_long_header_refolded(void **state)
{
	char *hdr = malloc(5000), *p;
	struct result r;
	int i;

	(void)state;
	assert_non_null(hdr);
	p = hdr + sprintf(hdr, "Content-Type: text/plain\nContent-ID:");
	for (i = 0; i < 300; i++)
		p += sprintf(p, " <w%d@x>", i);
	/* Trailing blanks: no whitespace-only line may result. */
	strcpy(p, "   \n");
	build(hdr, "x\n", 2, NULL, &r);
	assert_int_equal(r.rc, 0);
	assert_canonical_7bit(r.out, r.len);	/* lines <= 998 */
	assert_non_null(strstr(r.out, "<w299@x>   \r\n\r\nx\r\n"));
	assert_null(strstr(r.out, "\r\n \r\n"));
	assert_null(strstr(r.out, "\r\n   \r\n"));
	free(r.out);
	free(hdr);
	/* Only trailing blanks past 998: left long, not split off. */
	hdr = long_text("Content-Description: ", 'x', 900,
	    "                                                            "
	    "                                                            \n");
	build(hdr, "x\n", 2, NULL, &r);
	assert_int_equal(r.rc, 0);
	assert_non_null(strstr(r.out, "xxx     "));
	assert_null(strstr(r.out, "\r\n    "));
	free(r.out);
	free(hdr);
}

static void
test_sink_error(void **state)
{
	struct membuf mb = { 0 };
	struct sink s = sink_to_membuf(&mb);
	struct spool *sp = body_spool("hello\n", 6, 1024);
	struct hdrs hs;
	char err[256];

	(void)state;
	hdrs_parse(&hs, "Subject: s\n");
	mb.limit = 10;
	assert_int_equal(mime_build_content(hs.h, hs.n, sp, NULL, &s, NULL,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "output larger than 10 bytes");
	free(mb.data);
	spool_free(sp);
	hdrs_free(&hs);
}

/* ---- header protection helper ---------------------------------------- */

static void
test_hp_outer_helpers(void **state)
{
	struct membuf mb = { 0 };
	struct sink s = sink_to_membuf(&mb);
	struct hdrs hs;
	char err[256];

	(void)state;
	assert_true(mime_hp_protected("subject"));
	assert_true(mime_hp_protected("Message-ID"));
	assert_false(mime_hp_protected("Bcc"));
	assert_false(mime_hp_protected("Received"));
	assert_string_equal(mime_hp_outer_value("SUBJECT", " x"), "[...]");
	hdrs_parse(&hs, "Received: r\nSubject: secret\nBcc: b@x\nTo: t@x\n");
	assert_ptr_equal(mime_hp_outer_value("To", hs.h[3].value),
	    hs.h[3].value);
	assert_int_equal(mime_hp_outer_fields(hs.h, hs.n, &s, err,
	    sizeof(err)), 0);
	assert_int_equal(mb.len, strlen("HP-Outer: Subject: [...]\r\n"
	    "HP-Outer: To: t@x\r\n"));
	assert_memory_equal(mb.data, "HP-Outer: Subject: [...]\r\n"
	    "HP-Outer: To: t@x\r\n", mb.len);
	free(mb.data);
	hdrs_free(&hs);
}

/* ---- 50 MB ---------------------------------------------------------- */

static long
rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Checks the output as it streams by, keeps none of it. */
struct checker {
	uint64_t bytes;
	size_t col, maxcol;
	int prev;
	bool bad;
	long rss_max;
	uint64_t next_rss;
};

static int
checker_write(void *arg, const void *buf, size_t len, char *err,
    size_t errlen)
{
	struct checker *k = arg;
	const unsigned char *p = buf;
	size_t i;

	(void)err;
	(void)errlen;
	for (i = 0; i < len; i++) {
		if (p[i] == '\n') {
			k->bad |= k->prev != '\r';
			k->col = 0;
		} else if (p[i] != '\r') {
			k->bad |= k->prev == '\r' || p[i] >= 0x80 || p[i] == 0;
			if (++k->col > k->maxcol)
				k->maxcol = k->col;
		}
		k->prev = p[i];
	}
	k->bytes += len;
	if (k->bytes >= k->next_rss) {
		long rss = rss_kib();

		if (rss > k->rss_max)
			k->rss_max = rss;
		k->next_rss += 1 << 20;
	}
	return 0;
}

static void
append_str(struct spool *sp, const char *s)
{
	char err[256];

	if (spool_append(sp, s, strlen(s), err, sizeof(err)) != 0)
		fail_msg("spool: %s", err);
}

static void
test_50mb_bounded_memory(void **state)
{
	const uint64_t half = 25ull * 1024 * 1024;
	struct checker k = { 0 };
	struct sink s = { checker_write, &k };
	struct spool *sp = spool_new(spool_dir, 256 * 1024);
	unsigned char *chunk = malloc(65536);
	struct mime_info info;
	struct timespec t0, t1;
	struct hdrs hs;
	uint64_t off;
	char err[256];
	size_t i;
	long rss_before;
	double secs;

	(void)state;
	assert_non_null(chunk);
	hdrs_parse(&hs, "Subject: big\nContent-Type: multipart/mixed; "
	    "boundary=big\n");
	/* A latin-1 text part and a binary part, 25 MB each. */
	append_str(sp, "--big\nContent-Type: text/plain\n"
	    "Content-Transfer-Encoding: 8bit\n\n");
	for (off = 0; off < half; off += 65536) {
		for (i = 0; i < 65536; i++)
			chunk[i] = i % 73 == 72 ? '\n' :
			    (unsigned char)(0x20 + (off + i) % 0xd0);
		assert_int_equal(spool_append(sp, chunk, 65536, err,
		    sizeof(err)), 0);
	}
	append_str(sp, "\n--big\nContent-Type: application/octet-stream\n"
	    "Content-Transfer-Encoding: binary\n\n");
	for (off = 0; off < half; off += 65536) {
		for (i = 0; i < 65536; i++)
			chunk[i] = (unsigned char)((off + i) * 2654435761u >>
			    13);
		assert_int_equal(spool_append(sp, chunk, 65536, err,
		    sizeof(err)), 0);
	}
	append_str(sp, "\n--big--\n");
	assert_true(spool_on_disk(sp));
	rss_before = rss_kib();
	k.next_rss = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (mime_build_content(hs.h, hs.n, sp, NULL, &s, &info, err,
	    sizeof(err)) != 0)
		fail_msg("build: %s", err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	print_message("50 MB: %.2f s, %llu bytes out, RSS +%ld KiB\n", secs,
	    (unsigned long long)k.bytes, k.rss_max - rss_before);
	assert_false(k.bad);
	assert_true(k.maxcol <= 76);
	assert_true(info.reencoded);
	assert_int_equal(info.parts, 3);
	/* base64 of 25 MB plus QP of 25 MB latin-1: at least 80 MB. */
	assert_true(k.bytes > 80ull * 1024 * 1024);
	if (k.rss_max - rss_before > 8 * 1024)
		fail_msg("RSS grew by %ld KiB", k.rss_max - rss_before);
	spool_free(sp);
	hdrs_free(&hs);
	free(chunk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_and_unfold),
		cmocka_unit_test(test_parse_content_type),
		cmocka_unit_test(test_parse_bounded),
		cmocka_unit_test(test_parse_content_disposition),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_build_table),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_long_preamble_line),
		cmocka_unit_test(test_lines_longer_than_window),
		cmocka_unit_test(test_nesting_limit),
		cmocka_unit_test(test_header_line_limits),
		cmocka_unit_test(test_long_header_refolded),
		cmocka_unit_test(test_sink_error),
		cmocka_unit_test(test_hp_outer_helpers),
		cmocka_unit_test(test_50mb_bounded_memory),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
