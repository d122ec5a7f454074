/*
 * addrlist.c -- the list of canonical addresses and the header fields
 * whose addresses are visible recipients (the parser is in
 * addrlist_parse.c).
 */
#include "addrlist.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "addrlist_int.h"
#include "message.h"

/* ------------------------------------------------------------------ */
/* The list                                                             */

void
addrlist_free(struct addrlist *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->count; i++)
		free(l->items[i]);
	free(l->items);
	free(l->sorted);
	memset(l, 0, sizeof(*l));
}

/* Where addr is in l->sorted, or where it would go; *found if there. */
static size_t
find_sorted(const struct addrlist *l, const char *addr, bool *found)
{
	size_t lo = 0, hi = l->count, mid;
	int cmp;

	*found = false;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		cmp = strcmp(l->sorted[mid], addr);
		if (cmp == 0) {
			*found = true;
			return mid;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int
addrlist_add_canonical(struct addrlist *l, const char *addr, char *err,
    size_t errlen)
{
	size_t pos, cap;
	char **items, **sorted, *copy;
	bool found;

	pos = find_sorted(l, addr, &found);
	if (found)
		return 0;
	if (l->count == ADDRLIST_MAX_ADDRS) {
		snprintf(err, errlen, "more than %d addresses",
		    ADDRLIST_MAX_ADDRS);
		return -1;
	}
	if (l->count == l->cap) {
		cap = l->cap == 0 ? 16 : l->cap * 2;
		/* Each array is stored as soon as it is grown, so that a
		 * failure of the second leaves a consistent list. */
		if ((items = realloc(l->items, cap * sizeof(*items))) == NULL)
			goto nomem;
		l->items = items;
		if ((sorted = realloc(l->sorted, cap * sizeof(*sorted))) ==
		    NULL)
			goto nomem;
		l->sorted = sorted;
		l->cap = cap;
	}
	if ((copy = strdup(addr)) == NULL)
		goto nomem;
	memmove(l->sorted + pos + 1, l->sorted + pos,
	    (l->count - pos) * sizeof(*l->sorted));
	l->sorted[pos] = copy;
	l->items[l->count++] = copy;
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

bool
addrlist_contains(const struct addrlist *l, const char *addr)
{
	char canon[ADDRESS_MAX + 1];
	bool found;

	assert(l != NULL && addr != NULL);
	if (address_canonical(addr, canon, sizeof(canon)) < 0)
		return false;
	(void)find_sorted(l, canon, &found);
	return found;
}

/* ------------------------------------------------------------------ */
/* Header fields                                                        */

/* The fields of a resent block (RFC 5322 3.6.6), at most one each. */
static const char *const resent_fields[] = {
	"Resent-Date", "Resent-From", "Resent-Sender", "Resent-To",
	"Resent-Cc", "Resent-Bcc", "Resent-Message-ID",
};
enum { RESENT_TO = 3, RESENT_CC = 4 };

/* name is want, case-insensitively; white space before the colon is
 * obsolete syntax (RFC 5322 4.5) and ignored. */
static bool
name_is(const char *name, const char *want)
{
	size_t n = strlen(want);

	if (name == NULL || strncasecmp(name, want, n) != 0)
		return false;
	for (name += n; *name == ' ' || *name == '\t'; name++)
		continue;
	return *name == '\0';
}

/* Index of name in resent_fields, or -1. */
static int
resent_index(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(resent_fields) / sizeof(resent_fields[0]); i++)
		if (name_is(name, resent_fields[i]))
			return (int)i;
	return -1;
}

/* addrlist_parse() of a field's value, added to *bad.  0 or -1. */
static int
parse_field(const struct header *f, struct addrlist *out, int *bad,
    char *err, size_t errlen)
{
	const char *v = f->value != NULL ? f->value : "";
	int rc = addrlist_parse(v, strlen(v), out, err, errlen);

	if (rc < 0)
		return -1;
	*bad += rc;
	return 0;
}

/* The addresses of the first To and the first Cc field.  0 or -1. */
static int
original_recipients(const struct header *h, size_t n, struct addrlist *out,
    int *bad, char *err, size_t errlen)
{
	bool to = false, cc = false, *done;
	size_t i;

	for (i = 0; i < n; i++) {
		done = name_is(h[i].name, "To") ? &to :
		    name_is(h[i].name, "Cc") ? &cc : NULL;
		if (done == NULL || *done)
			continue;
		*done = true;
		if (parse_field(&h[i], out, bad, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/*
 * The addresses of Resent-To and Resent-Cc in the topmost resent block,
 * *found telling whether there is one.  The block is the first run of
 * adjacent resent fields, each name once: any other field, or a name
 * seen before, ends it (what follows belongs to an older resending).
 * 0 or -1.
 */
static int
resent_recipients(const struct header *h, size_t n, struct addrlist *out,
    bool *found, int *bad, char *err, size_t errlen)
{
	unsigned seen = 0;
	size_t i;
	int k;

	for (i = 0; i < n && resent_index(h[i].name) < 0; i++)
		continue;
	*found = i < n;
	for (; i < n && (k = resent_index(h[i].name)) >= 0 &&
	    (seen & 1u << k) == 0; i++) {
		seen |= 1u << k;
		if ((k == RESENT_TO || k == RESENT_CC) &&
		    parse_field(&h[i], out, bad, err, errlen) != 0)
			return -1;
	}
	return 0;
}

int
addrlist_visible_from_headers(const struct header *h, size_t n,
    struct addrlist *out, char *err, size_t errlen)
{
	struct addrlist orig = ADDRLIST_INIT, resent = ADDRLIST_INIT;
	const struct addrlist *from = &orig;
	bool block, found = false;
	size_t i;
	int bad = 0, rc = -1;

	assert(h != NULL || n == 0);
	if (original_recipients(h, n, &orig, &bad, err, errlen) != 0 ||
	    resent_recipients(h, n, &resent, &block, &bad, err, errlen) != 0)
		goto cleanup;
	/*
	 * With a resent block, either this is a resending (RFC 5322
	 * 3.6.6: the envelope holds the Resent- recipients, and someone in
	 * the original To may now be a Resent-Bcc) or a message that only
	 * carries an old block along (the envelope holds To and Cc).  We
	 * cannot tell which, so an address is visible only if it is in
	 * both: hidden under either reading means hidden.
	 */
	if (block)
		from = &resent;
	for (i = 0; i < from->count; i++) {
		if (block)
			(void)find_sorted(&orig, from->items[i], &found);
		if ((!block || found) &&
		    addrlist_add_canonical(out, from->items[i], err,
		    errlen) != 0)
			goto cleanup;
	}
	rc = bad;
cleanup:
	addrlist_free(&orig);
	addrlist_free(&resent);
	return rc;
}
