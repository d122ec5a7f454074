/*
 * policy_int.h -- the loaded form of a policy, shared by the parser
 * (policy_parse.c) and the index and matcher (policy_index.c).  Not for
 * use outside the policy code.
 */
#ifndef SMIME_POLICY_INT_H
#define SMIME_POLICY_INT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

enum pat_kind {
	PAT_ANY = 0,		/* "*" */
	PAT_EXACT,		/* "user@example.com", lowercased */
	PAT_DOMAIN,		/* "*@example.com": key "example.com" */
	PAT_SUBDOMAIN,		/* "*@*.example.com": key "example.com" */
	PAT_GROUP,		/* "@name": group index */
};

struct pattern {
	enum pat_kind kind;
	const char *key;	/* PAT_EXACT/DOMAIN/SUBDOMAIN; in the arena */
	uint32_t group;		/* PAT_GROUP */
};

struct rule {
	struct pattern from, to;
	struct policy_settings s;	/* default merged with the rule's */
	const char *file;
	unsigned line;
};

struct group {
	const char *name;
	const char *file;
	unsigned line;
	const char *source;	/* "file" or "ldap:DIR DN" */
	const char *ldap_dir, *ldap_dn;	/* NULL for a file group */
	bool resolved;		/* false: LDAP group never read */
	bool has_any;		/* a member pattern is "*" */
	size_t nmembers;	/* after nested groups are flattened */
};

/* (kind, key) -> id, sorted by kind, key, id: a range per key. */
struct key_entry {
	const char *key;
	uint32_t kind;
	uint32_t id;
};

struct key_index {
	struct key_entry *v;
	size_t n;
};

/* Rules filed under one side (see policy_index.c), ids ascending in
 * each list. */
struct side_index {
	struct key_index keys;		/* EXACT, DOMAIN, SUBDOMAIN rules */
	uint32_t *any;			/* from.any: rules "from * to *" */
	size_t nany;
	uint32_t **by_group;		/* rules naming group g */
	size_t *nby_group;
};

/* A confidential list: its address and its members (arena strings). */
struct list_entry {
	const char *address;	/* lower-cased */
	uint32_t group;
	const char **members;	/* NULL when the group is unresolved */
	size_t n;
};

struct policy {
	_Atomic int refs;
	struct rule *rules;
	size_t nrules;
	struct policy_settings defaults;
	const char *default_file;
	unsigned default_line;
	struct group *groups;
	size_t ngroups;

	struct key_index members;	/* member (kind, key) -> group id */
	uint32_t *any_groups;		/* groups containing "*" */
	size_t nany_groups;
	uint32_t *unresolved;		/* unresolved LDAP group ids */
	size_t nunresolved;
	struct side_index from, to;

	struct list_entry *lists;	/* sorted by address */
	size_t nlists;

	/* Every string of the policy lives in these blocks. */
	struct arena_block *arena;
};

/* Strings owned by the policy (freed with it). */
struct arena_block;
const char *policy_strdup(struct policy *p, const char *s, size_t len);
void policy_arena_free(struct policy *p);

/* Build the look-up structures once groups and rules are final.
 * 0 or -1 (out of memory). */
int policy_index_build(struct policy *p);
void policy_index_free(struct policy *p);

/* policy_decide() by trying every rule in order: the reference the
 * index is tested and measured against. */
void policy_decide_linear(const struct policy *p, const char *sender,
    const char *rcpt, struct policy_decision *out);

/* Built-in defaults of every setting. */
void policy_settings_init(struct policy_settings *s);

/* Lowercase ASCII in place. */
void policy_lower(char *s);

/*
 * The form rules, lists and groups match an address by: its canonical
 * form (address.h: quoting and source routes gone), lower-cased; the text
 * itself, lower-cased, if it is not an address.  0, or -1 if it does not
 * fit outlen.
 */
int policy_address_key(const char *in, char *out, size_t outlen);

#endif
