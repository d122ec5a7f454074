/*
 * certcache.h -- look-up results cached per address.
 *
 * Positive entries ("these certificates") live CertCacheTTL seconds,
 * negative entries ("no usable certificate") CertNegativeTTL seconds.
 * "Could not look" is never cached.  The cache is bounded (least recently
 * used entries are evicted) and split into shards, each with its own lock,
 * so threads looking up different addresses rarely contend.
 */
#ifndef SMIME_CERTCACHE_H
#define SMIME_CERTCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "certsrc.h"

struct certcache_opts {
	size_t capacity;		/* entries; 0 disables the cache */
	unsigned ttl;			/* seconds, positive entries */
	unsigned negative_ttl;		/* seconds, negative entries */
	time_t (*now)(void);		/* clock; NULL = time(NULL) */
};

struct certcache_counters {
	unsigned long hits, negative_hits, misses, insertions, evictions,
	    expirations;
	size_t entries;
};

struct certcache;

struct certcache *certcache_new(const struct certcache_opts *opts);
void certcache_free(struct certcache *cache);

/*
 * Look address up.  On a hit returns true, sets *status (LOOKUP_FOUND or
 * LOOKUP_NONE) and appends copies of the cached candidates (with their
 * verdicts) to out; the caller owns them.  Expired entries are misses.
 */
bool certcache_get(struct certcache *cache, const char *address,
    enum lookup_status *status, struct cert_list *out);

/*
 * Remember the outcome for address: LOOKUP_FOUND with the usable
 * candidates, or LOOKUP_NONE.  LOOKUP_ERROR is ignored.  The cache takes
 * its own references; certs stays the caller's.
 */
void certcache_put(struct certcache *cache, const char *address,
    enum lookup_status status, const struct cert_list *certs);

/* Forget everything (reload of the stores). */
void certcache_clear(struct certcache *cache);

void certcache_counters(struct certcache *cache,
    struct certcache_counters *out);

/* Which shard address falls into (tests of per-shard LRU order). */
size_t certcache_shard_of(const char *address);

#endif
