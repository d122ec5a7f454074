/*
 * outbound_build.c -- delivery groups (SPEC M8) and their copies.
 *
 * Recipients that stay are put into groups by what their copy must be
 * (encrypted or not, signed or not, with which settings) and by
 * visibility: an encrypted copy lists its recipients' certificates in its
 * RecipientInfos, so a Bcc recipient never shares one with anybody else
 * (with "bcc shared", Bcc recipients share one copy among themselves).
 * Signed-only and plain copies name no recipient and are shared.
 *
 * The content is built once per variant (the same protection settings);
 * all encrypted groups of a variant get their RecipientInfos around one
 * ciphertext (cmsenv.h), each copy checked before it is handed back.
 * The group that stays in the SMTP transaction becomes header edits and
 * a new body; the others become whole messages for re-submission, each
 * with a marker (marker.h) so the milter lets them pass when they come
 * back.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "address.h"
#include "certlookup.h"
#include "cmsenv.h"
#include "config.h"
#include "marker.h"
#include "message.h"
#include "mime.h"
#include "outbound_int.h"
#include "outer.h"
#include "runtime.h"
#include "sink.h"
#include "smime_sign.h"
#include "spool.h"

unsigned outbound_test_corrupt_group;

/* What one copy must be. */
struct treatment {
	bool encrypt, sign;
	struct policy_settings s;
};

struct group {
	size_t *idx;		/* into plan->r */
	size_t n;
	struct treatment t;
	bool hidden;
	size_t variant;
	size_t slot;		/* its group number in the variant's envelope */
	struct cert_list certs;	/* encrypted: everybody's certificates */
	struct spool *entity;	/* encrypted: its own entity */
};

/* Groups with the same protection share the content and signature. */
struct variant {
	struct treatment t;
	struct spool *content, *signed_ent;
	struct cms_envelope *env;
	size_t nenc;		/* encrypted groups in env */
};

/*
 * Everything the copies are made from.  It outlives outbound_build():
 * the re-submitted copies are written from it one at a time, as they are
 * sent (outbound_extra_write), so that no more than one exists at once.
 */
struct outbound_state {
	struct runtime *rt;
	const struct message *msg;
	const struct outbound_plan *plan;
	struct header *h;	/* the clean header fields (every copy's) */
	size_t nh;
	size_t stay;		/* the group in the transaction, or -1 */
	struct group *g;
	size_t ng;
	size_t *open;		/* groups others may still join */
	size_t nopen;
	size_t *first;		/* per recipient: its mailbox's chosen one */
	bool *skip;		/* per recipient: no copy (find_duplicates) */
	size_t *group_of;	/* per recipient: its group, once placed */
	struct variant *v;
	size_t nv;
	char *err;		/* while outbound_build() runs */
	size_t errlen;
};

static bool
same_treatment(const struct treatment *a, const struct treatment *b)
{
	if (a->encrypt != b->encrypt || a->sign != b->sign)
		return false;
	if (a->sign && (a->s.sign != b->s.sign || a->s.digest != b->s.digest))
		return false;
	if (a->encrypt && (a->s.cipher != b->s.cipher ||
	    a->s.key_transport != b->s.key_transport ||
	    a->s.protect_headers != b->s.protect_headers ||
	    a->s.encrypt_to_sender != b->s.encrypt_to_sender))
		return false;
	return true;
}

static void
treatment_of(const struct outbound_plan *plan, const struct rcpt_plan *r,
    struct treatment *t)
{
	memset(t, 0, sizeof(*t));
	t->s = r->d.s;
	t->encrypt = r->action == RA_ENCRYPT;
	t->sign = plan->signer != NULL && (r->action == RA_SIGN ||
	    (r->action == RA_ENCRYPT && r->d.s.sign != SIGN_NONE));
	/* missing-cert sign-only under sign=none still signs (clear). */
	if (t->sign && t->s.sign == SIGN_NONE)
		t->s.sign = SIGN_CLEAR;
	if (!t->sign) {
		t->s.sign = SIGN_NONE;
		t->s.digest = DIGEST_SHA256;
	}
}

static bool
transformed(const struct treatment *t)
{
	return t->encrypt || t->sign;
}

/*
 * How strict an occurrence of a mailbox is.  One mailbox may come under
 * several rules (addressed directly and through a list, or spelt twice):
 * it gets one copy, under its strictest occurrence, whatever the order of
 * the envelope.  Encryption beats everything; "required but no
 * certificate" (notify: nothing is sent) beats signed-only and plain, so
 * no rule that asks for encryption is undone by a laxer one.
 */
static int
strictness(enum rcpt_action a)
{
	switch (a) {
	case RA_ENCRYPT: return 3;
	case RA_NOTIFY: return 2;
	case RA_SIGN: return 1;
	default: return 0;
	}
}

/*
 * first[i]: the occurrence whose treatment i's mailbox (its canonical
 * address, address.h) gets: the strictest, and of those the first.
 * skip[i]: i gets no copy -- a list (expanded instead), or a mailbox
 * whose strictest occurrence is notified.
 */
static int
find_duplicates(struct outbound_state *b)
{
	size_t n = b->plan->n, i, k, start, best, j;
	struct mailbox_ref *v = NULL;

	b->first = calloc(n + 1, sizeof(*b->first));
	b->group_of = calloc(n + 1, sizeof(*b->group_of));
	b->skip = calloc(n + 1, sizeof(*b->skip));
	if (b->first == NULL || b->group_of == NULL || b->skip == NULL ||
	    outbound_mailboxes(b->plan, &v, &k) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		b->group_of[i] = (size_t)-1;
		b->first[i] = i;
		b->skip[i] = b->plan->r[i].action == RA_LIST;
	}
	for (start = 0; start < k; start = j) {
		best = v[start].idx;
		for (j = start + 1; j < k && strcmp(v[j].canon,
		    v[start].canon) == 0; j++)
			if (strictness(b->plan->r[v[j].idx].action) >
			    strictness(b->plan->r[best].action))
				best = v[j].idx;
		for (i = start; i < j; i++) {
			b->first[v[i].idx] = best;
			b->skip[v[i].idx] = b->plan->r[best].action ==
			    RA_NOTIFY;
		}
	}
	outbound_mailboxes_free(v, k);
	return 0;
}

/*
 * Every recipient with a copy gets it exactly once: each one placed is in
 * its first occurrence's group, and every re-submitted copy names
 * somebody.  A broken rule here would drop a recipient from the
 * transaction without a copy: fail closed instead.
 */
static int
check_delivery(const struct outbound_state *b, const struct outbound_copy *c,
    char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < b->plan->n; i++)
		if (!b->skip[i] && (b->group_of[i] == (size_t)-1 ||
		    b->group_of[b->first[i]] != b->group_of[i])) {
			snprintf(err, errlen, "internal error: recipient %zu "
			    "has no copy", i + 1);
			return -1;
		}
	for (i = 0; i < c->nextra; i++)
		if (c->extra[i].nrcpts == 0) {
			snprintf(err, errlen, "internal error: copy %zu has "
			    "no recipient", i + 1);
			return -1;
		}
	return 0;
}

static int
group_add(struct outbound_state *b, size_t gi, size_t ri)
{
	struct group *g = &b->g[gi];
	size_t *nv = realloc(g->idx, (g->n + 1) * sizeof(*nv));

	if (nv == NULL)
		return -1;
	g->idx = nv;
	g->idx[g->n++] = ri;
	return 0;
}

/*
 * Put recipient ri into a group: an existing one with the same
 * treatment and visibility (an encrypted Bcc recipient only with "bcc
 * shared", and only with other Bcc recipients), or a new one.
 */
static int
place(struct outbound_state *b, size_t ri)
{
	const struct rcpt_plan *r = &b->plan->r[ri];
	struct treatment t;
	bool own, hidden;
	size_t gi, k;

	/* The same mailbox twice (RCPT TO repeated, or spelt with another
	 * case of domain) goes with its first occurrence: one copy. */
	if (b->first[ri] != ri && b->group_of[b->first[ri]] != (size_t)-1) {
		b->group_of[ri] = b->group_of[b->first[ri]];
		return group_add(b, b->group_of[ri], ri);
	}
	treatment_of(b->plan, r, &t);
	hidden = t.encrypt && r->hidden;
	/* A list member always gets a copy of its own (SPEC M9).  Only
	 * groups others may join are searched, so thousands of Bcc
	 * recipients cost no quadratic time. */
	own = (hidden && r->d.s.bcc == POL_BCC_INDIVIDUAL) || r->list != NULL;
	for (k = 0; !own && k < b->nopen; k++) {
		gi = b->open[k];
		if (b->g[gi].hidden == hidden &&
		    same_treatment(&b->g[gi].t, &t)) {
			b->group_of[ri] = gi;
			return group_add(b, gi, ri);
		}
	}
	gi = b->ng;
	if (!own) {
		size_t *no = realloc(b->open, (b->nopen + 1) * sizeof(*no));

		if (no == NULL)
			return -1;
		b->open = no;
		b->open[b->nopen++] = gi;
	}
	{
		struct group *ng = realloc(b->g, (b->ng + 1) * sizeof(*ng));

		if (ng == NULL)
			return -1;
		b->g = ng;
	}
	memset(&b->g[gi], 0, sizeof(b->g[gi]));
	b->g[gi].t = t;
	b->g[gi].hidden = hidden;
	b->ng++;
	b->group_of[ri] = gi;
	return group_add(b, gi, ri);
}

/* Recipients of the transaction itself (not added by a list). */
static bool
in_envelope(const struct outbound_state *b, const struct group *g)
{
	return b->plan->r[g->idx[0]].list == NULL;
}

/*
 * The group that stays in the transaction: the visible encrypted one if
 * there is one, else the first of the envelope's own recipients.  When
 * only list members are left, none: (size_t)-1, every copy is
 * re-submitted and the original discarded.
 */
static size_t
staying_group(const struct outbound_state *b)
{
	size_t gi;

	for (gi = 0; gi < b->ng; gi++)
		if (b->g[gi].t.encrypt && !b->g[gi].hidden &&
		    in_envelope(b, &b->g[gi]))
			return gi;
	for (gi = 0; gi < b->ng; gi++)
		if (in_envelope(b, &b->g[gi]))
			return gi;
	return (size_t)-1;
}

/* encrypt-to-sender: the sender's own certificates join the envelope. */
static void
add_sender_certs(struct runtime *rt, const struct message *msg,
    struct cert_list *certs)
{
	struct cert_result res;

	if (certlookup_find(rt->certs, msg->sender, &res) == LOOKUP_FOUND)
		(void)cert_list_copy(certs, &res.usable);
	cert_result_free(&res);
}

/* Content and signature of a variant. */
static int
build_variant(struct outbound_state *b, struct variant *v, const struct header *h,
    size_t nh)
{
	const struct config *cfg = b->rt->cfg;
	struct mime_options mopt = { v->t.encrypt && v->t.s.protect_headers,
	    v->t.encrypt ? "cipher" : "clear" };
	struct sink s;

	if ((v->content = spool_new(cfg->spool_dir, cfg->spool_threshold)) ==
	    NULL)
		goto oom;
	s = sink_to_spool(v->content);
	if (mime_build_content(h, nh, b->msg->body, &mopt, &s, NULL, b->err,
	    b->errlen) != 0)
		return -1;
	if (v->t.sign) {
		struct sign_options so = { v->t.s.sign, v->t.s.digest, false };

		if ((v->signed_ent = spool_new(cfg->spool_dir,
		    cfg->spool_threshold)) == NULL)
			goto oom;
		s = sink_to_spool(v->signed_ent);
		if (smime_sign_entity(v->content, b->plan->signer, &so,
		    cfg->spool_dir, &s, b->err, b->errlen) != 0)
			return -1;
	}
	return 0;
oom:
	snprintf(b->err, b->errlen, "out of memory");
	return -1;
}

static const struct spool *
variant_entity(const struct variant *v)
{
	return v->signed_ent != NULL ? v->signed_ent : v->content;
}

/* One envelope per encrypted variant, every group's copy written. */
static int
encrypt_variant(struct outbound_state *b, size_t vi)
{
	const struct config *cfg = b->rt->cfg;
	struct variant *v = &b->v[vi];
	struct cms_options copt = { v->t.s.cipher, v->t.s.key_transport,
	    cfg->spool_dir, cfg->spool_threshold,
	    outbound_test_corrupt_group };
	struct cms_group *cg = calloc(b->ng + 1, sizeof(*cg));
	size_t gi, k, n = 0;
	struct sink s;
	int rc = -1;

	if (cg == NULL)
		goto oom;
	for (gi = 0; gi < b->ng; gi++) {
		struct group *g = &b->g[gi];

		if (g->variant != vi || !g->t.encrypt)
			continue;
		for (k = 0; k < g->n; k++)
			if (cert_list_copy(&g->certs,
			    &b->plan->r[g->idx[k]].certs) != 0)
				goto oom;
		if (g->t.s.encrypt_to_sender)
			add_sender_certs(b->rt, b->msg, &g->certs);
		g->slot = n;
		cg[n].recips = g->certs.items;
		cg[n].nrecips = g->certs.count;
		cg[n].label = g->hidden ? "bcc" : "visible";
		n++;
	}
	if ((v->env = cms_envelope_new(variant_entity(v), cg, n, &copt,
	    b->err, b->errlen)) == NULL)
		goto done;
	v->nenc = n;
	/* Every copy is checked now, before any goes out: a copy that could
	 * never pass would otherwise fail each retry after the ones before
	 * it were sent.  They are checked again as they are written. */
	for (gi = 0; gi < b->ng; gi++)
		if (b->g[gi].variant == vi && b->g[gi].t.encrypt &&
		    gi != b->stay && cms_envelope_check(v->env, b->g[gi].slot,
		    b->err, b->errlen) != 0)
			goto done;
	/* Only the copy that stays is written now; the re-submitted ones
	 * as they are sent (outbound_extra_write). */
	if (b->stay != (size_t)-1 && b->g[b->stay].variant == vi &&
	    b->g[b->stay].t.encrypt) {
		struct group *g = &b->g[b->stay];

		if ((g->entity = spool_new(cfg->spool_dir,
		    cfg->spool_threshold)) == NULL)
			goto oom;
		s = sink_to_spool(g->entity);
		/* The self-check: this copy's RecipientInfos are exactly
		 * this group's certificates, or nothing is written. */
		if (cms_envelope_write(v->env, g->slot, &s, b->err,
		    b->errlen) != 0)
			goto done;
	}
	rc = 0;
	goto done;
oom:
	snprintf(b->err, b->errlen, "out of memory");
done:
	free(cg);
	return rc;
}

/* Variants for every transformed group, and their entities. */
static int
build_entities(struct outbound_state *b, const struct header *h, size_t nh)
{
	size_t gi, vi;

	for (gi = 0; gi < b->ng; gi++) {
		struct group *g = &b->g[gi];

		if (!transformed(&g->t))
			continue;
		for (vi = 0; vi < b->nv; vi++)
			if (same_treatment(&b->v[vi].t, &g->t))
				break;
		if (vi == b->nv) {
			struct variant *nv = realloc(b->v, (b->nv + 1) *
			    sizeof(*nv));

			if (nv == NULL) {
				snprintf(b->err, b->errlen, "out of memory");
				return -1;
			}
			b->v = nv;
			memset(&b->v[vi], 0, sizeof(b->v[vi]));
			b->v[vi].t = g->t;
			b->nv++;
			if (build_variant(b, &b->v[vi], h, nh) != 0)
				return -1;
		}
		g->variant = vi;
	}
	for (vi = 0; vi < b->nv; vi++)
		if (b->v[vi].t.encrypt && encrypt_variant(b, vi) != 0)
			return -1;
	return 0;
}

static const struct spool *
group_entity(const struct outbound_state *b, const struct group *g)
{
	if (g->t.encrypt)
		return g->entity;
	return transformed(&g->t) ? variant_entity(&b->v[g->variant]) : NULL;
}

static void
describe(const struct outbound_state *b, const struct group *g, char *out,
    size_t outlen)
{
	if (g->t.encrypt)
		snprintf(out, outlen, "encrypted %s%s%s",
		    cms_envelope_cipher_name(b->v[g->variant].env),
		    g->t.sign ? ", signed" : "", g->hidden ? ", bcc" : "");
	else if (g->t.sign)
		snprintf(out, outlen, "signed (%s)", g->t.s.sign ==
		    SIGN_OPAQUE ? "opaque" : "clear");
	else
		snprintf(out, outlen, "plain");
}

/* A re-submitted copy: its recipients (each mailbox once, in the
 * spelling it first came in) and what it is. */
static int
describe_extra(struct outbound_state *b, size_t gi, struct outbound_extra *x)
{
	const struct group *g = &b->g[gi];
	size_t i;

	if ((x->rcpts = calloc(g->n + 1, sizeof(*x->rcpts))) == NULL)
		return -1;
	for (i = 0; i < g->n; i++)
		if (b->first[g->idx[i]] == g->idx[i])
			x->rcpts[x->nrcpts++] = b->plan->r[g->idx[i]].addr;
	x->hidden = g->hidden;
	x->group = gi;
	describe(b, g, x->what, sizeof(x->what));
	return 0;
}

/*
 * A re-submitted copy as a whole message: the marker (over the
 * recipients it goes to now), the header fields (outer rules for a
 * protected copy; a plain copy keeps them but for Bcc), then the entity
 * (an encrypted one self-checked first), or the original body.
 */
int
outbound_extra_write(const struct outbound_copy *c, size_t i,
    const char *const *rcpts, size_t n, const struct sink *s, char *err,
    size_t errlen)
{
	const struct outbound_state *b = c->state;
	const struct config *cfg = b->rt->cfg;
	const struct group *g = &b->g[c->extra[i].group];
	const struct header *h = b->h;
	char idbuf[1000], marker[161], bcc[ADDRESS_MAX + 2];
	size_t k;

	marker[0] = ' ';	/* field values keep their leading space */
	if (marker_make(&b->rt->secret,
	    outbound_marker_id(b->msg, idbuf, sizeof(idbuf)), rcpts, n,
	    time(NULL), marker + 1, sizeof(marker) - 1) != 0) {
		snprintf(err, errlen, "cannot make the marker");
		return -1;
	}
	if (outer_write_field(s, MARKER_FIELD, marker, err, errlen) != 0)
		return -1;
	/* Optionally a Bcc recipient sees their own address, and only
	 * theirs, in their own copy. */
	snprintf(bcc, sizeof(bcc), " %s", rcpts[0]);
	if (cfg->bcc_in_own_copy && g->hidden && g->n == 1 &&
	    outer_write_field(s, "Bcc", bcc, err, errlen) != 0)
		return -1;
	if (transformed(&g->t)) {
		const struct variant *v = &b->v[g->variant];

		if (outer_write(h, b->nh, g->t.encrypt &&
		    g->t.s.protect_headers, s, err, errlen) != 0)
			return -1;
		/* The self-check: this copy's RecipientInfos are exactly
		 * this group's certificates, or nothing more is written
		 * (and the transaction is dropped before its end). */
		return g->t.encrypt ? cms_envelope_write(v->env, g->slot, s,
		    err, errlen) : spool_copy_to_sink(variant_entity(v), s,
		    err, errlen);
	}
	/* h has no Bcc or Resent-Bcc (outbound_clean_headers). */
	for (k = 0; k < b->nh; k++)
		if (outer_write_field(s, h[k].name, h[k].value, err,
		    errlen) != 0)
			return -1;
	if (sink_puts(s, "\r\n", err, errlen) != 0)
		return -1;
	return spool_copy_to_sink(b->msg->body, s, err, errlen);
}

int
outbound_add_drop(struct outbound_copy *c, const char *addr)
{
	char **nv = realloc(c->drop_rcpts, (c->ndrop + 1) * sizeof(*nv));

	if (nv == NULL)
		return -1;
	c->drop_rcpts = nv;
	if ((nv[c->ndrop] = strdup(addr)) == NULL)
		return -1;
	c->ndrop++;
	return 0;
}

/* The copy in the transaction: its edits and body, everyone else out. */
static int
make_staying(struct outbound_state *b, size_t stay, struct outbound_copy *c)
{
	const struct config *cfg = b->rt->cfg;
	const struct group *g = stay != (size_t)-1 ? &b->g[stay] : NULL;
	const struct spool *entity = g != NULL ? group_entity(b, g) : NULL;
	struct header *h = NULL;
	size_t nh = 0, i, k;
	bool *stays;
	int rc;

	if ((stays = calloc(b->plan->n + 1, sizeof(*stays))) == NULL)
		goto oom;
	for (k = 0; g != NULL && k < g->n; k++)
		stays[g->idx[k]] = true;
	for (i = 0; i < b->plan->n; i++)
		/* List members were never in the envelope. */
		if (!stays[i] && b->plan->r[i].list == NULL &&
		    outbound_add_drop(c, b->plan->r[i].addr) != 0)
			goto oom;
	free(stays);
	stays = NULL;
	if (g == NULL) {
		/* Nobody of the envelope keeps this copy: discard it. */
		c->discard = true;
		snprintf(c->summary, sizeof(c->summary), "discarded");
		return 0;
	}
	rc = outbound_clean_headers(cfg, b->msg, &h, &nh, c, entity != NULL,
	    g->t.encrypt && g->t.s.protect_headers, false);
	outbound_free_clean(b->msg, h, nh);
	if (rc != 0)
		goto oom;
	describe(b, g, c->summary, sizeof(c->summary));
	return entity != NULL ? outbound_split_entity(entity, c, cfg, b->err,
	    b->errlen) : 0;
oom:
	free(stays);
	snprintf(b->err, b->errlen, "out of memory");
	return -1;
}

void
outbound_state_free(struct outbound_state *b)
{
	size_t i;

	if (b == NULL)
		return;
	for (i = 0; i < b->ng; i++) {
		free(b->g[i].idx);
		cert_list_free(&b->g[i].certs);
		spool_free(b->g[i].entity);
	}
	free(b->g);
	free(b->open);
	free(b->first);
	free(b->skip);
	free(b->group_of);
	for (i = 0; i < b->nv; i++) {
		cms_envelope_free(b->v[i].env);
		spool_free(b->v[i].signed_ent);
		spool_free(b->v[i].content);
	}
	free(b->v);
	if (b->h != NULL)
		outbound_free_clean(b->msg, b->h, b->nh);
	free(b);
}

int
outbound_build(struct runtime *rt, const struct message *msg,
    const struct outbound_plan *plan, struct outbound_copy *out, char *err,
    size_t errlen)
{
	struct outbound_copy scratch = { 0 };
	struct outbound_state *b;
	size_t i, n;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((b = calloc(1, sizeof(*b))) == NULL)
		goto oom;
	out->state = b;		/* freed with out, whatever happens */
	b->rt = rt;
	b->msg = msg;
	b->plan = plan;
	b->err = err;
	b->errlen = errlen;
	if (find_duplicates(b) != 0)
		goto oom;
	/* Each mailbox's chosen occurrence first: it makes the group the
	 * others join. */
	for (i = 0; i < plan->n; i++)
		if (!b->skip[i] && b->first[i] == i && place(b, i) != 0)
			goto oom;
	for (i = 0; i < plan->n; i++)
		if (!b->skip[i] && b->first[i] != i && place(b, i) != 0)
			goto oom;
	if (b->ng == 0) {
		snprintf(err, errlen, "no recipient left");
		return -1;
	}
	/* The fields every copy's content and outer header start from. */
	rc = outbound_clean_headers(rt->cfg, msg, &b->h, &b->nh, &scratch,
	    false, false, false);
	outbound_copy_free(&scratch);
	if (rc != 0)
		goto oom;
	b->stay = staying_group(b);
	if (build_entities(b, b->h, b->nh) != 0 ||
	    make_staying(b, b->stay, out) != 0)
		return -1;
	if ((out->extra = calloc(b->ng, sizeof(*out->extra))) == NULL)
		goto oom;
	for (i = 0; i < b->ng; i++)
		if (i != b->stay && describe_extra(b, i,
		    &out->extra[out->nextra++]) != 0)
			goto oom;
	if (check_delivery(b, out, err, errlen) != 0)
		return -1;
	out->notice_follows = outbound_notice_due(msg, plan);
	if ((n = out->nextra) > 0) {
		size_t len = strlen(out->summary);

		snprintf(out->summary + len, sizeof(out->summary) - len,
		    "; %zu more cop%s re-submitted", n, n == 1 ? "y" : "ies");
	}
	b->err = NULL;		/* the caller's buffer; gone after return */
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}
