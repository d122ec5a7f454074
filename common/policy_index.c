/*
 * policy_index.c -- look-up structures of a loaded policy and the
 * first-match decision.
 *
 * A linear scan of 100,000 rules per recipient would cost milliseconds.
 * Instead each side of a rule (sender, recipient) is indexed by what it
 * names: exact addresses, domains and parent domains in one sorted table,
 * "*" and each group in lists of rule numbers.  For an address the
 * matching lists are found with a few binary searches; the side with
 * fewer candidates is walked in rule order and each candidate's other
 * side is checked directly, so the first hit is the first matching rule.
 */
#include <stdlib.h>
#include <string.h>

#include "policy_int.h"

#define ADDR_MAX 1024

static int
cmp_entry(const void *a, const void *b)
{
	const struct key_entry *x = a, *y = b;
	int c;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if ((c = strcmp(x->key, y->key)) != 0)
		return c;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The range of entries with (kind, key): [*lo, *hi). */
static void
key_range(const struct key_index *ix, uint32_t kind, const char *key,
    size_t *lo, size_t *hi)
{
	size_t a = 0, b = ix->n, m;

	while (a < b) {
		m = a + (b - a) / 2;
		if (ix->v[m].kind < kind || (ix->v[m].kind == kind &&
		    strcmp(ix->v[m].key, key) < 0))
			a = m + 1;
		else
			b = m;
	}
	*lo = a;
	b = ix->n;
	while (a < b) {
		m = a + (b - a) / 2;
		if (ix->v[m].kind == kind && strcmp(ix->v[m].key, key) == 0)
			a = m + 1;
		else
			b = m;
	}
	*hi = a;
}

static int
push_id(uint32_t **v, size_t *n, size_t *cap, uint32_t id)
{
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		uint32_t *nv = realloc(*v, ncap * sizeof(**v));

		if (nv == NULL)
			return -1;
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = id;
	return 0;
}

/*
 * Each rule is filed once, under the side that narrows it most: its
 * recipient pattern unless that is "*", else its sender pattern, else
 * in the list of rules that match everything.
 */
static int
file_rule(struct policy *p, uint32_t id, size_t *keycap, size_t **gcap,
    size_t *anycap)
{
	const struct rule *r = &p->rules[id];
	bool on_to = r->to.kind != PAT_ANY;
	const struct pattern *pat = on_to ? &r->to : &r->from;
	struct side_index *side = on_to ? &p->to : &p->from;
	int s = on_to ? 1 : 0;

	switch (pat->kind) {
	case PAT_ANY:
		return push_id(&p->from.any, &p->from.nany, anycap, id);
	case PAT_GROUP:
		return push_id(&side->by_group[pat->group],
		    &side->nby_group[pat->group], &gcap[s][pat->group], id);
	default:
		if (side->keys.n == keycap[s]) {
			size_t ncap = keycap[s] ? keycap[s] * 2 : 64;
			struct key_entry *nv = realloc(side->keys.v,
			    ncap * sizeof(*nv));

			if (nv == NULL)
				return -1;
			side->keys.v = nv;
			keycap[s] = ncap;
		}
		side->keys.v[side->keys.n].key = pat->key;
		side->keys.v[side->keys.n].kind = pat->kind;
		side->keys.v[side->keys.n].id = id;
		side->keys.n++;
		return 0;
	}
}

static int
build_rules(struct policy *p)
{
	size_t keycap[2] = { 0, 0 }, anycap = 0, i;
	size_t *gcap[2];
	int rc = 0;

	gcap[0] = calloc(p->ngroups + 1, sizeof(size_t));
	gcap[1] = calloc(p->ngroups + 1, sizeof(size_t));
	p->from.by_group = calloc(p->ngroups + 1, sizeof(uint32_t *));
	p->from.nby_group = calloc(p->ngroups + 1, sizeof(size_t));
	p->to.by_group = calloc(p->ngroups + 1, sizeof(uint32_t *));
	p->to.nby_group = calloc(p->ngroups + 1, sizeof(size_t));
	if (gcap[0] == NULL || gcap[1] == NULL || p->from.by_group == NULL ||
	    p->from.nby_group == NULL || p->to.by_group == NULL ||
	    p->to.nby_group == NULL)
		rc = -1;
	for (i = 0; i < p->nrules && rc == 0; i++)
		rc = file_rule(p, (uint32_t)i, keycap, gcap, &anycap);
	free(gcap[0]);
	free(gcap[1]);
	if (rc != 0)
		return -1;
	if (p->from.keys.n > 1)
		qsort(p->from.keys.v, p->from.keys.n, sizeof(*p->from.keys.v),
		    cmp_entry);
	if (p->to.keys.n > 1)
		qsort(p->to.keys.v, p->to.keys.n, sizeof(*p->to.keys.v),
		    cmp_entry);
	return 0;
}

int
policy_index_build(struct policy *p)
{
	size_t i, anycap = 0, ucap = 0;

	if (p->members.n > 1)
		qsort(p->members.v, p->members.n, sizeof(*p->members.v),
		    cmp_entry);
	for (i = 0; i < p->ngroups; i++) {
		if (p->groups[i].has_any && push_id(&p->any_groups,
		    &p->nany_groups, &anycap, (uint32_t)i) != 0)
			return -1;
		if (!p->groups[i].resolved && push_id(&p->unresolved,
		    &p->nunresolved, &ucap, (uint32_t)i) != 0)
			return -1;
	}
	return build_rules(p);
}

static void
free_side(struct side_index *side, size_t ngroups)
{
	size_t i;

	free(side->keys.v);
	free(side->any);
	if (side->by_group != NULL)
		for (i = 0; i < ngroups; i++)
			free(side->by_group[i]);
	free(side->by_group);
	free(side->nby_group);
}

void
policy_index_free(struct policy *p)
{
	free_side(&p->from, p->ngroups);
	free_side(&p->to, p->ngroups);
	free(p->any_groups);
	free(p->unresolved);
}

/* ---- deciding ----------------------------------------------------- */

/* One address, prepared for matching. */
struct addr {
	char lower[ADDR_MAX];
	const char *domain;	/* after the last '@'; NULL: matches only "*" */
	uint32_t *groups;	/* known groups containing it, sorted */
	size_t ngroups, gcap;
	bool oom;
};

/* A sorted list of rule ids that may match. */
struct cand {
	const uint32_t *v;	/* for key ranges: NULL, see e/lo/hi */
	const struct key_entry *e;
	size_t n, pos;
};

#define MAX_CAND_LISTS 256

struct cands {
	struct cand c[MAX_CAND_LISTS];
	size_t n;
	bool overflow;
};

enum tri { NO = 0, YES, UNKNOWN };

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static void
add_groups(struct addr *a, const struct key_index *ix, uint32_t kind,
    const char *key)
{
	size_t lo, hi;

	key_range(ix, kind, key, &lo, &hi);
	for (; lo < hi && !a->oom; lo++)
		if (push_id(&a->groups, &a->ngroups, &a->gcap,
		    ix->v[lo].id) != 0)
			a->oom = true;
}

static void
addr_prepare(const struct policy *p, const char *s, struct addr *a)
{
	const char *d;
	size_t i, len = strlen(s);

	memset(a, 0, sizeof(*a));
	/* Longer than any valid address: only "*" can match it. */
	if (len == 0 || policy_address_key(s, a->lower, sizeof(a->lower)) != 0)
		return;
	if ((d = strrchr(a->lower, '@')) == NULL || d[1] == '\0')
		return;
	a->domain = d + 1;
	add_groups(a, &p->members, PAT_EXACT, a->lower);
	add_groups(a, &p->members, PAT_DOMAIN, a->domain);
	for (d = strchr(a->domain, '.'); d != NULL; d = strchr(d + 1, '.'))
		add_groups(a, &p->members, PAT_SUBDOMAIN, d + 1);
	for (i = 0; i < p->nany_groups && !a->oom; i++)
		if (push_id(&a->groups, &a->ngroups, &a->gcap,
		    p->any_groups[i]) != 0)
			a->oom = true;
	if (a->ngroups > 1)
		qsort(a->groups, a->ngroups, sizeof(*a->groups), cmp_u32);
}

static bool
in_group(const struct addr *a, uint32_t g)
{
	return a->ngroups > 0 && bsearch(&g, a->groups, a->ngroups,
	    sizeof(g), cmp_u32) != NULL;
}

static bool
is_subdomain(const char *domain, const char *parent)
{
	size_t dl = strlen(domain), pl = strlen(parent);

	return dl > pl + 1 && domain[dl - pl - 1] == '.' &&
	    strcmp(domain + dl - pl, parent) == 0;
}

static enum tri
pattern_match(const struct policy *p, const struct pattern *pat,
    const struct addr *a)
{
	switch (pat->kind) {
	case PAT_ANY:
		return YES;
	case PAT_EXACT:
		return a->domain != NULL && strcmp(pat->key, a->lower) == 0;
	case PAT_DOMAIN:
		return a->domain != NULL && strcmp(pat->key, a->domain) == 0;
	case PAT_SUBDOMAIN:
		return a->domain != NULL && is_subdomain(a->domain, pat->key);
	case PAT_GROUP:
		if (a->domain == NULL)
			return NO;
		if (in_group(a, pat->group))
			return YES;
		return p->groups[pat->group].resolved ? NO : UNKNOWN;
	}
	return NO;
}

static void
cand_list(struct cands *cs, const uint32_t *v, size_t n)
{
	if (n == 0)
		return;
	if (cs->n == MAX_CAND_LISTS) {
		cs->overflow = true;
		return;
	}
	cs->c[cs->n].v = v;
	cs->c[cs->n].e = NULL;
	cs->c[cs->n].n = n;
	cs->c[cs->n].pos = 0;
	cs->n++;
}

static void
cand_keys(struct cands *cs, const struct key_index *ix, uint32_t kind,
    const char *key)
{
	size_t lo, hi;

	key_range(ix, kind, key, &lo, &hi);
	if (lo == hi)
		return;
	if (cs->n == MAX_CAND_LISTS) {
		cs->overflow = true;
		return;
	}
	cs->c[cs->n].v = NULL;
	cs->c[cs->n].e = ix->v + lo;
	cs->c[cs->n].n = hi - lo;
	cs->c[cs->n].pos = 0;
	cs->n++;
}

/* The lists of rules filed under something address a matches. */
static void
collect_side(const struct policy *p, const struct side_index *side,
    const struct addr *a, struct cands *cs)
{
	const char *d;
	size_t i;

	if (a->domain == NULL)
		return;
	cand_keys(cs, &side->keys, PAT_EXACT, a->lower);
	cand_keys(cs, &side->keys, PAT_DOMAIN, a->domain);
	for (d = strchr(a->domain, '.'); d != NULL; d = strchr(d + 1, '.'))
		cand_keys(cs, &side->keys, PAT_SUBDOMAIN, d + 1);
	for (i = 0; i < a->ngroups; i++)
		if (i == 0 || a->groups[i] != a->groups[i - 1])
			cand_list(cs, side->by_group[a->groups[i]],
			    side->nby_group[a->groups[i]]);
	/* Membership of an unread group is unknown: its rules must be
	 * tried, and one that could match makes the decision wait. */
	for (i = 0; i < p->nunresolved; i++)
		if (!in_group(a, p->unresolved[i]))
			cand_list(cs, side->by_group[p->unresolved[i]],
			    side->nby_group[p->unresolved[i]]);
}

/*
 * Every rule that can match is in one of the collected lists.  Too many
 * lists (an address in hundreds of groups) sets *all: the caller then
 * tries every rule instead.
 */
static void
collect(const struct policy *p, const struct addr *from,
    const struct addr *to, struct cands *cs, bool *all)
{
	cs->n = 0;		/* the 256 slots are filled as needed */
	cs->overflow = false;
	cand_list(cs, p->from.any, p->from.nany);
	collect_side(p, &p->from, from, cs);
	collect_side(p, &p->to, to, cs);
	*all = cs->overflow || from->oom || to->oom;
}

static bool
cand_next(struct cands *cs, uint32_t *out)
{
	size_t i, best = (size_t)-1;
	uint32_t bv = 0;

	for (i = 0; i < cs->n; i++) {
		struct cand *c = &cs->c[i];
		uint32_t v;

		if (c->pos == c->n)
			continue;
		v = c->v != NULL ? c->v[c->pos] : c->e[c->pos].id;
		if (best == (size_t)-1 || v < bv) {
			best = i;
			bv = v;
		}
	}
	if (best == (size_t)-1)
		return false;
	/* Skip the same id in every list (a rule can be in several). */
	for (i = 0; i < cs->n; i++) {
		struct cand *c = &cs->c[i];

		while (c->pos < c->n && (c->v != NULL ? c->v[c->pos] :
		    c->e[c->pos].id) == bv)
			c->pos++;
	}
	*out = bv;
	return true;
}

/* Returns true when rule r decides (matched, or unknown: unavailable). */
static bool
try_rule(const struct policy *p, uint32_t r, const struct addr *from,
    const struct addr *to, struct policy_decision *out)
{
	const struct rule *rule = &p->rules[r];
	enum tri f = pattern_match(p, &rule->from, from);
	enum tri t = f == NO ? NO : pattern_match(p, &rule->to, to);

	if (f == NO || t == NO)
		return false;
	out->s = rule->s;
	out->file = rule->file;
	out->line = rule->line;
	if (f == UNKNOWN || t == UNKNOWN) {
		const struct pattern *g = f == UNKNOWN ? &rule->from :
		    &rule->to;

		out->unavailable = true;
		out->unavailable_group = p->groups[g->group].name;
	}
	return true;
}

static void
decide(const struct policy *p, const char *sender, const char *rcpt,
    struct policy_decision *out, bool linear)
{
	struct addr *from = malloc(sizeof(*from)), *to = malloc(sizeof(*to));
	struct cands *cs = malloc(sizeof(*cs));
	bool all = false;
	uint32_t r;

	memset(out, 0, sizeof(*out));
	out->s = p->defaults;
	out->file = p->default_file;
	out->line = 0;
	if (from == NULL || to == NULL || cs == NULL) {
		/* Cannot decide: fail closed like an unreadable group. */
		out->unavailable = true;
		out->unavailable_group = "(out of memory)";
		free(from);
		free(to);
		free(cs);
		return;
	}
	addr_prepare(p, sender != NULL ? sender : "", from);
	addr_prepare(p, rcpt != NULL ? rcpt : "", to);
	if (!linear)
		collect(p, from, to, cs, &all);
	if (linear || all) {
		for (r = 0; r < p->nrules; r++)
			if (try_rule(p, r, from, to, out))
				break;
	} else
		while (cand_next(cs, &r))
			if (try_rule(p, r, from, to, out))
				break;
	free(cs);
	free(from->groups);
	free(to->groups);
	free(from);
	free(to);
}

void
policy_decide(const struct policy *p, const char *sender, const char *rcpt,
    struct policy_decision *out)
{
	decide(p, sender, rcpt, out, false);
}

void
policy_decide_linear(const struct policy *p, const char *sender,
    const char *rcpt, struct policy_decision *out)
{
	decide(p, sender, rcpt, out, true);
}
