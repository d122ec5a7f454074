/*
 * message_read.c -- split a message stream into header fields and body.
 */
#include "message_read.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A header line without its line ending. */
static size_t
trim_eol(char *line, size_t len)
{
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	line[len] = '\0';
	return len;
}

static bool
is_field_name(const char *line, size_t namelen)
{
	size_t i;

	if (namelen == 0)
		return false;
	for (i = 0; i < namelen; i++) {
		unsigned char c = (unsigned char)line[i];

		/* RFC 5322 ftext: printable US-ASCII except colon. */
		if (c < 33 || c > 126)
			return false;
	}
	return true;
}

/* Append a folded continuation to the last field's value. */
static enum msg_status
continue_field(struct message *msg, const char *line, size_t len)
{
	struct header *h = &msg->headers[msg->nheaders - 1];
	size_t old = strlen(h->value);
	char *grown;

	if (msg->header_bytes + len + 2 > MESSAGE_MAX_HEADER_BYTES) {
		snprintf(msg->reason, sizeof(msg->reason), "header section "
		    "larger than %u bytes", MESSAGE_MAX_HEADER_BYTES);
		return MSG_TOO_BIG;
	}
	if ((grown = realloc(h->value, old + len + 3)) == NULL) {
		snprintf(msg->reason, sizeof(msg->reason), "out of memory");
		return MSG_TEMPFAIL;
	}
	memcpy(grown + old, "\r\n", 2);
	memcpy(grown + old + 2, line, len + 1);
	h->value = grown;
	msg->header_bytes += len + 2;
	return MSG_OK;
}

enum msg_status
message_read(struct message *msg, FILE *in)
{
	char *line = NULL;
	size_t cap = 0, len;
	ssize_t n;
	enum msg_status st = MSG_OK;
	bool in_headers = true;
	char buf[65536];

	while (in_headers && (n = getline(&line, &cap, in)) > 0) {
		char *colon;

		if ((size_t)n > MESSAGE_READ_MAX_LINE) {
			snprintf(msg->reason, sizeof(msg->reason), "header "
			    "line longer than %d bytes", MESSAGE_READ_MAX_LINE);
			st = MSG_TOO_BIG;
			goto done;
		}
		if (strcspn(line, "\r\n") == 0)	/* the empty line */
			break;
		if ((line[0] == ' ' || line[0] == '\t') && msg->nheaders > 0) {
			len = trim_eol(line, (size_t)n);
			if ((st = continue_field(msg, line, len)) != MSG_OK)
				goto done;
			continue;
		}
		colon = memchr(line, ':', (size_t)n);
		if (colon == NULL || !is_field_name(line, (size_t)(colon -
		    line))) {
			/* Not a field: the body starts here (no empty line). */
			st = message_add_body(msg, line, (size_t)n);
			in_headers = false;
			break;
		}
		trim_eol(line, (size_t)n);
		*colon = '\0';
		if ((st = message_add_header(msg, line, colon + 1)) != MSG_OK)
			goto done;
	}
	if (st != MSG_OK)
		goto done;
	while ((len = fread(buf, 1, sizeof(buf), in)) > 0)
		if ((st = message_add_body(msg, buf, len)) != MSG_OK)
			goto done;
done:
	free(line);
	return st;
}
