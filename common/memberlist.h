/*
 * memberlist.h -- the members of a mail group as text: which directory
 * values are addresses, the DN inside a uniqueMember value, and a
 * bounded, sorted, de-duplicated list of addresses.  No I/O: the LDAP
 * walk that feeds it is ldapgroup.c.
 */
#ifndef SMIME_MEMBERLIST_H
#define SMIME_MEMBERLIST_H

#include <stddef.h>

/* Longest value taken from a directory (an RFC 5322 line). */
#define MEMBER_VALUE_MAX	998

/*
 * One member address from a directory value of len bytes (not
 * NUL-terminated): surrounding white space and one pair of angle
 * brackets are removed, then it must be one plausible address (see
 * address_normalise_domain) without white space, '<', '>' or ',' inside
 * -- a display name or a list is not one address.  Writes it to out with
 * the domain lower-cased.  Returns 0, or -1 if the value is not an
 * address, longer than MEMBER_VALUE_MAX, or does not fit outlen.
 */
int member_address(const char *value, size_t len, char *out, size_t outlen);

/*
 * The length of the DN in a uniqueMember value (RFC 4517 "Name and
 * Optional UID": DN, then optionally "#'" binary digits "'B"): len when
 * there is no such suffix.  A '#' escaped as "\#" belongs to the DN.
 */
size_t member_dn_length(const char *value, size_t len);

struct member_list {
	char **v;		/* owned strings */
	size_t n, cap;
	size_t max;		/* most distinct addresses allowed */
};

/* An empty list of at most max distinct addresses. */
#define MEMBER_LIST_INIT(m) { NULL, 0, 0, (m) }

/*
 * Add a copy of addr.  Duplicates are folded away whenever the list
 * reaches 2 * max entries, so memory stays bounded by twice the limit
 * and the folding costs O(log n) per address over time.  Returns 0, -1
 * when out of memory, or 1 when more than max distinct addresses have
 * been seen (found when folding; member_list_finish finds the rest).
 */
int member_list_add(struct member_list *l, const char *addr);

/* Sort (strcmp order) and drop duplicates in place. */
void member_list_sort_unique(struct member_list *l);

/*
 * Sort and de-duplicate, then hand the strings over as a NULL-terminated
 * array (*out, free with member_array_free) and their number (*n); the
 * list is left empty.  Returns 0, -1 when out of memory, or 1 when there
 * are more than max distinct addresses (then free the list).
 */
int member_list_finish(struct member_list *l, char ***out, size_t *n);

void member_list_free(struct member_list *l);

/* Free a NULL-terminated array of strings; NULL is allowed. */
void member_array_free(char **v);

#endif
