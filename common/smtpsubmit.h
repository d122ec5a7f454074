/*
 * smtpsubmit.h -- submit messages to the MTA's milter-free reinjection
 * listener (ReinjectSocket) by SMTP.
 *
 * A small client for a trusted local server: EHLO (HELO if refused),
 * then per message MAIL FROM, one RCPT TO per recipient, DATA with the
 * message dot-stuffed and every line ending (CRLF, bare LF, bare CR) sent
 * as CRLF, so no receiver can see a line structure other than ours (SMTP
 * smuggling).  A message goes to all its recipients or to none: if any
 * RCPT is refused, DATA is not sent.  No PIPELINING.  Optional STARTTLS
 * and AUTH PLAIN (struct smtp_security).  SMTPUTF8 is requested when an
 * address has 8-bit bytes and the server offers it.
 *
 * Results: SMTP_OK when the server accepted the message (2xx after the
 * final "."), SMTP_TEMPFAIL for connection problems, timeouts, protocol
 * errors, 4xx replies and also 5xx replies to the greeting or HELO (a
 * misconfigured listener, not a verdict on the message), SMTP_PERMFAIL for
 * a 5xx reply to MAIL, RCPT, DATA or the message, and for addresses that
 * cannot be sent safely (checked before anything is written).  err then
 * holds the reason, with the server's reply as printable ASCII.  Every
 * TLS or AUTH failure is SMTP_TEMPFAIL; err never holds the password.
 */
#ifndef SMIME_SMTPSUBMIT_H
#define SMIME_SMTPSUBMIT_H

#include <stddef.h>

struct sink;
struct sockspec;
struct spool;
struct ssl_ctx_st;

#define SMTP_OK		0
#define SMTP_TEMPFAIL	(-1)
#define SMTP_PERMFAIL	(-2)

/* ReinjectTLS: when STARTTLS is used and what it must prove. */
enum smtp_tls {
	SMTP_TLS_NONE = 0,	/* never */
	SMTP_TLS_MAY,		/* if offered; it must then succeed */
	SMTP_TLS_ENCRYPT,	/* required, certificate not checked */
	SMTP_TLS_VERIFY,	/* required, certificate checked (ctx) */
};

/*
 * How a connection is secured (smtpsec.h builds one from the
 * configuration).  A NULL struct smtp_security means plain SMTP.
 *
 * tls: enum smtp_tls.  ctx: the client SSL_CTX for tls != NONE; its
 * verify mode and trust store decide the certificate check (with VERIFY
 * the certificate must also match the host of ReinjectSocket, see
 * smtpio_starttls).  After STARTTLS, EHLO is sent again (RFC 3207).
 *
 * user, pass: NULL for no AUTH; otherwise AUTH PLAIN (RFC 4954, 4616)
 * right after EHLO, and the server must offer it.  Credentials are only
 * sent to a peer on this host (unix socket or loopback address, see
 * smtpio_peer_is_local) or over TLS with VERIFY: anything else is a
 * temporary failure, as is a refused AUTH.  A reply to AUTH reaches err
 * as its code and enhanced status code only.
 */
struct smtp_security {
	int tls;			/* enum smtp_tls */
	struct ssl_ctx_st *ctx;		/* NULL when tls == SMTP_TLS_NONE */
	char *user;			/* AUTH identity; NULL: no AUTH */
	char *pass;
};

/*
 * Submit one message in one connection.  to: the listener.  helo_name:
 * our name for EHLO.  sec: TLS and AUTH (NULL: neither).  mail_from: the
 * envelope sender without angle brackets, "" for the null sender <>.  rcpts: nrcpts >= 1 addresses.
 * message: the whole message (header and body), read with spool_read in
 * chunks, so memory does not grow with its size.  timeout_s bounds the
 * whole exchange from connect to the reply to the final "."; QUIT after
 * it waits at most 2 more seconds.  Returns SMTP_OK, SMTP_TEMPFAIL or
 * SMTP_PERMFAIL (reason in err).
 */
int smtp_submit(const struct sockspec *to, const char *helo_name,
    const struct smtp_security *sec, const char *mail_from,
    const char *const *rcpts, size_t nrcpts, const struct spool *message,
    unsigned timeout_s, char *err, size_t errlen);

/*
 * Several messages over one connection: smtp_open, smtp_send per message,
 * smtp_close.  A refused message (a reply, not a broken connection) is
 * followed by RSET, so the next smtp_send can go ahead; after a timeout
 * or protocol error the connection is unusable and every further
 * smtp_send returns SMTP_TEMPFAIL.
 */
struct smtp_client;

/*
 * Connect, read the greeting, EHLO/HELO, and STARTTLS, EHLO and AUTH as
 * sec says (NULL: none; it must outlive the client); all within
 * timeout_s, which also bounds each later smtp_send.  Returns SMTP_OK
 * with *out set (free with smtp_close), or SMTP_TEMPFAIL with *out NULL and the reason in err
 * (also when out of memory or helo_name is not a plausible name).
 */
int smtp_open(struct smtp_client **out, const struct sockspec *to,
    const char *helo_name, const struct smtp_security *sec,
    unsigned timeout_s, char *err, size_t errlen);

/* One message (arguments as for smtp_submit), within timeout_s. */
int smtp_send(struct smtp_client *c, const char *mail_from,
    const char *const *rcpts, size_t nrcpts, const struct spool *message,
    char *err, size_t errlen);

/*
 * Writes a message to out, in pieces of any size with any line ends (the
 * client dot-stuffs and makes them CRLF); 0, or -1 with a reason in err.
 */
typedef int smtp_producer_fn(void *arg, const struct sink *out, char *err,
    size_t errlen);

/*
 * One message made while it is sent: produce(arg, ...) is called once
 * DATA has been accepted, so a message need never be stored whole.  If
 * produce fails, the connection is dropped before the final "." (the
 * server discards the message) and SMTP_TEMPFAIL is returned with
 * produce's reason.
 */
int smtp_send_stream(struct smtp_client *c, const char *mail_from,
    const char *const *rcpts, size_t nrcpts, smtp_producer_fn *produce,
    void *arg, char *err, size_t errlen);

/* QUIT (unless the connection is broken; at most 2 s), close, free.
 * NULL is ignored. */
void smtp_close(struct smtp_client *c);

#endif
