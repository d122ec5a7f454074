/*
 * outbound_edit.c -- header edits of a copy in libmilter's terms: the
 * request header, our re-submission marker and the subject tag go from
 * every copy; a protected entity's own header fields are split from its
 * body.  See outbound.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "marker.h"
#include "message.h"
#include "mime.h"
#include "outbound_int.h"
#include "outer.h"
#include "runtime.h"
#include "spool.h"

#define ENTITY_HEADER_MAX (64u * 1024u)

int
outbound_add_edit(struct outbound_copy *c, int op, const char *name,
    unsigned index, const char *value)
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

static int
cmp_field(const void *a, const void *b, void *arg)
{
	const struct header *h = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcasecmp(h[x].name, h[y].name);

	return c != 0 ? c : x < y ? -1 : x > y;
}

/*
 * occ[i]: which field of its name field i is (1 = the first), the index
 * smfi_chgheader wants.  Sorting keeps this O(n log n): the header is
 * untrusted and may hold thousands of fields.
 */
static unsigned *
field_occurrences(const struct header *h, size_t n)
{
	size_t *order = calloc(n + 1, sizeof(*order)), i;
	unsigned *occ = calloc(n + 1, sizeof(*occ));

	if (order == NULL || occ == NULL) {
		free(order);
		free(occ);
		return NULL;
	}
	for (i = 0; i < n; i++)
		order[i] = i;
	if (n > 1)
		qsort_r(order, n, sizeof(*order), cmp_field, (void *)h);
	for (i = 0; i < n; i++)
		occ[order[i]] = i > 0 && strcasecmp(h[order[i]].name,
		    h[order[i - 1]].name) == 0 ? occ[order[i - 1]] + 1 : 1;
	free(order);
	return occ;
}

/*
 * The header fields as the copy's content sees them: without the
 * request header, with the subject tag removed.
 */
int
outbound_clean_headers(const struct config *cfg, const struct message *msg,
    struct header **out, size_t *n, struct outbound_copy *c, bool outer,
    bool protect, bool keep_marker)
{
	struct header *h = calloc(msg->nheaders + 1, sizeof(*h));
	unsigned *occ = field_occurrences(msg->headers, msg->nheaders);
	char untagged[1024];
	size_t i, m = 0;

	if (h == NULL || occ == NULL) {
		free(h);
		free(occ);
		*out = NULL;
		*n = 0;
		return -1;
	}
	for (i = 0; i < msg->nheaders; i++) {
		const struct header *o = &msg->headers[i];
		unsigned index = occ[i];
		enum outer_action act;

		/* Neither the request header, nor a marker, nor Bcc and
		 * Resent-Bcc ever leave, whatever the copy is. */
		if (outbound_is_request_header(cfg, o->name) ||
		    (!keep_marker && strcasecmp(o->name, MARKER_FIELD) == 0) ||
		    strcasecmp(o->name, "Bcc") == 0 ||
		    strcasecmp(o->name, "Resent-Bcc") == 0) {
			if (outbound_add_edit(c, HE_CHANGE, o->name, index,
			    NULL) != 0)
				goto oom;
			continue;
		}
		h[m] = *o;
		act = outer ? outer_action(o->name, protect) : OUTER_KEEP;
		if (outbound_subject_untag(cfg, o, untagged,
		    sizeof(untagged))) {
			/* Like a received value: with its leading space. */
			if (asprintf(&h[m].value, " %s", untagged) < 0) {
				h[m].value = NULL;
				goto oom;
			}
			if (act == OUTER_KEEP && outbound_add_edit(c, HE_CHANGE,
			    o->name, index, untagged) != 0)
				goto oom;
		}
		/* One edit per field: the milter applies them last first. */
		if (act == OUTER_DROP && outbound_add_edit(c, HE_CHANGE,
		    o->name, index, NULL) != 0)
			goto oom;
		if (act == OUTER_REPLACE && outbound_add_edit(c, HE_CHANGE,
		    o->name, index, outer_value(o->name, h[m].value)) != 0)
			goto oom;
		m++;
	}
	free(occ);
	*out = h;
	*n = m;
	return 0;
oom:
	free(occ);
	*out = h;	/* the caller frees with outbound_free_clean() */
	*n = m + 1;
	return -1;
}

void
outbound_free_clean(const struct message *msg, struct header *h, size_t n)
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
int
outbound_split_entity(const struct spool *entity, struct outbound_copy *c,
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
	if (outbound_add_edit(c, HE_ADD, "MIME-Version", 0, "1.0") != 0)
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
		if (outbound_add_edit(c, HE_ADD, line, 0, colon) != 0)
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

int
outbound_strip_requests(struct runtime *rt, const struct message *msg,
    bool verified_marker, struct outbound_copy *out)
{
	struct header *h = NULL;
	size_t nh = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = outbound_clean_headers(rt->cfg, msg, &h, &nh, out, false,
	    false, verified_marker && !rt->cfg->remove_valid_marker);
	if (h != NULL)
		outbound_free_clean(msg, h, nh);
	snprintf(out->summary, sizeof(out->summary), "untouched");
	return rc;
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
	for (i = 0; i < c->nextra; i++)
		free(c->extra[i].rcpts);
	free(c->extra);
	spool_free(c->body);
	outbound_state_free(c->state);
	memset(c, 0, sizeof(*c));
}


const char *
outbound_marker_id(const struct message *msg, char *buf, size_t len)
{
	const struct header *id = mime_find_header(msg->headers,
	    msg->nheaders, "Message-ID");

	if (id == NULL)
		return NULL;
	if (mime_unfold(id->value, buf, len) < 0)
		buf[0] = '\0';
	return buf;
}

bool
outbound_is_request_header(const struct config *cfg, const char *name)
{
	return cfg->request_header[0] != '\0' &&
	    strcasecmp(name, cfg->request_header) == 0;
}

bool
outbound_subject_untag(const struct config *cfg, const struct header *h,
    char *untagged, size_t len)
{
	char value[1024];

	return cfg->subject_tag[0] != '\0' &&
	    strcasecmp(h->name, "Subject") == 0 &&
	    mime_unfold(h->value, value, sizeof(value)) >= 0 &&
	    policy_subject_untag(value, cfg->subject_tag, untagged, len);
}
