/*
 * authmap.c -- SenderAuthMap as one sorted array of (user, pattern)
 * pairs: a user's lines merge by sorting, and a look-up is a binary
 * search for the user's first pair followed by a scan of its pairs.
 */
#include "authmap.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"

#define AUTHMAP_ADDR_MAX 330	/* address_normalise allows 320 */
#define SEPARATORS " \t\r\n,"

struct pair {
	char *user;
	char *pattern;		/* lower-cased address, or "*@domain" */
};

struct authmap {
	struct pair *pairs;
	size_t count, cap;
};

static int
cmp_pairs(const void *a, const void *b)
{
	const struct pair *x = a, *y = b;
	int c = strcmp(x->user, y->user);

	return c != 0 ? c : strcmp(x->pattern, y->pattern);
}

/*
 * word as a pattern: "*@domain", or an address (lower-cased into out).
 * Returns 0, or -1 with the reason in err.
 */
static int
parse_pattern(const char *word, char *out, size_t outlen, char *err,
    size_t errlen)
{
	const char *domain;

	if (strncmp(word, "*@", 2) == 0) {
		domain = word + 2;
		if (*domain == '\0' || strpbrk(domain, "@*<>") != NULL ||
		    address_normalise(word, out, outlen) != 0) {
			snprintf(err, errlen, "'%.100s' is not *@domain",
			    word);
			return -1;
		}
		return 0;
	}
	if (strpbrk(word, "*<>") != NULL ||
	    address_normalise(word, out, outlen) != 0) {
		snprintf(err, errlen, "'%.100s' is not an address or "
		    "*@domain", word);
		return -1;
	}
	return 0;
}

static int
add_pair(struct authmap *m, const char *user, const char *pattern)
{
	struct pair *p;

	if (m->count == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 32;

		if ((p = reallocarray(m->pairs, cap, sizeof(*p))) == NULL)
			return -1;
		m->pairs = p;
		m->cap = cap;
	}
	p = &m->pairs[m->count];
	p->user = strdup(user);
	p->pattern = strdup(pattern);
	if (p->user == NULL || p->pattern == NULL) {
		free(p->user);
		free(p->pattern);
		return -1;
	}
	m->count++;
	return 0;
}

/* One line (modified in place); 0, or -1 with the reason in err. */
static int
parse_line(struct authmap *m, char *line, char *err, size_t errlen)
{
	char pattern[AUTHMAP_ADDR_MAX], *save = NULL, *user, *word;
	int added = 0;

	user = strtok_r(line, " \t\r\n", &save);
	if (user == NULL || *user == '#')
		return 0;
	while ((word = strtok_r(NULL, SEPARATORS, &save)) != NULL &&
	    *word != '#') {
		if (parse_pattern(word, pattern, sizeof(pattern), err,
		    errlen) != 0)
			return -1;
		if (add_pair(m, user, pattern) != 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		added++;
	}
	if (added == 0) {
		snprintf(err, errlen, "user '%.100s' without an address",
		    user);
		return -1;
	}
	return 0;
}

/* Sort, then drop exact duplicates. */
static void
sort_unique(struct authmap *m)
{
	size_t i, kept = 0;

	if (m->count == 0)	/* pairs is NULL */
		return;
	qsort(m->pairs, m->count, sizeof(*m->pairs), cmp_pairs);
	for (i = 0; i < m->count; i++) {
		if (kept > 0 && cmp_pairs(&m->pairs[kept - 1],
		    &m->pairs[i]) == 0) {
			free(m->pairs[i].user);
			free(m->pairs[i].pattern);
			continue;
		}
		m->pairs[kept++] = m->pairs[i];
	}
	m->count = kept;
}

struct authmap *
authmap_load(const char *path, char *err, size_t errlen)
{
	struct authmap *m = calloc(1, sizeof(*m));
	char *line = NULL, why[256];
	size_t cap = 0;
	unsigned long lineno = 0;
	FILE *f = NULL;
	int rc = -1;

	assert(err != NULL && errlen > 0);
	if (m == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (path == NULL)
		return m;
	if ((f = fopen(path, "re")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	while (getline(&line, &cap, f) != -1) {
		lineno++;
		if (parse_line(m, line, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s:%lu: %s", path, lineno, why);
			goto cleanup;
		}
	}
	if (ferror(f)) {
		snprintf(err, errlen, "%s: read error", path);
		goto cleanup;
	}
	sort_unique(m);
	rc = 0;
cleanup:
	free(line);
	if (f != NULL)
		fclose(f);
	if (rc != 0) {
		authmap_free(m);
		m = NULL;
	}
	return m;
}

void
authmap_free(struct authmap *m)
{
	size_t i;

	if (m == NULL)
		return;
	for (i = 0; i < m->count; i++) {
		free(m->pairs[i].user);
		free(m->pairs[i].pattern);
	}
	free(m->pairs);
	free(m);
}

/* Index of user's first pair, or m->count if it has none. */
static size_t
first_pair(const struct authmap *m, const char *user)
{
	size_t lo = 0, hi = m->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(m->pairs[mid].user, user) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < m->count && strcmp(m->pairs[lo].user, user) == 0 ?
	    lo : m->count;
}

bool
authmap_may_send_as(const struct authmap *m, const char *auth_user,
    const char *address)
{
	char norm[AUTHMAP_ADDR_MAX];
	const char *domain;
	size_t i;

	assert(m != NULL && address != NULL);
	if (auth_user == NULL || *auth_user == '\0' ||
	    address_normalise(address, norm, sizeof(norm)) != 0)
		return false;
	i = first_pair(m, auth_user);
	if (i == m->count)
		return strcasecmp(auth_user, norm) == 0;
	domain = strrchr(norm, '@') + 1;
	for (; i < m->count && strcmp(m->pairs[i].user, auth_user) == 0; i++) {
		const char *p = m->pairs[i].pattern;

		if (strncmp(p, "*@", 2) == 0 ? strcmp(p + 2, domain) == 0 :
		    strcmp(p, norm) == 0)
			return true;
	}
	return false;
}

size_t
authmap_count(const struct authmap *m)
{
	assert(m != NULL);
	return m->count;
}
