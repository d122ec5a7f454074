/*
 * smtpio.h -- the byte level of an SMTP client connection: connect to a
 * socket specification, write, read complete (multi-line) replies.
 *
 * Every step waits with poll() for at most the time left until one
 * deadline, so nothing blocks past it however the server behaves (silent,
 * dripping a byte at a time, sending endless continuation lines).  The
 * socket is non-blocking and written with MSG_NOSIGNAL: a server that
 * closes early gives an error, never SIGPIPE.
 */
#ifndef SMIME_SMTPIO_H
#define SMIME_SMTPIO_H

#include <stddef.h>
#include <stdint.h>

struct sockspec;

struct smtpio {
	int fd;			/* -1 when closed */
	int64_t deadline;	/* CLOCK_MONOTONIC milliseconds */
	size_t rpos, rlen;	/* unread bytes of rbuf */
	char rbuf[4096];
};

/* Reply text kept for messages: printable ASCII, cut to fit. */
#define SMTP_REPLY_TEXT 300

struct smtp_reply {
	int code;			/* 200..599 */
	char text[SMTP_REPLY_TEXT];	/* "250 first line / second line" */
};

/* Called with the text of every line of a reply, after "250-" or "250 ". */
typedef void smtpio_line_fn(void *arg, const char *text, size_t len);

/* A deadline seconds from now, for smtpio.deadline. */
int64_t smtpio_deadline_in(unsigned seconds);

/*
 * Connect io to an inet, inet6 or unix socket; an inet address without a
 * host means the loopback address.  Host names are resolved with
 * getaddrinfo (which the deadline cannot bound; use addresses).  Returns
 * 0, or -1 with a reason in err and io->fd == -1.
 */
int smtpio_connect(struct smtpio *io, const struct sockspec *to,
    int64_t deadline, char *err, size_t errlen);

/* Write all len bytes.  0, or -1 with a reason in err. */
int smtpio_write(struct smtpio *io, const void *buf, size_t len, char *err,
    size_t errlen);

/*
 * Read one complete reply into *r: lines "DDD-text" up to a last line
 * "DDD text" (or "DDD"), all with the same code 200..599.  each (may be
 * NULL) sees the text of every line.  Returns 0, or -1 with a reason in
 * err on timeout, end of connection or a malformed reply (bad code,
 * line over 2,000 bytes, more than 200 lines).
 */
int smtpio_reply(struct smtpio *io, struct smtp_reply *r,
    smtpio_line_fn *each, void *arg, char *err, size_t errlen);

/* Close the socket (no QUIT: that is the caller's protocol). */
void smtpio_close(struct smtpio *io);

#endif
