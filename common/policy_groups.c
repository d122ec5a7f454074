/*
 * policy_groups.c -- the groups of a policy once every line is read:
 * names resolved, LDAP members read (or kept from the previous policy),
 * cycles refused, nested groups flattened into one member index.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "policy_parser.h"

/* ---- groups: resolve names, read LDAP, flatten ------------------- */

static int
group_index(struct parser *ps, const char *name, uint32_t *out)
{
	size_t i;

	/* Linear: called once per reference at load time.  Policies with
	 * very many groups get a sorted table in policy_index.c. */
	for (i = 0; i < ps->ngroups; i++)
		if (strcasecmp(ps->groups[i].name, name) == 0) {
			*out = (uint32_t)i;
			return 0;
		}
	return -1;
}

void
pp_resolve_ref(struct parser *ps, struct pref *r)
{
	if (r->pat.kind != PAT_GROUP || ps->failed)
		return;
	if (group_index(ps, r->name, &r->pat.group) != 0)
		pp_fail(ps, r->file, r->line, r->col, "group %s is not defined",
		    r->name);
}

/* Members of group name/source in a previous policy, to keep them when
 * the directory cannot be read now. */
static int
previous_members(struct parser *ps, const struct raw_group *g,
    char ***out, size_t *n)
{
	const struct policy *prev = ps->prev;
	size_t i, gi, k = 0;

	*out = NULL;
	*n = 0;
	if (prev == NULL)
		return -1;
	for (gi = 0; gi < prev->ngroups; gi++)
		if (strcmp(prev->groups[gi].name, g->name) == 0 &&
		    strcmp(prev->groups[gi].source, g->source) == 0 &&
		    prev->groups[gi].resolved)
			break;
	if (gi == prev->ngroups)
		return -1;
	if ((*out = calloc(prev->groups[gi].nmembers + 1, sizeof(char *))) ==
	    NULL)
		return -1;
	for (i = 0; i < prev->members.n; i++)
		if (prev->members.v[i].id == gi && k <
		    prev->groups[gi].nmembers &&
		    prev->members.v[i].kind == PAT_EXACT &&
		    ((*out)[k] = strdup(prev->members.v[i].key)) != NULL)
			k++;
	*n = k;
	return 0;
}

/* Lowercase the members and move them into the policy's arena, once:
 * every group that includes this one refers to the same strings. */
static void
keep_ldap_members(struct parser *ps, struct raw_group *g)
{
	size_t k;

	if ((g->kept = calloc(g->nldap + 1, sizeof(*g->kept))) == NULL) {
		pp_fail_oom(ps);
		return;
	}
	for (k = 0; k < g->nldap && !ps->failed; k++) {
		policy_lower(g->ldap_members[k]);
		g->kept[k] = pp_keep(ps, g->ldap_members[k]);
	}
}

void
pp_resolve_ldap(struct parser *ps, struct raw_group *g)
{
	char why[256] = "";
	size_t n = 0;

	if (g->ldap_dir == NULL)
		return;
	if (ps->res != NULL && ps->res->members(ps->res->arg, g->ldap_dir,
	    g->ldap_dn, &g->ldap_members, &n, why, sizeof(why)) == 0) {
		g->nldap = n;
		g->resolved = true;
		keep_ldap_members(ps, g);
		return;
	}
	if (previous_members(ps, g, &g->ldap_members, &g->nldap) == 0) {
		g->resolved = true;
		keep_ldap_members(ps, g);
		log_msg(LOG_LVL_WARNING, "policy: group %s (%s): %s; keeping "
		    "the %zu members read before", g->name, g->source,
		    ps->res != NULL ? why : "no LDAP", g->nldap);
		return;
	}
	log_msg(LOG_LVL_WARNING, "policy: group %s (%s): %s; mail that "
	    "depends on it is deferred until it can be read", g->name,
	    g->source, ps->res != NULL ? why : "no LDAP directory");
}

/* Depth-first search for a cycle, with an explicit stack (a chain of
 * many groups must not exhaust the C stack). */
void
pp_check_cycles(struct parser *ps)
{
	unsigned char *color = calloc(ps->ngroups + 1, 1);
	struct frame { uint32_t g; size_t next; } *stack;
	size_t start, sp;

	stack = calloc(ps->ngroups + 1, sizeof(*stack));
	if (color == NULL || stack == NULL) {
		free(color);
		free(stack);
		pp_fail_oom(ps);
		return;
	}
	for (start = 0; start < ps->ngroups && !ps->failed; start++) {
		if (color[start] != 0)
			continue;
		sp = 0;
		stack[sp].g = (uint32_t)start;
		stack[sp].next = 0;
		color[start] = 1;
		while (sp != (size_t)-1 && !ps->failed) {
			struct frame *f = &stack[sp];
			struct raw_group *g = &ps->groups[f->g];

			if (f->next == g->n) {
				color[f->g] = 2;
				sp--;
				continue;
			}
			if (g->members[f->next].pat.kind == PAT_GROUP) {
				uint32_t h = g->members[f->next].pat.group;

				if (color[h] == 1)
					pp_fail(ps, g->file, g->line, 0, "group "
					    "cycle: %s includes %s, which "
					    "includes %s again", g->name,
					    ps->groups[h].name, g->name);
				else if (color[h] == 0) {
					color[h] = 1;
					f->next++;
					sp++;
					stack[sp].g = h;
					stack[sp].next = 0;
					continue;
				}
			}
			f->next++;
		}
	}
	free(stack);
	free(color);
}

static int
add_member_entry(struct parser *ps, struct key_index *ix, size_t *cap,
    uint32_t kind, const char *key, uint32_t gid)
{
	if ((ix->v = pp_grow(ps, ix->v, cap, ix->n + 1, sizeof(*ix->v))) ==
	    NULL)
		return -1;
	ix->v[ix->n].key = key;
	ix->v[ix->n].kind = kind;
	ix->v[ix->n].id = gid;
	ix->n++;
	return 0;
}

/* Every group's members with nested groups expanded. */
void
pp_flatten_groups(struct parser *ps)
{
	struct policy *p = ps->p;
	uint32_t *stack = calloc(ps->ngroups + 1, sizeof(*stack));
	size_t *seen = calloc(ps->ngroups + 1, sizeof(*seen));
	size_t cap = 0, gi, sp, k;

	if (stack == NULL || seen == NULL) {
		free(stack);
		free(seen);
		pp_fail_oom(ps);
		return;
	}
	for (gi = 0; gi < ps->ngroups && !ps->failed; gi++) {
		struct group *out = &p->groups[gi];
		size_t before = p->members.n;

		out->resolved = true;
		sp = 0;
		stack[sp++] = (uint32_t)gi;
		seen[gi] = gi + 1;
		while (sp > 0 && !ps->failed) {
			struct raw_group *g = &ps->groups[stack[--sp]];

			if (!g->resolved)
				out->resolved = false;
			for (k = 0; g->kept != NULL && k < g->nldap; k++)
				if (add_member_entry(ps, &p->members, &cap,
				    PAT_EXACT, g->kept[k], (uint32_t)gi) != 0)
					break;
			for (k = 0; k < g->n && !ps->failed; k++) {
				const struct pattern *m = &g->members[k].pat;

				if (m->kind == PAT_ANY)
					out->has_any = true;
				else if (m->kind == PAT_GROUP) {
					if (seen[m->group] != gi + 1) {
						seen[m->group] = gi + 1;
						stack[sp++] = m->group;
					}
				} else
					(void)add_member_entry(ps,
					    &p->members, &cap, m->kind,
					    m->key, (uint32_t)gi);
			}
		}
		out->nmembers = p->members.n - before;
	}
	free(stack);
	free(seen);
}

