/*
 * certlist.c -- candidate lists; verdict names.
 */
#include "certlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const verdict_names[] = {
	[CERT_UNCHECKED] = "unchecked",
	[CERT_OK] = "ok",
	[CERT_UNSUPPORTED_KEY] = "unsupported-key",
	[CERT_WEAK_KEY] = "weak-key",
	[CERT_ADDRESS_MISMATCH] = "address-mismatch",
	[CERT_KEY_USAGE] = "key-usage",
	[CERT_EXT_KEY_USAGE] = "ext-key-usage",
	[CERT_EXPIRED] = "expired",
	[CERT_NOT_YET_VALID] = "not-yet-valid",
	[CERT_UNTRUSTED] = "untrusted",
	[CERT_REVOKED] = "revoked",
	[CERT_CRL_MISSING] = "crl-missing",
	[CERT_INVALID] = "invalid",
};

const char *
cert_verdict_name(enum cert_verdict v)
{
	if ((size_t)v >= sizeof(verdict_names) / sizeof(verdict_names[0]))
		return "?";
	return verdict_names[v];
}

static int
reserve(struct cert_list *list, size_t extra)
{
	struct cert_candidate *grown;
	size_t cap = list->cap != 0 ? list->cap : 4;

	while (cap < list->count + extra)
		cap *= 2;
	if (cap == list->cap)
		return 0;
	grown = realloc(list->items, cap * sizeof(*grown));
	if (grown == NULL)
		return -1;
	list->items = grown;
	list->cap = cap;
	return 0;
}

int
cert_list_add(struct cert_list *list, X509 *cert, STACK_OF(X509) *extra,
    const char *source, const char *origin)
{
	struct cert_candidate *c;

	if (reserve(list, 1) != 0)
		return -1;
	c = &list->items[list->count];
	memset(c, 0, sizeof(*c));
	if (extra != NULL && (c->extra = X509_chain_up_ref(extra)) == NULL)
		return -1;
	if (!X509_up_ref(cert)) {
		sk_X509_pop_free(c->extra, X509_free);
		return -1;
	}
	c->cert = cert;
	snprintf(c->source, sizeof(c->source), "%s", source ? source : "");
	snprintf(c->origin, sizeof(c->origin), "%s", origin ? origin : "");
	list->count++;
	return 0;
}

int
cert_list_move(struct cert_list *to, struct cert_list *from)
{
	if (from->count == 0)
		return 0;
	if (reserve(to, from->count) != 0)
		return -1;
	memcpy(to->items + to->count, from->items,
	    from->count * sizeof(*from->items));
	to->count += from->count;
	free(from->items);
	memset(from, 0, sizeof(*from));
	return 0;
}

void
cert_list_free(struct cert_list *list)
{
	size_t i;

	for (i = 0; i < list->count; i++) {
		X509_free(list->items[i].cert);
		sk_X509_pop_free(list->items[i].extra, X509_free);
	}
	free(list->items);
	memset(list, 0, sizeof(*list));
}
