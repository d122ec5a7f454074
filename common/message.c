/*
 * message.c -- the per-message store.
 */
#include "message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "config.h"
#include "spool.h"

/*
 * The MTA passes MAIL FROM and RCPT TO arguments as written in SMTP:
 * "<addr>" with brackets (Postfix, Sendmail), sometimes bare.  Store the
 * bare address; the null sender "<>" becomes "".
 */
static char *
bare_address(const char *arg)
{
	size_t len;

	if (arg == NULL)
		return strdup("");
	arg = address_strip(arg, &len);
	return strndup(arg, len);
}

struct message *
message_new(struct config *cfg, const char *sender)
{
	struct message *msg = calloc(1, sizeof(*msg));

	if (msg == NULL)
		return NULL;
	msg->sender = bare_address(sender);
	msg->body = spool_new(cfg->spool_dir, cfg->spool_threshold);
	if (msg->sender == NULL || msg->body == NULL) {
		free(msg->sender);
		spool_free(msg->body);
		free(msg);
		return NULL;
	}
	msg->cfg = config_retain(cfg);
	return msg;
}

void
message_free(struct message *msg)
{
	size_t i;

	if (msg == NULL)
		return;
	for (i = 0; i < msg->nrcpts; i++)
		free(msg->rcpts[i]);
	free(msg->rcpts);
	for (i = 0; i < msg->nheaders; i++) {
		free(msg->headers[i].name);
		free(msg->headers[i].value);
	}
	free(msg->headers);
	spool_free(msg->body);
	free(msg->qid);
	free(msg->sender);
	free(msg->auth_authen);
	config_release(msg->cfg);
	free(msg);
}

static int
replace_string(char **field, const char *value)
{
	char *dup = NULL;

	if (value != NULL && (dup = strdup(value)) == NULL)
		return -1;
	free(*field);
	*field = dup;
	return 0;
}

int
message_set_qid(struct message *msg, const char *qid)
{
	return replace_string(&msg->qid, qid);
}

int
message_set_auth(struct message *msg, const char *auth_authen)
{
	return replace_string(&msg->auth_authen, auth_authen);
}

static enum msg_status
oom(struct message *msg)
{
	snprintf(msg->reason, sizeof(msg->reason), "out of memory");
	return MSG_TEMPFAIL;
}

/* Grow *array (of elem-byte items) to hold one more than *count. */
static int
reserve_one(void **array, size_t *cap, size_t count, size_t elem)
{
	size_t ncap;
	void *grown;

	if (count < *cap)
		return 0;
	ncap = *cap != 0 ? *cap * 2 : 16;
	grown = realloc(*array, ncap * elem);
	if (grown == NULL)
		return -1;
	*array = grown;
	*cap = ncap;
	return 0;
}

static enum msg_status
check_size(struct message *msg, uint64_t extra)
{
	uint64_t limit = msg->cfg->max_message_size;

	if (limit != 0 && message_size(msg) + extra > limit) {
		snprintf(msg->reason, sizeof(msg->reason),
		    "message size exceeds %llu bytes",
		    (unsigned long long)limit);
		return MSG_TOO_BIG;
	}
	return MSG_OK;
}

enum msg_status
message_add_rcpt(struct message *msg, const char *rcpt)
{
	char *dup;

	if (msg->nrcpts >= MESSAGE_MAX_RCPTS) {
		snprintf(msg->reason, sizeof(msg->reason),
		    "more than %d recipients", MESSAGE_MAX_RCPTS);
		return MSG_TOO_BIG;
	}
	if (reserve_one((void **)&msg->rcpts, &msg->rcpt_cap, msg->nrcpts,
	    sizeof(char *)) != 0 || (dup = bare_address(rcpt)) == NULL)
		return oom(msg);
	msg->rcpts[msg->nrcpts++] = dup;
	return MSG_OK;
}

enum msg_status
message_add_header(struct message *msg, const char *name, const char *value)
{
	uint64_t bytes = strlen(name) + 1 + strlen(value) + 2;
	struct header *h;
	enum msg_status st;

	if ((st = check_size(msg, bytes)) != MSG_OK)
		return st;
	if (msg->header_bytes + bytes > MESSAGE_MAX_HEADER_BYTES) {
		snprintf(msg->reason, sizeof(msg->reason),
		    "header section larger than %u bytes",
		    MESSAGE_MAX_HEADER_BYTES);
		return MSG_TOO_BIG;
	}
	if (reserve_one((void **)&msg->headers, &msg->header_cap,
	    msg->nheaders, sizeof(struct header)) != 0)
		return oom(msg);
	h = &msg->headers[msg->nheaders];
	h->name = strdup(name);
	h->value = strdup(value);
	if (h->name == NULL || h->value == NULL) {
		free(h->name);
		free(h->value);
		return oom(msg);
	}
	msg->nheaders++;
	msg->header_bytes += bytes;
	return MSG_OK;
}

enum msg_status
message_add_body(struct message *msg, const void *chunk, size_t len)
{
	enum msg_status st;

	if ((st = check_size(msg, len)) != MSG_OK)
		return st;
	if (spool_append(msg->body, chunk, len, msg->reason,
	    sizeof(msg->reason)) != 0)
		return MSG_TEMPFAIL;
	return MSG_OK;
}

uint64_t
message_size(const struct message *msg)
{
	return msg->header_bytes + spool_size(msg->body);
}

void
message_drop_last_rcpt(struct message *msg)
{
	if (msg->nrcpts == 0)
		return;
	free(msg->rcpts[--msg->nrcpts]);
	msg->rcpts[msg->nrcpts] = NULL;
}
