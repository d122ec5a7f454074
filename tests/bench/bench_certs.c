/*
 * bench_certs.c -- cold LDAP look-ups per second through the LDAP
 * certificate source (no cache in front of it).
 *
 *   bench_certs [-r RUNS] [-t THREADS] [-f FILE | -p PATTERN -n COUNT]
 *       SPEC [ADDRESS...]
 *
 * Addresses come from the command line, from FILE (one per line), or
 * from PATTERN with "%d" replaced by 0..COUNT-1 (e.g. bulk%d@example.test;
 * tests/integration/fixtures/mkldif -n COUNT makes such users).  They are
 * split into RUNS (default 5) slices of distinct addresses; each run looks
 * up every address of its slice once with THREADS (default 1) threads, so
 * no address is looked up twice.  Connections are opened before the
 * first run (one warm-up look-up per thread), so runs measure look-ups,
 * not connects.
 *
 * Output, one "key value..." line each, for scripts:
 *   ldap_cold_lookups N          ldap_cold_threads T
 *   ldap_cold_run_lookups_per_s R1 R2 ...
 *   ldap_cold_lookups_per_s MEDIAN
 *   ldap_cold_latency_us_p50 U   ldap_cold_latency_us_p99 U
 *   ldap_cold_found N  ldap_cold_none N  ldap_cold_errors N
 * Exit 0, or 1 if any look-up failed, 2 on bad usage.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "certsrc_ldap.h"
#include "log.h"

#define MAX_THREADS	256
#define MAX_ADDRESS	320

struct bench {
	struct certsrc *src;
	char **addrs;
	size_t naddrs;
	size_t begin, end;	/* the current run's slice */
	atomic_size_t next;
	long *latency_us;	/* per address */
	atomic_ulong found, none, errors;
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
	char err[512];
	size_t i;

	while ((i = atomic_fetch_add(&b->next, 1)) < b->end) {
		struct cert_list out = CERT_LIST_INIT;
		enum lookup_status st;
		double t0 = now_s();

		st = b->src->lookup(b->src, b->addrs[i], &out, err,
		    sizeof(err));
		b->latency_us[i] = (long)((now_s() - t0) * 1e6);
		cert_list_free(&out);
		if (st == LOOKUP_FOUND)
			atomic_fetch_add(&b->found, 1);
		else if (st == LOOKUP_NONE)
			atomic_fetch_add(&b->none, 1);
		else
			atomic_fetch_add(&b->errors, 1);
	}
	return NULL;
}

/* Look up b->addrs[begin..end) with n threads; returns elapsed seconds. */
static double
run_slice(struct bench *b, size_t begin, size_t end, unsigned n)
{
	pthread_t tid[MAX_THREADS];
	unsigned i, started;
	double t0;

	b->begin = begin;
	b->end = end;
	atomic_store(&b->next, begin);
	t0 = now_s();
	for (started = 0; started < n; started++)
		if (pthread_create(&tid[started], NULL, worker, b) != 0)
			break;
	if (started == 0)
		worker(b);
	for (i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	return now_s() - t0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return x < y ? -1 : x > y;
}

static int
add_address(struct bench *b, const char *a)
{
	char **grown;

	if ((b->naddrs & (b->naddrs - 1)) == 0) {
		grown = realloc(b->addrs, (b->naddrs ? b->naddrs * 2 : 1) *
		    sizeof(*grown));
		if (grown == NULL)
			return -1;
		b->addrs = grown;
	}
	if ((b->addrs[b->naddrs] = strdup(a)) == NULL)
		return -1;
	b->naddrs++;
	return 0;
}

static int
read_file(struct bench *b, const char *path)
{
	char line[MAX_ADDRESS + 2];
	FILE *f = fopen(path, "r");
	int rc = 0;

	if (f == NULL) {
		perror(path);
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] != '\0' && line[0] != '#')
			rc = add_address(b, line);
	}
	fclose(f);
	return rc;
}

/* PATTERN with one "%d" (and no other '%'), expanded for 0..count-1. */
static int
expand_pattern(struct bench *b, const char *pattern, long count)
{
	const char *d = strstr(pattern, "%d");
	char addr[MAX_ADDRESS + 1];
	long i;

	if (d == NULL || strchr(d + 2, '%') != NULL ||
	    memchr(pattern, '%', (size_t)(d - pattern)) != NULL) {
		fprintf(stderr, "bench_certs: -p needs exactly one %%d\n");
		return -1;
	}
	for (i = 0; i < count; i++) {
		snprintf(addr, sizeof(addr), "%.*s%ld%s", (int)(d - pattern),
		    pattern, i, d + 2);
		if (add_address(b, addr) != 0)
			return -1;
	}
	return 0;
}

static void
warm_up(struct bench *b, unsigned threads)
{
	size_t n = b->naddrs, i;

	/* One look-up per thread of an address nobody has. */
	for (i = 0; i < threads; i++)
		if (add_address(b, "warm-up@bench.invalid") != 0)
			return;
	run_slice(b, n, b->naddrs, threads);
	for (i = n; i < b->naddrs; i++)
		free(b->addrs[i]);
	b->naddrs = n;
	atomic_store(&b->found, 0);
	atomic_store(&b->none, 0);
	atomic_store(&b->errors, 0);
}

static int
usage(void)
{
	fprintf(stderr, "usage: bench_certs [-r RUNS] [-t THREADS] "
	    "[-f FILE | -p PATTERN -n COUNT] SPEC [ADDRESS...]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	struct bench b = { 0 };
	const char *file = NULL, *pattern = NULL;
	long count = 0, runs = 5, threads = 1, r;
	double rates[64], elapsed;
	char err[512];
	size_t i;
	int c, rc = 2;

	signal(SIGPIPE, SIG_IGN);
	log_setup("bench_certs", false, 0, true, LOG_LVL_WARNING);
	while ((c = getopt(argc, argv, "r:t:f:p:n:")) != -1) {
		switch (c) {
		case 'r': runs = atol(optarg); break;
		case 't': threads = atol(optarg); break;
		case 'f': file = optarg; break;
		case 'p': pattern = optarg; break;
		case 'n': count = atol(optarg); break;
		default: return usage();
		}
	}
	if (optind >= argc || runs < 1 || runs > 64 || threads < 1 ||
	    threads > MAX_THREADS || (pattern != NULL && count < 1))
		return usage();
	if ((file != NULL && read_file(&b, file) != 0) ||
	    (pattern != NULL && expand_pattern(&b, pattern, count) != 0))
		goto cleanup;
	for (c = optind + 1; c < argc; c++)
		if (add_address(&b, argv[c]) != 0)
			goto cleanup;
	if (b.naddrs == 0)
		return usage();
	if ((size_t)runs > b.naddrs)
		runs = (long)b.naddrs;
	if ((b.src = certsrc_ldap_new(argv[optind], err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "bench_certs: %s\n", err);
		goto cleanup;
	}
	/* The warm-up's addresses go past the end for a moment. */
	if ((b.latency_us = calloc(b.naddrs + (size_t)threads,
	    sizeof(long))) == NULL)
		goto cleanup;
	warm_up(&b, (unsigned)threads);
	for (r = 0; r < runs; r++) {
		size_t begin = b.naddrs * (size_t)r / (size_t)runs;
		size_t end = b.naddrs * (size_t)(r + 1) / (size_t)runs;

		elapsed = run_slice(&b, begin, end, (unsigned)threads);
		rates[r] = elapsed > 0 ? (double)(end - begin) / elapsed : 0;
	}
	printf("ldap_cold_lookups %zu\n", b.naddrs);
	printf("ldap_cold_threads %ld\n", threads);
	printf("ldap_cold_run_lookups_per_s");
	for (r = 0; r < runs; r++)
		printf(" %.1f", rates[r]);
	printf("\n");
	qsort(rates, (size_t)runs, sizeof(rates[0]), cmp_double);
	printf("ldap_cold_lookups_per_s %.1f\n", runs % 2 == 1 ?
	    rates[runs / 2] : (rates[runs / 2 - 1] + rates[runs / 2]) / 2);
	qsort(b.latency_us, b.naddrs, sizeof(long), cmp_long);
	printf("ldap_cold_latency_us_p50 %ld\n", b.latency_us[b.naddrs / 2]);
	printf("ldap_cold_latency_us_p99 %ld\n",
	    b.latency_us[(b.naddrs * 99) / 100]);
	printf("ldap_cold_found %lu\nldap_cold_none %lu\nldap_cold_errors "
	    "%lu\n", atomic_load(&b.found), atomic_load(&b.none),
	    atomic_load(&b.errors));
	rc = atomic_load(&b.errors) == 0 ? 0 : 1;
cleanup:
	if (b.src != NULL)
		b.src->free(b.src);
	for (i = 0; i < b.naddrs; i++)
		free(b.addrs[i]);
	free(b.addrs);
	free(b.latency_us);
	return rc;
}
