/*
 * bench_cache.c -- look-ups per second through the whole certificate
 * pipeline (sources, validation, selection, cache) of a configuration:
 * first every address once with a cold cache, then repeated look-ups
 * that are all cache hits.
 *
 *   bench_cache [-r RUNS] [-t THREADS] -c CONFIG ADDRESS-FILE
 *
 * Output lines for scripts:
 *   pipeline_cold_lookups_per_s R    (each address once, cache empty)
 *   cache_hit_lookups_per_s R        (median of RUNS passes over all)
 *   cache_hits N  cache_misses N
 * Exit 0, or 1 if any look-up did not find a certificate.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certlookup.h"
#include "config.h"
#include "log.h"

struct bench {
	struct certlookup *lk;
	char **addrs;
	size_t naddrs;
	atomic_size_t next;
	atomic_ulong failures;
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *
worker(void *arg)
{
	struct bench *b = arg;
	size_t i;

	while ((i = atomic_fetch_add(&b->next, 1)) < b->naddrs) {
		struct cert_result r;

		if (certlookup_find(b->lk, b->addrs[i], &r) != LOOKUP_FOUND)
			atomic_fetch_add(&b->failures, 1);
		cert_result_free(&r);
	}
	return NULL;
}

/* One pass over every address with n threads; returns look-ups/s. */
static double
pass(struct bench *b, unsigned n)
{
	pthread_t t[64];
	double start = now_s(), elapsed;
	unsigned i;

	atomic_store(&b->next, 0);
	for (i = 0; i < n; i++)
		pthread_create(&t[i], NULL, worker, b);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	elapsed = now_s() - start;
	return elapsed > 0 ? (double)b->naddrs / elapsed : 0;
}

static int
read_addresses(struct bench *b, const char *file)
{
	FILE *f = fopen(file, "r");
	char line[400];
	size_t cap = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0')
			continue;
		if (b->naddrs == cap) {
			cap = cap ? cap * 2 : 256;
			b->addrs = realloc(b->addrs, cap * sizeof(char *));
			if (b->addrs == NULL)
				return -1;
		}
		b->addrs[b->naddrs++] = strdup(line);
	}
	fclose(f);
	return b->naddrs > 0 ? 0 : -1;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int
main(int argc, char **argv)
{
	struct bench b = { 0 };
	struct certcache_counters k;
	struct config *cfg = NULL;
	const char *conf = NULL;
	long runs = 5, threads = 1, r;
	double rates[64], cold;
	char err[512];
	size_t i;
	int c, rc = 2;

	signal(SIGPIPE, SIG_IGN);
	log_setup("bench_cache", false, 0, true, LOG_LVL_WARNING);
	while ((c = getopt(argc, argv, "r:t:c:")) != -1) {
		switch (c) {
		case 'r': runs = atol(optarg); break;
		case 't': threads = atol(optarg); break;
		case 'c': conf = optarg; break;
		default: goto usage;
		}
	}
	if (conf == NULL || optind != argc - 1 || runs < 1 || runs > 64 ||
	    threads < 1 || threads > 64)
		goto usage;
	if (read_addresses(&b, argv[optind]) != 0) {
		fprintf(stderr, "bench_cache: no addresses in %s\n",
		    argv[optind]);
		return 2;
	}
	if ((cfg = config_load(conf, err, sizeof(err))) == NULL ||
	    (b.lk = certlookup_new(cfg, NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "bench_cache: %s\n", err);
		goto done;
	}
	cold = pass(&b, (unsigned)threads);
	for (r = 0; r < runs; r++)
		rates[r] = pass(&b, (unsigned)threads);
	qsort(rates, (size_t)runs, sizeof(double), cmp_double);
	certlookup_cache_counters(b.lk, &k);
	printf("pipeline_cold_lookups_per_s %.1f\n", cold);
	printf("cache_hit_lookups_per_s %.1f\n", runs % 2 ? rates[runs / 2] :
	    (rates[runs / 2 - 1] + rates[runs / 2]) / 2);
	printf("cache_hits %lu\ncache_misses %lu\n", k.hits, k.misses);
	rc = atomic_load(&b.failures) == 0 ? 0 : 1;
done:
	certlookup_free(b.lk);
	config_release(cfg);
	for (i = 0; i < b.naddrs; i++)
		free(b.addrs[i]);
	free(b.addrs);
	return rc;
usage:
	fprintf(stderr, "usage: bench_cache [-r RUNS] [-t THREADS] -c CONFIG "
	    "ADDRESS-FILE\n");
	return 2;
}
