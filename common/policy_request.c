/*
 * policy_request.c -- encryption requests by the sender (SPEC M4): the
 * request header's words, the subject tag, and how they change a
 * decision.  The caller decides whether the sender is trusted; a request
 * can raise protection, and lower it only through plain-ok where the
 * rule allows it.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "policy.h"

unsigned
policy_request_parse(const char *value, unsigned *unknown)
{
	unsigned flags = 0, bad = 0;
	const char *p = value;

	while (*p != '\0') {
		size_t n;

		while (*p == ' ' || *p == '\t' || *p == ',' || *p == ';' ||
		    *p == '\r' || *p == '\n')
			p++;
		n = strcspn(p, " \t,;\r\n");
		if (n == 0)
			break;
		if (n == 7 && strncasecmp(p, "encrypt", 7) == 0)
			flags |= POL_REQ_ENCRYPT;
		else if (n == 4 && strncasecmp(p, "sign", 4) == 0)
			flags |= POL_REQ_SIGN;
		else if (n == 8 && strncasecmp(p, "plain-ok", 8) == 0)
			flags |= POL_REQ_PLAIN_OK;
		else
			bad++;
		p += n;
	}
	if (unknown != NULL)
		*unknown = bad;
	return flags;
}

void
policy_apply_request(struct policy_decision *d, unsigned flags)
{
	struct policy_settings *s = &d->s;

	if (flags & POL_REQ_ENCRYPT) {
		if (s->encrypt != POL_ENCRYPT_REQUIRED) {
			s->encrypt = POL_ENCRYPT_REQUIRED;
			d->requested |= POL_REQ_ENCRYPT;
		} else
			d->ignored |= POL_REQ_ENCRYPT;
		/* "Encrypt this" must not end in a plain or merely signed
		 * copy behind the sender's back. */
		if (s->missing_cert == POL_MISSING_PLAIN ||
		    s->missing_cert == POL_MISSING_SIGN_ONLY)
			s->missing_cert = POL_MISSING_REJECT;
	}
	if (flags & POL_REQ_SIGN) {
		if (s->sign == SIGN_NONE) {
			s->sign = SIGN_CLEAR;
			d->requested |= POL_REQ_SIGN;
		} else
			d->ignored |= POL_REQ_SIGN;
	}
	/* Applied last: plain-ok together with encrypt means "encrypt
	 * where possible, plain for the rest". */
	if (flags & POL_REQ_PLAIN_OK) {
		if (s->allow_plain_ok && s->encrypt == POL_ENCRYPT_REQUIRED) {
			s->missing_cert = POL_MISSING_PLAIN;
			d->requested |= POL_REQ_PLAIN_OK;
		} else
			d->ignored |= POL_REQ_PLAIN_OK;
	}
}

bool
policy_subject_untag(const char *subject, const char *tag, char *out,
    size_t outlen)
{
	size_t tl = strlen(tag), sl = strlen(subject), i, at;

	if (tl == 0 || sl < tl || outlen < sl + 1)
		return false;
	for (i = 0; i + tl <= sl; i++)
		if (strncasecmp(subject + i, tag, tl) == 0)
			break;
	if (i + tl > sl)
		return false;
	at = i;
	/* Take one space with the tag so "[secure] Hello" and "Hello
	 * [secure]" both come out as "Hello". */
	memcpy(out, subject, at);
	if (subject[at + tl] == ' ')
		tl++;
	else if (at > 0 && subject[at - 1] == ' ')
		at--;
	memcpy(out + at, subject + i + tl, sl - i - tl + 1);
	return true;
}
