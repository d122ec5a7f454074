/*
 * outbound_build.c -- the copy that stays in the SMTP transaction: header
 * edits (request header and subject tag removed, outer header rules of
 * outer.h) and the new body: the content built once, signed with the
 * sender's key and/or encrypted for every recipient's certificates.  The
 * CMS self-check in cms_envelope_write() runs before anything is handed
 * back (fail closed).
 *
 * One copy serves every recipient only when they all get the same
 * treatment and no Bcc recipient would be listed in a shared envelope;
 * otherwise this returns an error and the caller tempfails, because
 * several copies need the delivery-group machinery.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "certlookup.h"
#include "cmsenv.h"
#include "config.h"
#include "message.h"
#include "mime.h"
#include "outbound.h"
#include "outer.h"
#include "runtime.h"
#include "sink.h"
#include "smime_sign.h"
#include "spool.h"

#define ENTITY_HEADER_MAX (64u * 1024u)

static int
add_edit(struct outbound_copy *c, int op, const char *name, unsigned index,
    const char *value)
{
	struct header_edit *e;
	void *nv = realloc(c->edits, (c->nedits + 1) * sizeof(*c->edits));

	if (nv == NULL)
		return -1;
	c->edits = nv;
	e = &c->edits[c->nedits];
	memset(e, 0, sizeof(*e));
	e->op = op;
	e->index = index;
	e->name = strdup(name);
	e->value = value != NULL ? strdup(value) : NULL;
	c->nedits++;
	if (e->name == NULL || (value != NULL && e->value == NULL))
		return -1;
	return 0;
}

/* The treatment every kept recipient must share for one copy. */
struct treatment {
	bool encrypt, sign;
	struct policy_settings s;
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
	    a->s.protect_headers != b->s.protect_headers))
		return false;
	return true;
}

static void
treatment_of(const struct outbound_plan *plan, const struct rcpt_plan *r,
    struct treatment *t)
{
	t->s = r->d.s;
	t->encrypt = r->action == RA_ENCRYPT;
	t->sign = plan->signer != NULL && (r->action == RA_SIGN ||
	    (r->action == RA_ENCRYPT && r->d.s.sign != SIGN_NONE));
	if (t->sign && r->action == RA_SIGN && r->d.s.sign == SIGN_NONE)
		t->s.sign = SIGN_CLEAR;	/* missing-cert sign-only */
}

/*
 * The header fields as the copy's content sees them: without the
 * request header, with the subject tag removed.
 */
static int
clean_headers(const struct config *cfg, const struct message *msg,
    struct header **out, size_t *n, struct outbound_copy *c, bool outer,
    bool protect)
{
	struct header *h = calloc(msg->nheaders + 1, sizeof(*h));
	char value[1024], untagged[1024];
	size_t i, k, m = 0;

	if (h == NULL)
		return -1;
	for (i = 0; i < msg->nheaders; i++) {
		const struct header *o = &msg->headers[i];
		unsigned index = 1;
		enum outer_action act;

		for (k = 0; k < i; k++)
			index += strcasecmp(msg->headers[k].name, o->name) == 0;
		if (cfg->request_header[0] != '\0' &&
		    strcasecmp(o->name, cfg->request_header) == 0) {
			if (add_edit(c, HE_CHANGE, o->name, index, NULL) != 0)
				goto oom;
			continue;
		}
		h[m] = *o;
		act = outer ? outer_action(o->name, protect) : OUTER_KEEP;
		if (cfg->subject_tag[0] != '\0' &&
		    strcasecmp(o->name, "Subject") == 0 &&
		    mime_unfold(o->value, value, sizeof(value)) >= 0 &&
		    policy_subject_untag(value, cfg->subject_tag, untagged,
		    sizeof(untagged))) {
			if ((h[m].value = strdup(untagged)) == NULL)
				goto oom;
			if (act == OUTER_KEEP && add_edit(c, HE_CHANGE,
			    o->name, index, untagged) != 0)
				goto oom;
		}
		/* One edit per field: the milter applies them last first. */
		if (act == OUTER_DROP && add_edit(c, HE_CHANGE, o->name, index,
		    NULL) != 0)
			goto oom;
		if (act == OUTER_REPLACE && add_edit(c, HE_CHANGE, o->name,
		    index, outer_value(o->name, h[m].value)) != 0)
			goto oom;
		m++;
	}
	*out = h;
	*n = m;
	return 0;
oom:
	*out = h;	/* the caller frees with free_clean() */
	*n = m + 1;
	return -1;
}

static void
free_clean(const struct message *msg, struct header *h, size_t n)
{
	size_t i, k;

	/* Values that are not the message's own were strdup'ed. */
	for (i = 0; i < n; i++) {
		for (k = 0; k < msg->nheaders; k++)
			if (h[i].value == msg->headers[k].value)
				break;
		if (k == msg->nheaders)
			free(h[i].value);
	}
	free(h);
}

/* Split "Field: value CRLF ... CRLF CRLF body" into edits and body. */
static int
split_entity(const struct spool *entity, struct outbound_copy *c,
    const struct config *cfg, char *err, size_t errlen)
{
	char *head = malloc(ENTITY_HEADER_MAX + 1), *p, *end, *line, *colon;
	ssize_t got = head != NULL ? spool_read(entity, 0, head,
	    ENTITY_HEADER_MAX, err, errlen) : -1;
	uint64_t body_at, off;
	char buf[65536];

	if (head == NULL || got <= 0) {
		free(head);
		if (got == 0 || head == NULL)
			snprintf(err, errlen, "empty protected entity");
		return -1;
	}
	head[got] = '\0';
	if ((end = strstr(head, "\r\n\r\n")) == NULL) {
		free(head);
		snprintf(err, errlen, "protected entity without header end");
		return -1;
	}
	body_at = (uint64_t)(end - head) + 4;
	end[2] = '\0';
	if (add_edit(c, HE_ADD, "MIME-Version", 0, "1.0") != 0)
		goto oom;
	for (p = head; *p != '\0'; ) {
		line = p;
		/* Unfold: a field ends at a CRLF not followed by WSP. */
		while ((p = strstr(p, "\r\n")) != NULL && (p[2] == ' ' ||
		    p[2] == '\t')) {
			p[0] = ' ';
			p[1] = ' ';
		}
		if (p == NULL)
			break;
		*p = '\0';
		p += 2;
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		colon++;
		while (*colon == ' ')
			colon++;
		if (add_edit(c, HE_ADD, line, 0, colon) != 0)
			goto oom;
	}
	free(head);
	head = NULL;
	if ((c->body = spool_new(cfg->spool_dir, cfg->spool_threshold)) ==
	    NULL)
		goto oom;
	for (off = body_at; ; off += (uint64_t)got) {
		got = spool_read(entity, off, buf, sizeof(buf), err, errlen);
		if (got < 0)
			return -1;
		if (got == 0)
			break;
		if (spool_append(c->body, buf, (size_t)got, err, errlen) != 0)
			return -1;
	}
	return 0;
oom:
	free(head);
	snprintf(err, errlen, "out of memory");
	return -1;
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

static int
protect(struct runtime *rt, const struct message *msg,
    const struct outbound_plan *plan, const struct treatment *t,
    struct outbound_copy *c, char *err, size_t errlen)
{
	const struct config *cfg = rt->cfg;
	struct mime_options mopt = { t->encrypt && t->s.protect_headers,
	    t->encrypt ? "cipher" : "clear" };
	struct spool *content = NULL, *signed_ent = NULL, *enc = NULL;
	const struct spool *entity;
	struct cms_envelope *env = NULL;
	struct cert_list certs = { 0 };
	struct header *h = NULL;
	size_t nh = 0, i;
	bool to_sender = false;
	struct sink s;
	int rc = -1;

	if (clean_headers(cfg, msg, &h, &nh, c, true,
	    mopt.protect_headers) != 0) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	if ((content = spool_new(cfg->spool_dir, cfg->spool_threshold)) ==
	    NULL)
		goto oom;
	s = sink_to_spool(content);
	if (mime_build_content(h, nh, msg->body, &mopt, &s, NULL, err,
	    errlen) != 0)
		goto done;
	entity = content;
	if (t->sign) {
		struct sign_options so = { t->s.sign, t->s.digest, false };

		if ((signed_ent = spool_new(cfg->spool_dir,
		    cfg->spool_threshold)) == NULL)
			goto oom;
		s = sink_to_spool(signed_ent);
		if (smime_sign_entity(content, plan->signer, &so,
		    cfg->spool_dir, &s, err, errlen) != 0)
			goto done;
		entity = signed_ent;
	}
	if (t->encrypt) {
		struct cms_options copt = { t->s.cipher, t->s.key_transport,
		    cfg->spool_dir, cfg->spool_threshold, 0 };
		struct cms_group g;

		for (i = 0; i < plan->n; i++)
			if (plan->r[i].action == RA_ENCRYPT) {
				if (cert_list_copy(&certs,
				    &plan->r[i].certs) != 0)
					goto oom;
				to_sender |= plan->r[i].d.s.encrypt_to_sender;
			}
		if (to_sender)
			add_sender_certs(rt, msg, &certs);
		g.recips = certs.items;
		g.nrecips = certs.count;
		g.label = "recipients";
		if ((env = cms_envelope_new(entity, &g, 1, &copt, err,
		    errlen)) == NULL)
			goto done;
		if ((enc = spool_new(cfg->spool_dir, cfg->spool_threshold)) ==
		    NULL)
			goto oom;
		s = sink_to_spool(enc);
		if (cms_envelope_write(env, 0, &s, err, errlen) != 0)
			goto done;
		entity = enc;
		snprintf(c->summary, sizeof(c->summary), "encrypted %s to %zu "
		    "certificate%s%s", cms_envelope_cipher_name(env),
		    certs.count, certs.count == 1 ? "" : "s",
		    t->sign ? ", signed" : "");
	} else
		snprintf(c->summary, sizeof(c->summary), "signed (%s)",
		    t->s.sign == SIGN_OPAQUE ? "opaque" : "clear");
	rc = split_entity(entity, c, cfg, err, errlen);
	goto done;
oom:
	snprintf(err, errlen, "out of memory");
done:
	if (h != NULL)
		free_clean(msg, h, nh);
	cms_envelope_free(env);
	cert_list_free(&certs);
	spool_free(enc);
	spool_free(signed_ent);
	spool_free(content);
	return rc;
}

int
outbound_build(struct runtime *rt, const struct message *msg,
    const struct outbound_plan *plan, struct outbound_copy *out, char *err,
    size_t errlen)
{
	struct treatment first = { 0 }, t;
	size_t i, kept = 0, hidden = 0;
	struct header *h = NULL;
	size_t nh = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < plan->n; i++) {
		const struct rcpt_plan *r = &plan->r[i];

		if (r->action == RA_NOTIFY) {
			char **nv = realloc(out->drop_rcpts, (out->ndrop + 1) *
			    sizeof(*nv));

			if (nv == NULL)
				goto oom;
			out->drop_rcpts = nv;
			if ((nv[out->ndrop] = strdup(r->addr)) == NULL)
				goto oom;
			out->ndrop++;
			continue;
		}
		treatment_of(plan, r, &t);
		if (kept++ == 0)
			first = t;
		else if (!same_treatment(&first, &t)) {
			snprintf(err, errlen, "recipients need different "
			    "copies (%s for %s, %s for %s); several copies "
			    "per message are not supported yet", first.encrypt ?
			    "encrypted" : first.sign ? "signed" : "plain",
			    plan->r[0].addr, t.encrypt ? "encrypted" : t.sign ?
			    "signed" : "plain", r->addr);
			return -1;
		}
		hidden += r->hidden;
	}
	if (kept == 0) {
		snprintf(err, errlen, "no recipient left");
		return -1;
	}
	/* One envelope for everybody would list a Bcc recipient's key in
	 * everybody's copy (SPEC M8): never. */
	if (first.encrypt && hidden > 0 && kept > 1) {
		snprintf(err, errlen, "a Bcc recipient needs a copy of its own; "
		    "several copies per message are not supported yet");
		return -1;
	}
	if (first.encrypt || first.sign)
		return protect(rt, msg, plan, &first, out, err, errlen);
	/* Plain: only the request header and the subject tag go. */
	rc = clean_headers(rt->cfg, msg, &h, &nh, out, false, false);
	if (h != NULL)
		free_clean(msg, h, nh);
	snprintf(out->summary, sizeof(out->summary), "plain");
	if (rc == 0)
		return 0;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

void
outbound_copy_free(struct outbound_copy *c)
{
	size_t i;

	for (i = 0; i < c->nedits; i++) {
		free(c->edits[i].name);
		free(c->edits[i].value);
	}
	free(c->edits);
	for (i = 0; i < c->ndrop; i++)
		free(c->drop_rcpts[i]);
	free(c->drop_rcpts);
	spool_free(c->body);
	memset(c, 0, sizeof(*c));
}

int
outbound_strip_requests(struct runtime *rt, const struct message *msg,
    struct outbound_copy *out)
{
	struct header *h = NULL;
	size_t nh = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = clean_headers(rt->cfg, msg, &h, &nh, out, false, false);
	if (h != NULL)
		free_clean(msg, h, nh);
	snprintf(out->summary, sizeof(out->summary), "untouched");
	return rc;
}
