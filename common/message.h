/*
 * message.h -- everything the milter collects about one message: envelope,
 * macros, headers in arrival order (raw values, for faithful rewriting)
 * and the body in a spool.  No libmilter types: the daemon's callbacks
 * fill it, the later pipeline steps (classify, decide, build) read it.
 */
#ifndef SMIME_MESSAGE_H
#define SMIME_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

struct config;
struct spool;

/* Hard bounds independent of MaxMessageSize, so memory stays bounded. */
#define MESSAGE_MAX_RCPTS 100000
#define MESSAGE_MAX_HEADER_BYTES (16u * 1024u * 1024u)

enum msg_status {
	MSG_OK = 0,
	MSG_TOO_BIG,	/* MaxMessageSize or a hard bound exceeded: 5xx */
	MSG_TEMPFAIL,	/* out of memory, spool error: 4xx; see reason */
};

struct header {
	char *name;
	char *value;	/* as received, leading space included if any */
};

struct message {
	struct config *cfg;	/* retained for the message's lifetime */
	char *qid;		/* MTA queue id, NULL until known */
	char *sender;		/* MAIL FROM address, brackets removed */
	char *auth_authen;	/* {auth_authen}, NULL if not authenticated */
	char **rcpts;		/* RCPT TO addresses, brackets removed */
	size_t nrcpts;
	struct header *headers;
	size_t nheaders;
	uint64_t header_bytes;	/* "Name: value\r\n" summed */
	struct spool *body;
	char reason[256];	/* why the last call failed */

	size_t rcpt_cap, header_cap;
};

/*
 * Start a message.  cfg is retained (the caller keeps its reference);
 * sender (the MAIL FROM argument, "<addr>" or bare) is copied without its
 * angle brackets.  Returns NULL when out of memory.
 */
struct message *message_new(struct config *cfg, const char *sender);

/* Free everything, release cfg, delete any spool file.  NULL is ignored. */
void message_free(struct message *msg);

/* Set (or replace) queue id / authenticated user; copies.  0 or -1 (OOM). */
int message_set_qid(struct message *msg, const char *qid);
int message_set_auth(struct message *msg, const char *auth_authen);

/* Append a recipient (copied without angle brackets, like the sender). */
enum msg_status message_add_rcpt(struct message *msg, const char *rcpt);

/* Forget the last recipient added (rejected at RCPT time). */
void message_drop_last_rcpt(struct message *msg);

/* Append a header (copied), counting it against the size limits. */
enum msg_status message_add_header(struct message *msg, const char *name,
    const char *value);

/* Append a body chunk to the spool, counting it against the limits. */
enum msg_status message_add_body(struct message *msg, const void *chunk,
    size_t len);

/* Header bytes plus body bytes so far. */
uint64_t message_size(const struct message *msg);

#endif
