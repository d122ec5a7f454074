/*
 * bench_policy.c -- "make bench-policy": load a 100,000-rule policy and
 * time decisions, against trying every rule in order (the obvious
 * implementation) measured in the same run.
 *
 *   bench_policy [RULES [DECISIONS]]
 *
 * The generated policy has 100 groups of 100 members, and rules of every
 * kind: exact recipients, domains, subdomains, groups, senders.  Half of
 * the probes match a rule somewhere in the list, half match none (the
 * worst case for a scan).  Medians of 5 runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "policy.h"
#include "policy_int.h"

#define RUNS 5

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* Append to a growing text buffer. */
struct text {
	char *s;
	size_t n, cap;
};

static void
add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2,
    3)));

#include <stdarg.h>

static void
add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->cap - t->n < 512) {
		t->cap = t->cap ? t->cap * 2 : 1 << 20;
		if ((t->s = realloc(t->s, t->cap)) == NULL)
			exit(1);
	}
	va_start(ap, fmt);
	n = vsnprintf(t->s + t->n, t->cap - t->n, fmt, ap);
	va_end(ap);
	t->n += (size_t)n;
}

static char *
make_policy(unsigned nrules, size_t *len)
{
	struct text t = { 0 };
	unsigned i, k;

	add(&t, "default sign=clear encrypt=opportunistic\n");
	for (i = 0; i < 100; i++) {
		add(&t, "group g%u =", i);
		for (k = 0; k < 100; k++)
			add(&t, " m%u.%u@members%u.example", i, k, i);
		add(&t, "\n");
	}
	for (i = 0; i < nrules; i++)
		switch (i % 5) {
		case 0: add(&t, "to user%u@rcpt.example encrypt=required\n", i);
			break;
		case 1: add(&t, "to *@dom%u.example encrypt=never\n", i); break;
		case 2: add(&t, "from *@*.sub%u.example sign=none\n", i); break;
		case 3: add(&t, "from @g%u to *@partner%u.example "
		    "encrypt=required\n", i % 100, i); break;
		case 4: add(&t, "from sender%u@corp.example to *@*.x%u.example "
		    "sign=opaque\n", i, i); break;
		}
	*len = t.n;
	return t.s;
}

struct probe {
	char from[96], to[96];
};

static void
make_probes(struct probe *pr, unsigned n, unsigned nrules)
{
	unsigned i, r;

	srand(42);
	for (i = 0; i < n; i++) {
		r = (unsigned)rand() % nrules;
		if (i % 2 == 1) {	/* matches nothing */
			snprintf(pr[i].from, sizeof(pr[i].from),
			    "nobody%u@nowhere.example", i);
			snprintf(pr[i].to, sizeof(pr[i].to),
			    "someone%u@elsewhere.example", i);
			continue;
		}
		switch (r % 5) {
		case 0:
			snprintf(pr[i].from, sizeof(pr[i].from), "a@b.example");
			snprintf(pr[i].to, sizeof(pr[i].to),
			    "user%u@rcpt.example", r);
			break;
		case 1:
			snprintf(pr[i].from, sizeof(pr[i].from), "a@b.example");
			snprintf(pr[i].to, sizeof(pr[i].to), "x@dom%u.example",
			    r);
			break;
		case 2:
			snprintf(pr[i].from, sizeof(pr[i].from),
			    "a@host.sub%u.example", r);
			snprintf(pr[i].to, sizeof(pr[i].to), "x@y.example");
			break;
		case 3:
			snprintf(pr[i].from, sizeof(pr[i].from),
			    "m%u.7@members%u.example", r % 100, r % 100);
			snprintf(pr[i].to, sizeof(pr[i].to),
			    "x@partner%u.example", r);
			break;
		default:
			snprintf(pr[i].from, sizeof(pr[i].from),
			    "sender%u@corp.example", r);
			snprintf(pr[i].to, sizeof(pr[i].to), "x@a.x%u.example",
			    r);
		}
	}
}

typedef void (*decide_fn)(const struct policy *, const char *,
    const char *, struct policy_decision *);

static double
time_decisions(const struct policy *p, const struct probe *pr, unsigned n,
    decide_fn fn, unsigned *matched)
{
	struct policy_decision d;
	double t0 = now_s();
	unsigned i;

	*matched = 0;
	for (i = 0; i < n; i++) {
		fn(p, pr[i].from, pr[i].to, &d);
		*matched += d.line != 0;
	}
	return (now_s() - t0) / n;
}

int
main(int argc, char **argv)
{
	unsigned nrules = argc > 1 ? (unsigned)atoi(argv[1]) : 100000;
	unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 200000;
	unsigned nlin = n / 200 > 100 ? n / 200 : 100;
	double load[RUNS], fast[RUNS], slow[RUNS];
	struct probe *pr = calloc(n, sizeof(*pr));
	struct policy *p = NULL;
	unsigned m1 = 0, m2 = 0, i, k;
	char err[300], *text;
	size_t len;
	int run;

	if (pr == NULL || nrules < 5)
		return 1;
	text = make_policy(nrules, &len);
	make_probes(pr, n, nrules);
	for (run = 0; run < RUNS; run++) {
		double t0 = now_s();

		policy_release(p);
		p = policy_parse("bench.policy", text, len, NULL, NULL, err,
		    sizeof(err));
		load[run] = now_s() - t0;
		if (p == NULL) {
			fprintf(stderr, "bench_policy: %s\n", err);
			return 1;
		}
		fast[run] = time_decisions(p, pr, n, policy_decide, &m1);
		/* The scan is slow: a smaller sample of the same probes. */
		slow[run] = time_decisions(p, pr, nlin, policy_decide_linear,
		    &m2);
	}
	/* Both must agree on every sampled probe. */
	for (i = 0; i < nlin; i++) {
		struct policy_decision a, b;

		policy_decide(p, pr[i].from, pr[i].to, &a);
		policy_decide_linear(p, pr[i].from, pr[i].to, &b);
		if (a.line != b.line) {
			fprintf(stderr, "bench_policy: index and scan differ "
			    "for %s -> %s\n", pr[i].from, pr[i].to);
			return 1;
		}
	}
	k = m1;
	printf("policy: %u rules + 100 groups x 100 members, %zu bytes; "
	    "medians of %d runs\n", nrules, len, RUNS);
	printf("  load (parse + index)      %8.1f ms  (goal < 1000 ms)\n",
	    median(load, RUNS) * 1e3);
	printf("  decision, index           %8.0f ns  (%u of %u probes "
	    "matched a rule)\n", median(fast, RUNS) * 1e9, k, n);
	printf("  decision, scan every rule %8.0f ns\n",
	    median(slow, RUNS) * 1e9);
	printf("  index vs scan             %8.0fx faster\n",
	    median(slow, RUNS) / median(fast, RUNS));
	policy_release(p);
	free(text);
	free(pr);
	return 0;
}
