/*
 * test_ldapgroup.c -- the text side of LDAP groups (memberlist.c: which
 * values are addresses, uniqueMember UIDs, the sorted, de-duplicated and
 * bounded list) and ldapgroup_members() without a directory: bad specs
 * and DNs, a bad password file, a refused connection.  The walk itself is
 * tested against slapd by tests/integration/t_ldap_groups.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ldapgroup.h"
#include "log.h"
#include "memberlist.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void
test_member_address(void **state)
{
	/* NULL out = not an address */
	static const struct { const char *in, *out; } cases[] = {
		{ "alice@example.org", "alice@example.org" },
		{ "Alice.Smith@Example.ORG", "Alice.Smith@example.org" },
		{ "  <Bob@EXAMPLE.net>\t", "Bob@example.net" },
		{ "\"a@b\"@Example.org", "\"a@b\"@example.org" },
		{ "user+tag@sub.example.org", "user+tag@sub.example.org" },
		{ "j\xc3\xb6rg@example.org", "j\xc3\xb6rg@example.org" },
		{ "x@[192.0.2.1]", "x@[192.0.2.1]" },
		{ "", NULL },
		{ "   ", NULL },
		{ "<>", NULL },
		{ "no-at-sign", NULL },
		{ "@example.org", NULL },
		{ "user@", NULL },
		{ "Alice <alice@example.org>", NULL },
		{ "alice@example.org bob@example.org", NULL },
		{ "a@example.org,b@example.org", NULL },
		{ "a@example.org, b@example.org", NULL },
		{ "<a@example.org", NULL },
		{ "a@example.org>", NULL },
		{ "<<a@example.org>>", NULL },
		{ "bad\001char@example.org", NULL },
		{ "bad\nline@example.org", NULL },
		{ "del\177@example.org", NULL },
	};
	char out[MEMBER_VALUE_MAX + 1];
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		int rc = member_address(cases[i].in, strlen(cases[i].in), out,
		    sizeof(out));

		if (cases[i].out == NULL) {
			if (rc != -1)
				fail_msg("accepted '%s' as '%s'", cases[i].in,
				    out);
		} else {
			if (rc != 0)
				fail_msg("refused '%s'", cases[i].in);
			assert_string_equal(out, cases[i].out);
		}
	}
}

static void
test_member_address_bounds(void **state)
{
	char value[MEMBER_VALUE_MAX + 2], out[MEMBER_VALUE_MAX + 1];

	(void)state;
	/* Only len bytes count: the rest of the buffer is not read. */
	assert_int_equal(member_address("a@example.orgGARBAGE", 13, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "a@example.org");
	/* A NUL inside the value. */
	assert_int_equal(member_address("a@b\0c", 5, out, sizeof(out)), -1);
	/* Longer than an address may be (320), longer than a value may be. */
	memset(value, 'a', sizeof(value));
	memcpy(value + 300, "@example.org", 12);
	assert_int_equal(member_address(value, 312, out, sizeof(out)), 0);
	assert_int_equal(member_address(value, 321, out, sizeof(out)), -1);
	assert_int_equal(member_address(value, MEMBER_VALUE_MAX + 1, out,
	    sizeof(out)), -1);
	/* Does not fit out. */
	assert_int_equal(member_address("a@example.org", 13, out, 13), -1);
	assert_int_equal(member_address("a@example.org", 13, out, 14), 0);
}

static void
test_member_dn_length(void **state)
{
	/* want: the length of the DN part */
	static const struct { const char *in; size_t want; } cases[] = {
		{ "uid=a,dc=x", 10 },
		{ "uid=a,dc=x#'0'B", 10 },
		{ "uid=a,dc=x#'0101'B", 10 },
		{ "uid=a,dc=x#''B", 10 },		/* empty bit string */
		{ "uid=a,dc=x#'0'b", 15 },		/* 'B' only */
		{ "uid=a,dc=x#'2'B", 15 },		/* bits only */
		{ "uid=a,dc=x#'0'", 14 },
		{ "uid=a,dc=x#'0'Bx", 16 },
		{ "uid=a,dc=x#0'B", 14 },
		{ "uid=a,dc=x#", 11 },
		{ "uid=a\\#'0'B", 11 },		/* escaped '#' */
		{ "uid=a\\\\#'0'B", 7 },		/* escaped '\', then UID */
		{ "#'0'B", 5 },				/* no DN before it */
		{ "cn=#04024869", 12 },		/* a BER value, no UID */
		{ "cn=#04024869#'1'B", 12 },
		{ "cn=a#b,dc=x#'1'B", 11 },		/* the last '#' counts */
		{ "", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++)
		if (member_dn_length(cases[i].in, strlen(cases[i].in)) !=
		    cases[i].want)
			fail_msg("'%s': got %zu, want %zu", cases[i].in,
			    member_dn_length(cases[i].in, strlen(cases[i].in)),
			    cases[i].want);
	/* Only len bytes count. */
	assert_int_equal(member_dn_length("uid=a#'0'B", 6), 6);
}

static void
test_member_list_sort_unique(void **state)
{
	static const char *in[] = {
		"carol@x", "alice@x", "Bob@x", "alice@x", "carol@x", "alice@x",
		"bob@x",
	};
	static const char *want[] = {
		"Bob@x", "alice@x", "bob@x", "carol@x",
	};
	struct member_list l = MEMBER_LIST_INIT(10);
	char **out = NULL;
	size_t i, n = 99;

	(void)state;
	for (i = 0; i < N(in); i++)
		assert_int_equal(member_list_add(&l, in[i]), 0);
	assert_int_equal(l.n, N(in));
	assert_int_equal(member_list_finish(&l, &out, &n), 0);
	assert_int_equal(n, N(want));
	for (i = 0; i < n; i++)
		assert_string_equal(out[i], want[i]);
	assert_null(out[n]);
	assert_null(l.v);
	assert_int_equal(l.n, 0);
	member_list_free(&l);	/* empty: nothing to do */
	member_array_free(out);

	/* An empty list gives a valid empty array. */
	assert_int_equal(member_list_finish(&l, &out, &n), 0);
	assert_int_equal(n, 0);
	assert_non_null(out);
	assert_null(out[0]);
	ldapgroup_free_members(out);
	ldapgroup_free_members(NULL);
	member_array_free(NULL);
}

static void
test_member_list_bound(void **state)
{
	struct member_list l = MEMBER_LIST_INIT(3);
	char **out = NULL, addr[32];
	size_t i, n;

	(void)state;
	/* Duplicates never count against the bound, however many. */
	for (i = 0; i < 1000; i++) {
		snprintf(addr, sizeof(addr), "u%zu@x", i % 3);
		assert_int_equal(member_list_add(&l, addr), 0);
		assert_true(l.n <= 6);	/* folded at 2 * max */
	}
	assert_int_equal(member_list_finish(&l, &out, &n), 0);
	assert_int_equal(n, 3);
	member_array_free(out);

	/* Exactly max distinct is fine; one more is not. */
	l = (struct member_list)MEMBER_LIST_INIT(3);
	assert_int_equal(member_list_add(&l, "a@x"), 0);
	assert_int_equal(member_list_add(&l, "b@x"), 0);
	assert_int_equal(member_list_add(&l, "c@x"), 0);
	assert_int_equal(member_list_add(&l, "d@x"), 0);
	/* finish sees the fourth ... */
	assert_int_equal(member_list_finish(&l, &out, &n), 1);
	assert_int_equal(l.n, 4);
	/* ... and so does add, when it folds at 2 * max. */
	assert_int_equal(member_list_add(&l, "e@x"), 0);
	assert_int_equal(member_list_add(&l, "f@x"), 0);
	assert_int_equal(member_list_add(&l, "g@x"), 1);
	member_list_free(&l);
	assert_null(l.v);
}

/* ------------------------------------------- ldapgroup_members, no server */

static char *
spec_for_port(unsigned short port, const char *extra)
{
	static char spec[1024];

	snprintf(spec, sizeof(spec), "corp uri=ldap://127.0.0.1:%u "
	    "base=dc=example,dc=test timeout=2 %s", port, extra);
	return spec;
}

/* A port with nothing listening: bind to it, then close. */
static unsigned short
closed_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	unsigned short port;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);
	return port;
}

/* ldapgroup_members fails with a reason containing want. */
static void
expect_error(const char *spec, const char *dn, const char *want)
{
	char **members = (char **)1, err[512] = "";
	size_t n = 99;

	assert_int_equal(ldapgroup_members(spec, dn, &members, &n, err,
	    sizeof(err)), -1);
	assert_null(members);
	assert_int_equal(n, 0);
	if (strstr(err, want) == NULL)
		fail_msg("reason '%s' lacks '%s'", err, want);
}

static void
test_members_errors_without_server(void **state)
{
	char path[] = "/tmp/test_ldapgroup.XXXXXX", extra[200];
	unsigned short port = closed_port();
	struct timespec t0, t1;
	int fd;

	(void)state;
	/* The spec and the group DN are checked first. */
	expect_error("corp base=dc=x", "cn=g,dc=x", "uri: missing");
	expect_error("corp uri=ldap://127.0.0.1 base=dc=x timeout=0",
	    "cn=g,dc=x", "timeout: 0 is out of range");
	expect_error(spec_for_port(port, ""), "not a dn",
	    "group \"not a dn\" is not a DN");
	expect_error(spec_for_port(port, ""), "", "is not a DN");

	/* A password file others may read. */
	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, "pw\n", 3), 3);
	close(fd);
	chmod(path, 0644);
	snprintf(extra, sizeof(extra), "bind-dn=cn=admin,dc=x "
	    "bind-password-file=%s", path);
	expect_error(spec_for_port(port, extra), "cn=g,dc=x",
	    "lets group or others access it");
	unlink(path);

	/* Nothing listening: an error at once, not after the timeout. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_error(spec_for_port(port, ""), "cn=g,dc=x",
	    "connect: Can't contact LDAP server");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_member_address),
		cmocka_unit_test(test_member_address_bounds),
		cmocka_unit_test(test_member_dn_length),
		cmocka_unit_test(test_member_list_sort_unique),
		cmocka_unit_test(test_member_list_bound),
		cmocka_unit_test(test_members_errors_without_server),
	};

	log_setup("test_ldapgroup", false, 0, false, LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
