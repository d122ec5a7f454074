/*
 * outbound_plan.c -- per-recipient decisions and the message verdict
 * (SPEC M3, M4, M5, M11).  See outbound.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "addrlist.h"
#include "certlookup.h"
#include "address.h"
#include "config.h"
#include "encsniff.h"
#include "message.h"
#include "marker.h"
#include "mime.h"
#include "outbound_int.h"
#include "runtime.h"
#include "senderkeys.h"
#include "signauth.h"

#define REPLY_ADDRS_MAX 400	/* bytes of addresses in one SMTP reply */
#define RULES_LOGGED 16		/* distinct rule lines in the log line */

const char *
rcpt_action_name(enum rcpt_action a)
{
	switch (a) {
	case RA_ENCRYPT: return "encrypt";
	case RA_SIGN: return "sign";
	case RA_PLAIN: return "plain";
	case RA_REJECT: return "reject";
	case RA_DEFER: return "defer";
	case RA_NOTIFY: return "notify";
	case RA_TEMPFAIL: return "tempfail";
	case RA_LIST: return "list";
	}
	return "?";
}

/* Request flags from every RequestHeader field and the subject tag. */
static unsigned
find_requests(const struct config *cfg, const struct message *msg)
{
	char value[1024], untagged[1024];
	unsigned flags = 0;
	size_t i;

	for (i = 0; i < msg->nheaders; i++) {
		const struct header *h = &msg->headers[i];

		if (outbound_is_request_header(cfg, h->name) &&
		    mime_unfold(h->value, value, sizeof(value)) >= 0)
			flags |= policy_request_parse(value, NULL);
		if (outbound_subject_untag(cfg, h, untagged, sizeof(untagged)))
			flags |= POL_REQ_ENCRYPT;
	}
	return flags;
}

void
outbound_reply_append(char *out, size_t outlen, const char *s)
{
	size_t n = strlen(out);

	for (; *s != '\0' && n + 1 < outlen; s++)
		out[n++] = (*s >= 32 && *s < 127 && *s != '%') ? *s : '?';
	out[n] = '\0';
}

/* "a@b, c@d and 3 more" for the recipients with action a. */
static void
list_addrs(const struct outbound_plan *plan, enum rcpt_action a, char *out,
    size_t outlen)
{
	size_t i, shown = 0, total = 0;
	const char *last_list = NULL;

	out[0] = '\0';
	for (i = 0; i < plan->n; i++) {
		/* A list member is named by its list: membership is never
		 * revealed, not even to the sender. */
		const char *name = plan->r[i].list != NULL ? plan->r[i].list :
		    plan->r[i].addr;

		if (plan->r[i].action != a)
			continue;
		/* A list's members follow each other: name it once. */
		if (plan->r[i].list != NULL && plan->r[i].list == last_list)
			continue;
		last_list = plan->r[i].list;
		total++;
		if (strlen(out) + strlen(name) > REPLY_ADDRS_MAX)
			continue;
		if (shown++ > 0)
			outbound_reply_append(out, outlen, ", ");
		outbound_reply_append(out, outlen, name);
	}
	if (total > shown) {
		char more[40];

		snprintf(more, sizeof(more), " and %zu more", total - shown);
		outbound_reply_append(out, outlen, more);
	}
}

static void
set_reply(struct outbound_plan *plan, enum plan_verdict v, const char *rcode,
    const char *xcode)
{
	plan->verdict = v;
	plan->rcode = rcode;
	plan->xcode = xcode;
}

static void
decide_verdict(const struct config *cfg, struct outbound_plan *plan)
{
	size_t count[RA_COUNT] = { 0 }, i;
	char addrs[REPLY_ADDRS_MAX + 64];

	for (i = 0; i < plan->n; i++)
		count[plan->r[i].action]++;
	if (count[RA_TEMPFAIL] > 0) {
		for (i = 0; plan->r[i].action != RA_TEMPFAIL; i++)
			;
		set_reply(plan, PLAN_TEMPFAIL, "451", "4.7.1");
		snprintf(plan->reply, sizeof(plan->reply), "Encryption policy "
		    "cannot be applied right now, please try again later: ");
		outbound_reply_append(plan->reply, sizeof(plan->reply), plan->r[i].why);
	} else if (count[RA_REJECT] > 0) {
		list_addrs(plan, RA_REJECT, addrs, sizeof(addrs));
		set_reply(plan, PLAN_REJECT, "550", "5.7.1");
		snprintf(plan->reply, sizeof(plan->reply), "Encryption is "
		    "required but there is no usable certificate for: ");
		outbound_reply_append(plan->reply, sizeof(plan->reply), addrs);
		/* Tell the sender the way out only if it exists. */
		for (i = 0; i < plan->n; i++)
			if (plan->r[i].action == RA_REJECT &&
			    plan->r[i].d.s.allow_plain_ok &&
			    cfg->request_header[0] != '\0') {
				outbound_reply_append(plan->reply, sizeof(plan->reply),
				    "; to send without encryption, resend with "
				    "the header field ");
				outbound_reply_append(plan->reply, sizeof(plan->reply),
				    cfg->request_header);
				outbound_reply_append(plan->reply, sizeof(plan->reply),
				    ": plain-ok");
				break;
			}
	} else if (count[RA_DEFER] > 0) {
		list_addrs(plan, RA_DEFER, addrs, sizeof(addrs));
		set_reply(plan, PLAN_DEFER, "451", "4.7.1");
		snprintf(plan->reply, sizeof(plan->reply), "Encryption is "
		    "required and no certificate is known yet for: ");
		outbound_reply_append(plan->reply, sizeof(plan->reply), addrs);
		outbound_reply_append(plan->reply, sizeof(plan->reply), "; delivery "
		    "will be retried");
	} else if (count[RA_ENCRYPT] + count[RA_SIGN] + count[RA_PLAIN] == 0)
		/* Nobody to deliver to: every recipient was notified about,
		 * or a confidential list has no members. */
		set_reply(plan, PLAN_DISCARD, NULL, NULL);
	else
		set_reply(plan, PLAN_DELIVER, NULL, NULL);
}

/* The action when no certificate will be used. */
static enum rcpt_action
unencrypted(const struct rcpt_plan *r)
{
	return r->d.s.sign != SIGN_NONE ? RA_SIGN : RA_PLAIN;
}

static enum rcpt_action
missing_action(const struct rcpt_plan *r)
{
	switch (r->d.s.missing_cert) {
	case POL_MISSING_REJECT: return RA_REJECT;
	case POL_MISSING_DEFER: return RA_DEFER;
	case POL_MISSING_NOTIFY: return RA_NOTIFY;
	case POL_MISSING_SIGN_ONLY: return RA_SIGN;
	case POL_MISSING_PLAIN: break;
	}
	return unencrypted(r);
}

static void
plan_recipient(struct runtime *rt, struct outbound_plan *plan,
    const struct message *msg, const struct addrlist *visible,
    struct rcpt_plan *r)
{
	struct cert_result res;

	/* A list's members follow the list's rule. */
	policy_decide(plan->policy, msg->sender, r->list != NULL ? r->list :
	    r->addr, &r->d);
	if (plan->trusted && plan->request != 0)
		policy_apply_request(&r->d, plan->request);
	r->hidden = r->list != NULL || !addrlist_contains(visible, r->addr);
	r->lookup = LOOKUP_NONE;
	if (r->d.unavailable) {
		r->action = RA_TEMPFAIL;
		snprintf(r->why, sizeof(r->why), "policy group %s could not be "
		    "read", r->d.unavailable_group);
		return;
	}
	if (r->d.s.encrypt == POL_ENCRYPT_NEVER) {
		r->action = unencrypted(r);
		snprintf(r->why, sizeof(r->why), "policy: never encrypt");
		return;
	}
	r->lookup = certlookup_find(rt->certs, r->addr, &res);
	switch (r->lookup) {
	case LOOKUP_FOUND:
		r->action = RA_ENCRYPT;
		(void)cert_list_move(&r->certs, &res.usable);
		snprintf(r->why, sizeof(r->why), "%zu certificate%s",
		    r->certs.count, r->certs.count == 1 ? "" : "s");
		break;
	case LOOKUP_ERROR:
		/* Could not look: never plain when encryption is required. */
		if (r->d.s.encrypt == POL_ENCRYPT_REQUIRED)
			r->action = RA_TEMPFAIL;
		else
			r->action = unencrypted(r);
		snprintf(r->why, sizeof(r->why), "certificate look-up failed: "
		    "%.160s", res.error);
		break;
	case LOOKUP_NONE:
		if (r->d.s.encrypt == POL_ENCRYPT_REQUIRED) {
			r->action = missing_action(r);
			snprintf(r->why, sizeof(r->why), "no usable certificate%s",
			    res.rejected.count > 0 ? " (some were rejected: "
			    "see smimectl cert lookup)" : "");
		} else {
			r->action = unencrypted(r);
			snprintf(r->why, sizeof(r->why), "no certificate, "
			    "opportunistic");
		}
		break;
	}
	cert_result_free(&res);
}

/* Who may sign, and with which key; only asked when someone needs it. */
static void
find_signer(struct runtime *rt, const struct message *msg, bool internal,
    struct outbound_plan *plan)
{
	if (plan->already_signed) {
		plan->sign_why = "already signed";
		return;
	}
	if (sender_may_sign(rt->authmap, msg->sender, msg->auth_authen,
	    internal, &plan->sign_why) != SIGN_PERMITTED)
		return;
	plan->signer = senderkeys_find(rt->keys, msg->sender);
	if (plan->signer == NULL)
		plan->sign_why = "no key for the sender";
}

static const char *
request_names(unsigned flags)
{
	static const char *const names[8] = { "none", "encrypt", "sign",
	    "encrypt,sign", "plain-ok", "encrypt,plain-ok", "sign,plain-ok",
	    "encrypt,sign,plain-ok" };

	return names[flags & 7u];
}

static void
summarise(struct outbound_plan *plan)
{
	const struct policy_decision *seen[RULES_LOGGED];
	size_t count[RA_COUNT] = { 0 }, i, len, nseen = 0;
	static const char *const verdicts[] = { "pass", "deliver", "reject",
	    "defer", "tempfail", "discard" };
	char *out = plan->log;
	size_t outlen = sizeof(plan->log);
	int a;

	for (i = 0; i < plan->n; i++)
		count[plan->r[i].action]++;
	snprintf(out, outlen, "policy=%s%s%s%s", verdicts[plan->verdict],
	    plan->resubmitted ? " copy=resubmitted" : "",
	    plan->forged_marker ? " marker=forged" : "",
	    plan->claims_encrypted ? " encrypted=claimed-not-found" : "");
	for (a = RA_ENCRYPT; plan->verdict != PLAN_PASS && a < RA_COUNT;
	    a++)
		if (count[a] > 0) {
			len = strlen(out);
			snprintf(out + len, outlen - len, " %s=%zu",
			    rcpt_action_name((enum rcpt_action)a), count[a]);
		}
	len = strlen(out);
	snprintf(out + len, outlen - len, " request=%s trusted=%s",
	    request_names(plan->request), plan->trusted ? "yes" : "no");
	len = strlen(out);
	snprintf(out + len, outlen - len, " signer=%s rules=",
	    plan->signer != NULL ? "yes" : plan->sign_why != NULL ?
	    plan->sign_why : "not needed");
	/* The rule lines used, each once, at most RULES_LOGGED of them
	 * (none when nothing was decided). */
	if (plan->verdict == PLAN_PASS)
		outbound_reply_append(out, outlen, "none");
	for (i = 0; plan->verdict != PLAN_PASS && i < plan->n; i++) {
		const struct policy_decision *d = &plan->r[i].d;
		char where[80];
		size_t k;

		for (k = 0; k < nseen; k++)
			if (seen[k]->line == d->line && seen[k]->file == d->file)
				break;
		if (k < nseen)
			continue;
		if (nseen == RULES_LOGGED) {
			outbound_reply_append(out, outlen, ",...");
			break;
		}
		seen[nseen++] = d;
		if (d->line == 0)
			snprintf(where, sizeof(where), "%sdefault",
			    nseen > 1 ? "," : "");
		else
			snprintf(where, sizeof(where), "%s%.60s:%u",
			    nseen > 1 ? "," : "", d->file, d->line);
		outbound_reply_append(out, outlen, where);
	}
}

/*
 * The envelope recipients, with every confidential list replaced by its
 * members (SPEC M9): the list's own entry stays, marked RA_LIST, so it
 * is deleted from the transaction; members follow it, one copy each.
 * A list whose members cannot be known tempfails.
 */
static int
expand_recipients(struct outbound_plan *plan, const struct message *msg)
{
	const char *const *members;
	size_t i, k, n, total = msg->nrcpts;
	int rc;

	for (i = 0; i < msg->nrcpts; i++)
		if (policy_list_members(plan->policy, msg->rcpts[i], &members,
		    &n) == 1)
			total += n;
	if ((plan->r = calloc(total + 1, sizeof(*plan->r))) == NULL)
		return -1;
	for (i = 0; i < msg->nrcpts; i++) {
		struct rcpt_plan *l = &plan->r[plan->n++];

		l->addr = msg->rcpts[i];
		rc = policy_list_members(plan->policy, msg->rcpts[i], &members,
		    &n);
		if (rc == 0)
			continue;
		if (rc < 0) {
			l->action = RA_TEMPFAIL;
			snprintf(l->why, sizeof(l->why), "the members of list "
			    "%.150s could not be read", l->addr);
			continue;
		}
		l->action = RA_LIST;
		snprintf(l->why, sizeof(l->why), "confidential list, %zu "
		    "member%s", n, n == 1 ? "" : "s");
		for (k = 0; k < n; k++) {
			plan->r[plan->n].addr = members[k];
			plan->r[plan->n].list = l->addr;
			plan->n++;
		}
	}
	return 0;
}

/*
 * A copy this gateway re-submitted carries a marker that verifies for
 * exactly its Message-ID and recipients: it passes.  Anything else
 * calling itself a marker is noted (and removed from every copy).
 */
static void
check_marker(struct runtime *rt, const struct message *msg,
    struct outbound_plan *plan)
{
	const struct header *m = mime_find_header(msg->headers, msg->nheaders,
	    MARKER_FIELD);
	char value[256], idbuf[1000];

	if (m == NULL)
		return;
	if (mime_unfold(m->value, value, sizeof(value)) >= 0 &&
	    marker_verify(&rt->secret, value,
	    outbound_marker_id(msg, idbuf, sizeof(idbuf)),
	    (const char *const *)msg->rcpts, msg->nrcpts, time(NULL)))
		plan->resubmitted = true;
	else
		plan->forged_marker = true;
}

static int
cmp_mailbox(const void *a, const void *b)
{
	const struct mailbox_ref *x = a, *y = b;
	int c = strcmp(x->canon, y->canon);

	return c != 0 ? c : x->idx < y->idx ? -1 : x->idx > y->idx;
}

int
outbound_mailboxes(const struct outbound_plan *plan, struct mailbox_ref **out,
    size_t *n)
{
	struct mailbox_ref *v = calloc(plan->n + 1, sizeof(*v));
	size_t i, k = 0;

	*out = NULL;
	*n = 0;
	if (v == NULL)
		return -1;
	for (i = 0; i < plan->n; i++) {
		char buf[ADDRESS_MAX + 1];

		if (plan->r[i].action == RA_LIST)
			continue;
		if (address_canonical(plan->r[i].addr, buf, sizeof(buf)) < 0)
			snprintf(buf, sizeof(buf), "%s", plan->r[i].addr);
		if ((v[k].canon = strdup(buf)) == NULL) {
			outbound_mailboxes_free(v, k);
			return -1;
		}
		v[k++].idx = i;
	}
	/* Sorting keeps this linear-logarithmic for thousands. */
	if (k > 1)
		qsort(v, k, sizeof(*v), cmp_mailbox);
	*out = v;
	*n = k;
	return 0;
}

void
outbound_mailboxes_free(struct mailbox_ref *v, size_t n)
{
	size_t i;

	for (i = 0; v != NULL && i < n; i++)
		free(v[i].canon);
	free(v);
}

/*
 * One mailbox under several rules (addressed directly and through a
 * list, or spelt twice) gets one copy, under its strictest occurrence
 * (outbound_build.c).  When that is "encryption required, no
 * certificate: notify", its laxer occurrences (plain, signed-only) are
 * notified too: no copy in clear goes out, and the notice names the
 * mailbox where it was addressed directly.  0, or -1 when out of memory.
 */
static int
notify_whole_mailbox(struct outbound_plan *plan)
{
	struct mailbox_ref *v;
	size_t i, k, start, j;
	bool notify;

	if (outbound_mailboxes(plan, &v, &k) != 0)
		return -1;
	for (start = 0; start < k; start = j) {
		notify = plan->r[v[start].idx].action == RA_NOTIFY;
		for (j = start + 1; j < k && strcmp(v[j].canon,
		    v[start].canon) == 0; j++)
			notify |= plan->r[v[j].idx].action == RA_NOTIFY;
		for (i = start; notify && i < j; i++) {
			struct rcpt_plan *r = &plan->r[v[i].idx];

			if (r->action != RA_PLAIN && r->action != RA_SIGN)
				continue;
			r->action = RA_NOTIFY;
			snprintf(r->why, sizeof(r->why), "another rule for this "
			    "mailbox requires encryption and no usable "
			    "certificate is known");
		}
	}
	outbound_mailboxes_free(v, k);
	return 0;
}

int
outbound_plan(struct runtime *rt, struct policy *policy,
    const struct message *msg, bool internal, struct outbound_plan *plan)
{
	struct addrlist visible = { 0 };
	struct mime_info info;
	char err[256];
	size_t i;
	bool want_sign = false;

	memset(plan, 0, sizeof(*plan));
	plan->policy = policy != NULL ? policy_retain(policy) :
	    runtime_policy(rt);
	if (expand_recipients(plan, msg) != 0)
		return -1;
	if (mime_classify(msg->headers, msg->nheaders, &info) == 0) {
		/* Only if the body agrees with the header (encsniff.c). */
		plan->already_encrypted = encsniff_body_encrypted(msg, &info);
		plan->claims_encrypted = (info.is_smime_encrypted ||
		    info.is_pgp_encrypted) && !plan->already_encrypted;
		plan->already_signed = info.is_signed;
	}
	plan->request = find_requests(rt->cfg, msg);
	check_marker(rt, msg, plan);
	if (plan->already_encrypted || plan->resubmitted) {
		set_reply(plan, PLAN_PASS, NULL, NULL);
		summarise(plan);
		return 0;
	}
	plan->trusted = (msg->auth_authen != NULL && *msg->auth_authen !=
	    '\0') || internal;
	plan->trust_why = msg->auth_authen != NULL && *msg->auth_authen !=
	    '\0' ? "authenticated" : internal ? "internal network" :
	    "neither authenticated nor internal";
	if (addrlist_visible_from_headers(msg->headers, msg->nheaders,
	    &visible, err, sizeof(err)) != 0) {
		/* Without knowing who is visible, nobody can be: fail
		 * closed rather than risk a Bcc leak. */
		for (i = 0; i < plan->n; i++) {
			if (plan->r[i].action == RA_LIST)
				continue;
			plan->r[i].action = RA_TEMPFAIL;
			snprintf(plan->r[i].why, sizeof(plan->r[i].why),
			    "To/Cc: %.180s", err);
		}
	} else
		for (i = 0; i < plan->n; i++) {
			if (plan->r[i].action == RA_LIST ||
			    plan->r[i].action == RA_TEMPFAIL)
				continue;
			plan_recipient(rt, plan, msg, &visible, &plan->r[i]);
			want_sign |= plan->r[i].d.s.sign != SIGN_NONE ||
			    plan->r[i].action == RA_SIGN;
		}
	addrlist_free(&visible);
	if (want_sign)
		find_signer(rt, msg, internal, plan);
	/* Signed-only without a key is plain: say so per recipient. */
	for (i = 0; i < plan->n; i++)
		if (plan->r[i].action == RA_SIGN && plan->signer == NULL) {
			plan->r[i].action = RA_PLAIN;
			snprintf(plan->r[i].why, sizeof(plan->r[i].why),
			    "not signed: %s", plan->sign_why);
		}
	if (notify_whole_mailbox(plan) != 0)
		return -1;
	decide_verdict(rt->cfg, plan);
	summarise(plan);
	return 0;
}

void
outbound_plan_free(struct outbound_plan *plan)
{
	size_t i;

	for (i = 0; plan->r != NULL && i < plan->n; i++)
		cert_list_free(&plan->r[i].certs);
	free(plan->r);
	policy_release(plan->policy);
	memset(plan, 0, sizeof(*plan));
}
