/*
 * certcache.c -- sharded LRU cache of certificate look-ups.
 */
#include "certcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SHARDS 16
#define BUCKETS_PER_SHARD 256

struct centry {
	char *address;
	enum lookup_status status;
	struct cert_list certs;
	time_t expires;
	struct centry *next_in_bucket;
	struct centry *lru_prev, *lru_next;	/* most recent at head */
};

struct shard {
	pthread_mutex_t lock;
	struct centry *buckets[BUCKETS_PER_SHARD];
	struct centry *lru_head, *lru_tail;
	size_t count, capacity;
};

struct certcache {
	struct shard shards[SHARDS];
	unsigned ttl, negative_ttl;
	time_t (*now)(void);
	bool disabled;
	atomic_ulong hits, negative_hits, misses, insertions, evictions,
	    expirations;
};

static uint32_t
hash_address(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

size_t
certcache_shard_of(const char *address)
{
	return hash_address(address) % SHARDS;
}

static time_t
cache_now(const struct certcache *cache)
{
	return cache->now != NULL ? cache->now() : time(NULL);
}

struct certcache *
certcache_new(const struct certcache_opts *opts)
{
	struct certcache *cache = calloc(1, sizeof(*cache));
	size_t i, per_shard;

	if (cache == NULL)
		return NULL;
	cache->ttl = opts->ttl;
	cache->negative_ttl = opts->negative_ttl;
	cache->now = opts->now;
	cache->disabled = opts->capacity == 0;
	per_shard = (opts->capacity + SHARDS - 1) / SHARDS;
	for (i = 0; i < SHARDS; i++) {
		pthread_mutex_init(&cache->shards[i].lock, NULL);
		cache->shards[i].capacity = per_shard;
	}
	return cache;
}

static void
entry_free(struct centry *e)
{
	cert_list_free(&e->certs);
	free(e->address);
	free(e);
}

static void
lru_unlink(struct shard *sh, struct centry *e)
{
	if (e->lru_prev != NULL)
		e->lru_prev->lru_next = e->lru_next;
	else
		sh->lru_head = e->lru_next;
	if (e->lru_next != NULL)
		e->lru_next->lru_prev = e->lru_prev;
	else
		sh->lru_tail = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void
lru_push_front(struct shard *sh, struct centry *e)
{
	e->lru_prev = NULL;
	e->lru_next = sh->lru_head;
	if (sh->lru_head != NULL)
		sh->lru_head->lru_prev = e;
	sh->lru_head = e;
	if (sh->lru_tail == NULL)
		sh->lru_tail = e;
}

/* Unlink e from its bucket and the LRU list and free it. */
static void
shard_remove(struct shard *sh, struct centry *e, uint32_t h)
{
	struct centry **pp = &sh->buckets[(h / SHARDS) % BUCKETS_PER_SHARD];

	while (*pp != NULL && *pp != e)
		pp = &(*pp)->next_in_bucket;
	if (*pp == e)
		*pp = e->next_in_bucket;
	lru_unlink(sh, e);
	sh->count--;
	entry_free(e);
}

static struct centry *
shard_find(struct shard *sh, const char *address, uint32_t h)
{
	struct centry *e = sh->buckets[(h / SHARDS) % BUCKETS_PER_SHARD];

	while (e != NULL && strcmp(e->address, address) != 0)
		e = e->next_in_bucket;
	return e;
}

bool
certcache_get(struct certcache *cache, const char *address,
    enum lookup_status *status, struct cert_list *out)
{
	uint32_t h = hash_address(address);
	struct shard *sh = &cache->shards[h % SHARDS];
	struct centry *e;
	bool hit = false;

	if (cache->disabled) {
		atomic_fetch_add(&cache->misses, 1);
		return false;
	}
	pthread_mutex_lock(&sh->lock);
	e = shard_find(sh, address, h);
	if (e != NULL && e->expires <= cache_now(cache)) {
		shard_remove(sh, e, h);
		atomic_fetch_add(&cache->expirations, 1);
		e = NULL;
	}
	if (e != NULL && cert_list_copy(out, &e->certs) == 0) {
		lru_unlink(sh, e);
		lru_push_front(sh, e);
		*status = e->status;
		hit = true;
	}
	pthread_mutex_unlock(&sh->lock);
	if (!hit)
		atomic_fetch_add(&cache->misses, 1);
	else if (*status == LOOKUP_NONE)
		atomic_fetch_add(&cache->negative_hits, 1);
	else
		atomic_fetch_add(&cache->hits, 1);
	return hit;
}

void
certcache_put(struct certcache *cache, const char *address,
    enum lookup_status status, const struct cert_list *certs)
{
	uint32_t h = hash_address(address);
	struct shard *sh = &cache->shards[h % SHARDS];
	struct centry *e, *old;
	unsigned ttl = status == LOOKUP_FOUND ? cache->ttl :
	    cache->negative_ttl;

	if (cache->disabled || status == LOOKUP_ERROR || ttl == 0)
		return;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return;
	if ((e->address = strdup(address)) == NULL ||
	    (status == LOOKUP_FOUND && cert_list_copy(&e->certs, certs))) {
		entry_free(e);
		return;		/* caching is an optimisation: skip it */
	}
	e->status = status;
	e->expires = cache_now(cache) + (time_t)ttl;

	pthread_mutex_lock(&sh->lock);
	if ((old = shard_find(sh, address, h)) != NULL)
		shard_remove(sh, old, h);
	while (sh->count >= sh->capacity && sh->lru_tail != NULL) {
		struct centry *victim = sh->lru_tail;

		shard_remove(sh, victim, hash_address(victim->address));
		atomic_fetch_add(&cache->evictions, 1);
	}
	e->next_in_bucket = sh->buckets[(h / SHARDS) % BUCKETS_PER_SHARD];
	sh->buckets[(h / SHARDS) % BUCKETS_PER_SHARD] = e;
	lru_push_front(sh, e);
	sh->count++;
	pthread_mutex_unlock(&sh->lock);
	atomic_fetch_add(&cache->insertions, 1);
}

void
certcache_clear(struct certcache *cache)
{
	size_t i;

	for (i = 0; i < SHARDS; i++) {
		struct shard *sh = &cache->shards[i];

		pthread_mutex_lock(&sh->lock);
		while (sh->lru_head != NULL)
			shard_remove(sh, sh->lru_head,
			    hash_address(sh->lru_head->address));
		pthread_mutex_unlock(&sh->lock);
	}
}

void
certcache_free(struct certcache *cache)
{
	size_t i;

	if (cache == NULL)
		return;
	certcache_clear(cache);
	for (i = 0; i < SHARDS; i++)
		pthread_mutex_destroy(&cache->shards[i].lock);
	free(cache);
}

void
certcache_counters(struct certcache *cache, struct certcache_counters *out)
{
	size_t i;

	out->hits = atomic_load(&cache->hits);
	out->negative_hits = atomic_load(&cache->negative_hits);
	out->misses = atomic_load(&cache->misses);
	out->insertions = atomic_load(&cache->insertions);
	out->evictions = atomic_load(&cache->evictions);
	out->expirations = atomic_load(&cache->expirations);
	out->entries = 0;
	for (i = 0; i < SHARDS; i++) {
		pthread_mutex_lock(&cache->shards[i].lock);
		out->entries += cache->shards[i].count;
		pthread_mutex_unlock(&cache->shards[i].lock);
	}
}
