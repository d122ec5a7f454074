/*
 * policy_parser.h -- the parser's working state, shared by the three
 * parts of policy loading: policy_parse.c (lines, statements, settings,
 * patterns, includes), policy_groups.c (group names, LDAP members, cycles,
 * flattening) and policy_load.c (assembling the policy; the public
 * entry points).  Private to them.
 */
#ifndef SMIME_POLICY_PARSER_H
#define SMIME_POLICY_PARSER_H

#include <stdbool.h>
#include <stddef.h>

#include "policy_int.h"

#define MAX_INCLUDE_DEPTH 16

struct token {
	char *text;		/* NUL-terminated, in the file's buffer */
	unsigned line, col;
};

/* A pattern as written, with where it was written (for errors). */
struct pref {
	struct pattern pat;
	const char *name;	/* PAT_GROUP: the name, until resolved */
	const char *file;
	unsigned line, col;
};

struct raw_group {
	const char *name, *file, *source, *ldap_dir, *ldap_dn;
	const char *list_address;	/* a confidential list: its address */
	unsigned line;
	struct pref *members;
	size_t n, cap;
	char **ldap_members;	/* resolved LDAP members (owned) */
	size_t nldap;
	const char **kept;	/* the same, lowercased, in the arena */
	bool resolved;
};

struct raw_rule {
	struct pref from, to;
	struct policy_settings s;
	unsigned mask;		/* settings given on the line */
	const char *file;
	unsigned line;
};

struct parser {
	struct policy *p;
	const struct policy_resolver *res;
	const struct policy *prev;
	char *err;
	size_t errlen;
	bool failed;

	char *stack[MAX_INCLUDE_DEPTH];	/* real paths being read */
	int depth;

	struct token *tok;		/* the logical line being collected */
	size_t ntok, tokcap;
	const char *file;		/* of the line being collected */

	struct raw_rule *rules;
	size_t nrules, rulecap;
	struct raw_group *groups;
	size_t ngroups, groupcap;
	struct policy_settings defaults;
	unsigned default_mask;
	const char *default_file;
	unsigned default_line;
};


/* Record the first error as "file:line:col: why" (col 0: no column). */
void pp_fail(struct parser *ps, const char *file, unsigned line,
    unsigned col, const char *fmt, ...) __attribute__((format(printf, 5,
    6)));
void pp_fail_oom(struct parser *ps);
/* A copy in the policy's arena (NULL and failed when out of memory). */
const char *pp_keep(struct parser *ps, const char *s);
/* v with room for need elements of size bytes (NULL and failed: OOM). */
void *pp_grow(struct parser *ps, void *v, size_t *cap, size_t need,
    size_t size);

/* Read a file (display: its name in messages; inc_*: where it was
 * included, for errors) / parse text in place. */
int pp_read_file(struct parser *ps, const char *path, const char *display,
    unsigned inc_line, unsigned inc_col);
void pp_parse_text(struct parser *ps, char *text, size_t len);
void pp_merge_settings(const struct policy_settings *defaults,
    const struct raw_rule *r, struct policy_settings *out);

/* policy_groups.c */
void pp_resolve_ref(struct parser *ps, struct pref *r);
void pp_check_cycles(struct parser *ps);
void pp_resolve_ldap(struct parser *ps, struct raw_group *g);
void pp_flatten_groups(struct parser *ps);

#endif
