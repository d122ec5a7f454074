/*
 * test_addrlist.c -- RFC 5322 address lists (addrlist.h) and the
 * canonical address form both sides of a comparison use (address.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "addrlist.h"
#include "message.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/*
 * One header field value (len 0: strlen; set for values with NUL bytes),
 * the canonical addresses it must give, in order and separated by "|",
 * and the number of unparseable elements.
 */
static const struct {
	const char *value;
	size_t len;
	const char *want;
	int bad;
} cases[] = {
	/* plain and display names */
	{ "a@example.org", 0, "a@example.org", 0 },
	{ "  Alice@Example.ORG  ", 0, "Alice@example.org", 0 },
	{ "<a@example.org>", 0, "a@example.org", 0 },
	{ "Who? <one@y.test>", 0, "one@y.test", 0 },
	{ "Joe Q. Public <john.q.public@example.com>", 0,
	    "john.q.public@example.com", 0 },		/* obs-phrase */
	{ "\"Mary Smith: Personal Account\" <smith@home.example>", 0,
	    "smith@home.example", 0 },		/* ":" in quotes */
	{ "john@example.org <john@example.org>", 0, "john@example.org", 0 },
	{ "bcc@example.org <a@example.org>", 0, "a@example.org", 0 },
	{ "a@b@c <d@example.org>", 0, "", 1 },
	{ "[x] <a@example.org>", 0, "", 1 },

	/* RFC 5322 Appendix A */
	{ "John Doe <jdoe@machine.example>", 0, "jdoe@machine.example", 0 },
	{ "Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>", 0,
	    "mary@x.test|jdoe@example.org|one@y.test", 0 },
	{ "<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" "
	    "<sysservices@example.net>", 0,
	    "boss@nil.test|sysservices@example.net", 0 },
	{ "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;",
	    0, "c@a.test|joe@where.test|jdoe@one.test", 0 },
	{ "Undisclosed recipients:;", 0, "", 0 },
	{ "Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", 0,
	    "pete@silly.test", 0 },
	{ "A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)"
	    "public.example>,\r\n         joe@example.org,\r\n  John "
	    "<jdoe@one.test> (my dear friend); (the end of the group)", 0,
	    "c@public.example|joe@example.org|jdoe@one.test", 0 },
	{ "(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;", 0,
	    "", 0 },
	{ "Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example",
	    0, "mary@example.net|jdoe@test.example", 0 },
	{ "John Doe <jdoe@machine(comment).  example>", 0,
	    "jdoe@machine.example", 0 },
	{ "Mary Smith\r\n  \r\n          <mary@example.net>", 0,
	    "mary@example.net", 0 },
	{ "Mary Smith\n\t<mary@example.net>", 0, "mary@example.net", 0 },

	/* groups */
	{ "undisclosed-recipients:;", 0, "", 0 },
	{ "G: a@x.test, b@x.test", 0, "a@x.test|b@x.test", 1 }, /* no ; */
	{ "G: a@x.test, junk junk, b@x.test;", 0, "a@x.test|b@x.test", 1 },
	{ "G: a@x.test;, c@x.test", 0, "a@x.test|c@x.test", 0 },
	{ "G: a@x.test; c@x.test", 0, "a@x.test", 1 },
	{ "G: H: a@x.test;;", 0, "", 2 },			/* nested */
	{ "a@b.test: c@x.test;", 0, "", 1 },
	{ ": c@x.test;", 0, "", 1 },
	{ "G:,,a@x.test,,;", 0, "a@x.test", 0 },

	/* quoted local parts */
	{ "\"john doe\"@Example.com", 0, "\"john doe\"@example.com", 0 },
	{ "\"john\"@Example.com", 0, "john@example.com", 0 },
	{ "\"j\\ohn\"@x.test", 0, "john@x.test", 0 },
	{ "\"a\\\"b\"@x.test", 0, "\"a\\\"b\"@x.test", 0 },
	{ "\"a\\\\b\"@x.test", 0, "\"a\\\\b\"@x.test", 0 },
	{ "\"a@b\"@c.test", 0, "\"a@b\"@c.test", 0 },
	{ "\"\"@x.test", 0, "\"\"@x.test", 0 },
	{ "\"john\r\n doe\"@x.test", 0, "\"john doe\"@x.test", 0 },
	{ "\"a\tb\"@x.test", 0, "", 1 },		/* SMTP has no tab */

	/* obsolete local parts and domains */
	{ "john . doe @ example . com", 0, "john.doe@example.com", 0 },
	{ "\"john\".doe@x.test", 0, "john.doe@x.test", 0 },
	{ "\"john\".\"doe\"@x.test", 0, "john.doe@x.test", 0 },
	{ "john(comment).doe@x.test", 0, "john.doe@x.test", 0 },
	{ "\"john doe\".x@y.test", 0, "\"john doe.x\"@y.test", 0 },
	{ "a..b@docomo.example", 0, "a..b@docomo.example", 0 },
	{ "\"a..b\"@docomo.example", 0, "a..b@docomo.example", 0 },
	{ ".a@x.test, a.@x.test, \".\"@x.test", 0,
	    ".a@x.test|a.@x.test|.@x.test", 0 },
	{ "john doe@x.test", 0, "", 1 },
	{ "\"a\"b@x.test", 0, "", 1 },

	/* domain literals and routes */
	{ "user@[192.0.2.1]", 0, "user@[192.0.2.1]", 0 },
	{ "user@[IPv6:2001:DB8::1]", 0, "user@[ipv6:2001:db8::1]", 0 },
	{ "user@[ 192.0.2.1 ]", 0, "user@[192.0.2.1]", 0 },
	{ "user@[]", 0, "", 1 },
	{ "user@[a[b]", 0, "", 1 },
	{ "<@a.test,@b.test:user@c.test>", 0, "user@c.test", 0 },
	{ "<,@a.test,,@b.test:user@c.test>", 0, "user@c.test", 0 },
	{ "<@a.test,b.test:user@c.test>, d@x.test", 0, "d@x.test", 1 },
	{ "<@:user@c.test>", 0, "", 1 },
	{ "<,user@c.test>", 0, "", 1 },

	/* domains */
	{ "a@x..test", 0, "", 1 },
	{ "a@x.test.", 0, "", 1 },
	{ "a@", 0, "", 1 },
	{ "@x.test", 0, "", 1 },
	{ "a@\"x\"", 0, "", 1 },
	{ "a@b@c", 0, "", 1 },

	/* list elements */
	{ "a@b.test,,c@d.test", 0, "a@b.test|c@d.test", 0 },
	{ ",,, ,", 0, "", 0 },
	{ "", 0, "", 0 },
	{ " \r\n\t", 0, "", 0 },
	{ "a@x.test b@x.test", 0, "", 1 },		/* missing comma */
	{ "a@x.test; b@x.test", 0, "", 1 },
	{ "bob", 0, "", 1 },
	{ "<>", 0, "", 1 },
	{ "Foo <>, a@x.test", 0, "a@x.test", 1 },
	{ "<a@x.test> junk", 0, "", 1 },
	{ "a@x.test>, b@x.test", 0, "b@x.test", 1 },
	{ "a\\b@x.test", 0, "", 1 },
	{ "a@x.test, A@X.TEST, a@X.test, \"a\"@x.test", 0,
	    "a@x.test|A@x.test", 0 },			/* duplicates */
	{ "z@x.test, a@x.test, m@x.test", 0, "z@x.test|a@x.test|m@x.test", 0 },

	/* display text is never an address */
	{ "\"Foo <bcc@evil.test>\" <a@x.test>", 0, "a@x.test", 0 },
	{ "\"Foo, Bar\" <a@x.test>, b@x.test", 0, "a@x.test|b@x.test", 0 },
	{ "Foo (Bar, c@d.test) <a@x.test>", 0, "a@x.test", 0 },
	{ "a@x.test (c@d.test)", 0, "a@x.test", 0 },
	{ "(a@b.test) c@d.test", 0, "c@d.test", 0 },
	{ "(<bcc@evil.test>, x) a@x.test", 0, "a@x.test", 0 },

	/* RFC 2047 and RFC 6532 */
	{ "=?UTF-8?Q?J=C3=BCrgen?= <j@x.test>", 0, "j@x.test", 0 },
	{ "=?utf-8?B?SsO8cmdlbg==?= <j@x.test>, =?iso-8859-1?q?M=FCller?= "
	    "<m@x.test>", 0, "j@x.test|m@x.test", 0 },
	{ "=?utf-8?q?a@b?= <c@x.test>", 0, "c@x.test", 0 }, /* broken */
	{ "J\xc3\xbcrgen <j\xc3\xbcrgen@B\xc3\xbc" "cher.example>", 0,
	    "j\xc3\xbcrgen@b\xc3\xbc" "cher.example", 0 },
	{ "\"\xc3\x9cnal\" <\xc3\xbcnal@EXAMPLE.org>", 0,
	    "\xc3\xbcnal@example.org", 0 },
	{ "\xff@x.test, b@x.test", 0, "b@x.test", 1 },	/* not UTF-8 */
	{ "\xc0\xaf@x.test", 0, "", 1 },		/* overlong */
	{ "\xed\xa0\x80@x.test", 0, "", 1 },		/* surrogate */
	{ "a@x\xc3", 0, "", 1 },			/* truncated */

	/* unterminated parts */
	{ "\"Foo <a@x.test>, b@x.test", 0, "", 1 },
	{ "a@x.test, b@x.test (oops", 0, "a@x.test", 1 },
	{ "Foo <a@x.test, b@x.test", 0, "", 1 },
	{ "a@[192.0.2.1, b@x.test", 0, "", 1 },
	{ "a@x.test, \"b\\", 0, "a@x.test", 1 },
	{ "a@x.test, (b\\", 0, "a@x.test", 1 },
	{ "a@x.test)", 0, "", 1 },

	/* NUL bytes */
	{ "a\0b@x.test, c@x.test", 20, "c@x.test", 1 },
	{ "\"a\0b\"@x.test", 12, "", 1 },
	{ "a@x.test (x\0y), c@x.test", 24, "a@x.test|c@x.test", 0 },
	{ "a@x.test\0", 9, "", 1 },
	{ "\0", 1, "", 1 },
	{ "a@x.test, c@x.test", 8, "a@x.test", 0 },	/* len is the end */

	/* comments */
	{ "a@x.test (a (b (c) d) e)", 0, "a@x.test", 0 },
	{ "(\\() a@x.test", 0, "a@x.test", 0 },
	{ "a@x.test (()", 0, "", 1 },
};

/* "a|b|c" from the list. */
static void
joined(const struct addrlist *l, char *buf, size_t len)
{
	size_t i, o = 0;

	buf[0] = '\0';
	for (i = 0; i < l->count; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%s",
		    i > 0 ? "|" : "", l->items[i]);
}

static void
test_table(void **state)
{
	char got[2048], err[256];
	size_t i, len;
	int bad;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		struct addrlist l = ADDRLIST_INIT;

		len = cases[i].len != 0 ? cases[i].len :
		    strlen(cases[i].value);
		bad = addrlist_parse(cases[i].value, len, &l, err,
		    sizeof(err));
		joined(&l, got, sizeof(got));
		if (bad != cases[i].bad || strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu '%s': got '%s' bad %d, want '%s' "
			    "bad %d", i, cases[i].value, got, bad,
			    cases[i].want, cases[i].bad);
		addrlist_free(&l);
	}
}

/* The envelope side: address_canonical() of RCPT TO arguments. */
static void
test_canonical_envelope(void **state)
{
	static const struct { const char *in, *out; } env[] = {
		{ "<\"john doe\"@Example.COM>", "\"john doe\"@example.com" },
		{ "<\"john\"@x.test>", "john@x.test" },
		{ "\"j\\ohn\"@x.test", "john@x.test" },
		{ "John@X.ORG", "John@x.org" },
		{ " <a@b.test> ", "a@b.test" },
		{ "@a.test,@b.test:u@c.test", "u@c.test" },
		{ "<@a.test:u@c.test>", "u@c.test" },
		{ "a..b@x.test", "a..b@x.test" },
		{ "\"a..b\"@x.test", "a..b@x.test" },
		{ ".@x.test", ".@x.test" },
		{ "\"\"@x.test", "\"\"@x.test" },
		{ "\"a\\\"b\"@x.test", "\"a\\\"b\"@x.test" },
		{ "\"a@b\"@x.test", "\"a@b\"@x.test" },
		{ "u@[IPv6:2001:DB8::1]", "u@[ipv6:2001:db8::1]" },
		{ "j\xc3\xbcrgen@B\xc3\x9c" "CHER.example",
		    "j\xc3\xbcrgen@b\xc3\x9c" "cher.example" },
		{ "a b@x.test", NULL },
		{ "\"unterminated@x.test", NULL },
		{ "\"a\"b@x.test", NULL },
		{ "a@", NULL },
		{ "@x.test", NULL },
		{ "<>", NULL },
		{ "a@b@c.test", NULL },
		{ "a\001@x.test", NULL },
		{ "\"a\tb\"@x.test", NULL },
		{ "\"a\\", NULL },
		{ "\xc3@x.test", NULL },
		{ "\xf4\x90\x80\x80@x.test", NULL },	/* above U+10FFFF */
		{ "a@[1 2]", NULL },
		{ "a@[]", NULL },
		{ "a@x..test", NULL },
		{ "a@.x.test", NULL },
		{ "@a.test", NULL },
		{ "no-at-sign", NULL },
	};
	char out[ADDRESS_MAX + 1], again[ADDRESS_MAX + 1];
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < N(env); i++) {
		n = address_canonical(env[i].in, out, sizeof(out));
		if (env[i].out == NULL) {
			if (n != -1)
				fail_msg("accepted '%s' as '%s'", env[i].in,
				    out);
			continue;
		}
		if (n < 0 || strcmp(out, env[i].out) != 0 ||
		    (size_t)n != strlen(out))
			fail_msg("'%s': got '%s' (%d), want '%s'", env[i].in,
			    n < 0 ? "" : out, n, env[i].out);
		/* A canonical form is its own canonical form. */
		assert_int_equal(address_canonical(out, again, sizeof(again)),
		    n);
		assert_string_equal(again, out);
	}
}

/*
 * Header and envelope spelling of the same mailbox must compare equal,
 * and different mailboxes must not; in doubt (case of the local part),
 * an envelope address is not found, i.e. it stays hidden.
 */
static void
test_contains(void **state)
{
	static const struct {
		const char *header, *envelope;
		bool visible;
	} pairs[] = {
		{ "\"john doe\"@Example.com", "<\"john doe\"@example.com>",
		    true },
		{ "John <\"john\"@x.test>", "<john@X.TEST>", true },
		{ "\"j\\ohn\"@x.test", "<\"john\"@x.test>", true },
		{ "a..b@x.test", "<a..b@x.test>", true },
		{ "a..b@x.test", "<\"a..b\"@x.test>", true },
		{ "<@r.test:u@x.test>", "<u@x.test>", true },
		{ "u@[IPv6:2001:DB8::1]", "<u@[ipv6:2001:db8::1]>", true },
		{ "bob@x.test", "<Bob@x.test>", false },
		{ "Bob@x.test", "<bob@x.test>", false },
		{ "\"john doe\"@x.test", "<johndoe@x.test>", false },
		{ "a@x.test", "<a@x.test.>", false },
		{ "\"Foo <bcc@x.test>\" <a@x.test>", "<bcc@x.test>", false },
		{ "a@x.test (bcc@x.test)", "<bcc@x.test>", false },
		{ "a@x.test", "not an address", false },
		{ "a@x.test", "", false },
		{ "j\xc3\xbcrgen@x.test", "<j\xc3\xbcrgen@X.test>", true },
		/* No Unicode normalisation: NFC and NFD differ. */
		{ "j\xc3\xbcrgen@x.test", "<ju\xcc\x88rgen@x.test>", false },
	};
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < N(pairs); i++) {
		struct addrlist l = ADDRLIST_INIT;

		assert_int_equal(addrlist_parse(pairs[i].header,
		    strlen(pairs[i].header), &l, err, sizeof(err)), 0);
		if (addrlist_contains(&l, pairs[i].envelope) !=
		    pairs[i].visible)
			fail_msg("pair %zu: '%s' in '%s' should be %s", i,
			    pairs[i].envelope, pairs[i].header,
			    pairs[i].visible ? "visible" : "hidden");
		addrlist_free(&l);
	}
}

/* Comments nest by a counter: 64 levels are fine, 65 are garbage, and
 * half a million do not exhaust anything. */
static void
test_comment_depth(void **state)
{
	static const size_t depths[] = { 64, 65, 500000 };
	struct addrlist l = ADDRLIST_INIT;
	char err[256], *v;
	size_t i, d, o;

	(void)state;
	for (i = 0; i < N(depths); i++) {
		d = depths[i];
		if ((v = malloc(2 * d + 32)) == NULL)
			fail();
		o = (size_t)sprintf(v, "a@x.test ");
		memset(v + o, '(', d);
		memset(v + o + d, ')', d);
		o += 2 * d;
		o += (size_t)sprintf(v + o, ", b@x.test");
		assert_int_equal(addrlist_parse(v, o, &l, err, sizeof(err)),
		    d <= ADDRLIST_MAX_COMMENT_DEPTH ? 0 : 1);
		assert_true(addrlist_contains(&l, "b@x.test"));
		assert_int_equal(addrlist_contains(&l, "a@x.test"),
		    d <= ADDRLIST_MAX_COMMENT_DEPTH);
		addrlist_free(&l);
		/* Unterminated: the rest of the value is garbage. */
		assert_int_equal(addrlist_parse(v, o - 12, &l, err,
		    sizeof(err)), 1);
		assert_int_equal(l.count, 0);
		free(v);
	}
}

/* Addresses up to ADDRESS_MAX octets; values up to ADDRLIST_MAX_VALUE. */
static void
test_lengths(void **state)
{
	struct addrlist l = ADDRLIST_INIT;
	char err[256], *v;
	size_t max = ADDRLIST_MAX_VALUE;

	(void)state;
	if ((v = malloc(max + 2)) == NULL)
		fail();
	/* 989 + "@x.test" (7) + "," ... a 998-octet address is fine. */
	memset(v, 'a', 991);
	memcpy(v + 991, "@x.test", 7);
	assert_int_equal(addrlist_parse(v, 998, &l, err, sizeof(err)), 0);
	assert_int_equal(l.count, 1);
	assert_int_equal(strlen(l.items[0]), 998);
	assert_true(addrlist_contains(&l, l.items[0]));
	addrlist_free(&l);
	/* One more octet, or a quoted local part that long. */
	memset(v, 'a', 992);
	memcpy(v + 992, "@x.test", 7);
	assert_int_equal(addrlist_parse(v, 999, &l, err, sizeof(err)), 1);
	assert_int_equal(l.count, 0);
	memset(v, 'a', 999);		/* "aaaa a...a"@x.test */
	v[0] = '"';
	v[5] = ' ';
	v[991] = '"';
	memcpy(v + 992, "@x.test", 7);
	assert_int_equal(addrlist_parse(v, 999, &l, err, sizeof(err)), 1);
	assert_int_equal(addrlist_parse(v + 1, 998, &l, err, sizeof(err)),
	    1);				/* unquoted: "aaaa" "a...a" */
	v[990] = '"';
	memcpy(v + 991, "@x.test", 7);
	assert_int_equal(addrlist_parse(v, 998, &l, err, sizeof(err)), 0);
	assert_int_equal(strlen(l.items[0]), 998);
	addrlist_free(&l);
	memset(v, 'a', 5000);
	memcpy(v + 5000, "@x.test", 7);
	assert_int_equal(addrlist_parse(v, 5007, &l, err, sizeof(err)), 1);

	/* Exactly the limit: spaces and commas, then an address. */
	memset(v, ' ', max);
	memset(v, ',', 1000);
	memcpy(v + max - 8, "a@x.test", 8);
	assert_int_equal(addrlist_parse(v, max, &l, err, sizeof(err)), 0);
	assert_int_equal(l.count, 1);
	addrlist_free(&l);
	err[0] = '\0';
	assert_int_equal(addrlist_parse(v, max + 1, &l, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "longer than"));
	assert_int_equal(l.count, 0);
	free(v);
}

/* At most ADDRLIST_MAX_ADDRS distinct addresses; duplicates are free. */
static void
test_address_limit(void **state)
{
	struct addrlist l = ADDRLIST_INIT;
	size_t cap = (ADDRLIST_MAX_ADDRS + 1) * 16, o = 0;
	char err[256], *v = malloc(cap);
	int i;

	(void)state;
	assert_non_null(v);
	for (i = 0; i < ADDRLIST_MAX_ADDRS; i++)
		o += (size_t)sprintf(v + o, "u%d@x.test,", i);
	assert_int_equal(addrlist_parse(v, o, &l, err, sizeof(err)), 0);
	assert_int_equal(l.count, ADDRLIST_MAX_ADDRS);
	assert_true(addrlist_contains(&l, "u0@x.test"));
	assert_true(addrlist_contains(&l, "u9999@x.test"));
	assert_false(addrlist_contains(&l, "u10000@x.test"));
	/* Again: all duplicates. */
	assert_int_equal(addrlist_parse(v, o, &l, err, sizeof(err)), 0);
	assert_int_equal(l.count, ADDRLIST_MAX_ADDRS);
	/* One more distinct address is an error. */
	err[0] = '\0';
	assert_int_equal(addrlist_parse("new@x.test", 10, &l, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 10000"));
	assert_int_equal(l.count, ADDRLIST_MAX_ADDRS);
	addrlist_free(&l);
	assert_int_equal(l.count, 0);
	assert_null(l.items);
	addrlist_free(&l);	/* twice is harmless */
	free(v);
}

/* The fields whose addresses are visible. */
static void
test_visible_from_headers(void **state)
{
	static const struct header plain[] = {
		{ "Received", " from x by y" },
		{ "From", " s@x.test" },
		{ "To", " A <a@x.test>, b@x.test" },
		{ "Cc", " c@x.test, junk junk" },
		{ "Bcc", " d@x.test" },
		{ "Subject", " e@x.test" },
	};
	static const struct header names[] = {
		{ "TO", " a@x.test" },
		{ "cc ", " c@x.test" },
		{ "To", " second@x.test" },	/* repeated: not counted */
		{ "CC", " third@x.test" },
		{ "Resent-Toady", " f@x.test" },/* not a resent field */
		{ "X-To", " g@x.test" },
	};
	/* RFC 5322 A.3, with an older block below. */
	static const struct header resent[] = {
		{ "Received", " by z" },
		{ "Resent-From", " Mary Smith <mary@example.net>" },
		{ "Resent-To", " Jane Brown <j-brown@other.example>" },
		{ "Resent-Date", " Mon, 24 Nov 1997 14:22:01 -0800" },
		{ "Resent-Message-ID", " <78910@example.net>" },
		{ "Received", " by y" },
		{ "Resent-From", " old@x.test" },
		{ "Resent-To", " older@x.test" },
		{ "Date", " Fri, 21 Nov 1997 09:55:06 -0600" },
		{ "From", " John Doe <jdoe@machine.example>" },
		{ "To", " Mary Smith <mary@example.net>" },
		{ "Cc", " cc@x.test" },
	};
	/* Resent to x and y; x also in To: only x is visible either way. */
	static const struct header both[] = {
		{ "Resent-To", " x@x.test, y@x.test" },
		{ "Resent-From", " r@x.test" },
		{ "To", " z@x.test, X@X.test" },
		{ "Cc", " x@x.test" },
	};
	/* A repeated name starts the next block. */
	static const struct header twice[] = {
		{ "Resent-Cc", " one@x.test, (" },
		{ "Resent-Date", " today" },
		{ "Resent-Cc", " two@x.test" },
		{ "To", " one@x.test, two@x.test" },
	};
	/* A block without Resent-To/Cc: nobody is visible. */
	static const struct header bcc_only[] = {
		{ "Resent-From", " s@x.test" },
		{ "Resent-Bcc", " h@x.test" },
		{ "To", " a@x.test" },
	};
	struct addrlist l = ADDRLIST_INIT;
	struct header big = { "To", NULL };
	char got[1024], err[256];

	(void)state;
	assert_int_equal(addrlist_visible_from_headers(plain, N(plain), &l,
	    err, sizeof(err)), 1);
	joined(&l, got, sizeof(got));
	assert_string_equal(got, "a@x.test|b@x.test|c@x.test");
	assert_false(addrlist_contains(&l, "d@x.test"));
	addrlist_free(&l);

	assert_int_equal(addrlist_visible_from_headers(names, N(names), &l,
	    err, sizeof(err)), 0);
	joined(&l, got, sizeof(got));
	assert_string_equal(got, "a@x.test|c@x.test");
	addrlist_free(&l);

	/* Mary is in To but was not resent to; Jane is not in To/Cc. */
	assert_int_equal(addrlist_visible_from_headers(resent, N(resent), &l,
	    err, sizeof(err)), 0);
	assert_int_equal(l.count, 0);

	assert_int_equal(addrlist_visible_from_headers(both, N(both), &l,
	    err, sizeof(err)), 0);
	joined(&l, got, sizeof(got));
	assert_string_equal(got, "x@x.test");
	addrlist_free(&l);

	assert_int_equal(addrlist_visible_from_headers(twice, N(twice), &l,
	    err, sizeof(err)), 1);
	joined(&l, got, sizeof(got));
	assert_string_equal(got, "one@x.test");
	addrlist_free(&l);

	assert_int_equal(addrlist_visible_from_headers(bcc_only,
	    N(bcc_only), &l, err, sizeof(err)), 0);
	assert_int_equal(l.count, 0);

	assert_int_equal(addrlist_visible_from_headers(NULL, 0, &l, err,
	    sizeof(err)), 0);
	assert_int_equal(l.count, 0);

	/* Too long a value: an error for the caller to tempfail. */
	if ((big.value = malloc(ADDRLIST_MAX_VALUE + 2)) == NULL)
		fail();
	memset(big.value, ' ', ADDRLIST_MAX_VALUE + 1);
	big.value[ADDRLIST_MAX_VALUE + 1] = '\0';
	assert_int_equal(addrlist_visible_from_headers(&big, 1, &l, err,
	    sizeof(err)), -1);
	free(big.value);
	addrlist_free(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_canonical_envelope),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_comment_depth),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_address_limit),
		cmocka_unit_test(test_visible_from_headers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
