/*
 * certlookup.h -- "which certificates may I encrypt to for this address?"
 *
 * Built from the configuration: the sources of CertificateSources in
 * order, one validator (TrustAnchors, CRLFile and LDAP CRLs, RequireCRL,
 * AllowSubjectEmail, MinRSABits) and the cache.  Sources are asked in
 * order; the first one that yields a usable certificate answers.  If none
 * does and any source could not be asked, the answer is LOOKUP_ERROR
 * ("could not look": callers tempfail when encryption is required), never
 * "no certificate".
 *
 * Thread-safe; immutable apart from the cache and the sources' own state.
 */
#ifndef SMIME_CERTLOOKUP_H
#define SMIME_CERTLOOKUP_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certcache.h"
#include "certsrc.h"

struct config;
struct certlookup;

struct cert_result {
	enum lookup_status status;
	struct cert_list usable;	/* chosen: newest, or all usable */
	struct cert_list rejected;	/* judged unusable, with reasons */
	bool cached;			/* answered from the cache */
	char error[256];		/* LOOKUP_ERROR: why */
};

/* Test hooks: a fixed clock for validation and cache. */
struct certlookup_hooks {
	time_t fixed_time;		/* 0 = real time */
	time_t (*cache_clock)(void);	/* NULL = time(NULL) */
};

/*
 * Build from cfg (which must outlive nothing: values are copied).  hooks
 * may be NULL.  NULL + reason ("CertificateSources: ...") on error.
 */
struct certlookup *certlookup_new(const struct config *cfg,
    const struct certlookup_hooks *hooks, char *err, size_t errlen);

void certlookup_free(struct certlookup *lk);

/*
 * Look address up (any form; normalised here).  Fills *res, which the
 * caller frees with cert_result_free().  Returns res->status.
 */
enum lookup_status certlookup_find(struct certlookup *lk,
    const char *address, struct cert_result *res);

void cert_result_free(struct cert_result *res);

/*
 * For "smimectl cert lookup": ask every source (no cache, no early stop),
 * judge every candidate, and call fn once per source.
 */
void certlookup_explain(struct certlookup *lk, const char *address,
    void (*fn)(const char *source, enum lookup_status st,
    const struct cert_list *candidates, const char *error, void *arg),
    void *arg);

/*
 * Read the CRL files and the LDAP CRLs again and use them from now on
 * (look-ups in progress finish with the CRLs they started with); the
 * cache is emptied, as its answers were judged with the old CRLs.  On
 * error the old CRLs stay in force.  0 or -1 with a reason.
 */
int certlookup_refresh_crls(struct certlookup *lk, char *err, size_t errlen);

/* The source named name ("dir", "harvested", "ldap:corp"), or NULL. */
struct certsrc *certlookup_source(struct certlookup *lk, const char *name);

void certlookup_cache_counters(struct certlookup *lk,
    struct certcache_counters *out);

/* Anchors and CRLs loaded (for the start-up log line). */
void certlookup_describe(struct certlookup *lk, char *out, size_t outlen);

#endif
