/*
 * test_authmap.c -- SenderAuthMap parsing (every error with its line)
 * and matching, and the sender-key signing permission (signauth.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "authmap.h"
#include "signauth.h"

static char path[] = "/tmp/test_authmap.XXXXXX";

static void
write_map(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static struct authmap *
load_text(const char *text)
{
	struct authmap *m;
	char err[512];

	write_map(text);
	if ((m = authmap_load(path, err, sizeof(err))) == NULL)
		fail_msg("%s", err);
	return m;
}

static int
setup(void **state)
{
	int fd = mkstemp(path);

	(void)state;
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	return 0;
}

static const char map_text[] =
    "# SenderAuthMap for the tests\n"
    "alice    alice@example.com, a.smith@example.com\n"
    "helpdesk *@Support.Example.COM,help@example.com   # trailing comment\n"
    "\n"
    "   \t\n"
    "  # an indented comment\n"
    "alice    Alice@Other.Example\n"		/* merges with line 2 */
    "bob@example.com bob@example.com\n"
    "Dave     dave@example.com\r\n"
    "alice    alice@example.com\n";		/* duplicate entry */

static const struct {
	const char *user, *address;
	bool allowed;
} cases[] = {
	/* Listed addresses, case-insensitive, brackets allowed. */
	{ "alice", "alice@example.com", true },
	{ "alice", "ALICE@Example.COM", true },
	{ "alice", "<a.smith@example.com>", true },
	{ "alice", "alice@other.example", true },	/* second line */
	{ "alice", "bob@example.com", false },
	{ "alice", "alice@example.org", false },
	{ "alice", "alice", false },			/* not an address */
	{ "alice", "", false },
	/* *@domain: that domain, any case, not its subdomains. */
	{ "helpdesk", "anyone@support.example.com", true },
	{ "helpdesk", "x@SUPPORT.example.COM", true },
	{ "helpdesk", "x@sub.support.example.com", false },
	{ "helpdesk", "x@support.example.com.evil", false },
	{ "helpdesk", "help@example.com", true },
	{ "helpdesk", "helpdesk@example.com", false },
	/* A user with a line is held to it, even for its own name. */
	{ "bob@example.com", "bob@example.com", true },
	{ "bob@example.com", "BOB@EXAMPLE.COM", true },
	{ "bob@example.com", "bob2@example.com", false },
	/* Without a line: the user name must be the address. */
	{ "eve@example.com", "Eve@Example.COM", true },
	{ "eve@example.com", "<eve@example.com>", true },
	{ "eve@example.com", "other@example.com", false },
	{ "eve", "eve@example.com", false },
	/* User names are compared exactly. */
	{ "Dave", "dave@example.com", true },
	{ "dave", "dave@example.com", false },
	{ "ALICE", "alice@example.com", false },
	/* No user. */
	{ NULL, "alice@example.com", false },
	{ "", "alice@example.com", false },
};

static void
test_matching(void **state)
{
	struct authmap *m = load_text(map_text);
	size_t i;

	(void)state;
	/* alice 3 (the duplicate dropped), helpdesk 2, bob 1, Dave 1. */
	assert_int_equal(authmap_count(m), 7);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (authmap_may_send_as(m, cases[i].user, cases[i].address) !=
		    cases[i].allowed)
			fail_msg("user %s, address '%s': want %s",
			    cases[i].user ? cases[i].user : "(null)",
			    cases[i].address, cases[i].allowed ? "allowed" :
			    "refused");
	authmap_free(m);
}

static void
test_no_file_is_empty(void **state)
{
	char err[64];
	struct authmap *m = authmap_load(NULL, err, sizeof(err));

	(void)state;
	assert_non_null(m);
	assert_int_equal(authmap_count(m), 0);
	assert_true(authmap_may_send_as(m, "alice@example.com",
	    "ALICE@example.com"));
	assert_false(authmap_may_send_as(m, "alice", "alice@example.com"));
	authmap_free(m);
	authmap_free(NULL);
	/* Only comments: as empty. */
	m = load_text("# nobody yet\n\n");
	assert_int_equal(authmap_count(m), 0);
	assert_true(authmap_may_send_as(m, "bob@example.com",
	    "bob@example.com"));
	authmap_free(m);
}

static const struct {
	const char *text, *error;	/* "PATH:" error, then maybe more */
} bad[] = {
	{ "alice\n", "1: user 'alice' without an address" },
	{ "alice # comment only\n", "1: user 'alice' without an address" },
	{ "x , ,\t,\n", "1: user 'x' without an address" },
	{ "# c\n\nbob bob@example.com\nalice a@@\n",
	    "4: 'a@@' is not an address or *@domain" },
	{ "x *@\n", "1: '*@' is not *@domain" },
	{ "x *@a@b\n", "1: '*@a@b' is not *@domain" },
	{ "x *@*.example.com\n", "1: '*@*.example.com' is not *@domain" },
	{ "x a*b@example.com\n", "1: 'a*b@example.com' is not an address" },
	{ "x *\n", "1: '*' is not an address" },
	{ "x @example.com\n", "1: '@example.com' is not an address" },
	{ "x example.com\n", "1: 'example.com' is not an address" },
	{ "x <a@example.com>\n", "1: '<a@example.com>' is not an address" },
	{ "x a@example.com\n\n\ny\n", "4: user 'y' without an address" },
	{ "x a@example.com, b@\n", "1: 'b@' is not an address" },
};

static void
test_parse_errors(void **state)
{
	char err[512], want[600];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct authmap *m;

		write_map(bad[i].text);
		snprintf(want, sizeof(want), "%s:%s", path, bad[i].error);
		m = authmap_load(path, err, sizeof(err));
		if (m != NULL) {
			authmap_free(m);
			fail_msg("case %zu: loaded, want '%s'", i, want);
		}
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("case %zu: got '%s', want '%s'", i, err, want);
	}
	assert_null(authmap_load("/nonexistent/authmap", err, sizeof(err)));
	assert_string_equal(err, "/nonexistent/authmap: No such file or "
	    "directory");
}

static const struct {
	const char *sender, *auth;
	bool internal;
	enum sign_permission want;
	const char *why;
} matrix[] = {
	/* Authenticated: the map decides, wherever the client is. */
	{ "alice@example.com", "alice", false, SIGN_PERMITTED,
	    "authenticated as a user allowed" },
	{ "alice@example.com", "alice", true, SIGN_PERMITTED,
	    "authenticated as a user allowed" },
	{ "bob@example.com", "alice", false, SIGN_REFUSED,
	    "authenticated as a user not allowed to send as the sender" },
	{ "bob@example.com", "alice", true, SIGN_REFUSED,
	    "authenticated as a user not allowed to send as the sender" },
	{ "bob@example.com", "bob@example.com", false, SIGN_PERMITTED,
	    "authenticated as a user allowed" },
	/* Not authenticated: only from an internal network. */
	{ "bob@example.com", NULL, true, SIGN_PERMITTED, "internal network" },
	{ "bob@example.com", "", true, SIGN_PERMITTED, "internal network" },
	{ "bob@example.com", NULL, false, SIGN_REFUSED,
	    "not authenticated and not internal" },
	{ "bob@example.com", "", false, SIGN_REFUSED,
	    "not authenticated and not internal" },
	{ "", NULL, false, SIGN_REFUSED, "not authenticated and not internal" },
};

static void
test_sender_may_sign(void **state)
{
	struct authmap *m = load_text("alice alice@example.com\n");
	const char *why;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
		why = NULL;
		if (sender_may_sign(m, matrix[i].sender, matrix[i].auth,
		    matrix[i].internal, &why) != matrix[i].want)
			fail_msg("case %zu: wrong permission", i);
		if (why == NULL || strstr(why, matrix[i].why) != why)
			fail_msg("case %zu: why '%s', want '%s'", i,
			    why ? why : "(null)", matrix[i].why);
	}
	/* why may be NULL; a zeroed permission is a refusal. */
	assert_int_equal(sender_may_sign(m, "x@example.com", NULL, true, NULL),
	    SIGN_PERMITTED);
	assert_int_equal(SIGN_REFUSED, 0);
	authmap_free(m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matching),
		cmocka_unit_test(test_no_file_is_empty),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_sender_may_sign),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
