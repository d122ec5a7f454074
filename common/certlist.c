/*
 * certlist.c -- candidate lists; verdict names.
 */
#include "certlist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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

static const struct {
	const char *name;
	unsigned bit;
} cap_names[] = {
	{ "aes256-gcm", CAP_AES256_GCM },
	{ "aes128-gcm", CAP_AES128_GCM },
	{ "aes256-cbc", CAP_AES256_CBC },
	{ "aes128-cbc", CAP_AES128_CBC },
};

#define NCAPS (sizeof(cap_names) / sizeof(cap_names[0]))

int
smime_caps_parse(const char *text, struct smime_caps *caps, char *err,
    size_t errlen)
{
	char word[32];
	size_t i, len;

	memset(caps, 0, sizeof(*caps));
	while (*text != '\0' && *text != '#') {
		len = strcspn(text, " \t,\r\n#");
		if (len == 0) {
			text++;
			continue;
		}
		snprintf(word, sizeof(word), "%.*s", (int)(len < 31 ? len : 31),
		    text);
		for (i = 0; i < NCAPS; i++)
			if (strcasecmp(word, cap_names[i].name) == 0)
				break;
		if (i == NCAPS) {
			snprintf(err, errlen, "unknown algorithm '%s' (want "
			    "aes256-gcm, aes128-gcm, aes256-cbc, aes128-cbc)",
			    word);
			return -1;
		}
		caps->mask |= cap_names[i].bit;
		caps->known = 1;
		text += len;
	}
	return 0;
}

void
smime_caps_format(const struct smime_caps *caps, char *out, size_t outlen)
{
	size_t i, used = 0;

	out[0] = '\0';
	if (!caps->known) {
		snprintf(out, outlen, "unknown");
		return;
	}
	for (i = 0; i < NCAPS; i++) {
		if (!(caps->mask & cap_names[i].bit) || used >= outlen)
			continue;
		used += (size_t)snprintf(out + used, outlen - used, "%s%s",
		    used ? " " : "", cap_names[i].name);
	}
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

/*
 * extra with a reference to each certificate, in a stack of exactly its
 * size: X509_chain_up_ref() copies the source's allocated capacity too,
 * and candidates are copied several times per recipient of a message.
 */
static STACK_OF(X509) *
chain_copy(STACK_OF(X509) *extra)
{
	int i, n = sk_X509_num(extra);
	STACK_OF(X509) *s = sk_X509_new_reserve(NULL, n > 0 ? n : 1);

	for (i = 0; s != NULL && i < n; i++) {
		X509 *x = sk_X509_value(extra, i);

		if (!X509_up_ref(x)) {
			sk_X509_pop_free(s, X509_free);
			return NULL;
		}
		(void)sk_X509_push(s, x);	/* reserved */
	}
	return s;
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
	if (extra != NULL && (c->extra = chain_copy(extra)) == NULL)
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
cert_list_add_copy(struct cert_list *list, const struct cert_candidate *c)
{
	struct cert_candidate *n;

	if (cert_list_add(list, c->cert, c->extra, c->source, c->origin) != 0)
		return -1;
	n = &list->items[list->count - 1];
	n->caps = c->caps;
	n->verdict = c->verdict;
	memcpy(n->reason, c->reason, sizeof(n->reason));
	return 0;
}

int
cert_list_copy(struct cert_list *to, const struct cert_list *from)
{
	size_t i;

	for (i = 0; i < from->count; i++)
		if (cert_list_add_copy(to, &from->items[i]) != 0)
			return -1;
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
