/*
 * certlookup.c -- sources in order, validation, selection, cache.
 */
#include "certlookup.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "certcheck.h"
#include "certsrc_dir.h"
#include "certsrc_ldap.h"
#include "config.h"
#include "log.h"

#define MAX_SOURCES 16

/*
 * The validator is replaced when CRLs are refreshed while look-ups are
 * running: each look-up holds a reference to the one it started with.
 */
struct checkref {
	_Atomic int refs;
	struct certcheck *chk;
};

struct certlookup {
	struct certsrc *sources[MAX_SOURCES];
	size_t nsources;
	pthread_mutex_t check_lock;	/* guards check (the pointer) */
	struct checkref *check;
	struct certcheck_opts check_opts;	/* to build it again */
	char **crl_files;			/* owned copy for check_opts */
	char *anchors;
	struct certcache *cache;
	bool encrypt_to_all;
};

static struct checkref *
check_get(struct certlookup *lk)
{
	struct checkref *ref;

	pthread_mutex_lock(&lk->check_lock);
	ref = lk->check;
	atomic_fetch_add(&ref->refs, 1);
	pthread_mutex_unlock(&lk->check_lock);
	return ref;
}

static void
check_put(struct checkref *ref)
{
	if (ref != NULL && atomic_fetch_sub(&ref->refs, 1) == 1) {
		certcheck_free(ref->chk);
		free(ref);
	}
}

static struct certsrc *
find_ldap_spec(const struct config *cfg, const char *name, char *err,
    size_t errlen)
{
	size_t i;
	char spec_name[64];

	for (i = 0; cfg->ldap_directories != NULL &&
	    cfg->ldap_directories[i] != NULL; i++) {
		if (ldap_spec_name(cfg->ldap_directories[i], spec_name,
		    sizeof(spec_name)) == 0 && strcmp(spec_name, name) == 0)
			return certsrc_ldap_new(cfg->ldap_directories[i], err,
			    errlen);
	}
	snprintf(err, errlen, "CertificateSources: ldap:%s has no "
	    "LDAPDirectory %s line", name, name);
	return NULL;
}

static struct certsrc *
open_source(const struct config *cfg, const char *word, char *err,
    size_t errlen)
{
	if (strncmp(word, "dir:", 4) == 0)
		return certsrc_dir_new("dir", word + 4, err, errlen);
	if (strncmp(word, "ldap:", 5) == 0)
		return find_ldap_spec(cfg, word + 5, err, errlen);
	if (strcmp(word, "harvested") == 0) {
		/* Our own store: create it on first use. */
		if (mkdir(cfg->harvest_dir, 0750) != 0 && errno != EEXIST) {
			snprintf(err, errlen, "HarvestDir %s: %s",
			    cfg->harvest_dir, strerror(errno));
			return NULL;
		}
		return certsrc_dir_new("harvested", cfg->harvest_dir, err,
		    errlen);
	}
	snprintf(err, errlen, "CertificateSources: unknown source '%s'",
	    word);
	return NULL;
}

struct open_state {
	struct certlookup *lk;
	const struct config *cfg;
	char *err;
	size_t errlen;
};

static int
open_source_word(const char *word, void *arg)
{
	struct open_state *os = arg;
	struct certlookup *lk = os->lk;

	if (lk->nsources == MAX_SOURCES) {
		snprintf(os->err, os->errlen, "CertificateSources: more than "
		    "%d sources", MAX_SOURCES);
		return 1;
	}
	lk->sources[lk->nsources] = open_source(os->cfg, word, os->err,
	    os->errlen);
	if (lk->sources[lk->nsources] == NULL)
		return 1;
	lk->nsources++;
	return 0;
}

static int
open_sources(struct certlookup *lk, const struct config *cfg, char *err,
    size_t errlen)
{
	struct open_state os = { lk, cfg, err, errlen };
	int rc = config_each_word(cfg->cert_sources, open_source_word, &os);

	if (rc < 0)
		snprintf(err, errlen, "out of memory");
	return rc != 0 ? -1 : 0;
}

/* CRLs published in LDAP directories (crl-dn=) join the file CRLs. */
static void
add_ldap_crls(struct certlookup *lk, struct certcheck *chk)
{
	size_t i;

	for (i = 0; i < lk->nsources; i++) {
		STACK_OF(X509_CRL) *crls = NULL;
		char err[256];

		if (strncmp(lk->sources[i]->name, "ldap:", 5) != 0)
			continue;
		if (certsrc_ldap_fetch_crls(lk->sources[i], &crls, err,
		    sizeof(err)) == LOOKUP_ERROR)
			log_msg(LOG_LVL_WARNING, "%s: cannot fetch CRLs: %s",
			    lk->sources[i]->name, err);
		if (crls != NULL)
			certcheck_add_crls(chk, crls);
		sk_X509_CRL_pop_free(crls, X509_CRL_free);
	}
}

/* A validator with the anchors and the CRLs of files and LDAP, now. */
static struct checkref *
build_check(struct certlookup *lk, char *err, size_t errlen)
{
	struct checkref *ref = calloc(1, sizeof(*ref));

	if (ref == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&ref->refs, 1);
	if ((ref->chk = certcheck_new(&lk->check_opts, err, errlen)) == NULL) {
		free(ref);
		return NULL;
	}
	add_ldap_crls(lk, ref->chk);
	return ref;
}

static char **
copy_list(char *const *list)
{
	size_t i, n = config_list_count(list);
	char **copy = calloc(n + 1, sizeof(char *));

	for (i = 0; copy != NULL && i < n; i++)
		if ((copy[i] = strdup(list[i])) == NULL) {
			config_list_free(copy);
			return NULL;
		}
	return copy;
}

struct certlookup *
certlookup_new(const struct config *cfg, const struct certlookup_hooks *hooks,
    char *err, size_t errlen)
{
	struct certlookup *lk = calloc(1, sizeof(*lk));
	struct certcache_opts cache_opts = {
		.capacity = cfg->cert_cache_size,
		.ttl = cfg->cert_cache_ttl,
		.negative_ttl = cfg->cert_negative_ttl,
		.now = hooks != NULL ? hooks->cache_clock : NULL,
	};

	if (lk == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&lk->check_lock, NULL);
	lk->encrypt_to_all = cfg->encrypt_to_all_certs;
	lk->crl_files = copy_list(cfg->crl_files);
	lk->anchors = cfg->trust_anchors ? strdup(cfg->trust_anchors) : NULL;
	if (lk->crl_files == NULL || (cfg->trust_anchors && !lk->anchors)) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	lk->check_opts = (struct certcheck_opts){
		.anchors = lk->anchors,
		.crl_files = (const char *const *)lk->crl_files,
		.require_crl = cfg->require_crl,
		.allow_subject_email = cfg->allow_subject_email,
		.min_rsa_bits = cfg->min_rsa_bits,
		.fixed_time = hooks != NULL ? hooks->fixed_time : 0,
	};
	/* Sources first: LDAP CRLs come from them. */
	if (open_sources(lk, cfg, err, errlen) != 0 ||
	    (lk->check = build_check(lk, err, errlen)) == NULL)
		goto fail;
	if ((lk->cache = certcache_new(&cache_opts)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return lk;
fail:
	certlookup_free(lk);
	return NULL;
}

void
certlookup_free(struct certlookup *lk)
{
	size_t i;

	if (lk == NULL)
		return;
	for (i = 0; i < lk->nsources; i++)
		lk->sources[i]->free(lk->sources[i]);
	check_put(lk->check);
	certcache_free(lk->cache);
	config_list_free(lk->crl_files);
	free(lk->anchors);
	pthread_mutex_destroy(&lk->check_lock);
	free(lk);
}

void
cert_result_free(struct cert_result *res)
{
	cert_list_free(&res->usable);
	cert_list_free(&res->rejected);
}

/* Newer notBefore first; for equal ones the later notAfter. */
static int
newer_first(const void *a, const void *b)
{
	const struct cert_candidate *x = a, *y = b;
	int c = ASN1_TIME_compare(X509_get0_notBefore(y->cert),
	    X509_get0_notBefore(x->cert));

	if (c == 0)
		c = ASN1_TIME_compare(X509_get0_notAfter(y->cert),
		    X509_get0_notAfter(x->cert));
	return c;
}

/*
 * Judge every candidate of found; move the usable ones to res->usable
 * (all, or only the newest) and the others to res->rejected.
 */
static int
judge(struct certlookup *lk, const struct certcheck *chk,
    const char *address, struct cert_list *found, struct cert_result *res)
{
	struct cert_list usable = CERT_LIST_INIT, rejected = CERT_LIST_INIT;
	size_t i;
	int rc = -1;

	for (i = 0; i < found->count; i++) {
		struct cert_candidate *c = &found->items[i];
		struct cert_list *to;

		certcheck_verify(chk, c, address);
		to = c->verdict == CERT_OK ? &usable : &rejected;
		if (cert_list_add_copy(to, c) != 0)
			goto done;
	}
	if (usable.count > 1)
		qsort(usable.items, usable.count, sizeof(*usable.items),
		    newer_first);
	/* Keep only the newest unless every certificate is wanted. */
	while (!lk->encrypt_to_all && usable.count > 1) {
		struct cert_candidate *last = &usable.items[--usable.count];

		X509_free(last->cert);
		sk_X509_pop_free(last->extra, X509_free);
	}
	if (cert_list_move(&res->usable, &usable) != 0 ||
	    cert_list_move(&res->rejected, &rejected) != 0)
		goto done;
	rc = 0;
done:
	cert_list_free(&usable);
	cert_list_free(&rejected);
	return rc;
}

/*
 * Capabilities harvested from a recipient's signed mail apply to its
 * certificate wherever the certificate was found; a NAME.caps override
 * beside a stored certificate (already in c->caps) wins.
 */
static void
add_harvested_caps(struct certlookup *lk, struct cert_list *usable)
{
	struct certsrc *harvested = certlookup_source(lk, "harvested");
	size_t i;

	for (i = 0; harvested != NULL && i < usable->count; i++)
		if (!usable->items[i].caps.known)
			certsrc_dir_caps_for(harvested, usable->items[i].cert,
			    &usable->items[i].caps);
}

enum lookup_status
certlookup_find(struct certlookup *lk, const char *address,
    struct cert_result *res)
{
	char addr[400], err[256] = "";
	bool could_not_look = false;
	struct checkref *ref = NULL;
	size_t i;

	memset(res, 0, sizeof(*res));
	if (address_normalise(address, addr, sizeof(addr)) != 0) {
		res->status = LOOKUP_NONE;
		snprintf(res->error, sizeof(res->error), "not an address");
		return res->status;
	}
	if (certcache_get(lk->cache, addr, &res->status, &res->usable)) {
		res->cached = true;
		return res->status;
	}
	ref = check_get(lk);
	for (i = 0; i < lk->nsources; i++) {
		struct cert_list found = CERT_LIST_INIT;
		enum lookup_status st;

		st = lk->sources[i]->lookup(lk->sources[i], addr, &found, err,
		    sizeof(err));
		if (st == LOOKUP_ERROR) {
			could_not_look = true;
			snprintf(res->error, sizeof(res->error), "%s: %s",
			    lk->sources[i]->name, err);
			continue;
		}
		if (st == LOOKUP_FOUND && judge(lk, ref->chk, addr, &found,
		    res) != 0) {
			cert_list_free(&found);
			could_not_look = true;
			snprintf(res->error, sizeof(res->error),
			    "out of memory");
			break;
		}
		cert_list_free(&found);
		if (res->usable.count > 0)
			break;
	}
	check_put(ref);
	add_harvested_caps(lk, &res->usable);
	if (res->usable.count > 0)
		res->status = LOOKUP_FOUND;
	else if (could_not_look)
		res->status = LOOKUP_ERROR;
	else
		res->status = LOOKUP_NONE;
	certcache_put(lk->cache, addr, res->status, &res->usable);
	return res->status;
}

void
certlookup_explain(struct certlookup *lk, const char *address,
    void (*fn)(const char *source, enum lookup_status st,
    const struct cert_list *candidates, const char *error, void *arg),
    void *arg)
{
	char addr[400], err[256];
	struct checkref *ref;
	size_t i, j;

	if (address_normalise(address, addr, sizeof(addr)) != 0) {
		fn("-", LOOKUP_NONE, NULL, "not an address", arg);
		return;
	}
	ref = check_get(lk);
	for (i = 0; i < lk->nsources; i++) {
		struct cert_list found = CERT_LIST_INIT;
		enum lookup_status st;

		err[0] = '\0';
		st = lk->sources[i]->lookup(lk->sources[i], addr, &found, err,
		    sizeof(err));
		for (j = 0; j < found.count; j++)
			certcheck_verify(ref->chk, &found.items[j], addr);
		fn(lk->sources[i]->name, st, &found, err, arg);
		cert_list_free(&found);
	}
	check_put(ref);
}

int
certlookup_refresh_crls(struct certlookup *lk, char *err, size_t errlen)
{
	struct checkref *fresh = build_check(lk, err, errlen), *old;

	if (fresh == NULL)
		return -1;
	pthread_mutex_lock(&lk->check_lock);
	old = lk->check;
	lk->check = fresh;
	pthread_mutex_unlock(&lk->check_lock);
	check_put(old);
	/* Cached answers were judged with the old CRLs. */
	certcache_clear(lk->cache);
	return 0;
}

struct certsrc *
certlookup_source(struct certlookup *lk, const char *name)
{
	size_t i;

	for (i = 0; i < lk->nsources; i++)
		if (strcmp(lk->sources[i]->name, name) == 0)
			return lk->sources[i];
	return NULL;
}

void
certlookup_cache_counters(struct certlookup *lk,
    struct certcache_counters *out)
{
	certcache_counters(lk->cache, out);
}

void
certlookup_describe(struct certlookup *lk, char *out, size_t outlen)
{
	struct checkref *ref = check_get(lk);
	size_t i, len;

	snprintf(out, outlen, "%zu trust anchors, %zu CRLs, sources:",
	    certcheck_anchor_count(ref->chk), certcheck_crl_count(ref->chk));
	check_put(ref);
	for (i = 0; i < lk->nsources; i++) {
		len = strlen(out);
		snprintf(out + len, outlen - len, " %s", lk->sources[i]->name);
	}
}
