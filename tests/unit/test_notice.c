/*
 * test_notice.c -- the missing-certificate notice: exact header fields
 * with a fixed clock, hostile Subject and Message-ID values (CR/LF
 * injection, 8-bit, encoded-words, 100 KB), caps on reasons, the
 * plain-ok hint, refusals.  Every output is checked line by line: CRLF
 * only, no line over 998, header lines printable ASCII, Subject lines
 * at most 76 when they hold encoded-words.  (tests/integration/t_notice.sh
 * parses the notices with Python's email package as well.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "mimeenc.h"
#include "notice.h"
#include "rfc2047.h"
#include "sink.h"

#define PREFIX "Undelivered (no certificate): "

static const struct notice_entry two[] = {
	{ "bob@example.net", "no certificate found" },
	{ "carol@example.net", "certificate expired" },
};

static struct notice_info
base_info(void)
{
	struct notice_info in = {
		.from = "postmaster@gw.example",
		.to = "alice@example.org",
		.orig_subject = "Quarterly report",
		.orig_message_id = "<orig.1@example.org>",
		.queue_id = "4ABCD",
		.hostname = "gw.example",
		.request_header = "X-SMIME-Request",
		.allow_plain_ok_hint = true,
		.date = 1700000000,
	};

	return in;
}

struct parsed {
	char *text;		/* the whole notice, NUL-terminated */
	char *fields[32];	/* unfolded "Name: value" */
	size_t nfields;
	char *body;		/* decoded */
};

static void
parsed_free(struct parsed *p)
{
	size_t i;

	for (i = 0; i < p->nfields; i++)
		free(p->fields[i]);
	free(p->text);
	free(p->body);
}

/* Check every line, split the header into unfolded fields, decode. */
static void
parse(const unsigned char *data, size_t len, struct parsed *p)
{
	const char *line, *eol, *end;
	bool header = true, qp = false, subject = false;
	struct membuf mb = { 0 };
	struct sink s = sink_to_membuf(&mb);
	struct qpdec d;
	char err[200];
	size_t n, i;

	memset(p, 0, sizeof(*p));
	p->text = malloc(len + 1);
	memcpy(p->text, data, len);
	p->text[len] = '\0';
	assert_int_equal(strlen(p->text), len);
	end = p->text + len;
	for (line = p->text; line < end; line = eol + 2) {
		eol = strstr(line, "\r\n");
		assert_non_null(eol);
		n = (size_t)(eol - line);
		if (memchr(line, '\r', n) || memchr(line, '\n', n))
			fail_msg("bare CR or LF: %.*s", (int)n, line);
		if (n > 998)
			fail_msg("line of %zu octets", n);
		if (!header)
			continue;
		if (n == 0) {
			header = false;
			continue;
		}
		for (i = 0; i < n; i++)
			if (line[i] < 0x20 || line[i] > 0x7e)
				fail_msg("header byte %02x",
				    (unsigned char)line[i]);
		if (line[0] != ' ' && line[0] != '\t')
			subject = strncasecmp(line, "Subject:", 8) == 0;
		if (subject && memmem(line, n, "=?", 2) != NULL && n > 76)
			fail_msg("encoded-word line of %zu", n);
		if (line[0] == ' ' || line[0] == '\t') {
			assert_true(p->nfields > 0);
			strncat(p->fields[p->nfields - 1], line, n);
		} else {
			assert_non_null(memchr(line, ':', n));
			assert_true(p->nfields < 32);
			p->fields[p->nfields] = calloc(1, len + 1);
			strncat(p->fields[p->nfields++], line, n);
		}
	}
	assert_false(header);
	for (i = 0; i < p->nfields; i++)
		if (strcasecmp(p->fields[i], "Content-Transfer-Encoding: "
		    "quoted-printable") == 0)
			qp = true;
	line = strstr(p->text, "\r\n\r\n") + 4;
	if (qp) {
		qpdec_init(&d, &s, true);
		assert_int_equal(qpdec_update(&d, line, (size_t)(end - line),
		    err, sizeof(err)), 0);
		assert_int_equal(qpdec_final(&d, err, sizeof(err)), 0);
	} else {
		for (i = 0; line + i < end; i++)
			if ((unsigned char)line[i] >= 0x80)
				fail_msg("8-bit byte in a 7bit body");
		assert_int_equal(sink_write(&s, line, (size_t)(end - line),
		    err, sizeof(err)), 0);
	}
	assert_int_equal(sink_write(&s, "", 1, err, sizeof(err)), 0);
	p->body = (char *)mb.data;
}

/* The value of the one field called name, or NULL; fails on two. */
static const char *
field(const struct parsed *p, const char *name)
{
	const char *found = NULL;
	size_t i, n = strlen(name);

	for (i = 0; i < p->nfields; i++) {
		if (strncasecmp(p->fields[i], name, n) != 0 ||
		    p->fields[i][n] != ':')
			continue;
		if (found != NULL)
			fail_msg("two %s fields", name);
		found = p->fields[i] + n + 1 + (p->fields[i][n + 1] == ' ');
	}
	return found;
}

static void
build(const struct notice_info *in, const struct notice_entry *e, size_t n,
    struct parsed *p)
{
	struct membuf mb = { 0 };
	struct sink s = sink_to_membuf(&mb);
	char err[200];

	if (notice_build(in, e, n, &s, err, sizeof(err)) != 0)
		fail_msg("notice_build: %s", err);
	parse(mb.data, mb.len, p);
	free(mb.data);
}

/* The Subject, unfolded and decoded (with our decoder). */
static char *
subject_of(const struct parsed *p)
{
	const char *v = field(p, "Subject");
	char *out;

	assert_non_null(v);
	out = malloc(3 * strlen(v) + 1);
	rfc2047_decode(v, strlen(v), out, 3 * strlen(v) + 1);
	return out;
}

static void
test_basic(void **state)
{
	struct notice_info in = base_info();
	struct parsed p;
	const char *id;
	static const char *const names[] = { "Date", "From", "To", "Subject",
		"Message-ID", "In-Reply-To", "References", "Auto-Submitted",
		"MIME-Version", "Content-Type", "Content-Transfer-Encoding" };
	size_t i;

	(void)state;
	build(&in, two, 2, &p);
	assert_int_equal(p.nfields, sizeof(names) / sizeof(names[0]));
	for (i = 0; i < p.nfields; i++)
		assert_non_null(field(&p, names[i]));
	assert_string_equal(field(&p, "Date"),
	    "Tue, 14 Nov 2023 22:13:20 +0000");
	assert_string_equal(field(&p, "From"),
	    "\"S/MIME Gateway\" <postmaster@gw.example>");
	assert_string_equal(field(&p, "To"), "<alice@example.org>");
	assert_string_equal(field(&p, "Subject"), PREFIX "Quarterly report");
	id = field(&p, "Message-ID");
	assert_int_equal(strlen(id), 1 + 32 + strlen("@gw.example>"));
	assert_int_equal(strspn(id + 1, "0123456789abcdef"), 32);
	assert_string_equal(id + 33, "@gw.example>");
	assert_string_equal(field(&p, "In-Reply-To"), "<orig.1@example.org>");
	assert_string_equal(field(&p, "References"), "<orig.1@example.org>");
	assert_string_equal(field(&p, "Auto-Submitted"), "auto-generated");
	assert_string_equal(field(&p, "MIME-Version"), "1.0");
	assert_string_equal(field(&p, "Content-Type"),
	    "text/plain; charset=utf-8");
	assert_string_equal(field(&p, "Content-Transfer-Encoding"), "7bit");
	assert_non_null(strstr(p.body, "mail gateway gw.example."));
	assert_non_null(strstr(p.body, "  Subject:    Quarterly report\r\n"));
	assert_non_null(strstr(p.body, "  Message-ID: <orig.1@example.org>"
	    "\r\n"));
	assert_non_null(strstr(p.body, "  Queue ID:   4ABCD\r\n"));
	assert_non_null(strstr(p.body, "was NOT delivered"));
	assert_non_null(strstr(p.body, "\r\n  - bob@example.net: no "
	    "certificate found\r\n  - carol@example.net: certificate "
	    "expired\r\n"));
	assert_non_null(strstr(p.body, "        X-SMIME-Request: plain-ok\r\n"));
	parsed_free(&p);
}

static void
test_hint_and_missing_values(void **state)
{
	struct notice_info in = base_info();
	struct notice_entry e[] = { { "bob@example.net", NULL },
		{ "dave@example.net", "" } };
	struct parsed p, q;

	(void)state;
	in.allow_plain_ok_hint = false;
	in.request_header = NULL;
	in.orig_subject = NULL;
	in.orig_message_id = NULL;
	in.queue_id = NULL;
	build(&in, e, 2, &p);
	assert_null(strstr(p.body, "plain-ok"));
	assert_string_equal(field(&p, "Subject"),
	    "Undelivered (no certificate)");
	assert_null(field(&p, "In-Reply-To"));
	assert_null(field(&p, "References"));
	assert_non_null(strstr(p.body, "  Subject:    (none)\r\n"));
	assert_non_null(strstr(p.body, "  Message-ID: (none)\r\n"));
	assert_non_null(strstr(p.body, "  Queue ID:   (unknown)\r\n"));
	assert_non_null(strstr(p.body, "  - bob@example.net: no usable "
	    "certificate\r\n  - dave@example.net: no usable certificate"));
	/* Two notices never share a Message-ID. */
	build(&in, e, 2, &q);
	assert_string_not_equal(field(&p, "Message-ID"),
	    field(&q, "Message-ID"));
	parsed_free(&p);
	parsed_free(&q);
}

/* No Subject value can add a field or end the header. */
static void
test_subject_injection(void **state)
{
	static const char *const subjects[] = {
		"hi\r\nBcc: evil@example.org",
		"hi\nBcc: evil@example.org",
		"hi\rBcc: evil@example.org",
		"hi\r\n\r\nfake body",
		"hi\r\n Bcc: folded",
		"=?UTF-8?Q?hi=0D=0ABcc:_evil@example.org?=",
		"=?UTF-8?B?aGkNCkJjYzogZXZpbEBleGFtcGxlLm9yZw==?=",
		"hi\x00\x0b\x1b[2J\x7f",
	};
	struct notice_info in = base_info();
	struct parsed p;
	char *subj;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
		in.orig_subject = subjects[i];
		build(&in, two, 2, &p);
		assert_int_equal(p.nfields, 11);
		assert_null(field(&p, "Bcc"));
		subj = subject_of(&p);
		if (strncmp(subj, PREFIX "hi", strlen(PREFIX) + 2) != 0 ||
		    strpbrk(subj, "\r\n\x1b") != NULL)
			fail_msg("case %zu: Subject \"%s\"", i, subj);
		free(subj);
		assert_null(strstr(p.body, "\r\nBcc:"));
		parsed_free(&p);
	}
}

static void
test_8bit_subject(void **state)
{
	struct notice_info in = base_info();
	struct parsed p;
	char *subj;

	(void)state;
	in.orig_subject = "Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln";
	build(&in, two, 2, &p);
	assert_non_null(strstr(field(&p, "Subject"), "=?UTF-8?"));
	subj = subject_of(&p);
	assert_string_equal(subj, PREFIX "Gr\xc3\xbc\xc3\x9f" "e aus "
	    "K\xc3\xb6ln");
	free(subj);
	assert_string_equal(field(&p, "Content-Transfer-Encoding"),
	    "quoted-printable");
	assert_non_null(strstr(p.body, "  Subject:    Gr\xc3\xbc\xc3\x9f"
	    "e aus K\xc3\xb6ln\r\n"));
	parsed_free(&p);

	/* Raw Latin-1 is not UTF-8: replacement characters, still safe. */
	in.orig_subject = "Gr\xfc\xdf" "e";
	build(&in, two, 2, &p);
	subj = subject_of(&p);
	assert_string_equal(subj, PREFIX "Gr\xef\xbf\xbd\xef\xbf\xbd" "e");
	free(subj);
	parsed_free(&p);
}

/* Encoded-words of the original, folded across lines, are decoded. */
static void
test_encoded_subject(void **state)
{
	struct notice_info in = base_info();
	struct parsed p;
	char *subj;

	(void)state;
	in.orig_subject = "Re: =?iso-8859-1?q?caf=e9?=\r\n"
	    " =?iso-8859-1?q?_au_lait?= =?x-unknown?q?zz?=";
	build(&in, two, 2, &p);
	subj = subject_of(&p);
	assert_string_equal(subj, PREFIX "Re: caf\xc3\xa9 au lait "
	    "=?x-unknown?q?zz?=");
	free(subj);
	assert_non_null(strstr(p.body, "Subject:    Re: caf\xc3\xa9 au lait "
	    "=?x-unknown?q?zz?=\r\n"));
	parsed_free(&p);
}

static void
test_huge_subject(void **state)
{
	struct notice_info in = base_info();
	size_t len = 100000, i, chars;
	char *raw = malloc(len * 2 + 1), *subj, *s;
	struct parsed p;

	(void)state;
	for (i = 0; i < len; i += 4)
		memcpy(raw + i, "abc ", 4);
	raw[len] = '\0';
	in.orig_subject = raw;
	build(&in, two, 2, &p);
	subj = subject_of(&p);
	assert_int_equal(strlen(subj), strlen(PREFIX) + NOTICE_SUBJECT_MAX);
	assert_string_equal(subj + strlen(subj) - 3, "...");
	free(subj);
	parsed_free(&p);

	for (i = 0; i < len; i++)
		memcpy(raw + 2 * i, "\xc3\xa4", 2);
	raw[2 * len] = '\0';
	build(&in, two, 2, &p);
	subj = subject_of(&p);
	s = subj + strlen(PREFIX);
	for (chars = 0; *s != '\0' && *s != '.'; chars++)
		s += 2;
	assert_int_equal(chars, NOTICE_SUBJECT_MAX - 3);
	assert_string_equal(s, "...");
	free(subj);
	parsed_free(&p);
	free(raw);
}

static void
test_message_id_validity(void **state)
{
	static const struct {
		const char *raw, *irt;
	} cases[] = {
		{ "<a.b@c.d>", "<a.b@c.d>" },
		{ "  <x!#$%&'*+-/=?^_`{|}~@example.org>\r\n",
		    "<x!#$%&'*+-/=?^_`{|}~@example.org>" },
		{ "<x@[192.0.2.1]>", "<x@[192.0.2.1]>" },
		{ "\r\n <folded@example.org>", "<folded@example.org>" },
		{ "<a@b> <c@d>", NULL },
		{ "a@b", NULL },
		{ "<a@b>\r\nBcc: evil@example.org", NULL },
		{ "<@b>", NULL },
		{ "<a@>", NULL },
		{ "<a..b@c>", NULL },
		{ "<.a@c>", NULL },
		{ "<a@b", NULL },
		{ "<a b@c>", NULL },
		{ "<\"q\"@c>", NULL },
		{ "<a@b[c]>", NULL },
		{ "<a@[b]c>", NULL },
		{ "<a@[b\\]>", NULL },
		{ "<a@[b>", NULL },
		{ "<a@[>", NULL },
		{ "<a@b.>", NULL },
		{ "<a@b (comment)>", NULL },
		{ "<a\xc3\xa4@b>", NULL },
		{ "", NULL },
	};
	struct notice_info in = base_info();
	char big[400];
	struct parsed p;
	const char *got;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		in.orig_message_id = cases[i].raw;
		build(&in, two, 2, &p);
		got = field(&p, "In-Reply-To");
		if (cases[i].irt == NULL ? got != NULL : got == NULL ||
		    strcmp(got, cases[i].irt) != 0)
			fail_msg("case %zu: In-Reply-To %s", i,
			    got ? got : "(none)");
		if (got != NULL)
			assert_string_equal(field(&p, "References"), got);
		parsed_free(&p);
	}
	/* 250 characters are fine, 251 not. */
	memset(big, 'a', sizeof(big));
	big[0] = '<';
	memcpy(big + 250 - 5, "@b.c>", 6);
	in.orig_message_id = big;
	build(&in, two, 2, &p);
	assert_non_null(field(&p, "In-Reply-To"));
	parsed_free(&p);
	memset(big, 'a', sizeof(big));
	big[0] = '<';
	memcpy(big + 251 - 5, "@b.c>", 6);
	build(&in, two, 2, &p);
	assert_null(field(&p, "In-Reply-To"));
	parsed_free(&p);
}

static void
test_entries_cleaned_and_capped(void **state)
{
	struct notice_info in = base_info();
	char reason[1001], *line, want[400];
	struct notice_entry e[] = {
		{ "evil@example.net\r\nBcc: x@example.org", "bad\r\nreason" },
		{ "long@example.net", reason },
		{ "j\xc3\xbcrgen@example.net", "kein Zertifikat f\xc3\xbcr "
		    "Sie" },
	};
	struct parsed p;

	(void)state;
	memset(reason, 'r', 1000);
	reason[1000] = '\0';
	build(&in, e, 3, &p);
	assert_non_null(strstr(p.body, "  - evil@example.net Bcc: "
	    "x@example.org: bad reason\r\n"));
	line = strstr(p.body, "  - long@example.net: ");
	assert_non_null(line);
	memset(want, 'r', NOTICE_REASON_MAX - 3);
	strcpy(want + NOTICE_REASON_MAX - 3, "...\r\n");
	assert_memory_equal(line + strlen("  - long@example.net: "), want,
	    strlen(want));
	assert_string_equal(field(&p, "Content-Transfer-Encoding"),
	    "quoted-printable");
	assert_non_null(strstr(p.body, "  - j\xc3\xbcrgen@example.net: kein "
	    "Zertifikat f\xc3\xbcr Sie\r\n"));
	parsed_free(&p);
}

static void
test_refusals(void **state)
{
	struct notice_info in;
	struct membuf mb = { 0 };
	struct sink s = sink_to_membuf(&mb);
	char err[200];
	size_t i;
	static const char *const errors[] = {
		"no sender to notify", "sender address unsafe",
		"sender address unsafe", "bad NoticeFrom", "bad NoticeFrom",
		"bad host name", "bad host name", "bad host name",
		"bad request header", "bad request header",
		"no recipients to report",
	};

	(void)state;
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++) {
		in = base_info();
		switch (i) {
		case 0: in.to = ""; break;
		case 1: in.to = "alice@example.org\r\nBcc: x@y"; break;
		case 2: in.to = "<alice@example.org>"; break;
		case 3: in.from = ""; break;
		case 4: in.from = "a b@c"; break;
		case 5: in.hostname = ""; break;
		case 6: in.hostname = "gw.example>\r\nX: y"; break;
		case 7: in.hostname = "a..b"; break;
		case 8: in.request_header = "X-Bad: header"; break;
		case 9: in.request_header = NULL; break;
		}
		err[0] = '\0';
		assert_int_equal(notice_build(&in, two, i == 10 ? 0 : 2, &s,
		    err, sizeof(err)), -1);
		if (strstr(err, errors[i]) == NULL)
			fail_msg("case %zu: %s", i, err);
		assert_int_equal(mb.len, 0);
	}
	/* A failing sink is reported. */
	in = base_info();
	mb.limit = 100;
	assert_int_equal(notice_build(&in, two, 2, &s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "larger than"));
	free(mb.data);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_hint_and_missing_values),
		cmocka_unit_test(test_subject_injection),
		cmocka_unit_test(test_8bit_subject),
		cmocka_unit_test(test_encoded_subject),
		cmocka_unit_test(test_huge_subject),
		cmocka_unit_test(test_message_id_validity),
		cmocka_unit_test(test_entries_cleaned_and_capped),
		cmocka_unit_test(test_refusals),
	};

	/* A fixed clock needs a fixed zone. */
	setenv("TZ", "UTC", 1);
	tzset();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
