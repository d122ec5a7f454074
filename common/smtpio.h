/*
 * smtpio.h -- the byte level of an SMTP client connection: connect to a
 * socket specification, write, read complete (multi-line) replies.
 *
 * Every step waits with poll() for at most the time left until one
 * deadline, so nothing blocks past it however the server behaves (silent,
 * dripping a byte at a time, sending endless continuation lines).  The
 * socket is non-blocking and written with MSG_NOSIGNAL: a server that
 * closes early gives an error, never SIGPIPE.
 *
 * After smtpio_starttls the same calls read and write through TLS, with
 * the same deadline.  OpenSSL then writes with write(2), not send(2)
 * with MSG_NOSIGNAL: a process using TLS here must ignore SIGPIPE (the
 * daemon does).
 */
#ifndef SMIME_SMTPIO_H
#define SMIME_SMTPIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sockspec;
struct ssl_st;
struct ssl_ctx_st;

struct smtpio {
	int fd;			/* -1 when closed */
	int64_t deadline;	/* CLOCK_MONOTONIC milliseconds */
	size_t rpos, rlen;	/* unread bytes of rbuf */
	char rbuf[4096];
	struct ssl_st *ssl;	/* after smtpio_starttls; NULL: plain */
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

/*
 * Start TLS on the connection, after the server's 220 reply to STARTTLS:
 * the handshake, bounded by io->deadline.  ctx: a client SSL_CTX (not
 * taken over; it must outlive io); its verify mode decides whether the
 * server's certificate is checked.  host: if ctx verifies and host is
 * not NULL or empty, the certificate must also match it, an IP address
 * literal against the certificate's IP addresses, anything else against
 * its DNS names (and then also sent as SNI).  Refused when the server
 * has sent anything after its 220 (bytes that arrived in the clear but
 * would be read as if protected: the STARTTLS command injection attack).
 * Returns 0, or -1 with the reason in err (the connection is then
 * unusable).
 */
int smtpio_starttls(struct smtpio *io, struct ssl_ctx_st *ctx,
    const char *host, char *err, size_t errlen);

/* Whether the connection runs over TLS. */
bool smtpio_tls_active(const struct smtpio *io);

/*
 * Whether the peer is on this host: a unix socket, or a TCP peer address
 * in 127.0.0.0/8 or ::1 (also IPv4-mapped).  Decided by the connected
 * address (getpeername), not by the name in the socket specification.
 */
bool smtpio_peer_is_local(const struct smtpio *io);

/* Close the socket (no QUIT: that is the caller's protocol), after a
 * TLS close_notify (not waited for). */
void smtpio_close(struct smtpio *io);

#endif
