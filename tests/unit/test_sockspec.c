/*
 * test_sockspec.c -- socket specification parsing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "sockspec.h"

static const struct {
	const char *spec;
	enum sock_family family;
	unsigned port;
	const char *host_or_path;
	const char *text;
} good[] = {
	{ "inet:8895@127.0.0.1", SOCK_FAMILY_INET, 8895, "127.0.0.1",
	    "inet:8895@127.0.0.1" },
	{ "INET:1@localhost", SOCK_FAMILY_INET, 1, "localhost",
	    "inet:1@localhost" },
	{ "inet:65535", SOCK_FAMILY_INET, 65535, "", "inet:65535" },
	{ "inet6:8895@::1", SOCK_FAMILY_INET6, 8895, "::1",
	    "inet6:8895@::1" },
	{ "inet6:8895@[::1]", SOCK_FAMILY_INET6, 8895, "::1",
	    "inet6:8895@::1" },
	{ "unix:/run/smime-milter/milter.sock", SOCK_FAMILY_UNIX, 0,
	    "/run/smime-milter/milter.sock",
	    "unix:/run/smime-milter/milter.sock" },
	{ "local:/tmp/m.sock", SOCK_FAMILY_UNIX, 0, "/tmp/m.sock",
	    "unix:/tmp/m.sock" },
	{ "/tmp/bare.sock", SOCK_FAMILY_UNIX, 0, "/tmp/bare.sock",
	    "unix:/tmp/bare.sock" },
};

static const struct {
	const char *spec;
	const char *error;
} bad[] = {
	{ "", "empty socket spec" },
	{ "8895", "socket spec needs a type: inet:PORT@HOST, inet6:PORT@HOST "
	    "or unix:PATH" },
	{ "inet:", "bad port in socket spec (want 1-65535)" },
	{ "inet:0@127.0.0.1", "bad port in socket spec (want 1-65535)" },
	{ "inet:65536@127.0.0.1", "bad port in socket spec (want 1-65535)" },
	{ "inet:123456@h", "bad port in socket spec (want 1-65535)" },
	{ "inet:88a5@h", "bad port in socket spec (want 1-65535)" },
	{ "inet:-1@h", "bad port in socket spec (want 1-65535)" },
	{ "inet:8895@", "bad host in socket spec" },
	{ "inet:8895@bad host", "bad host in socket spec" },
	{ "inet:8895@a;rm", "bad host in socket spec" },
	{ "unix:relative.sock", "unix socket path must be absolute" },
	{ "unix:", "unix socket path must be absolute" },
	{ "udp:53@h", "unknown socket type 'udp' (want inet, inet6 or unix)" },
};

static void
test_good(void **state)
{
	struct sockspec s;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(sockspec_parse(good[i].spec, &s, err,
		    sizeof(err)), 0);
		assert_int_equal(s.family, good[i].family);
		assert_int_equal(s.port, good[i].port);
		assert_string_equal(s.family == SOCK_FAMILY_UNIX ? s.path :
		    s.host, good[i].host_or_path);
		assert_string_equal(s.text, good[i].text);
	}
}

static void
test_bad(void **state)
{
	struct sockspec s;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (sockspec_parse(bad[i].spec, &s, err, sizeof(err)) == 0)
			fail_msg("accepted '%s'", bad[i].spec);
		if (strcmp(err, bad[i].error) != 0)
			fail_msg("'%s': got \"%s\", want \"%s\"", bad[i].spec,
			    err, bad[i].error);
	}
}

static void
test_long_path(void **state)
{
	char spec[300] = "unix:/";
	struct sockspec s;
	char err[256];

	(void)state;
	memset(spec + 6, 'a', 200);
	spec[206] = '\0';
	assert_int_equal(sockspec_parse(spec, &s, err, sizeof(err)), -1);
	assert_string_equal(err, "unix socket path longer than 107 bytes");
	assert_int_equal(sockspec_parse(NULL, &s, err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_long_path),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
