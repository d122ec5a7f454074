/*
 * test_certcache.c -- TTLs on an injected clock, negative entries, no
 * caching of "could not look", LRU eviction, counters, threads.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "certcache.h"

static time_t fake_now = 1000000;

static time_t
clock_fn(void)
{
	return fake_now;
}

static struct certcache *
new_cache(size_t capacity)
{
	struct certcache_opts o = { capacity, 3600, 300, clock_fn };

	return certcache_new(&o);
}

/* A list with one (empty) certificate, enough to test ownership. */
static void
one_cert(struct cert_list *l)
{
	X509 *x = X509_new();

	assert_int_equal(cert_list_add(l, x, NULL, "dir", "file.pem"), 0);
	l->items[0].verdict = CERT_OK;
	snprintf(l->items[0].reason, sizeof(l->items[0].reason), "usable");
	X509_free(x);
}

static void
test_positive_entry_and_ttl(void **state)
{
	struct certcache *c = new_cache(100);
	struct cert_list in = CERT_LIST_INIT, out = CERT_LIST_INIT;
	struct certcache_counters k;
	enum lookup_status st;

	(void)state;
	fake_now = 1000000;
	one_cert(&in);
	assert_false(certcache_get(c, "a@x.test", &st, &out));
	certcache_put(c, "a@x.test", LOOKUP_FOUND, &in);
	cert_list_free(&in);	/* the cache holds its own references */
	assert_true(certcache_get(c, "a@x.test", &st, &out));
	assert_int_equal(st, LOOKUP_FOUND);
	assert_int_equal(out.count, 1);
	assert_int_equal(out.items[0].verdict, CERT_OK);
	assert_string_equal(out.items[0].origin, "file.pem");
	cert_list_free(&out);

	fake_now += 3599;
	assert_true(certcache_get(c, "a@x.test", &st, &out));
	cert_list_free(&out);
	fake_now += 1;		/* exactly the TTL: expired */
	assert_false(certcache_get(c, "a@x.test", &st, &out));
	assert_int_equal(out.count, 0);

	certcache_counters(c, &k);
	assert_int_equal(k.hits, 2);
	assert_int_equal(k.misses, 2);
	assert_int_equal(k.expirations, 1);
	assert_int_equal(k.entries, 0);
	certcache_free(c);
}

static void
test_negative_entry_has_own_ttl(void **state)
{
	struct certcache *c = new_cache(100);
	struct cert_list out = CERT_LIST_INIT;
	struct certcache_counters k;
	enum lookup_status st;

	(void)state;
	fake_now = 2000000;
	certcache_put(c, "none@x.test", LOOKUP_NONE, NULL);
	fake_now += 299;
	assert_true(certcache_get(c, "none@x.test", &st, &out));
	assert_int_equal(st, LOOKUP_NONE);
	assert_int_equal(out.count, 0);
	fake_now += 1;
	assert_false(certcache_get(c, "none@x.test", &st, &out));
	certcache_counters(c, &k);
	assert_int_equal(k.negative_hits, 1);
	certcache_free(c);
}

static void
test_errors_are_never_cached(void **state)
{
	struct certcache *c = new_cache(100);
	struct cert_list out = CERT_LIST_INIT;
	enum lookup_status st;

	(void)state;
	certcache_put(c, "down@x.test", LOOKUP_ERROR, NULL);
	assert_false(certcache_get(c, "down@x.test", &st, &out));
	certcache_free(c);
}

static void
test_replacing_an_entry(void **state)
{
	struct certcache *c = new_cache(100);
	struct cert_list in = CERT_LIST_INIT, out = CERT_LIST_INIT;
	enum lookup_status st;

	(void)state;
	certcache_put(c, "a@x.test", LOOKUP_NONE, NULL);
	one_cert(&in);
	certcache_put(c, "a@x.test", LOOKUP_FOUND, &in);
	assert_true(certcache_get(c, "a@x.test", &st, &out));
	assert_int_equal(st, LOOKUP_FOUND);
	assert_int_equal(out.count, 1);
	cert_list_free(&in);
	cert_list_free(&out);
	certcache_free(c);
}

/* Three addresses that share a shard, to observe LRU order. */
static void
same_shard_addresses(char out[3][64])
{
	size_t n = 0, shard = certcache_shard_of("seed@x.test");
	int i;

	for (i = 0; n < 3; i++) {
		char a[64];

		snprintf(a, sizeof(a), "u%d@x.test", i);
		if (certcache_shard_of(a) == shard)
			snprintf(out[n++], 64, "%s", a);
	}
}

static void
test_lru_eviction_within_a_shard(void **state)
{
	/* capacity 32 = 2 entries per shard */
	struct certcache *c = new_cache(32);
	struct cert_list out = CERT_LIST_INIT;
	struct certcache_counters k;
	enum lookup_status st;
	char a[3][64];

	(void)state;
	fake_now = 3000000;
	same_shard_addresses(a);
	certcache_put(c, a[0], LOOKUP_NONE, NULL);
	certcache_put(c, a[1], LOOKUP_NONE, NULL);
	assert_true(certcache_get(c, a[0], &st, &out));	/* a0 now recent */
	certcache_put(c, a[2], LOOKUP_NONE, NULL);	/* evicts a1 */
	assert_true(certcache_get(c, a[0], &st, &out));
	assert_false(certcache_get(c, a[1], &st, &out));
	assert_true(certcache_get(c, a[2], &st, &out));
	certcache_counters(c, &k);
	assert_int_equal(k.evictions, 1);
	certcache_free(c);
}

static void
test_bounded_size(void **state)
{
	struct certcache *c = new_cache(64);
	struct certcache_counters k;
	char a[64];
	int i;

	(void)state;
	for (i = 0; i < 5000; i++) {
		snprintf(a, sizeof(a), "user%d@x.test", i);
		certcache_put(c, a, LOOKUP_NONE, NULL);
	}
	certcache_counters(c, &k);
	assert_true(k.entries <= 64);
	assert_int_equal(k.insertions, 5000);
	assert_int_equal(k.evictions, 5000 - k.entries);
	certcache_clear(c);
	certcache_counters(c, &k);
	assert_int_equal(k.entries, 0);
	certcache_free(c);
}

static void
test_disabled_cache(void **state)
{
	struct certcache *c = new_cache(0);
	struct cert_list out = CERT_LIST_INIT;
	enum lookup_status st;

	(void)state;
	certcache_put(c, "a@x.test", LOOKUP_NONE, NULL);
	assert_false(certcache_get(c, "a@x.test", &st, &out));
	certcache_free(c);
}

static void *
hammer(void *arg)
{
	struct certcache *c = arg;
	struct cert_list in = CERT_LIST_INIT;
	char a[64];
	int i;

	one_cert(&in);
	for (i = 0; i < 20000; i++) {
		struct cert_list out = CERT_LIST_INIT;
		enum lookup_status st;

		snprintf(a, sizeof(a), "t%d@x.test", i % 300);
		if (!certcache_get(c, a, &st, &out))
			certcache_put(c, a, i % 2 ? LOOKUP_FOUND : LOOKUP_NONE,
			    &in);
		cert_list_free(&out);
	}
	cert_list_free(&in);
	return NULL;
}

static void
test_threads(void **state)
{
	struct certcache *c = new_cache(128);
	struct certcache_counters k;
	pthread_t t[8];
	int i;

	(void)state;
	for (i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, c), 0);
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	certcache_counters(c, &k);
	assert_int_equal(k.hits + k.negative_hits + k.misses, 8 * 20000);
	assert_true(k.entries <= 128);
	certcache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_positive_entry_and_ttl),
		cmocka_unit_test(test_negative_entry_has_own_ttl),
		cmocka_unit_test(test_errors_are_never_cached),
		cmocka_unit_test(test_replacing_an_entry),
		cmocka_unit_test(test_lru_eviction_within_a_shard),
		cmocka_unit_test(test_bounded_size),
		cmocka_unit_test(test_disabled_cache),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
