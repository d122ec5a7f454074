/*
 * outbound_list.c -- mail encrypted to a confidential list's own
 * certificate (SPEC M9): decrypted with the list's key from SenderKeys,
 * so that each member can get a copy encrypted for them.
 *
 * The result is a second message: the list addresses as its only
 * envelope recipients, the original header fields but for the MIME ones,
 * and the decrypted entity as content.  Recipients that are not such
 * lists never see it: they keep the original, still encrypted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "config.h"
#include "log.h"
#include "message.h"
#include "mime.h"
#include "outbound_int.h"
#include "outer.h"
#include "policy.h"
#include "runtime.h"
#include "senderkeys.h"
#include "sink.h"
#include "smime_read.h"
#include "spool.h"

/* What smime_decrypt reads: the header fields and the body, in memory
 * (the body is encrypted and at most MaxMessageSize). */
#define LIST_MESSAGE_MAX (64u * 1024u * 1024u)

/* The first list recipient whose key is held, or NULL. */
static const struct signer *
list_key(struct runtime *rt, struct policy *p, const struct message *msg,
    const char **list)
{
	const char *const *members;
	const struct signer *s;
	size_t i, n;

	for (i = 0; i < msg->nrcpts; i++)
		if (policy_list_members(p, msg->rcpts[i], &members, &n) == 1 &&
		    (s = senderkeys_find(rt->keys, msg->rcpts[i])) != NULL) {
			*list = msg->rcpts[i];
			return s;
		}
	return NULL;
}

static int
whole_message(const struct message *msg, struct membuf *mb, char *err,
    size_t errlen)
{
	struct sink s = sink_to_membuf(mb);
	size_t i;

	for (i = 0; i < msg->nheaders; i++)
		if (outer_write_field(&s, msg->headers[i].name,
		    msg->headers[i].value, err, errlen) != 0)
			return -1;
	if (sink_puts(&s, "\r\n", err, errlen) != 0)
		return -1;
	return spool_copy_to_sink(msg->body, &s, err, errlen);
}

static bool
is_mime_field(const char *name)
{
	return strncasecmp(name, "Content-", 8) == 0 ||
	    strcasecmp(name, "MIME-Version") == 0;
}

/* The decrypted entity's header fields and body into out. */
static int
take_entity(struct message *out, const char *e, size_t len, char *err,
    size_t errlen)
{
	const char *p = e, *end = e + len;

	while (p < end && *p != '\r' && *p != '\n') {
		const char *eol = memchr(p, '\n', (size_t)(end - p)), *colon;
		char name[128], value[4096];
		size_t vl;

		if (eol == NULL)
			break;
		/* Folded lines belong to the field. */
		while (eol + 1 < end && (eol[1] == ' ' || eol[1] == '\t') &&
		    (eol = memchr(eol + 1, '\n', (size_t)(end - eol - 1))) !=
		    NULL)
			;
		if (eol == NULL)
			break;
		colon = memchr(p, ':', (size_t)(eol - p));
		if (colon != NULL && (size_t)(colon - p) < sizeof(name)) {
			memcpy(name, p, (size_t)(colon - p));
			name[colon - p] = '\0';
			vl = (size_t)(eol - colon - 1);
			if (vl > 0 && colon[vl] == '\r')
				vl--;
			if (vl >= sizeof(value))
				vl = sizeof(value) - 1;
			memcpy(value, colon + 1, vl);
			value[vl] = '\0';
			if (message_add_header(out, name, value) != MSG_OK) {
				snprintf(err, errlen, "%s", out->reason);
				return -1;
			}
		}
		p = eol + 1;
	}
	if (p < end && *p == '\r')
		p++;
	if (p < end && *p == '\n')
		p++;
	if (p < end && message_add_body(out, p, (size_t)(end - p)) != MSG_OK) {
		snprintf(err, errlen, "%s", out->reason);
		return -1;
	}
	return 0;
}

int
outbound_open_for_lists(struct runtime *rt, struct policy *p,
    const struct message *msg, struct message **out, bool *others,
    char *err, size_t errlen)
{
	struct membuf in = { 0 }, plain = { 0 };

	const struct signer *key;
	struct message *m = NULL;
	const char *list = NULL, *const *members;
	struct mime_info info;
	struct sink s;
	size_t i, n;
	int rc = -1;

	*out = NULL;
	*others = false;
	if (mime_classify(msg->headers, msg->nheaders, &info) != 0 ||
	    !info.is_smime_encrypted ||
	    (key = list_key(rt, p, msg, &list)) == NULL)
		return 0;
	if (spool_size(msg->body) > LIST_MESSAGE_MAX) {
		log_qid(LOG_LVL_WARNING, msg->qid, "encrypted to list <%s>: "
		    "larger than %u bytes, not decrypted for its members: "
		    "passes untouched", list, (unsigned)LIST_MESSAGE_MAX);
		rc = 0;
		goto done;
	}
	if (whole_message(msg, &in, err, errlen) != 0)
		goto done;
	s = sink_to_membuf(&plain);
	in.limit = LIST_MESSAGE_MAX + 1024u * 1024u;
	if (smime_decrypt(in.data, in.len, key->key,
	    key->cert, &s, err, errlen) != 0) {
		/*
		 * Not for this key (encrypted to the members, or to an
		 * older list certificate), or broken: the same on every
		 * retry, so a tempfail would hold everybody's mail until
		 * it bounced.  Like mail to a list without a key, it
		 * passes untouched (it is encrypted: nothing leaks).
		 */
		log_qid(LOG_LVL_WARNING, msg->qid, "encrypted to list <%s>, "
		    "but its key cannot open it (%s): passes untouched", list,
		    err);
		rc = 0;
		goto done;
	}
	if ((m = message_new(rt->cfg, msg->sender)) == NULL ||
	    (msg->qid != NULL && message_set_qid(m, msg->qid) != 0) ||
	    (msg->auth_authen != NULL && message_set_auth(m,
	    msg->auth_authen) != 0)) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	/* Only the lists whose key is held get the decrypted content. */
	for (i = 0; i < msg->nrcpts; i++) {
		if (policy_list_members(p, msg->rcpts[i], &members, &n) == 1 &&
		    senderkeys_find(rt->keys, msg->rcpts[i]) != NULL) {
			if (message_add_rcpt(m, msg->rcpts[i]) != MSG_OK) {
				snprintf(err, errlen, "%s", m->reason);
				goto done;
			}
		} else
			*others = true;
	}
	for (i = 0; i < msg->nheaders; i++)
		if (!is_mime_field(msg->headers[i].name) &&
		    message_add_header(m, msg->headers[i].name,
		    msg->headers[i].value) != MSG_OK) {
			snprintf(err, errlen, "%s", m->reason);
			goto done;
		}
	if (take_entity(m, (const char *)plain.data, plain.len, err,
	    errlen) != 0)
		goto done;
	*out = m;
	m = NULL;
	rc = 1;
done:
	message_free(m);
	free(in.data);
	if (plain.data != NULL)
		OPENSSL_cleanse(plain.data, plain.len);
	free(plain.data);
	return rc;
}

int
outbound_keep_for_others(struct runtime *rt, const struct message *msg,
    const struct message *work, bool lists_dropped,
    struct outbound_copy *out)
{
	size_t i;

	if (outbound_strip_requests(rt, msg, false, out) != 0)
		return -1;
	for (i = 0; !lists_dropped && i < work->nrcpts; i++)
		if (outbound_add_drop(out, work->rcpts[i]) != 0)
			return -1;
	return 0;
}
