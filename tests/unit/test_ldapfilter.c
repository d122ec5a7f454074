/*
 * test_ldapfilter.c -- RFC 4515 escaping and filter templates.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>
#include <strings.h>

#include <ldap.h>

#include "ldapfilter.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Values with explicit lengths, so that NUL can be part of one. */
static const struct {
	const char *in;
	size_t len;
	const char *want;
} escapes[] = {
	{ "alice@example.test", 18, "alice@example.test" },
	{ "", 0, "" },
	{ "*", 1, "\\2a" },
	{ "a*@example.test", 15, "a\\2a@example.test" },
	{ "(", 1, "\\28" },
	{ ")", 1, "\\29" },
	{ "\\", 1, "\\5c" },
	{ "a\0b", 3, "a\\00b" },
	{ "*)(mail=*", 9, "\\2a\\29\\28mail=\\2a" },
	{ "x)(|(objectClass=*", 18, "x\\29\\28|\\28objectClass=\\2a" },
	{ "a\\2ab", 5, "a\\5c2ab" },	/* an escape in input stays text */
	{ "tab\there", 8, "tab\\09here" },
	{ "nl\n", 3, "nl\\0a" },
	{ "del\x7f", 4, "del\\7f" },
	{ "j\xc3\xbcrgen@example.test", 20, "j\\c3\\bcrgen@example.test" },
	{ "\xff", 1, "\\ff" },
	{ "o'brien+tag@example.test", 24, "o'brien+tag@example.test" },
	{ "%s%%", 4, "%s%%" },	/* not special in values */
};

static void
test_escape_table(void **state)
{
	char out[256];
	size_t i;
	long n;

	(void)state;
	for (i = 0; i < N(escapes); i++) {
		n = ldap_filter_escape(escapes[i].in, escapes[i].len, out,
		    sizeof(out));
		if (n < 0 || strcmp(out, escapes[i].want) != 0 ||
		    (size_t)n != strlen(escapes[i].want))
			fail_msg("escape #%zu: got '%s' (%ld), want '%s'", i,
			    out, n, escapes[i].want);
	}
}

/*
 * For the five characters RFC 4515 names, we agree with libldap (which
 * writes upper-case hex; the server reads either).
 */
static void
test_escape_matches_libldap(void **state)
{
	static const char *const inputs[] = {
		"plain@example.test", "*", "a(b)c", "back\\slash",
		"*)(uid=*))(|(uid=*", "((((", "\\\\**))",
	};
	struct berval in, esc;
	char out[256];
	size_t i;

	(void)state;
	for (i = 0; i < N(inputs); i++) {
		in.bv_val = (char *)inputs[i];
		in.bv_len = strlen(inputs[i]);
		esc.bv_val = NULL;
		assert_int_equal(ldap_bv2escaped_filter_value(&in, &esc), 0);
		assert_true(ldap_filter_escape(inputs[i], strlen(inputs[i]),
		    out, sizeof(out)) >= 0);
		if (strcasecmp(out, esc.bv_val) != 0)
			fail_msg("'%s': ours '%s', libldap '%s'", inputs[i],
			    out, esc.bv_val);
		ber_memfree(esc.bv_val);
	}
}

static void
test_escape_buffer_limits(void **state)
{
	char out[8];

	(void)state;
	/* 7 characters + NUL fit exactly. */
	assert_int_equal(ldap_filter_escape("abcdefg", 7, out, 8), 7);
	assert_string_equal(out, "abcdefg");
	assert_int_equal(ldap_filter_escape("abcdefgh", 8, out, 8), -1);
	assert_string_equal(out, "");
	/* An escape is never cut in half. */
	assert_int_equal(ldap_filter_escape("abcd*", 5, out, 8), 7);
	assert_string_equal(out, "abcd\\2a");
	assert_int_equal(ldap_filter_escape("abcde*", 6, out, 8), -1);
	assert_string_equal(out, "");
	assert_int_equal(ldap_filter_escape("", 0, out, 1), 0);
	assert_int_equal(ldap_filter_escape("a", 1, out, 1), -1);
	assert_int_equal(ldap_filter_escape("", 0, NULL, 0), -1);
}

/* Templates: NULL want = valid, else a piece of the reason. */
static const struct {
	const char *tmpl;
	const char *want;
} templates[] = {
	{ "(mail=%s)", NULL },
	{ "(|(mail=%s)(mailAlternateAddress=%s)(otherMailbox=%s))", NULL },
	{ "(&(objectClass=inetOrgPerson)(mail=%s))", NULL },
	{ "(&(mail=%s)(description=100%%))", NULL },
	{ "(&(mail=%s)(cn=a\\2ab))", NULL },
	{ "(&(mail=%s)(cn=\\28x\\29))", NULL },
	{ "(mail=*)", "no %s" },
	{ "(mail=%%s)", "no %s" },
	{ "(mail=%d)", "'%d' at offset 6" },
	{ "(mail=%s)(x=%1)", "'%1'" },
	{ "(mail=%s%)", "'%)'" },
	{ "(mail=%s)%", "lone '%'" },
	{ "mail=%s", "must start with '('" },
	{ "", "must start with '('" },
	{ "(mail=%s", "unbalanced '('" },
	{ "((mail=%s)", "unbalanced '('" },
	{ "(mail=%s))", "unbalanced ')'" },
	{ "(mail=%s))(", "unbalanced ')'" },
	{ "(cn=a\\zz)(mail=%s)", "'\\' at offset 5" },
	{ "(mail=%s\\2)", "not followed by two hex digits" },
	{ "(mail=%s\\", "not followed by two hex digits" },
	{ "(mail=%s\t)", "control or non-ASCII" },
	{ "(mail=%s\xc3\xa9)", "control or non-ASCII" },
};

static void
test_template_table(void **state)
{
	char err[256];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < N(templates); i++) {
		err[0] = '\0';
		rc = ldap_filter_template_check(templates[i].tmpl, err,
		    sizeof(err));
		if (templates[i].want == NULL && rc != 0)
			fail_msg("'%s': unexpected error '%s'",
			    templates[i].tmpl, err);
		if (templates[i].want != NULL && (rc != -1 ||
		    strstr(err, templates[i].want) == NULL))
			fail_msg("'%s': rc %d err '%s', want '%s'",
			    templates[i].tmpl, rc, err, templates[i].want);
	}
}

static void
test_template_too_long(void **state)
{
	char tmpl[1100], err[128];

	(void)state;
	memset(tmpl, 'x', sizeof(tmpl));
	memcpy(tmpl, "(mail=%s)(", 10);
	tmpl[sizeof(tmpl) - 2] = ')';
	tmpl[sizeof(tmpl) - 1] = '\0';
	assert_int_equal(ldap_filter_template_check(tmpl, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "longer than"));
}

static const struct {
	const char *tmpl;
	const char *value;
	const char *want;
} expansions[] = {
	{ "(mail=%s)", "alice@example.test", "(mail=alice@example.test)" },
	{ "(|(mail=%s)(mailAlternateAddress=%s))", "a*b@x",
	    "(|(mail=a\\2ab@x)(mailAlternateAddress=a\\2ab@x))" },
	{ "(mail=%s)", "*", "(mail=\\2a)" },
	{ "(mail=%s)", "x)(mail=*", "(mail=x\\29\\28mail=\\2a)" },
	{ "(mail=%s)", "back\\slash@x", "(mail=back\\5cslash@x)" },
	{ "(&(mail=%s)(d=100%%))", "a@b", "(&(mail=a@b)(d=100%))" },
	{ "(mail=%s)", "", "(mail=)" },
	{ "(mail=%s)", "%s", "(mail=%s)" },	/* no re-expansion */
};

static void
test_expand_table(void **state)
{
	char out[512];
	size_t i;

	(void)state;
	for (i = 0; i < N(expansions); i++) {
		if (ldap_filter_expand(expansions[i].tmpl,
		    expansions[i].value, strlen(expansions[i].value), out,
		    sizeof(out)) != 0 ||
		    strcmp(out, expansions[i].want) != 0)
			fail_msg("expand #%zu: got '%s', want '%s'", i, out,
			    expansions[i].want);
	}
}

static void
test_expand_nul_in_value(void **state)
{
	char out[64];

	(void)state;
	assert_int_equal(ldap_filter_expand("(mail=%s)", "a\0*", 3, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "(mail=a\\00\\2a)");
}

static void
test_expand_limits(void **state)
{
	char out[16], big[2000];

	(void)state;
	/* "(mail=abcdefgh)" is 15 characters: fits in 16 exactly. */
	assert_int_equal(ldap_filter_expand("(mail=%s)", "abcdefgh", 8, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "(mail=abcdefgh)");
	assert_int_equal(ldap_filter_expand("(mail=%s)", "abcdefghi", 9, out,
	    sizeof(out)), -1);
	assert_string_equal(out, "");
	/* The escaped value is what has to fit. */
	assert_int_equal(ldap_filter_expand("(mail=%s)", "abc**", 5, out,
	    sizeof(out)), -1);
	/* A value that cannot fit LDAP_FILTER_MAX escaped. */
	memset(big, '*', sizeof(big));
	assert_int_equal(ldap_filter_expand("(mail=%s)", big, sizeof(big),
	    out, sizeof(out)), -1);
	/* Invalid templates are refused here too. */
	assert_int_equal(ldap_filter_expand("(mail=%d)", "a", 1, out,
	    sizeof(out)), -1);
	assert_int_equal(ldap_filter_expand("(mail=%", "a", 1, out,
	    sizeof(out)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_table),
		cmocka_unit_test(test_escape_matches_libldap),
		cmocka_unit_test(test_escape_buffer_limits),
		cmocka_unit_test(test_template_table),
		cmocka_unit_test(test_template_too_long),
		cmocka_unit_test(test_expand_table),
		cmocka_unit_test(test_expand_nul_in_value),
		cmocka_unit_test(test_expand_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
