/*
 * fuzz_addrlist.c -- libFuzzer target for the address-list parser
 * (addrlist.h) and the canonical address form (address.h).
 *
 * The input is used three ways:
 *   1. as one header field value (NUL bytes included): the parse must
 *      not fail on a value this short, and every address it gives must
 *      be a canonical form (address_canonical() returns it unchanged),
 *      be found by addrlist_contains(), be distinct, and written out as
 *      a list again ("a, b, c") parse back to exactly the same list with
 *      nothing unparseable;
 *   2. as an envelope address (up to the first NUL): if address_canonical()
 *      accepts it, its result is a fixed point, parses as a header value
 *      to exactly itself, and address_normalise() is its lower-case form;
 *   3. as header lines ("Name: value", "\n" separated): every address
 *      addrlist_visible_from_headers() calls visible is in the first To
 *      or the first Cc field, whatever resent fields there are.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"
#include "addrlist.h"
#include "message.h"

#define MAX_FIELDS 64

static char *
xmemdup0(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s == NULL)
		abort();
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

/* Every item canonical, distinct, found; the list written out and
 * parsed again is the same list. */
static void
check_list(const struct addrlist *l)
{
	struct addrlist again = ADDRLIST_INIT;
	char canon[ADDRESS_MAX + 1], err[256], *text;
	size_t i, j, len = 0, o = 0;

	for (i = 0; i < l->count; i++) {
		if (strlen(l->items[i]) > ADDRESS_MAX ||
		    address_canonical(l->items[i], canon, sizeof(canon)) < 0 ||
		    strcmp(canon, l->items[i]) != 0 ||
		    !addrlist_contains(l, l->items[i]))
			abort();
		for (j = 0; j < i; j++)
			if (strcmp(l->items[i], l->items[j]) == 0)
				abort();
		len += strlen(l->items[i]) + 2;
	}
	if ((text = malloc(len + 1)) == NULL)
		abort();
	text[0] = '\0';
	for (i = 0; i < l->count; i++)
		o += (size_t)sprintf(text + o, "%s%s", i > 0 ? ", " : "",
		    l->items[i]);
	if (addrlist_parse(text, o, &again, err, sizeof(err)) != 0 ||
	    again.count != l->count)
		abort();
	for (i = 0; i < l->count; i++)
		if (strcmp(again.items[i], l->items[i]) != 0)
			abort();
	addrlist_free(&again);
	free(text);
}

static void
check_value(const uint8_t *data, size_t size)
{
	struct addrlist l = ADDRLIST_INIT;
	char err[256];
	int bad, bad2;
	size_t count;

	bad = addrlist_parse((const char *)data, size, &l, err, sizeof(err));
	if (bad < 0 || (size_t)bad > size)
		abort();
	check_list(&l);
	/* Deterministic: the same value again adds nothing. */
	count = l.count;
	bad2 = addrlist_parse((const char *)data, size, &l, err, sizeof(err));
	if (bad2 != bad || l.count != count)
		abort();
	addrlist_free(&l);
}

static void
check_envelope(const uint8_t *data, size_t size)
{
	struct addrlist l = ADDRLIST_INIT;
	char *in = xmemdup0(data, strnlen((const char *)data, size));
	char canon[ADDRESS_MAX + 1], again[ADDRESS_MAX + 1], key[400], err[256];
	int n, i;

	n = address_canonical(in, canon, sizeof(canon));
	if (n >= 0) {
		if ((size_t)n != strlen(canon) ||
		    address_canonical(canon, again, sizeof(again)) != n ||
		    strcmp(canon, again) != 0)
			abort();
		if (addrlist_parse(canon, (size_t)n, &l, err,
		    sizeof(err)) != 0 || l.count != 1 ||
		    strcmp(l.items[0], canon) != 0 ||
		    !addrlist_contains(&l, in))
			abort();
		if (n <= 320) {
			if (address_normalise(in, key, sizeof(key)) != 0)
				abort();
			for (i = 0; i < n; i++)
				if (key[i] != (canon[i] >= 'A' &&
				    canon[i] <= 'Z' ? canon[i] + 32 : canon[i]))
					abort();
		}
	} else if (address_normalise(in, key, sizeof(key)) == 0) {
		abort();
	}
	addrlist_free(&l);
	free(in);
}

/* "To" or "Cc", case-insensitively, white space allowed before ':'. */
static bool
field_is(const char *name, const char *want)
{
	size_t n = strlen(want);

	return strncasecmp(name, want, n) == 0 &&
	    strspn(name + n, " \t") == strlen(name + n);
}

static void
check_headers(const uint8_t *data, size_t size)
{
	struct header h[MAX_FIELDS];
	struct addrlist vis = ADDRLIST_INIT, all = ADDRLIST_INIT;
	const uint8_t *p = data, *end = data + size, *nl, *colon;
	bool to = false, cc = false;
	char err[256];
	size_t n = 0, i;

	while (p < end && n < MAX_FIELDS) {
		nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		colon = memchr(p, ':', (size_t)(nl - p));
		if (colon != NULL &&
		    memchr(p, '\0', (size_t)(nl - p)) == NULL) {
			h[n].name = xmemdup0(p, (size_t)(colon - p));
			h[n].value = xmemdup0(colon + 1,
			    (size_t)(nl - colon - 1));
			n++;
		}
		p = nl + (nl < end);
	}
	if (addrlist_visible_from_headers(h, n, &vis, err, sizeof(err)) < 0)
		abort();
	for (i = 0; i < n; i++) {
		bool *done = field_is(h[i].name, "To") ? &to :
		    field_is(h[i].name, "Cc") ? &cc : NULL;

		if (done == NULL || *done)
			continue;
		*done = true;
		if (addrlist_parse(h[i].value, strlen(h[i].value), &all, err,
		    sizeof(err)) < 0)
			abort();
	}
	for (i = 0; i < vis.count; i++)
		if (!addrlist_contains(&all, vis.items[i]))
			abort();
	check_list(&vis);
	for (i = 0; i < n; i++) {
		free(h[i].name);
		free(h[i].value);
	}
	addrlist_free(&vis);
	addrlist_free(&all);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* At most 8192 addresses ("a@b,"): below ADDRLIST_MAX_ADDRS, so
	 * -1 can only be a bug. */
	if (size > 32768)
		return 0;
	check_value(data, size);
	check_envelope(data, size);
	check_headers(data, size);
	return 0;
}
