/*
 * policy_names.c -- the words of the policy file: setting names and
 * values in both directions, the built-in defaults, and the arena the
 * loaded policy keeps its strings in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "policy_int.h"

void
policy_settings_init(struct policy_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->sign = SIGN_NONE;
	s->digest = DIGEST_SHA256;
	s->encrypt = POL_ENCRYPT_OPPORTUNISTIC;
	s->cipher = CMS_CIPHER_AUTO;
	s->key_transport = CMS_KT_AUTO;
	/* Only consulted when encryption is required: then refusing is
	 * the safe answer unless the file says otherwise. */
	s->missing_cert = POL_MISSING_REJECT;
	s->bcc = POL_BCC_INDIVIDUAL;
	s->encrypt_to_sender = false;
	s->protect_headers = false;
	s->allow_plain_ok = false;
}

void
policy_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

int
policy_address_key(const char *in, char *out, size_t outlen)
{
	/*
	 * Every spelling of one mailbox must meet the same rules, lists
	 * and groups: "nocert"@x, <@relay:nocert@x> and nocert@x are one
	 * mailbox to the MTA, which routes them alike.  Not an address
	 * (the policy's own words, "<>"): the text as it is.
	 */
	if (address_canonical(in, out, outlen) < 0) {
		if (strlen(in) >= outlen)
			return -1;
		memcpy(out, in, strlen(in) + 1);
	}
	policy_lower(out);
	return 0;
}

const char *
policy_encrypt_name(enum pol_encrypt e)
{
	switch (e) {
	case POL_ENCRYPT_NEVER: return "never";
	case POL_ENCRYPT_OPPORTUNISTIC: return "opportunistic";
	case POL_ENCRYPT_REQUIRED: return "required";
	}
	return "?";
}

const char *
policy_missing_name(enum pol_missing m)
{
	switch (m) {
	case POL_MISSING_REJECT: return "reject";
	case POL_MISSING_DEFER: return "defer";
	case POL_MISSING_NOTIFY: return "notify";
	case POL_MISSING_SIGN_ONLY: return "sign-only";
	case POL_MISSING_PLAIN: return "plain";
	}
	return "?";
}

const char *
policy_bcc_name(enum pol_bcc b)
{
	return b == POL_BCC_SHARED ? "shared" : "individual";
}

const char *
policy_sign_name(enum sign_mode m)
{
	switch (m) {
	case SIGN_NONE: return "none";
	case SIGN_CLEAR: return "clear";
	case SIGN_OPAQUE: return "opaque";
	}
	return "?";
}

char *
policy_settings_format(const struct policy_settings *s, char *out,
    size_t outlen)
{
	snprintf(out, outlen, "sign=%s digest=%s encrypt=%s cipher=%s "
	    "key-transport=%s missing-cert=%s bcc=%s encrypt-to-sender=%s "
	    "protect-headers=%s allow-plain-ok=%s", policy_sign_name(s->sign),
	    sign_digest_name(s->digest), policy_encrypt_name(s->encrypt),
	    cms_cipher_name(s->cipher),
	    cms_keytransport_name(s->key_transport),
	    policy_missing_name(s->missing_cert), policy_bcc_name(s->bcc),
	    s->encrypt_to_sender ? "yes" : "no",
	    s->protect_headers ? "yes" : "no",
	    s->allow_plain_ok ? "yes" : "no");
	return out;
}

/* Strings are carved from 64 KB blocks: a 100,000-rule policy would
 * otherwise make hundreds of thousands of small allocations. */
#define ARENA_BLOCK (64u * 1024u)

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	char data[];
};

const char *
policy_strdup(struct policy *p, const char *s, size_t len)
{
	struct arena_block *b = p->arena;
	char *out;

	if (b == NULL || b->size - b->used < len + 1) {
		size_t size = len + 1 > ARENA_BLOCK ? len + 1 : ARENA_BLOCK;

		if ((b = malloc(sizeof(*b) + size)) == NULL)
			return NULL;
		b->next = p->arena;
		b->used = 0;
		b->size = size;
		p->arena = b;
	}
	out = b->data + b->used;
	memcpy(out, s, len);
	out[len] = '\0';
	b->used += len + 1;
	return out;
}

void
policy_arena_free(struct policy *p)
{
	struct arena_block *b, *next;

	for (b = p->arena; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	p->arena = NULL;
}
