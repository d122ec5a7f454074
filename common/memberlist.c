/*
 * memberlist.c -- member values of mail groups as text (memberlist.h).
 */
#include "memberlist.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"

int
member_address(const char *value, size_t len, char *out, size_t outlen)
{
	char buf[MEMBER_VALUE_MAX + 1];
	const char *p;
	size_t n;

	if (len > MEMBER_VALUE_MAX || memchr(value, '\0', len) != NULL)
		return -1;
	memcpy(buf, value, len);
	buf[len] = '\0';
	p = address_strip(buf, &n);
	/* "Alice <a@x>" or "a@x, b@x" would otherwise pass as one odd
	 * address: what is left after stripping must be one mailbox. */
	if (memchr(p, ' ', n) != NULL || memchr(p, '\t', n) != NULL ||
	    memchr(p, '<', n) != NULL || memchr(p, '>', n) != NULL ||
	    memchr(p, ',', n) != NULL)
		return -1;
	return address_normalise_domain(buf, out, outlen);
}

size_t
member_dn_length(const char *value, size_t len)
{
	const char *hash = memrchr(value, '#', len), *p, *end = value + len;
	size_t backslashes = 0;

	if (hash == NULL || hash == value)
		return len;
	/* "#'" binary digits "'B" up to the end */
	p = hash + 1;
	if (p == end || *p++ != '\'')
		return len;
	while (p < end && (*p == '0' || *p == '1'))
		p++;
	if (end - p != 2 || p[0] != '\'' || p[1] != 'B')
		return len;
	/* An odd number of backslashes before it escapes the '#'. */
	for (p = hash; p > value && p[-1] == '\\'; p--)
		backslashes++;
	if (backslashes % 2 == 1)
		return len;
	return (size_t)(hash - value);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
member_list_sort_unique(struct member_list *l)
{
	size_t i, kept = 0;

	if (l->n == 0)
		return;
	qsort(l->v, l->n, sizeof(*l->v), cmp_str);
	for (i = 1; i < l->n; i++) {
		if (strcmp(l->v[i], l->v[kept]) == 0)
			free(l->v[i]);
		else
			l->v[++kept] = l->v[i];
	}
	l->n = kept + 1;
}

int
member_list_add(struct member_list *l, const char *addr)
{
	char **nv;
	size_t ncap;

	if (l->n >= 2 * l->max) {
		member_list_sort_unique(l);
		if (l->n > l->max)
			return 1;
	}
	if (l->n == l->cap) {
		ncap = l->cap < 16 ? 16 : l->cap * 2;
		if (ncap > 2 * l->max)
			ncap = 2 * l->max;
		if (ncap <= l->n)
			ncap = l->n + 1;
		if ((nv = realloc(l->v, ncap * sizeof(*nv))) == NULL)
			return -1;
		l->v = nv;
		l->cap = ncap;
	}
	if ((l->v[l->n] = strdup(addr)) == NULL)
		return -1;
	l->n++;
	return 0;
}

int
member_list_finish(struct member_list *l, char ***out, size_t *n)
{
	char **nv;

	member_list_sort_unique(l);
	if (l->n > l->max)
		return 1;
	/* Room for the NULL at the end (also for an empty list). */
	if ((nv = realloc(l->v, (l->n + 1) * sizeof(*nv))) == NULL)
		return -1;
	nv[l->n] = NULL;
	*out = nv;
	*n = l->n;
	l->v = NULL;
	l->n = l->cap = 0;
	return 0;
}

void
member_list_free(struct member_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

void
member_array_free(char **v)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}
