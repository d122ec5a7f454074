/*
 * test_netlist.c -- CIDR lists for InternalNetworks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "netlist.h"

static const struct {
	const char *addr;
	bool inside;
} probes[] = {
	{ "10.0.0.1", true }, { "10.255.255.255", true },
	{ "11.0.0.1", false }, { "192.168.1.0", true },
	{ "192.168.1.127", true }, { "192.168.1.128", false },
	{ "172.16.5.4", true }, { "172.17.0.1", false },
	{ "2001:db8::1", true }, { "2001:db9::1", false },
	{ "::1", true }, { "::2", false },
	{ "::ffff:10.1.2.3", true },	/* IPv4-mapped matches IPv4 entry */
	{ "::ffff:8.8.8.8", false },
	{ "not-an-address", false },
};

static void
test_contains_text(void **state)
{
	char err[200];
	struct netlist *nl = netlist_parse("10.0.0.0/8,192.168.1.0/25 "
	    "172.16.5.4\t2001:db8::/32, ::1", err, sizeof(err));
	size_t i;

	(void)state;
	assert_non_null(nl);
	assert_int_equal(netlist_count(nl), 5);
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		if (netlist_contains_text(nl, probes[i].addr) !=
		    probes[i].inside)
			fail_msg("%s: want %d", probes[i].addr,
			    probes[i].inside);
	netlist_free(nl);
}

static void
test_contains_sockaddr(void **state)
{
	char err[200];
	struct netlist *nl = netlist_parse("127.0.0.0/8 ::1/128", err,
	    sizeof(err));
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
	struct sockaddr other = { .sa_family = AF_UNIX };

	(void)state;
	inet_pton(AF_INET, "127.9.9.9", &sin.sin_addr);
	assert_true(netlist_contains(nl, (struct sockaddr *)&sin));
	inet_pton(AF_INET, "128.0.0.1", &sin.sin_addr);
	assert_false(netlist_contains(nl, (struct sockaddr *)&sin));
	inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
	assert_true(netlist_contains(nl, (struct sockaddr *)&sin6));
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6.sin6_addr);
	assert_true(netlist_contains(nl, (struct sockaddr *)&sin6));
	assert_false(netlist_contains(nl, &other));
	assert_false(netlist_contains(nl, NULL));
	netlist_free(nl);
}

static void
test_zero_prefix_and_empty(void **state)
{
	char err[200];
	struct netlist *nl = netlist_parse("0.0.0.0/0", err, sizeof(err));

	(void)state;
	assert_true(netlist_contains_text(nl, "203.0.113.9"));
	assert_false(netlist_contains_text(nl, "2001:db8::1"));
	netlist_free(nl);
	nl = netlist_parse("", err, sizeof(err));
	assert_non_null(nl);
	assert_int_equal(netlist_count(nl), 0);
	assert_false(netlist_contains_text(nl, "127.0.0.1"));
	netlist_free(nl);
}

static void
test_errors(void **state)
{
	static const char *const bad[] = { "10.0.0.0/", "10.0.0.0/x",
	    "::1/129", "300.1.1.1", "host.example", "10.0.0.0/8/8" };
	char err[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_null(netlist_parse(bad[i], err, sizeof(err)));
		assert_true(strlen(err) > 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_contains_text),
		cmocka_unit_test(test_contains_sockaddr),
		cmocka_unit_test(test_zero_prefix_and_empty),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
