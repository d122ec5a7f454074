/*
 * certsrc_ldap.c -- the LDAP certificate source: connection pool, search,
 * and the decoding of certificate and CRL values.  The LDAPDirectory line
 * is parsed by ldapspec.c.
 *
 * Why a pool: libldap 2.5 handles are thread-safe (libldap_r is merged),
 * but one handle serialises its own operations on one connection, and a
 * broken connection takes every thread using it down together.  A small
 * pool of handles, each lent to one thread at a time, gives parallel
 * searches and confines a broken connection to the one look-up that met
 * it (OpenDKIM's single lock around all LDAP traffic is what we avoid).
 * The pool lock is held only to take or return a slot, never across
 * network I/O.
 *
 * Time: a look-up has one budget of timeout seconds, from the call to the
 * answer: waiting for a free handle, connecting (LDAP_OPT_NETWORK_TIMEOUT,
 * split between the URIs of a failover list), StartTLS and bind
 * (LDAP_OPT_TIMEOUT) and the search (client timeout, and the server time
 * limit libldap derives from it) all take from it.  A connection failure
 * is retried once on a fresh connection if budget remains, so a stale
 * connection after a directory restart costs nothing visible, while a
 * hung server fails after timeout seconds instead of twice that.
 */
#include "certsrc_ldap.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldap.h>
#include <openssl/err.h>
#include <openssl/pkcs7.h>
#include <openssl/x509v3.h>

#include "ldapconn.h"
#include "ldapfilter.h"
#include "ldapspec.h"
#include "log.h"

#define CRL_ATTR	"certificateRevocationList;binary"

#define CRL_VALUE_MAX	(64 * 1024 * 1024)	/* CRLs grow large */
#define RETRY_MIN_MS	200	/* retry a failed connection only with
				 * at least this much budget left */

/* ---------------------------------------------------------------- pool */

struct ldap_slot {
	LDAP *ld;		/* NULL until connected */
	bool failed;		/* dropped after a failure */
};

struct ldap_source {
	struct certsrc src;	/* src.impl points back here */
	struct ldap_spec spec;
	struct berval cred;	/* bind password, or empty */

	pthread_mutex_t lock;	/* protects idle, nidle */
	pthread_cond_t freed;	/* a slot came back */
	struct ldap_slot *slots;
	size_t *idle;		/* stack of free slot numbers */
	size_t nidle;

	atomic_ulong lookups, errors, timeouts, reconnects, referrals;
};

/* An operation run on a pooled connection; returns an LDAP result code. */
typedef int (*ldap_op)(struct ldap_source *ls, LDAP *ld,
    struct timeval *tv, void *arg, char *err, size_t errlen);

/* Take a free slot, waiting until deadline at most. */
static int
pool_acquire(struct ldap_source *ls, const struct timespec *deadline,
    size_t *slot)
{
	int rc = 0;

	pthread_mutex_lock(&ls->lock);
	while (ls->nidle == 0 && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&ls->freed, &ls->lock, deadline);
	if (ls->nidle == 0) {
		pthread_mutex_unlock(&ls->lock);
		return -1;
	}
	/* LIFO: the most recently used, most likely connected slot. */
	*slot = ls->idle[--ls->nidle];
	pthread_mutex_unlock(&ls->lock);
	return 0;
}

static void
pool_release(struct ldap_source *ls, size_t slot)
{
	pthread_mutex_lock(&ls->lock);
	ls->idle[ls->nidle++] = slot;
	pthread_cond_signal(&ls->freed);
	pthread_mutex_unlock(&ls->lock);
}

static void
slot_drop(struct ldap_slot *s)
{
	if (s->ld != NULL) {
		ldap_unbind_ext(s->ld, NULL, NULL);
		s->ld = NULL;
	}
	s->failed = true;
}

/*
 * Connect slot s if it has no connection (ldapconn_open: timeouts from
 * what is left of the budget, StartTLS, bind).  On failure the slot stays
 * empty.
 */
static int
slot_connect(struct ldap_source *ls, struct ldap_slot *s,
    const struct timespec *deadline, char *err, size_t errlen)
{
	int rc;

	if (s->ld != NULL)
		return LDAP_SUCCESS;
	if ((rc = ldapconn_open(&ls->spec, &ls->cred, deadline, &s->ld, err,
	    errlen)) != LDAP_SUCCESS) {
		s->failed = true;
		return rc;
	}
	if (s->failed) {
		atomic_fetch_add(&ls->reconnects, 1);
		s->failed = false;
		log_msg(LOG_LVL_INFO, "ldap=%s reconnected uri=%s",
		    ls->spec.name, ls->spec.uri);
	}
	return LDAP_SUCCESS;
}

/*
 * Run op on a pooled connection within the budget ending at deadline:
 * connect lazily; on a connection failure drop the connection, and
 * reconnect and retry once if at least RETRY_MIN_MS of budget is left.
 * Returns LDAP_SUCCESS or the last LDAP error with a reason in err.
 */
static int
run_op(struct ldap_source *ls, const struct timespec *deadline, ldap_op op,
    void *arg, char *err, size_t errlen)
{
	struct timeval tv;
	struct ldap_slot *s;
	size_t slot;
	int rc, attempt;

	if (pool_acquire(ls, deadline, &slot) != 0) {
		snprintf(err, errlen, "pool exhausted: no free connection "
		    "within %us (pool=%u)", ls->spec.timeout, ls->spec.pool);
		return LDAP_TIMEOUT;
	}
	s = &ls->slots[slot];
	for (attempt = 0; ; attempt++) {
		rc = slot_connect(ls, s, deadline, err, errlen);
		if (rc == LDAP_SUCCESS) {
			if (ldapconn_remaining_tv(deadline, &tv) != 0) {
				snprintf(err, errlen, "timed out after %us",
				    ls->spec.timeout);
				rc = LDAP_TIMEOUT;
				break;
			}
			rc = op(ls, s->ld, &tv, arg, err, errlen);
			if (ldapconn_broken(rc))
				slot_drop(s);
		}
		if (!ldapconn_broken(rc) || attempt > 0 ||
		    ldapconn_remaining_ms(deadline) < RETRY_MIN_MS)
			break;
		log_msg(LOG_LVL_NOTICE, "ldap=%s connection failed (%s); "
		    "retrying on a new connection", ls->spec.name, err);
	}
	pool_release(ls, slot);
	return rc;
}

/* Count a failed operation and log it. */
static void
note_failure(struct ldap_source *ls, int rc, const char *what,
    const char *err)
{
	atomic_fetch_add(&ls->errors, 1);
	if (rc == LDAP_TIMEOUT || rc == LDAP_TIMELIMIT_EXCEEDED)
		atomic_fetch_add(&ls->timeouts, 1);
	log_msg(LOG_LVL_WARNING, "ldap=%s %s status=error reason=\"%s\"",
	    ls->spec.name, what, err);
}

/*
 * A referral answer (the base itself is elsewhere) is worth a notice;
 * search references next to real entries are routine in some
 * directories (Active Directory's DomainDnsZones) and only debug.
 */
static void
note_referral(struct ldap_source *ls, const char *what, unsigned long n,
    bool answer)
{
	atomic_fetch_add(&ls->referrals, n);
	log_msg(answer ? LOG_LVL_NOTICE : LOG_LVL_DEBUG, "ldap=%s %s: %lu "
	    "%s not followed", ls->spec.name, what, n, answer ?
	    "referral" : "search reference(s)");
}

/* The first OpenSSL error of this thread as text; empties the queue. */
static const char *
ssl_reason(char *buf, size_t buflen)
{
	unsigned long e = ERR_get_error();

	if (e == 0)
		snprintf(buf, buflen, "no detail");
	else
		ERR_error_string_n(e, buf, buflen);
	ERR_clear_error();
	return buf;
}

/* ------------------------------------------------------ certificates */

struct lookup_op {
	const char *address;
	const char *filter;
	struct cert_list found;	/* this look-up's candidates */
	size_t entries;
	bool capped;		/* CERT_LIST_MAX_PER_SOURCE reached */
	bool oom;
};

static void
add_candidate(struct ldap_source *ls, struct lookup_op *lo, X509 *cert,
    STACK_OF(X509) *extra, const char *dn)
{
	if (lo->found.count >= CERT_LIST_MAX_PER_SOURCE) {
		if (!lo->capped)
			log_msg(LOG_LVL_NOTICE, "ldap=%s address=<%s> more "
			    "than %d certificates; ignoring the rest",
			    ls->spec.name, lo->address,
			    CERT_LIST_MAX_PER_SOURCE);
		lo->capped = true;
		return;
	}
	if (cert_list_add(&lo->found, cert, extra, ls->src.name, dn) != 0)
		lo->oom = true;
}

/*
 * A PKCS#7 SignedData bundle: its end-entity certificates are the
 * candidates, its CA certificates go along as extra chain material.
 */
static int
take_bundle(struct ldap_source *ls, struct lookup_op *lo, PKCS7 *p7,
    const char *dn)
{
	STACK_OF(X509) *certs, *cas = NULL;
	int i, ee = 0, rc = -1;

	if (!PKCS7_type_is_signed(p7) || p7->d.sign == NULL ||
	    (certs = p7->d.sign->cert) == NULL)
		return -1;
	if ((cas = sk_X509_new_null()) == NULL) {
		lo->oom = true;
		goto cleanup;
	}
	for (i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		if (X509_check_ca(x) != 0 && sk_X509_push(cas, x) == 0) {
			lo->oom = true;
			goto cleanup;
		}
	}
	for (i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);

		if (X509_check_ca(x) == 0) {
			add_candidate(ls, lo, x, sk_X509_num(cas) > 0 ? cas :
			    NULL, dn);
			ee++;
		}
	}
	rc = ee > 0 ? 0 : -1;
cleanup:
	sk_X509_free(cas);	/* references stay with p7 */
	return rc;
}

/*
 * One attribute value: DER X.509 certificate or PKCS#7 bundle, each
 * taking the whole value.  Anything else is skipped with a notice.
 */
static void
take_value(struct ldap_source *ls, struct lookup_op *lo,
    const struct berval *bv, const char *attr, const char *dn)
{
	const unsigned char *p, *end;
	char why[256];
	X509 *x;
	PKCS7 *p7;
	const char *skip = NULL;

	if (bv->bv_len == 0 || bv->bv_len > ls->spec.max_value_bytes) {
		log_msg(LOG_LVL_NOTICE, "ldap=%s dn=\"%s\" attr=%s: skipped "
		    "value of %lu bytes (limit %u)", ls->spec.name, dn, attr,
		    (unsigned long)bv->bv_len, ls->spec.max_value_bytes);
		return;
	}
	end = (const unsigned char *)bv->bv_val + bv->bv_len;
	p = (const unsigned char *)bv->bv_val;
	if ((x = d2i_X509(NULL, &p, (long)bv->bv_len)) != NULL && p == end) {
		add_candidate(ls, lo, x, NULL, dn);
		X509_free(x);
		goto cleanup;
	}
	X509_free(x);
	p = (const unsigned char *)bv->bv_val;
	if ((p7 = d2i_PKCS7(NULL, &p, (long)bv->bv_len)) != NULL && p == end) {
		if (take_bundle(ls, lo, p7, dn) != 0)
			skip = "PKCS#7 value without end-entity certificates";
	} else {
		skip = "neither a DER certificate nor a PKCS#7 bundle";
	}
	PKCS7_free(p7);
	if (skip != NULL)
		log_msg(LOG_LVL_NOTICE, "ldap=%s dn=\"%s\" attr=%s: skipped "
		    "value of %lu bytes: %s (%s)", ls->spec.name, dn, attr,
		    (unsigned long)bv->bv_len, skip,
		    ssl_reason(why, sizeof(why)));
cleanup:
	ERR_clear_error();
}

static void
take_entry(struct ldap_source *ls, LDAP *ld, LDAPMessage *entry,
    struct lookup_op *lo)
{
	struct berval **vals;
	BerElement *ber = NULL;
	char *dn, *attr;
	size_t i;

	if ((dn = ldap_get_dn(ld, entry)) == NULL) {
		lo->oom = true;
		return;
	}
	lo->entries++;
	/* Every attribute returned is one we asked for (attrs=). */
	for (attr = ldap_first_attribute(ld, entry, &ber); attr != NULL;
	    attr = ldap_next_attribute(ld, entry, ber)) {
		if ((vals = ldap_get_values_len(ld, entry, attr)) != NULL) {
			for (i = 0; vals[i] != NULL; i++)
				take_value(ls, lo, vals[i], attr, dn);
			ldap_value_free_len(vals);
		}
		ldap_memfree(attr);
	}
	ber_free(ber, 0);
	ldap_memfree(dn);
}

static int
op_lookup(struct ldap_source *ls, LDAP *ld, struct timeval *tv, void *arg,
    char *err, size_t errlen)
{
	struct lookup_op *lo = arg;
	LDAPMessage *res = NULL, *msg;
	unsigned long refs = 0;
	int rc;

	rc = ldap_search_ext_s(ld, ls->spec.base, LDAP_SCOPE_SUBTREE,
	    lo->filter, ls->spec.attrs.v, 0, NULL, NULL, tv,
	    (int)ls->spec.max_entries, &res);
	if (rc == LDAP_REFERRAL) {
		note_referral(ls, "search", 1, true);
		rc = LDAP_SUCCESS;
		goto cleanup;
	}
	if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
		ldapconn_reason(ld, rc, "search", err, errlen);
		goto cleanup;
	}
	if (rc == LDAP_SIZELIMIT_EXCEEDED)
		log_msg(LOG_LVL_NOTICE, "ldap=%s address=<%s> more than %u "
		    "entries match; using the first ones", ls->spec.name,
		    lo->address, ls->spec.max_entries);
	for (msg = ldap_first_message(ld, res); msg != NULL;
	    msg = ldap_next_message(ld, msg)) {
		if (ldap_msgtype(msg) == LDAP_RES_SEARCH_ENTRY)
			take_entry(ls, ld, msg, lo);
		else if (ldap_msgtype(msg) == LDAP_RES_SEARCH_REFERENCE)
			refs++;
	}
	if (refs > 0)
		note_referral(ls, "search", refs, false);
	rc = LDAP_SUCCESS;
cleanup:
	ldap_msgfree(res);
	return rc;
}

static enum lookup_status
ldap_lookup(struct certsrc *src, const char *address, struct cert_list *out,
    char *err, size_t errlen)
{
	struct ldap_source *ls = src->impl;
	struct lookup_op lo = { .address = address };
	char filter[LDAP_FILTER_MAX];
	struct timespec deadline;
	enum lookup_status st = LOOKUP_ERROR;
	int rc;

	assert(address != NULL && out != NULL);
	atomic_fetch_add(&ls->lookups, 1);
	ldapconn_deadline(&deadline, ls->spec.timeout);
	if (ldap_filter_expand(ls->spec.filter, address, strlen(address),
	    filter, sizeof(filter)) != 0) {
		snprintf(err, errlen, "filter for this address longer than "
		    "%d bytes", LDAP_FILTER_MAX);
		note_failure(ls, LDAP_FILTER_ERROR, "lookup", err);
		goto cleanup;
	}
	lo.filter = filter;
	rc = run_op(ls, &deadline, op_lookup, &lo, err, errlen);
	if (rc == LDAP_SUCCESS && lo.oom) {
		snprintf(err, errlen, "out of memory");
		rc = LDAP_NO_MEMORY;
	}
	if (rc != LDAP_SUCCESS) {
		note_failure(ls, rc, "lookup", err);
		goto cleanup;
	}
	log_msg(LOG_LVL_DEBUG, "ldap=%s address=<%s> filter=%s entries=%zu "
	    "candidates=%zu", ls->spec.name, address, filter, lo.entries,
	    lo.found.count);
	st = lo.found.count > 0 ? LOOKUP_FOUND : LOOKUP_NONE;
	if (cert_list_move(out, &lo.found) != 0) {
		snprintf(err, errlen, "out of memory");
		note_failure(ls, LDAP_NO_MEMORY, "lookup", err);
		st = LOOKUP_ERROR;
	}
cleanup:
	cert_list_free(&lo.found);
	return st;
}

/* ---------------------------------------------------------------- CRLs */

struct crl_op {
	STACK_OF(X509_CRL) *crls;	/* this fetch's CRLs */
};

static void
take_crl_values(struct ldap_source *ls, LDAP *ld, LDAPMessage *entry,
    const char *dn, struct crl_op *co)
{
	struct berval **vals;
	const unsigned char *p;
	char why[256];
	X509_CRL *crl;
	size_t i;

	if ((vals = ldap_get_values_len(ld, entry, CRL_ATTR)) == NULL)
		return;
	for (i = 0; vals[i] != NULL; i++) {
		p = (const unsigned char *)vals[i]->bv_val;
		crl = NULL;
		if (vals[i]->bv_len <= CRL_VALUE_MAX)
			crl = d2i_X509_CRL(NULL, &p, (long)vals[i]->bv_len);
		if (crl == NULL || p != (const unsigned char *)
		    vals[i]->bv_val + vals[i]->bv_len) {
			log_msg(LOG_LVL_NOTICE, "ldap=%s dn=\"%s\": skipped "
			    "CRL value of %lu bytes (%s)", ls->spec.name, dn,
			    (unsigned long)vals[i]->bv_len,
			    ssl_reason(why, sizeof(why)));
			X509_CRL_free(crl);
		} else if (sk_X509_CRL_push(co->crls, crl) == 0) {
			X509_CRL_free(crl);
		}
	}
	ERR_clear_error();
	ldap_value_free_len(vals);
}

static int
op_crls(struct ldap_source *ls, LDAP *ld, struct timeval *tv, void *arg,
    char *err, size_t errlen)
{
	char *attrs[] = { CRL_ATTR, NULL };
	struct crl_op *co = arg;
	LDAPMessage *res = NULL, *entry;
	char what[300];
	size_t i;
	int rc = LDAP_SUCCESS;

	/* A retry starts from scratch. */
	while (sk_X509_CRL_num(co->crls) > 0)
		X509_CRL_free(sk_X509_CRL_pop(co->crls));
	for (i = 0; i < ls->spec.crl_dns.n; i++) {
		const char *dn = ls->spec.crl_dns.v[i];

		rc = ldap_search_ext_s(ld, dn, LDAP_SCOPE_BASE,
		    "(objectClass=*)", attrs, 0, NULL, NULL, tv, 1, &res);
		if (rc == LDAP_SUCCESS) {
			entry = ldap_first_entry(ld, res);
			if (entry != NULL)
				take_crl_values(ls, ld, entry, dn, co);
		} else if (rc == LDAP_NO_SUCH_OBJECT) {
			log_msg(LOG_LVL_WARNING, "ldap=%s crl-dn=\"%s\" does "
			    "not exist", ls->spec.name, dn);
		} else if (rc == LDAP_REFERRAL) {
			note_referral(ls, "crl", 1, true);
		} else {
			snprintf(what, sizeof(what), "crl search \"%s\"", dn);
			ldapconn_reason(ld, rc, what, err, errlen);
			break;
		}
		ldap_msgfree(res);
		res = NULL;
		rc = LDAP_SUCCESS;
	}
	ldap_msgfree(res);
	return rc;
}

enum lookup_status
certsrc_ldap_fetch_crls(struct certsrc *src, STACK_OF(X509_CRL) **out,
    char *err, size_t errlen)
{
	struct ldap_source *ls = src->impl;
	struct crl_op co = { NULL };
	struct timespec deadline;
	enum lookup_status st = LOOKUP_ERROR;
	int rc;

	assert(out != NULL);
	if (ls->spec.crl_dns.n == 0)
		return LOOKUP_NONE;
	if ((co.crls = sk_X509_CRL_new_null()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	ldapconn_deadline(&deadline, ls->spec.timeout);
	if ((rc = run_op(ls, &deadline, op_crls, &co, err, errlen)) !=
	    LDAP_SUCCESS) {
		note_failure(ls, rc, "crl", err);
		goto cleanup;
	}
	if (*out == NULL && (*out = sk_X509_CRL_new_null()) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	st = sk_X509_CRL_num(co.crls) > 0 ? LOOKUP_FOUND : LOOKUP_NONE;
	while (sk_X509_CRL_num(co.crls) > 0) {
		X509_CRL *crl = sk_X509_CRL_shift(co.crls);

		if (sk_X509_CRL_push(*out, crl) == 0) {
			X509_CRL_free(crl);
			snprintf(err, errlen, "out of memory");
			st = LOOKUP_ERROR;
			goto cleanup;
		}
	}
cleanup:
	sk_X509_CRL_pop_free(co.crls, X509_CRL_free);
	return st;
}

/* ------------------------------------------------------------- source */

static void
ldap_src_free(struct certsrc *src)
{
	struct ldap_source *ls;
	size_t i;

	if (src == NULL)
		return;
	ls = src->impl;
	for (i = 0; ls->slots != NULL && i < ls->spec.pool; i++)
		if (ls->slots[i].ld != NULL)
			ldap_unbind_ext(ls->slots[i].ld, NULL, NULL);
	free(ls->slots);
	free(ls->idle);
	ldapconn_password_free(&ls->cred);
	pthread_cond_destroy(&ls->freed);
	pthread_mutex_destroy(&ls->lock);
	spec_free(&ls->spec);
	free(ls);
}

static int
init_sync(struct ldap_source *ls)
{
	pthread_condattr_t attr;
	int rc;

	if (pthread_condattr_init(&attr) != 0)
		return -1;
	/* Deadlines are CLOCK_MONOTONIC: immune to clock steps. */
	rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
	    pthread_cond_init(&ls->freed, &attr) == 0 ? 0 : -1;
	pthread_condattr_destroy(&attr);
	if (rc == 0 && pthread_mutex_init(&ls->lock, NULL) != 0) {
		pthread_cond_destroy(&ls->freed);
		rc = -1;
	}
	return rc;
}

struct certsrc *
certsrc_ldap_new(const char *text, char *err, size_t errlen)
{
	struct ldap_source *ls;
	size_t i;
	int v;

	if ((ls = calloc(1, sizeof(*ls))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (spec_parse(text, &ls->spec, err, errlen) != 0) {
		free(ls);
		return NULL;
	}
	if (init_sync(ls) != 0) {
		snprintf(err, errlen, "cannot initialise pool lock");
		spec_free(&ls->spec);
		free(ls);
		return NULL;
	}
	ls->src.impl = ls;
	ls->src.lookup = ldap_lookup;
	ls->src.reload = NULL;	/* nothing local: a new config makes a new
				 * source */
	ls->src.free = ldap_src_free;
	snprintf(ls->src.name, sizeof(ls->src.name), "ldap:%s",
	    ls->spec.name);
	if (ls->spec.password_file != NULL &&
	    ldapconn_password_read(ls->spec.password_file, &ls->cred, err,
	    errlen) != 0)
		goto fail;
	ls->slots = calloc(ls->spec.pool, sizeof(*ls->slots));
	ls->idle = calloc(ls->spec.pool, sizeof(*ls->idle));
	if (ls->slots == NULL || ls->idle == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; i < ls->spec.pool; i++)
		ls->idle[i] = ls->spec.pool - 1 - i;
	ls->nidle = ls->spec.pool;
	/*
	 * libldap initialises its global options on first use; do it here,
	 * single-threaded, rather than in racing look-ups.
	 */
	ldap_get_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &v);
	return &ls->src;
fail:
	ldap_src_free(&ls->src);
	return NULL;
}

void
certsrc_ldap_counters(struct certsrc *src, struct ldap_counters *out)
{
	struct ldap_source *ls;

	assert(src != NULL && src->free == ldap_src_free);
	ls = src->impl;
	out->lookups = atomic_load(&ls->lookups);
	out->errors = atomic_load(&ls->errors);
	out->timeouts = atomic_load(&ls->timeouts);
	out->reconnects = atomic_load(&ls->reconnects);
	out->referrals = atomic_load(&ls->referrals);
}
