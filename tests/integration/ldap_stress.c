/*
 * ldap_stress.c -- drive the LDAP certificate source from tests.
 *
 *   ldap_stress lookup SPEC ADDRESS...
 *	one look-up per address; prints
 *	  "lookup ADDRESS STATUS N" then per candidate
 *	  "  cand subject=\"...\" origin=\"...\" source=... extra=K",
 *	  or "lookup ADDRESS error reason=\"...\"";
 *	then a "counters ..." line.  Exit 0 (the caller judges).
 *   ldap_stress crl SPEC
 *	"crl STATUS N" and one "  crl issuer=\"...\"" line per CRL.
 *   ldap_stress stress SPEC THREADS N ADDRESS[=found|=none]...
 *	THREADS threads x N look-ups, round-robin over the addresses; the
 *	expected status is the suffix, or else what a first look-up of the
 *	address returned.  Exit 1 on any error or unexpected status.
 *   ldap_stress timeout SPEC ADDRESS
 *	"timeout STATUS elapsed_ms=MS" for one look-up.
 *   ldap_stress outage SPEC ADDRESS CTLDIR
 *	one source, four look-ups: expects found; creates CTLDIR/up1 and
 *	waits for CTLDIR/stopped; expects error (prints elapsed_ms),
 *	creates CTLDIR/down and waits for CTLDIR/started; expects found
 *	again; creates CTLDIR/up2 and waits for CTLDIR/restarted (the
 *	directory was restarted behind the now idle connection); expects
 *	found, without an error (the stale connection is replaced).
 *	Waits are bounded (30 s).  Exit 0 if all went as expected.
 *   ldap_stress blackhole PORT [SECONDS]
 *	listen on 127.0.0.1:PORT, accept connections and never answer (a
 *	hung server); prints "ready" when listening; exits after SECONDS
 *	(default 60).
 *
 * Log lines of the library go to stderr (LDAP_STRESS_LOG=0..4 sets the
 * level, default 2 = notice); results go to stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "certsrc_ldap.h"
#include "log.h"

#define WAIT_MAX_MS	30000
#define MAX_HELD	1024

static const char *
status_name(enum lookup_status st)
{
	switch (st) {
	case LOOKUP_FOUND: return "found";
	case LOOKUP_NONE: return "none";
	case LOOKUP_ERROR: return "error";
	}
	return "?";
}

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct certsrc *
open_source(const char *spec)
{
	struct certsrc *src;
	char err[512];

	if ((src = certsrc_ldap_new(spec, err, sizeof(err))) == NULL)
		fprintf(stderr, "ldap_stress: %s\n", err);
	return src;
}

static void
print_counters(struct certsrc *src)
{
	struct ldap_counters c;

	certsrc_ldap_counters(src, &c);
	printf("counters lookups=%lu errors=%lu timeouts=%lu reconnects=%lu "
	    "referrals=%lu\n", c.lookups, c.errors, c.timeouts, c.reconnects,
	    c.referrals);
}

/* One look-up, printed; returns its status. */
static enum lookup_status
lookup_print(struct certsrc *src, const char *address, long *ms)
{
	struct cert_list out = CERT_LIST_INIT;
	enum lookup_status st;
	char err[512], subj[512];
	long t0 = now_ms();
	size_t i;

	st = src->lookup(src, address, &out, err, sizeof(err));
	if (ms != NULL)
		*ms = now_ms() - t0;
	if (st == LOOKUP_ERROR) {
		printf("lookup %s error reason=\"%s\"\n", address, err);
		goto cleanup;
	}
	printf("lookup %s %s %zu\n", address, status_name(st), out.count);
	for (i = 0; i < out.count; i++) {
		X509_NAME_oneline(X509_get_subject_name(out.items[i].cert),
		    subj, sizeof(subj));
		printf("  cand subject=\"%s\" origin=\"%s\" source=%s "
		    "extra=%d\n", subj, out.items[i].origin,
		    out.items[i].source, out.items[i].extra != NULL ?
		    sk_X509_num(out.items[i].extra) : 0);
	}
cleanup:
	fflush(stdout);
	cert_list_free(&out);
	return st;
}

static int
mode_lookup(const char *spec, int n, char **addrs)
{
	struct certsrc *src;
	int i;

	if ((src = open_source(spec)) == NULL)
		return 2;
	for (i = 0; i < n; i++)
		lookup_print(src, addrs[i], NULL);
	print_counters(src);
	src->free(src);
	return 0;
}

static int
mode_crl(const char *spec)
{
	STACK_OF(X509_CRL) *crls = NULL;
	enum lookup_status st;
	struct certsrc *src;
	char err[512], name[512];
	int i;

	if ((src = open_source(spec)) == NULL)
		return 2;
	st = certsrc_ldap_fetch_crls(src, &crls, err, sizeof(err));
	if (st == LOOKUP_ERROR)
		printf("crl error reason=\"%s\"\n", err);
	else
		printf("crl %s %d\n", status_name(st), crls != NULL ?
		    sk_X509_CRL_num(crls) : 0);
	for (i = 0; i < sk_X509_CRL_num(crls); i++) {
		X509_NAME_oneline(X509_CRL_get_issuer(sk_X509_CRL_value(crls,
		    i)), name, sizeof(name));
		printf("  crl issuer=\"%s\"\n", name);
	}
	sk_X509_CRL_pop_free(crls, X509_CRL_free);
	print_counters(src);
	src->free(src);
	return 0;
}

static int
mode_timeout(const char *spec, const char *address)
{
	struct cert_list out = CERT_LIST_INIT;
	enum lookup_status st;
	struct certsrc *src;
	char err[512];
	long t0;

	if ((src = open_source(spec)) == NULL)
		return 2;
	t0 = now_ms();
	st = src->lookup(src, address, &out, err, sizeof(err));
	printf("timeout %s elapsed_ms=%ld%s%s%s\n", status_name(st),
	    now_ms() - t0, st == LOOKUP_ERROR ? " reason=\"" : "",
	    st == LOOKUP_ERROR ? err : "", st == LOOKUP_ERROR ? "\"" : "");
	cert_list_free(&out);
	print_counters(src);
	src->free(src);
	return 0;
}

/* ------------------------------------------------------------- stress */

struct stress_addr {
	const char *address;
	enum lookup_status want;
};

struct stress {
	struct certsrc *src;
	struct stress_addr *addrs;
	size_t naddrs;
	unsigned long per_thread;
	atomic_ulong found, none, errors, unexpected;
	pthread_mutex_t lock;	/* first_problem */
	char first_problem[600];
};

struct stress_thread {
	struct stress *st;
	size_t index;
	pthread_t tid;
};

static void
note_problem(struct stress *s, const char *address, enum lookup_status got,
    const char *err)
{
	pthread_mutex_lock(&s->lock);
	if (s->first_problem[0] == '\0')
		snprintf(s->first_problem, sizeof(s->first_problem),
		    "%s: %s%s%s", address, status_name(got),
		    got == LOOKUP_ERROR ? ": " : "",
		    got == LOOKUP_ERROR ? err : "");
	pthread_mutex_unlock(&s->lock);
}

static void *
stress_worker(void *arg)
{
	struct stress_thread *t = arg;
	struct stress *s = t->st;
	char err[512];
	unsigned long i;

	for (i = 0; i < s->per_thread; i++) {
		const struct stress_addr *a =
		    &s->addrs[(t->index + i) % s->naddrs];
		struct cert_list out = CERT_LIST_INIT;
		enum lookup_status got;

		got = s->src->lookup(s->src, a->address, &out, err,
		    sizeof(err));
		cert_list_free(&out);
		if (got == LOOKUP_FOUND)
			atomic_fetch_add(&s->found, 1);
		else if (got == LOOKUP_NONE)
			atomic_fetch_add(&s->none, 1);
		else
			atomic_fetch_add(&s->errors, 1);
		if (got != a->want) {
			atomic_fetch_add(&s->unexpected, 1);
			note_problem(s, a->address, got, err);
		}
	}
	return NULL;
}

/* ADDRESS[=found|=none] -> address and expectation (baseline if none). */
static int
stress_expectation(struct stress *s, char *arg, struct stress_addr *a)
{
	struct cert_list out = CERT_LIST_INIT;
	char *eq = strrchr(arg, '='), err[512];

	a->address = arg;
	if (eq != NULL && (strcmp(eq, "=found") == 0 ||
	    strcmp(eq, "=none") == 0)) {
		a->want = strcmp(eq, "=found") == 0 ? LOOKUP_FOUND :
		    LOOKUP_NONE;
		*eq = '\0';
		return 0;
	}
	a->want = s->src->lookup(s->src, arg, &out, err, sizeof(err));
	cert_list_free(&out);
	if (a->want == LOOKUP_ERROR) {
		fprintf(stderr, "ldap_stress: baseline look-up of %s: %s\n",
		    arg, err);
		return -1;
	}
	return 0;
}

static int
mode_stress(const char *spec, const char *threads_s, const char *n_s,
    int naddrs, char **addrs)
{
	struct stress s = { 0 };
	struct stress_thread *t = NULL;
	unsigned long threads = strtoul(threads_s, NULL, 10), i, started = 0;
	unsigned long total;
	long t0, ms;
	int rc = 2;

	s.per_thread = strtoul(n_s, NULL, 10);
	if (threads == 0 || threads > 1024 || s.per_thread == 0 ||
	    naddrs < 1) {
		fprintf(stderr, "ldap_stress: bad stress arguments\n");
		return 2;
	}
	pthread_mutex_init(&s.lock, NULL);
	s.naddrs = (size_t)naddrs;
	if ((s.src = open_source(spec)) == NULL)
		goto cleanup;
	if ((s.addrs = calloc(s.naddrs, sizeof(*s.addrs))) == NULL ||
	    (t = calloc(threads, sizeof(*t))) == NULL)
		goto cleanup;
	for (i = 0; i < s.naddrs; i++)
		if (stress_expectation(&s, addrs[i], &s.addrs[i]) != 0)
			goto cleanup;
	t0 = now_ms();
	for (started = 0; started < threads; started++) {
		t[started].st = &s;
		t[started].index = started;
		if (pthread_create(&t[started].tid, NULL, stress_worker,
		    &t[started]) != 0)
			break;
	}
	for (i = 0; i < started; i++)
		pthread_join(t[i].tid, NULL);
	ms = now_ms() - t0;
	total = started * s.per_thread;
	printf("stress threads=%lu lookups=%lu found=%lu none=%lu errors=%lu "
	    "unexpected=%lu elapsed_ms=%ld per_s=%.1f\n", started, total,
	    atomic_load(&s.found), atomic_load(&s.none),
	    atomic_load(&s.errors), atomic_load(&s.unexpected), ms,
	    ms > 0 ? total * 1000.0 / (double)ms : 0.0);
	if (s.first_problem[0] != '\0')
		printf("first_problem %s\n", s.first_problem);
	print_counters(s.src);
	rc = started == threads && atomic_load(&s.errors) == 0 &&
	    atomic_load(&s.unexpected) == 0 ? 0 : 1;
cleanup:
	if (s.src != NULL)
		s.src->free(s.src);
	free(s.addrs);
	free(t);
	pthread_mutex_destroy(&s.lock);
	return rc;
}

/* ------------------------------------------------------------- outage */

/* Wait (bounded) until dir/name exists. */
static int
wait_file(const char *dir, const char *name)
{
	char path[1024];
	struct stat st;
	long t0 = now_ms();

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	while (stat(path, &st) != 0) {
		if (now_ms() - t0 > WAIT_MAX_MS) {
			fprintf(stderr, "ldap_stress: gave up waiting for "
			    "%s\n", path);
			return -1;
		}
		usleep(20000);
	}
	return 0;
}

static int
touch_file(const char *dir, const char *name)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	return fclose(f);
}

static int
mode_outage(const char *spec, const char *address, const char *dir)
{
	struct certsrc *src;
	long ms;
	int ok = 1;

	if ((src = open_source(spec)) == NULL)
		return 2;
	if (lookup_print(src, address, &ms) != LOOKUP_FOUND)
		ok = 0;
	printf("outage phase=up1 elapsed_ms=%ld\n", ms);
	fflush(stdout);
	if (touch_file(dir, "up1") != 0 || wait_file(dir, "stopped") != 0)
		goto done;
	if (lookup_print(src, address, &ms) != LOOKUP_ERROR)
		ok = 0;
	printf("outage phase=down elapsed_ms=%ld\n", ms);
	fflush(stdout);
	if (touch_file(dir, "down") != 0 || wait_file(dir, "started") != 0)
		goto done;
	if (lookup_print(src, address, &ms) != LOOKUP_FOUND)
		ok = 0;
	printf("outage phase=up2 elapsed_ms=%ld\n", ms);
	fflush(stdout);
	if (touch_file(dir, "up2") != 0 || wait_file(dir, "restarted") != 0)
		goto done;
	if (lookup_print(src, address, &ms) != LOOKUP_FOUND)
		ok = 0;
	printf("outage phase=restarted elapsed_ms=%ld\n", ms);
	print_counters(src);
	src->free(src);
	return ok ? 0 : 1;
done:
	src->free(src);
	return 1;
}

/* ---------------------------------------------------------- blackhole */

static int
mode_blackhole(const char *port_s, const char *secs_s)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	int held[MAX_HELD], nheld = 0, fd, c, one = 1, i;
	long deadline = now_ms() + 1000L * (secs_s != NULL ?
	    atol(secs_s) : 60);
	struct timeval tv = { 0, 200000 };

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((unsigned short)atoi(port_s));
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0 ||
	    listen(fd, 64) != 0) {
		fprintf(stderr, "ldap_stress: blackhole %s: %s\n", port_s,
		    strerror(errno));
		return 2;
	}
	/* accept() wakes up now and then to check the deadline. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	printf("ready\n");
	fflush(stdout);
	while (now_ms() < deadline) {
		if ((c = accept(fd, NULL, NULL)) < 0)
			continue;
		if (nheld < MAX_HELD)
			held[nheld++] = c;	/* held open, never read */
		else
			close(c);
	}
	for (i = 0; i < nheld; i++)
		close(held[i]);
	close(fd);
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: ldap_stress lookup SPEC ADDRESS...\n"
	    "       ldap_stress crl SPEC\n"
	    "       ldap_stress stress SPEC THREADS N ADDRESS[=found|=none]..."
	    "\n"
	    "       ldap_stress timeout SPEC ADDRESS\n"
	    "       ldap_stress outage SPEC ADDRESS CTLDIR\n"
	    "       ldap_stress blackhole PORT [SECONDS]\n");
	return 2;
}

int
main(int argc, char **argv)
{
	const char *lvl = getenv("LDAP_STRESS_LOG");

	/* libldap may write to a socket whose peer is gone. */
	signal(SIGPIPE, SIG_IGN);
	log_setup("ldap_stress", false, 0, true, lvl != NULL ?
	    (enum log_level)atoi(lvl) : LOG_LVL_NOTICE);
	if (argc < 3)
		return usage();
	if (strcmp(argv[1], "lookup") == 0 && argc >= 4)
		return mode_lookup(argv[2], argc - 3, argv + 3);
	if (strcmp(argv[1], "crl") == 0 && argc == 3)
		return mode_crl(argv[2]);
	if (strcmp(argv[1], "stress") == 0 && argc >= 6)
		return mode_stress(argv[2], argv[3], argv[4], argc - 5,
		    argv + 5);
	if (strcmp(argv[1], "timeout") == 0 && argc == 4)
		return mode_timeout(argv[2], argv[3]);
	if (strcmp(argv[1], "outage") == 0 && argc == 5)
		return mode_outage(argv[2], argv[3], argv[4]);
	if (strcmp(argv[1], "blackhole") == 0 && (argc == 3 || argc == 4))
		return mode_blackhole(argv[2], argc == 4 ? argv[3] : NULL);
	return usage();
}
