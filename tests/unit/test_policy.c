/*
 * test_policy.c -- smime-milter.policy(5): the decision table (one cmocka
 * case per row), every parser error, includes, groups from a resolver,
 * requests and the subject tag.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "policy.h"
#include "policy_int.h"

static const char policy_text[] =
    "# test policy\n"					/* 1 */
    "group staff = alice@example.com, Bob@Example.COM\n"	/* 2 */
    "    *@hr.example.com   # continuation\n"		/* 3 */
    "group all-internal = @staff, *@*.corp.example\n"	/* 4 */
    "group everyone = *\n"				/* 5 */
    "group nested = @all-internal\n"			/* 6 */
    "default sign=clear encrypt=opportunistic missing-cert=defer\n" /* 7 */
    "from *@example.com to *@partner.org encrypt=required "
    "missing-cert=reject\n"				/* 8 */
    "from @staff to *@*.gov.example encrypt=required\n"	/* 9 */
    "    missing-cert=notify cipher=aes256-gcm\n"	/* 10 */
    "to ceo@partner.org encrypt=never sign=opaque\n"	/* 11 */
    "from *@*.corp.example to * sign=none\n"		/* 12 */
    "from @nested to *@secret.example encrypt=required "
    "key-transport=rsa-oaep\n"				/* 13 */
    "from * to *@bcc.example bcc=shared protect-headers=yes\n" /* 14 */
    "from mallory@evil.example encrypt=never sign=none\n" /* 15 */
    "to j\xc3\xb6rg@m\xc3\xbcller.example encrypt=required "
    "digest=sha512\n"					/* 16 */
    "from @everyone to *@everyone.example sign=opaque "
    "encrypt-to-sender=yes\n"				/* 17 */
    "FROM *@Upper.Example TO *@partner.org allow-plain-ok=yes "
    "encrypt=required missing-cert=plain\n"		/* 18 */
    "to *@partner.org\n";				/* 19 */

struct row {
	const char *from, *to;
	unsigned line;		/* 0: default */
	int encrypt, sign, missing;	/* -1: don't care */
};

#define E_N POL_ENCRYPT_NEVER
#define E_O POL_ENCRYPT_OPPORTUNISTIC
#define E_R POL_ENCRYPT_REQUIRED
#define X -1

static const struct row rows[] = {
	/* exact domain, first match, defaults inherited */
	{ "alice@example.com", "bob@partner.org", 8, E_R, SIGN_CLEAR,
	    POL_MISSING_REJECT },
	{ "x@example.com", "y@partner.org", 8, E_R, X, X },
	{ "X@EXAMPLE.COM", "Y@PARTNER.ORG", 8, E_R, X, X },
	{ "x@Example.Com", "y@Partner.Org", 8, E_R, X, X },
	/* precedence: line 8 before line 11 */
	{ "alice@example.com", "ceo@partner.org", 8, E_R, X, X },
	{ "x@other.com", "ceo@partner.org", 11, E_N, SIGN_OPAQUE, X },
	{ "x@other.com", "CEO@partner.ORG", 11, E_N, X, X },
	/* *@domain is the domain only, not subdomains */
	{ "x@sub.example.com", "y@partner.org", 19, E_O, SIGN_CLEAR,
	    POL_MISSING_DEFER },
	{ "x@example.com.evil", "y@partner.org", 19, X, X, X },
	{ "x@notexample.com", "y@partner.org", 19, X, X, X },
	/* groups: listed, domain member, case-insensitive member */
	{ "alice@example.com", "a@agency.gov.example", 9, E_R, X,
	    POL_MISSING_NOTIFY },
	{ "bob@example.com", "a@agency.gov.example", 9, E_R, X, X },
	{ "BOB@EXAMPLE.COM", "a@x.agency.gov.example", 9, E_R, X, X },
	{ "hr1@hr.example.com", "a@agency.gov.example", 9, E_R, X, X },
	{ "hr1@HR.example.com", "a@AGENCY.gov.example", 9, E_R, X, X },
	{ "carol@example.com", "a@agency.gov.example", 0, E_O, SIGN_CLEAR,
	    POL_MISSING_DEFER },
	{ "hr1@sub.hr.example.com", "a@agency.gov.example", 0, X, X, X },
	/* *@*.domain: strict subdomains only */
	{ "alice@example.com", "a@gov.example", 0, X, X, X },
	{ "alice@example.com", "a@deep.er.gov.example", 9, E_R, X, X },
	{ "alice@example.com", "a@xgov.example", 0, X, X, X },
	{ "a@b.corp.example", "z@anything.test", 12, E_O, SIGN_NONE, X },
	{ "a@corp.example", "z@anything.test", 0, X, SIGN_CLEAR, X },
	{ "a@x.y.corp.example", "z@anything.test", 12, X, SIGN_NONE, X },
	/* nested groups */
	{ "alice@example.com", "s@secret.example", 13, E_R, X, X },
	{ "hr1@hr.example.com", "s@secret.example", 13, E_R, X, X },
	{ "a@b.corp.example", "s@secret.example", 12, X, SIGN_NONE, X },
	{ "carol@example.com", "s@secret.example", 0, X, X, X },
	/* "*" on both sides */
	{ "anyone@anywhere.test", "x@bcc.example", 14, X, X, X },
	{ "", "x@bcc.example", 14, X, X, X },
	/* sender-only rule (to *) */
	{ "mallory@evil.example", "a@b.test", 15, E_N, SIGN_NONE, X },
	{ "MALLORY@evil.example", "a@b.test", 15, E_N, X, X },
	{ "mallory2@evil.example", "a@b.test", 0, X, X, X },
	/* UTF-8: exact bytes above 127, ASCII folded */
	{ "a@b.test", "j\xc3\xb6rg@m\xc3\xbcller.example", 16, E_R, X, X },
	{ "a@b.test", "J\xc3\xb6RG@M\xc3\xbcLLER.example", 16, E_R, X, X },
	{ "a@b.test", "J\xc3\x96rg@m\xc3\xbcller.example", 0, X, X, X },
	{ "a@b.test", "\xff\xfe@\xc3", 0, X, X, X },
	/* a group of "*" */
	{ "someone@else.test", "x@everyone.example", 17, X, SIGN_OPAQUE, X },
	{ "", "x@everyone.example", 0, X, X, X },
	/* keywords and patterns in upper case */
	{ "a@upper.example", "b@partner.org", 18, E_R, X,
	    POL_MISSING_PLAIN },
	{ "a@UPPER.EXAMPLE", "b@partner.org", 18, E_R, X, X },
	/* rule with no settings = the defaults */
	{ "nobody@nowhere.test", "b@partner.org", 19, E_O, SIGN_CLEAR,
	    POL_MISSING_DEFER },
	/* no match at all */
	{ "a@b.test", "c@d.test", 0, E_O, SIGN_CLEAR, POL_MISSING_DEFER },
	{ "", "", 0, X, X, X },
	{ "no-at-sign", "c@d.test", 0, X, X, X },
	{ "a@", "c@d.test", 0, X, X, X },
	{ "@", "@", 0, X, X, X },
	{ "a@b.test", "no-domain@", 0, X, X, X },
	/* the null sender matches only "*" */
	{ "", "y@partner.org", 19, X, X, X },
	{ "", "ceo@partner.org", 11, X, X, X },
	{ "", "a@agency.gov.example", 0, X, X, X },
	/* the same mailbox spelled otherwise meets the same rules (the MTA
	 * routes it alike: "nocert"@x must not escape nocert@x's rule) */
	{ "alice@example.com ", "a@agency.gov.example", 9, X, X, X },
	{ "\"alice\"@example.com", "a@agency.gov.example", 9, X, X, X },
	{ "<@relay.test:alice@example.com>", "a@agency.gov.example", 9, X, X,
	    X },
	/* address look-alikes */
	{ "alice@example.com.", "a@agency.gov.example", 0, X, X, X },
	{ "alice@example.com", "a@agency.gov.example.", 0, X, X, X },
	{ "a@example.com", "x@partner.org.", 0, X, X, X },
	{ "a@x.example.com@example.com", "y@partner.org", 8, X, X, X },
	{ "a@example.com@x.corp.example", "z@anything.test", 12, X, X, X },
	/* last rule before default */
	{ "x@sub.example.com", "anybody@partner.org", 19, X, X, X },
	{ "alice@example.com", "z@anything.test", 0, X, X, X },
	{ "alice@example.com", "s@SECRET.EXAMPLE", 13, X, X, X },
	{ "a@z.corp.example", "x@bcc.example", 12, X, X, X },
	{ "q@other.test", "x@bcc.example", 14, X, X, X },
};

static struct policy *shared;

static int
load_shared(void **state)
{
	char err[300];

	(void)state;
	shared = policy_parse("test.policy", policy_text,
	    sizeof(policy_text) - 1, NULL, NULL, err, sizeof(err));
	if (shared == NULL)
		fprintf(stderr, "%s\n", err);
	return shared == NULL ? -1 : 0;
}

static int
free_shared(void **state)
{
	(void)state;
	policy_release(shared);
	return 0;
}

static void
test_row(void **state)
{
	const struct row *r = *state;
	struct policy_decision d;

	policy_decide(shared, r->from, r->to, &d);
	if (d.line != r->line)
		fail_msg("%s -> %s: matched line %u, expected %u", r->from,
		    r->to, d.line, r->line);
	assert_false(d.unavailable);
	if (r->encrypt != X)
		assert_int_equal(d.s.encrypt, r->encrypt);
	if (r->sign != X)
		assert_int_equal(d.s.sign, r->sign);
	if (r->missing != X)
		assert_int_equal(d.s.missing_cert, r->missing);
	/* The index must agree with trying every rule in order. */
	policy_decide_linear(shared, r->from, r->to, &d);
	assert_int_equal(d.line, r->line);
}

/* Settings on continuation lines belong to the rule. */
static void
test_continuation_settings(void **state)
{
	struct policy_decision d;

	(void)state;
	policy_decide(shared, "alice@example.com", "a@agency.gov.example", &d);
	assert_int_equal(d.s.cipher, CMS_CIPHER_AES256_GCM);
	policy_decide(shared, "alice@example.com", "s@secret.example", &d);
	assert_int_equal(d.s.key_transport, CMS_KT_RSA_OAEP);
	assert_int_equal(d.s.cipher, CMS_CIPHER_AUTO);
	policy_decide(shared, "x@y.test", "x@bcc.example", &d);
	assert_int_equal(d.s.bcc, POL_BCC_SHARED);
	assert_true(d.s.protect_headers);
	assert_int_equal(policy_rule_count(shared), 11);
	assert_int_equal(policy_group_count(shared), 4);
}

/* ---- parser errors ------------------------------------------------ */

static const struct {
	const char *text, *error;
} bad[] = {
	{ "bogus x\n", "p:1:1: unknown keyword \"bogus\"" },
	{ "\n\nfrom\n", "p:3:1: from needs a pattern" },
	{ "from a@b to\n", "p:1:10: to needs a pattern" },
	{ "from a@b sign=maybe\n", "p:1:15: sign: \"maybe\" is not one of" },
	{ "from a@b colour=red\n", "p:1:10: unknown setting \"colour\"" },
	{ "from a@b sign=clear sign=none\n", "p:1:21: sign given twice" },
	{ "from a@b sign\n", "p:1:10: expected setting=value" },
	{ "from a@b =clear\n", "p:1:10: expected setting=value" },
	{ "from x@*\n", "p:1:6: \"x@*\": wildcards only" },
	{ "to a@\n", "p:1:4: \"a@\" is not an address" },
	{ "to <a@b>\n", "p:1:4: \"<a@b>\" is not an address" },
	{ "to a\n", "p:1:4: \"a\" is not an address" },
	{ "to *@.com\n", "p:1:4: \"*@.com\": bad domain" },
	{ "to *@*.\n", "p:1:4: \"*@*.\": bad domain" },
	{ "to *@a..b\n", "p:1:4: \"*@a..b\": bad domain" },
	{ "from @nosuch\n", "p:1:6: group nosuch is not defined" },
	{ "to @bad!name\n", "p:1:4: bad group name" },
	{ "group\n", "p:1:1: group needs a name" },
	{ "group a\n", "p:1:7: expected \"group NAME = members\"" },
	{ "group a b = x@y\n", "p:1:7: expected \"group NAME = members\"" },
	{ "group a = x@y\ngroup A = z@y\n", "p:2:7: group A already defined "
	    "at p:1" },
	{ "group bad! = x@y\n", "p:1:7: bad group name" },
	{ "group a = x@y, bogus\n", "p:1:16: \"bogus\" is not an address" },
	{ "group a = @b\ngroup b = @a\n", "group cycle" },
	{ "group a = @a\n", "p:1: group cycle: a includes a" },
	{ "group a = x@y, @c\ngroup b = @a\ngroup c = @b\n", "group cycle" },
	{ "group x = ldap:\n", "p:1:11: expected \"ldap:DIRECTORY DN\"" },
	{ "group x = ldap:corp\n", "p:1:11: expected \"ldap:DIRECTORY DN\"" },
	{ "default sign=clear\ndefault sign=none\n", "p:2:1: default already "
	    "given at p:1" },
	{ "   from a@b\n", "p:1:4: continuation line without a line" },
	{ "# c\n   from a@b\n", "p:2:4: continuation line without a line" },
	{ "include\n", "p:1:1: include takes one path" },
	{ "include a b\n", "p:1:1: include takes one path" },
	{ "include /nonexistent/policy\n", "p:1:9: include "
	    "/nonexistent/policy: No such file" },
	{ "default encrypt=sometimes\n", "p:1:17: encrypt: \"sometimes\" is "
	    "not one of never, opportunistic, required" },
	{ "to a@b missing-cert=bounce\n", "missing-cert: \"bounce\" is not one "
	    "of reject, defer, notify, sign-only, plain" },
	{ "to a@b cipher=des\n", "cipher: \"des\"" },
	{ "to a@b key-transport=rsa\n", "key-transport: \"rsa\"" },
	{ "to a@b digest=md5\n", "digest: \"md5\"" },
	{ "to a@b bcc=none\n", "bcc: \"none\"" },
	{ "to a@b encrypt-to-sender=maybe\n", "encrypt-to-sender: \"maybe\"" },
	{ "to a@b protect-headers=1\n", "protect-headers: \"1\"" },
	{ "to a@b allow-plain-ok=on\n", "allow-plain-ok: \"on\"" },
	{ "list\n", "p:1:1: list needs an address" },
	{ "list *@x.test = a@b\n", "p:1:6: a list is one address" },
	{ "list all@x.test = a@b, *@y.test\n", "p:1: list all@x.test: member "
	    "*@y.test is not an address" },
	{ "list all@x.test = *\n", "p:1: list all@x.test: \"*\" is not" },
	{ "list all@x.test = a@b\nlist ALL@x.test = c@d\n", "p:2:6: list "
	    "all@x.test already defined at p:1" },
};

static void
test_parse_errors(void **state)
{
	char err[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct policy *p = policy_parse("p", bad[i].text,
		    strlen(bad[i].text), NULL, NULL, err, sizeof(err));

		if (p != NULL)
			fail_msg("accepted: %s", bad[i].text);
		if (strstr(err, bad[i].error) == NULL)
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i].text, err,
			    bad[i].error);
	}
}

static void
test_nul_and_long(void **state)
{
	static const char nul[] = "to a@b\n\0to c@d\n";
	char err[300], *big;
	struct policy *p;

	(void)state;
	p = policy_parse("p", nul, sizeof(nul) - 1, NULL, NULL, err,
	    sizeof(err));
	assert_null(p);
	assert_non_null(strstr(err, "p:2: NUL byte"));
	big = malloc(2100);
	assert_non_null(big);
	memcpy(big, "to ", 3);
	memset(big + 3, 'a', 1000);
	memcpy(big + 1003, "@b.test\n", 9);
	p = policy_parse("p", big, strlen(big), NULL, NULL, err, sizeof(err));
	assert_null(p);
	assert_non_null(strstr(err, "longer than 998"));
	free(big);
}

/* ---- includes ----------------------------------------------------- */

static char dir[64];

static void
write_file(const char *name, const char *text)
{
	char path[200];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
test_includes(void **state)
{
	char path[200], err[300];
	struct policy_decision d;
	struct policy *p;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_policy.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/policy.d", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	write_file("main.policy", "include groups.policy\n"
	    "include policy.d/*.policy\n"
	    "include empty.d/*.policy\n"
	    "to *@last.example sign=opaque\n");
	write_file("groups.policy", "group vip = boss@example.com\n");
	write_file("policy.d/10-a.policy", "from @vip to * encrypt=required\n");
	write_file("policy.d/20-b.policy", "to x@y.example encrypt=never\n");
	write_file("policy.d/ignored.txt", "this is not policy\n");
	snprintf(path, sizeof(path), "%s/main.policy", dir);
	p = policy_load(path, NULL, NULL, err, sizeof(err));
	if (p == NULL)
		fail_msg("%s", err);
	policy_decide(p, "BOSS@example.com", "x@y.example", &d);
	assert_int_equal(d.line, 1);
	assert_non_null(strstr(d.file, "10-a.policy"));
	assert_int_equal(d.s.encrypt, POL_ENCRYPT_REQUIRED);
	policy_decide(p, "other@example.com", "x@y.example", &d);
	assert_non_null(strstr(d.file, "20-b.policy"));
	policy_decide(p, "other@example.com", "q@last.example", &d);
	assert_int_equal(d.line, 4);
	assert_non_null(strstr(d.file, "main.policy"));
	policy_release(p);

	/* An include cycle, and an error inside an included file. */
	write_file("loop1.policy", "include loop2.policy\n");
	write_file("loop2.policy", "\ninclude loop1.policy\n");
	snprintf(path, sizeof(path), "%s/loop1.policy", dir);
	assert_null(policy_load(path, NULL, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "loop2.policy:2:9: include"));
	assert_non_null(strstr(err, "includes itself"));
	write_file("inner.policy", "to a@b\nto a@b sign=wrong\n");
	write_file("outer.policy", "include inner.policy\n");
	snprintf(path, sizeof(path), "%s/outer.policy", dir);
	assert_null(policy_load(path, NULL, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "inner.policy:2:13: sign"));
	snprintf(path, sizeof(path), "%s/missing.policy", dir);
	assert_null(policy_load(path, NULL, NULL, err, sizeof(err)));
	assert_non_null(strstr(err, "missing.policy"));
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

/* ---- LDAP groups through a resolver -------------------------------- */

static int resolver_fail;

static int
fake_members(void *arg, const char *directory, const char *dn, char ***out,
    size_t *n, char *err, size_t errlen)
{
	(void)arg;
	if (resolver_fail || strcmp(directory, "corp") != 0 ||
	    strcmp(dn, "cn=sales, ou=groups,dc=example,dc=com") != 0) {
		snprintf(err, errlen, "server down");
		return -1;
	}
	*out = calloc(3, sizeof(char *));
	(*out)[0] = strdup("Sales1@Example.com");
	(*out)[1] = strdup("sales2@example.com");
	*n = 2;
	return 0;
}

static const char ldap_policy[] =
    "group sales = ldap:corp cn=sales, ou=groups,dc=example,dc=com\n"
    "group team = @sales, lead@example.com\n"
    "from @team to *@customer.example encrypt=required\n"
    "to *@customer.example encrypt=never\n";

static void
test_ldap_groups(void **state)
{
	struct policy_resolver res = { fake_members, NULL };
	struct policy *p, *p2, *p3;
	struct policy_decision d;
	const char *name, *source;
	size_t members;
	char err[300];

	(void)state;
	resolver_fail = 0;
	p = policy_parse("p", ldap_policy, sizeof(ldap_policy) - 1, &res, NULL,
	    err, sizeof(err));
	assert_non_null(p);
	assert_int_equal(policy_unresolved_count(p), 0);
	policy_group_info(p, 0, &name, &source, &members);
	assert_string_equal(name, "sales");
	assert_string_equal(source, "ldap:corp cn=sales, ou=groups,dc=example,"
	    "dc=com");
	assert_int_equal(members, 2);
	policy_decide(p, "sales1@example.com", "c@customer.example", &d);
	assert_int_equal(d.line, 3);
	policy_decide(p, "nobody@example.com", "c@customer.example", &d);
	assert_int_equal(d.line, 4);

	/* The directory is down: members read before are kept... */
	resolver_fail = 1;
	p2 = policy_parse("p", ldap_policy, sizeof(ldap_policy) - 1, &res, p,
	    err, sizeof(err));
	assert_non_null(p2);
	assert_int_equal(policy_unresolved_count(p2), 0);
	policy_decide(p2, "SALES2@example.com", "c@customer.example", &d);
	assert_int_equal(d.line, 3);
	assert_false(d.unavailable);

	/* ...and without them, a decision that depends on the group is
	 * unavailable, while one that does not is still made. */
	p3 = policy_parse("p", ldap_policy, sizeof(ldap_policy) - 1, &res,
	    NULL, err, sizeof(err));
	assert_non_null(p3);
	assert_int_equal(policy_unresolved_count(p3), 2);	/* sales, team */
	policy_decide(p3, "x@example.com", "c@customer.example", &d);
	assert_true(d.unavailable);
	assert_int_equal(d.line, 3);
	policy_decide(p3, "lead@example.com", "c@customer.example", &d);
	assert_false(d.unavailable);
	assert_int_equal(d.line, 3);
	policy_decide(p3, "x@example.com", "c@other.example", &d);
	assert_false(d.unavailable);
	assert_int_equal(d.line, 0);
	policy_decide(p3, "", "c@customer.example", &d);
	assert_false(d.unavailable);
	assert_int_equal(d.line, 4);
	policy_release(p);
	policy_release(p2);
	policy_release(p3);
}

/* ---- requests ----------------------------------------------------- */

static void
test_request_parse(void **state)
{
	unsigned unknown;

	(void)state;
	assert_int_equal(policy_request_parse("encrypt", &unknown),
	    POL_REQ_ENCRYPT);
	assert_int_equal(unknown, 0);
	assert_int_equal(policy_request_parse(" Encrypt, SIGN;plain-ok\r\n",
	    &unknown), POL_REQ_ENCRYPT | POL_REQ_SIGN | POL_REQ_PLAIN_OK);
	assert_int_equal(policy_request_parse("encrypted, plain, x", &unknown),
	    0);
	assert_int_equal(unknown, 3);
	assert_int_equal(policy_request_parse("", NULL), 0);
}

static void
test_apply_request(void **state)
{
	struct policy_decision d;

	(void)state;
	memset(&d, 0, sizeof(d));
	d.s.encrypt = POL_ENCRYPT_OPPORTUNISTIC;
	d.s.missing_cert = POL_MISSING_PLAIN;
	policy_apply_request(&d, POL_REQ_ENCRYPT);
	assert_int_equal(d.s.encrypt, POL_ENCRYPT_REQUIRED);
	assert_int_equal(d.s.missing_cert, POL_MISSING_REJECT);
	assert_int_equal(d.requested, POL_REQ_ENCRYPT);

	/* plain-ok without allow-plain-ok changes nothing */
	memset(&d, 0, sizeof(d));
	d.s.encrypt = POL_ENCRYPT_REQUIRED;
	d.s.missing_cert = POL_MISSING_DEFER;
	policy_apply_request(&d, POL_REQ_PLAIN_OK);
	assert_int_equal(d.s.missing_cert, POL_MISSING_DEFER);
	assert_int_equal(d.ignored, POL_REQ_PLAIN_OK);
	d.s.allow_plain_ok = true;
	policy_apply_request(&d, POL_REQ_PLAIN_OK);
	assert_int_equal(d.s.missing_cert, POL_MISSING_PLAIN);
	assert_int_equal(d.s.encrypt, POL_ENCRYPT_REQUIRED);

	/* encrypt + plain-ok: encrypt where possible, plain for the rest */
	memset(&d, 0, sizeof(d));
	d.s.allow_plain_ok = true;
	policy_apply_request(&d, POL_REQ_ENCRYPT | POL_REQ_PLAIN_OK);
	assert_int_equal(d.s.encrypt, POL_ENCRYPT_REQUIRED);
	assert_int_equal(d.s.missing_cert, POL_MISSING_PLAIN);

	/* sign raises none to clear, never changes opaque */
	memset(&d, 0, sizeof(d));
	policy_apply_request(&d, POL_REQ_SIGN);
	assert_int_equal(d.s.sign, SIGN_CLEAR);
	d.s.sign = SIGN_OPAQUE;
	policy_apply_request(&d, POL_REQ_SIGN);
	assert_int_equal(d.s.sign, SIGN_OPAQUE);

	/* a header can never lower: never stays... raised, never lowered */
	memset(&d, 0, sizeof(d));
	d.s.encrypt = POL_ENCRYPT_REQUIRED;
	d.s.missing_cert = POL_MISSING_NOTIFY;
	policy_apply_request(&d, POL_REQ_ENCRYPT | POL_REQ_SIGN);
	assert_int_equal(d.s.missing_cert, POL_MISSING_NOTIFY);
	assert_int_equal(d.ignored, POL_REQ_ENCRYPT);
}

static void
test_subject_tag(void **state)
{
	static const struct {
		const char *in, *tag, *out;
	} t[] = {
		{ "[secure] Hello", "[secure]", "Hello" },
		{ "Hello [SECURE]", "[secure]", "Hello" },
		{ " Re: [Secure] Hi there", "[secure]", " Re: Hi there" },
		{ "[secure]", "[secure]", "" },
		{ "x[secure]y", "[secure]", "xy" },
		{ "Hello", "[secure]", NULL },
		{ "Hello", "", NULL },
		{ "[secur", "[secure]", NULL },
	};
	char out[100];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		bool found = policy_subject_untag(t[i].in, t[i].tag, out,
		    sizeof(out));

		if (t[i].out == NULL)
			assert_false(found);
		else {
			assert_true(found);
			assert_string_equal(out, t[i].out);
		}
	}
}

static void
test_lists(void **state)
{
	static const char text[] =
	    "group team = Bob@Example.test, carol@example.test\n"
	    "list staff@example.test = alice@example.test, @team\n"
	    "list sales@example.test = ldap:corp cn=sales,dc=x\n"
	    "to staff@example.test encrypt=required missing-cert=notify\n";
	const char *const *m;
	char err[300];
	struct policy *p;
	size_t n;

	(void)state;
	p = policy_parse("p", text, sizeof(text) - 1, NULL, NULL, err,
	    sizeof(err));
	if (p == NULL)
		fail_msg("%s", err);
	assert_int_equal(policy_list_count(p), 2);
	assert_int_equal(policy_list_members(p, "Staff@EXAMPLE.test", &m, &n),
	    1);
	assert_int_equal(n, 3);
	/* Sorted member index order; lower-cased. */
	assert_string_equal(m[0], "alice@example.test");
	assert_string_equal(m[1], "bob@example.test");
	assert_string_equal(m[2], "carol@example.test");
	assert_int_equal(policy_list_members(p, "other@example.test", &m, &n),
	    0);
	/* An LDAP list never read: members unknown. */
	assert_int_equal(policy_list_members(p, "sales@example.test", &m, &n),
	    -1);
	policy_release(p);
}

static void
test_builtin_and_format(void **state)
{
	struct policy *p = policy_builtin();
	struct policy_decision d;
	char buf[400];

	(void)state;
	assert_non_null(p);
	policy_decide(p, "a@b.test", "c@d.test", &d);
	assert_int_equal(d.s.encrypt, POL_ENCRYPT_OPPORTUNISTIC);
	assert_int_equal(d.s.sign, SIGN_NONE);
	policy_settings_format(&d.s, buf, sizeof(buf));
	assert_string_equal(buf, "sign=none digest=sha256 "
	    "encrypt=opportunistic cipher=auto key-transport=auto "
	    "missing-cert=reject bcc=individual encrypt-to-sender=no "
	    "protect-headers=no allow-plain-ok=no");
	policy_release(p);
}

int
main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_continuation_settings),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_nul_and_long),
		cmocka_unit_test(test_includes),
		cmocka_unit_test(test_ldap_groups),
		cmocka_unit_test(test_request_parse),
		cmocka_unit_test(test_apply_request),
		cmocka_unit_test(test_subject_tag),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_builtin_and_format),
	};
	size_t nrows = sizeof(rows) / sizeof(rows[0]);
	size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
	struct CMUnitTest *tests = calloc(nrows + nfixed, sizeof(*tests));
	char (*names)[160] = calloc(nrows, sizeof(*names));
	size_t i;
	int rc;

	if (tests == NULL || names == NULL)
		return 1;
	/* One case per decision row, named after it. */
	for (i = 0; i < nrows; i++) {
		snprintf(names[i], sizeof(names[i]), "decide %s -> %s",
		    rows[i].from, rows[i].to);
		tests[i].name = names[i];
		tests[i].test_func = test_row;
		tests[i].initial_state = (void *)&rows[i];
	}
	memcpy(tests + nrows, fixed, sizeof(fixed));
	rc = _cmocka_run_group_tests("policy", tests, nrows + nfixed,
	    load_shared, free_shared);
	free(tests);
	free(names);
	return rc;
}
