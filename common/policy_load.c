/*
 * policy_load.c -- a policy from a file or text: run the parser, resolve
 * and flatten the groups, give every rule its full settings, build the
 * index; reference counting and the counts smimectl reports.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy_parser.h"

static void
free_raw(struct parser *ps)
{
	size_t i, k;

	for (i = 0; i < ps->ngroups; i++) {
		free(ps->groups[i].members);
		for (k = 0; k < ps->groups[i].nldap; k++)
			free(ps->groups[i].ldap_members[k]);
		free(ps->groups[i].ldap_members);
		free(ps->groups[i].kept);
	}
	free(ps->groups);
	free(ps->rules);
	free(ps->tok);
}

/* Turn the parsed statements into the policy. */
static int
cmp_list(const void *a, const void *b)
{
	return strcmp(((const struct list_entry *)a)->address,
	    ((const struct list_entry *)b)->address);
}

/*
 * The member table of every confidential list.  Members must be
 * addresses: a domain pattern or "*" cannot be expanded into copies.
 */
static void
build_lists(struct parser *ps)
{
	struct policy *p = ps->p;
	size_t gi, i, n = 0;

	for (gi = 0; gi < ps->ngroups; gi++)
		n += ps->groups[gi].list_address != NULL;
	if (n == 0)
		return;
	if ((p->lists = calloc(n, sizeof(*p->lists))) == NULL) {
		pp_fail_oom(ps);
		return;
	}
	for (gi = 0; gi < ps->ngroups && !ps->failed; gi++) {
		const struct raw_group *rg = &ps->groups[gi];
		struct list_entry *l;

		if (rg->list_address == NULL)
			continue;
		l = &p->lists[p->nlists++];
		l->address = rg->list_address;
		l->group = (uint32_t)gi;
		if (p->groups[gi].has_any) {
			pp_fail(ps, rg->file, rg->line, 0, "list %s: \"*\" is "
			    "not a member that can be written to",
			    rg->list_address);
			return;
		}
		if (!p->groups[gi].resolved)
			continue;
		if ((l->members = calloc(p->groups[gi].nmembers + 1,
		    sizeof(*l->members))) == NULL) {
			pp_fail_oom(ps);
			return;
		}
		for (i = 0; i < p->members.n; i++) {
			const struct key_entry *e = &p->members.v[i];

			if (e->id != gi)
				continue;
			if (e->kind != PAT_EXACT) {
				pp_fail(ps, rg->file, rg->line, 0, "list %s: "
				    "member *@%s is not an address",
				    rg->list_address, e->key);
				return;
			}
			l->members[l->n++] = e->key;
		}
	}
	qsort(p->lists, p->nlists, sizeof(*p->lists), cmp_list);
}

static void
finish(struct parser *ps)
{
	struct policy *p = ps->p;
	size_t i;

	for (i = 0; i < ps->nrules && !ps->failed; i++) {
		pp_resolve_ref(ps, &ps->rules[i].from);
		pp_resolve_ref(ps, &ps->rules[i].to);
	}
	for (i = 0; i < ps->ngroups && !ps->failed; i++) {
		size_t k;

		for (k = 0; k < ps->groups[i].n; k++)
			pp_resolve_ref(ps, &ps->groups[i].members[k]);
	}
	if (ps->failed)
		return;
	pp_check_cycles(ps);
	if (ps->failed)
		return;
	for (i = 0; i < ps->ngroups; i++)
		pp_resolve_ldap(ps, &ps->groups[i]);
	p->groups = calloc(ps->ngroups + 1, sizeof(*p->groups));
	p->rules = calloc(ps->nrules + 1, sizeof(*p->rules));
	if (p->groups == NULL || p->rules == NULL) {
		pp_fail_oom(ps);
		return;
	}
	p->ngroups = ps->ngroups;
	for (i = 0; i < ps->ngroups; i++) {
		p->groups[i].name = ps->groups[i].name;
		p->groups[i].file = ps->groups[i].file;
		p->groups[i].line = ps->groups[i].line;
		p->groups[i].source = ps->groups[i].source;
		p->groups[i].ldap_dir = ps->groups[i].ldap_dir;
		p->groups[i].ldap_dn = ps->groups[i].ldap_dn;
	}
	pp_flatten_groups(ps);
	if (ps->failed)
		return;
	build_lists(ps);
	if (ps->failed)
		return;
	p->defaults = ps->defaults;
	p->default_file = ps->default_file;
	p->default_line = ps->default_line;
	p->nrules = ps->nrules;
	for (i = 0; i < ps->nrules; i++) {
		struct raw_rule *r = &ps->rules[i];
		struct rule *out = &p->rules[i];

		out->from = r->from.pat;
		out->to = r->to.pat;
		out->file = r->file;
		out->line = r->line;
		pp_merge_settings(&ps->defaults, r, &out->s);
	}
	if (policy_index_build(p) != 0)
		pp_fail_oom(ps);
}

static struct policy *
policy_alloc(void)
{
	struct policy *p = calloc(1, sizeof(*p));

	if (p != NULL) {
		atomic_init(&p->refs, 1);
		policy_settings_init(&p->defaults);
	}
	return p;
}

static struct policy *
run_parser(struct parser *ps, const char *path, const char *name,
    const char *text, size_t len)
{
	char *copy;

	policy_settings_init(&ps->defaults);
	if (path != NULL)
		(void)pp_read_file(ps, path, path, 0, 0);
	else if ((copy = malloc(len + 1)) == NULL)
		pp_fail(ps, name, 0, 0, "out of memory");
	else {
		memcpy(copy, text, len);
		if ((ps->file = pp_keep(ps, name)) != NULL)
			pp_parse_text(ps, copy, len);
		free(copy);
	}
	if (!ps->failed)
		finish(ps);
	free_raw(ps);
	if (ps->failed) {
		policy_release(ps->p);
		return NULL;
	}
	return ps->p;
}

struct policy *
policy_load(const char *path, const struct policy_resolver *resolver,
    const struct policy *previous, char *err, size_t errlen)
{
	struct parser ps = { .res = resolver, .prev = previous, .err = err,
	    .errlen = errlen };

	if ((ps.p = policy_alloc()) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	return run_parser(&ps, path, NULL, NULL, 0);
}

struct policy *
policy_parse(const char *name, const char *text, size_t len,
    const struct policy_resolver *resolver, const struct policy *previous,
    char *err, size_t errlen)
{
	struct parser ps = { .res = resolver, .prev = previous, .err = err,
	    .errlen = errlen };

	if ((ps.p = policy_alloc()) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return NULL;
	}
	return run_parser(&ps, NULL, name, text, len);
}

struct policy *
policy_builtin(void)
{
	static const char text[] = "default sign=none encrypt=opportunistic\n";
	char err[128];

	return policy_parse("(built-in policy)", text, sizeof(text) - 1, NULL,
	    NULL, err, sizeof(err));
}

struct policy *
policy_retain(struct policy *p)
{
	if (p != NULL)
		atomic_fetch_add(&p->refs, 1);
	return p;
}

void
policy_release(struct policy *p)
{
	size_t i;

	if (p == NULL || atomic_fetch_sub(&p->refs, 1) != 1)
		return;
	policy_index_free(p);
	for (i = 0; i < p->nlists; i++)
		free(p->lists[i].members);
	free(p->lists);
	free(p->members.v);
	free(p->rules);
	free(p->groups);
	policy_arena_free(p);
	free(p);
}

size_t
policy_rule_count(const struct policy *p)
{
	return p->nrules;
}

size_t
policy_group_count(const struct policy *p)
{
	return p->ngroups;
}

size_t
policy_unresolved_count(const struct policy *p)
{
	return p->nunresolved;
}

void
policy_group_info(const struct policy *p, size_t i, const char **name,
    const char **source, size_t *members)
{
	*name = p->groups[i].name;
	*source = p->groups[i].source;
	*members = p->groups[i].resolved ? p->groups[i].nmembers :
	    (size_t)-1;
}


int
policy_list_members(const struct policy *p, const char *address,
    const char *const **members, size_t *n)
{
	struct list_entry key, *l;
	char lower[1024];

	*members = NULL;
	*n = 0;
	if (p->nlists == 0 || policy_address_key(address, lower,
	    sizeof(lower)) != 0)
		return 0;
	key.address = lower;
	if ((l = bsearch(&key, p->lists, p->nlists, sizeof(*l),
	    cmp_list)) == NULL)
		return 0;
	if (l->members == NULL)
		return -1;
	*members = l->members;
	*n = l->n;
	return 1;
}

size_t
policy_list_count(const struct policy *p)
{
	return p->nlists;
}
