/*
 * smtpsubmit.c -- the SMTP dialogue of the reinjection client.
 */
#include "smtpsubmit.h"

#include <assert.h>
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "address.h"
#include "sink.h"
#include "smtpio.h"
#include "sockspec.h"
#include "spool.h"

#define QUIT_WAIT	2	/* seconds for QUIT after the real work */
/* RFC 4616 servers must take identities and passwords of 255 bytes;
 * smtpsec.c refuses longer ones when it reads them. */
#define AUTH_FIELD_MAX	255

struct smtp_client {
	struct smtpio io;
	unsigned timeout_s;
	bool broken;		/* out of step with the server: no more use */
	bool smtputf8;		/* offered in the EHLO reply */
	bool pipelining;	/* offered in the EHLO reply (RFC 2920) */
	bool bol;		/* DATA: at the start of a line */
	bool cr;		/* DATA: a CR waits for its LF */
	size_t wlen;
	char wbuf[65536];	/* commands and DATA output, dot-stuffed */
	const struct smtp_security *sec; /* NULL: plain, no AUTH */
	bool starttls;		/* offered in the EHLO reply */
	bool auth;		/* AUTH offered, with some mechanism */
	bool auth_plain;	/* ... among them PLAIN */
};

/* Copy s for a message: printable ASCII only, at most 100 bytes. */
static const char *
printable(char *dst, size_t dstlen, const char *s)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < dstlen && i < 100; i++)
		dst[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
	dst[i] = '\0';
	return dst;
}

/* A host name or address literal, nothing that could end the command. */
static bool
helo_name_ok(const char *name)
{
	size_t len = strlen(name), i;

	if (len == 0 || len > 255)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (!isalnum(c) && strchr(".-_[]:", c) == NULL)
			return false;
	}
	return true;
}

/* Every address safe to put between angle brackets; no empty RCPT. */
static int
check_envelope(const char *from, const char *const *rcpts, size_t n,
    char *err, size_t errlen)
{
	char shown[128];
	size_t i;

	if (!address_is_safe(from)) {
		snprintf(err, errlen, "unsafe sender address \"%s\"",
		    printable(shown, sizeof(shown), from));
		return SMTP_PERMFAIL;
	}
	if (n == 0) {
		snprintf(err, errlen, "no recipients");
		return SMTP_PERMFAIL;
	}
	for (i = 0; i < n; i++) {
		if (rcpts[i][0] == '\0' || !address_is_safe(rcpts[i])) {
			snprintf(err, errlen, "unsafe recipient address "
			    "\"%s\"", printable(shown, sizeof(shown),
			    rcpts[i]));
			return SMTP_PERMFAIL;
		}
	}
	return SMTP_OK;
}

static bool
has_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/*
 * Send cmd (without CRLF) and read the reply.  0, or -1 with the reason
 * in err; an I/O or protocol failure leaves the connection broken.
 */
static int
command(struct smtp_client *c, const char *cmd, struct smtp_reply *r,
    smtpio_line_fn *each, char *err, size_t errlen)
{
	char line[600];
	int len;

	len = snprintf(line, sizeof(line), "%s\r\n", cmd);
	assert(len > 0 && (size_t)len < sizeof(line));
	if (smtpio_write(&c->io, line, (size_t)len, err, errlen) < 0 ||
	    smtpio_reply(&c->io, r, each, c, err, errlen) < 0) {
		c->broken = true;
		return -1;
	}
	return 0;
}

/*
 * The server refused what: 5xx is permanent, anything else temporary.
 * RSET afterwards so that the connection can carry the next message.
 */
static int
refused(struct smtp_client *c, const char *what, const struct smtp_reply *r,
    char *err, size_t errlen)
{
	struct smtp_reply rr;
	char ignore[200];

	snprintf(err, errlen, "%s refused: %s", what, r->text);
	if (r->code == 421 || command(c, "RSET", &rr, NULL, ignore,
	    sizeof(ignore)) < 0 || rr.code / 100 != 2)
		c->broken = true;
	return r->code / 100 == 5 ? SMTP_PERMFAIL : SMTP_TEMPFAIL;
}

/* Is word (case-insensitive) one of the blank-separated words of s? */
static bool
has_word(const char *s, size_t len, const char *word)
{
	size_t wlen = strlen(word), i = 0, start;

	while (i < len) {
		while (i < len && s[i] == ' ')
			i++;
		start = i;
		while (i < len && s[i] != ' ')
			i++;
		if (i - start == wlen &&
		    strncasecmp(s + start, word, wlen) == 0)
			return true;
	}
	return false;
}

/* Is the EHLO line text the keyword kw, alone or followed by " ..."? */
static bool
is_keyword(const char *text, size_t len, const char *kw)
{
	size_t n = strlen(kw);

	return len >= n && strncasecmp(text, kw, n) == 0 &&
	    (len == n || text[n] == ' ');
}

static void
ehlo_line(void *arg, const char *text, size_t len)
{
	struct smtp_client *c = arg;

	if (is_keyword(text, len, "SMTPUTF8"))
		c->smtputf8 = true;
	else if (is_keyword(text, len, "PIPELINING"))
		c->pipelining = true;
	else if (is_keyword(text, len, "STARTTLS"))
		c->starttls = true;
	else if (is_keyword(text, len, "AUTH") ||
	    (len >= 5 && strncasecmp(text, "AUTH=", 5) == 0)) {
		/* "AUTH=PLAIN LOGIN" is what some old servers say. */
		c->auth = true;
		if (len > 5 && has_word(text + 5, len - 5, "PLAIN"))
			c->auth_plain = true;
	}
}

/* EHLO (HELO if refused); the capabilities come from its reply. */
static int
hello(struct smtp_client *c, const char *helo, char *err, size_t errlen)
{
	struct smtp_reply r;
	char cmd[300];

	c->smtputf8 = c->pipelining = c->starttls = c->auth =
	    c->auth_plain = false;
	snprintf(cmd, sizeof(cmd), "EHLO %s", helo);
	if (command(c, cmd, &r, ehlo_line, err, errlen) < 0)
		return SMTP_TEMPFAIL;
	if (r.code / 100 == 5) {	/* an old server: HELO */
		c->smtputf8 = c->pipelining = c->starttls = c->auth =
		    c->auth_plain = false;
		snprintf(cmd, sizeof(cmd), "HELO %s", helo);
		if (command(c, cmd, &r, NULL, err, errlen) < 0)
			return SMTP_TEMPFAIL;
	}
	if (r.code / 100 != 2) {
		refused(c, cmd, &r, err, errlen);
		return SMTP_TEMPFAIL;
	}
	return SMTP_OK;
}

/*
 * STARTTLS as c->sec asks, then EHLO again (RFC 3207: what the server
 * said before TLS no longer counts).  With "may" a server that does not
 * offer it gets plain SMTP; once STARTTLS is tried it must succeed at
 * every level (fail closed: no fallback to plain text after an error).
 */
static int
start_tls(struct smtp_client *c, const struct sockspec *to, const char *helo,
    char *err, size_t errlen)
{
	const struct smtp_security *sec = c->sec;
	struct smtp_reply r;
	char why[300];

	if (sec == NULL || sec->tls == SMTP_TLS_NONE)
		return SMTP_OK;
	if (!c->starttls) {
		if (sec->tls == SMTP_TLS_MAY)
			return SMTP_OK;
		snprintf(err, errlen, "%s does not offer STARTTLS, which "
		    "ReinjectTLS requires", to->text);
		return SMTP_TEMPFAIL;
	}
	assert(sec->ctx != NULL);
	if (command(c, "STARTTLS", &r, NULL, err, errlen) < 0)
		return SMTP_TEMPFAIL;
	if (r.code != 220) {
		snprintf(err, errlen, "STARTTLS refused: %s", r.text);
		return SMTP_TEMPFAIL;
	}
	if (smtpio_starttls(&c->io, sec->ctx, to->family == SOCK_FAMILY_UNIX ?
	    NULL : to->host, why, sizeof(why)) < 0) {
		c->broken = true;
		snprintf(err, errlen, "STARTTLS with %s: %s", to->text, why);
		return SMTP_TEMPFAIL;
	}
	return hello(c, helo, err, errlen);
}

/*
 * The reply to AUTH, for err: its code and enhanced status code only.  A
 * server may echo what it got, cut or folded so that no search for the
 * credentials in the text would find them; the password must not reach
 * a log, so the text never goes there.
 */
static void
auth_refused(const struct smtp_reply *r, char *err, size_t errlen)
{
	const char *p = r->text + 3;
	size_t n = 0;

	if (*p == ' ' || *p == '-')
		p++;
	/* "5.7.8": digits and dots up to the first space. */
	while (n < 12 && (isdigit((unsigned char)p[n]) || p[n] == '.'))
		n++;
	if (n < 5 || (p[n] != ' ' && p[n] != '\0'))
		n = 0;
	snprintf(err, errlen, "AUTH PLAIN refused: %d%s%.*s (reply text "
	    "withheld)", r->code, n > 0 ? " " : "", (int)n, p);
}

/*
 * AUTH PLAIN with the initial response (RFC 4954): base64 of
 * "\0user\0pass" (no authorization identity).  Only over TLS or to a
 * peer on this host; the server must offer PLAIN.  The command is built
 * in a buffer that is wiped afterwards and never goes into err.
 */
static int
authenticate(struct smtp_client *c, char *err, size_t errlen)
{
	const struct smtp_security *sec = c->sec;
	unsigned char raw[2 * AUTH_FIELD_MAX + 2];
	char line[sizeof("AUTH PLAIN ") + 4 * (sizeof(raw) + 2) / 3 + 2];
	struct smtp_reply r;
	size_t ulen, plen, pre = strlen("AUTH PLAIN ");
	int n, rc = SMTP_TEMPFAIL;

	if (sec == NULL || sec->user == NULL)
		return SMTP_OK;
	assert(sec->pass != NULL);
	ulen = strlen(sec->user);
	plen = strlen(sec->pass);
	if (ulen == 0 || ulen > AUTH_FIELD_MAX || plen > AUTH_FIELD_MAX) {
		snprintf(err, errlen, "AUTH identity empty, or identity or "
		    "password longer than %d bytes", AUTH_FIELD_MAX);
		return SMTP_TEMPFAIL;
	}
	/* Off this host only to a verified server: TLS without a checked
	 * certificate would hand them to whoever is in between. */
	if (!smtpio_peer_is_local(&c->io) && (sec->tls != SMTP_TLS_VERIFY ||
	    !smtpio_tls_active(&c->io))) {
		snprintf(err, errlen, "not sending AUTH credentials to a "
		    "server on another host without ReinjectTLS verify");
		return SMTP_TEMPFAIL;
	}
	if (!c->auth_plain) {
		snprintf(err, errlen, "the server does not offer AUTH PLAIN%s",
		    c->auth ? "" : " (no AUTH at all; TLS or SASL not "
		    "enabled on the listener?)");
		return SMTP_TEMPFAIL;
	}
	raw[0] = '\0';
	memcpy(raw + 1, sec->user, ulen);
	raw[1 + ulen] = '\0';
	memcpy(raw + 2 + ulen, sec->pass, plen);
	memcpy(line, "AUTH PLAIN ", pre);
	n = EVP_EncodeBlock((unsigned char *)line + pre, raw,
	    (int)(2 + ulen + plen));
	memcpy(line + pre + (size_t)n, "\r\n", 3);
	if (smtpio_write(&c->io, line, pre + (size_t)n + 2, err, errlen) < 0) {
		c->broken = true;
		goto cleanup;
	}
	if (smtpio_reply(&c->io, &r, NULL, NULL, err, errlen) < 0) {
		/* Its reason may quote a malformed reply: withheld too. */
		snprintf(err, errlen, "no valid reply to AUTH PLAIN (timeout, "
		    "closed connection or malformed reply; text withheld)");
		c->broken = true;
		goto cleanup;
	}
	if (r.code == 235) {
		rc = SMTP_OK;
		goto cleanup;
	}
	auth_refused(&r, err, errlen);
	/* 334: the server wants more than we gave; out of step. */
	if (r.code / 100 == 3)
		c->broken = true;
cleanup:
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(line, sizeof(line));
	return rc;
}

/*
 * Connect, greeting, EHLO or HELO, then STARTTLS and AUTH as c->sec
 * says.  Every failure is temporary.
 */
static int
greet(struct smtp_client *c, const struct sockspec *to, const char *helo,
    int64_t deadline, char *err, size_t errlen)
{
	struct smtp_reply r;
	int rc;

	if (smtpio_connect(&c->io, to, deadline, err, errlen) < 0)
		return SMTP_TEMPFAIL;
	if (smtpio_reply(&c->io, &r, NULL, NULL, err, errlen) < 0) {
		c->broken = true;
		return SMTP_TEMPFAIL;
	}
	if (r.code / 100 != 2) {
		snprintf(err, errlen, "server refused the connection: %s",
		    r.text);
		return SMTP_TEMPFAIL;
	}
	if ((rc = hello(c, helo, err, errlen)) != SMTP_OK ||
	    (rc = start_tls(c, to, helo, err, errlen)) != SMTP_OK)
		return rc;
	return authenticate(c, err, errlen);
}

static int
flush(struct smtp_client *c, char *err, size_t errlen)
{
	if (c->wlen > 0 && smtpio_write(&c->io, c->wbuf, c->wlen, err,
	    errlen) < 0)
		return -1;
	c->wlen = 0;
	return 0;
}

/* Queue n bytes for the server; long runs go out without a copy. */
static int
emit(struct smtp_client *c, const char *s, size_t n, char *err,
    size_t errlen)
{
	if (c->wlen + n > sizeof(c->wbuf) && flush(c, err, errlen) < 0)
		return -1;
	if (n > sizeof(c->wbuf))
		return smtpio_write(&c->io, s, n, err, errlen);
	memcpy(c->wbuf + c->wlen, s, n);
	c->wlen += n;
	return 0;
}

/* The first CR or LF in [p, end), or end: memchr (vectorised in libc)
 * instead of a test per byte, as most of a message is plain text. */
static const char *
line_end(const char *p, const char *end)
{
	const char *lf = memchr(p, '\n', (size_t)(end - p));
	const char *lim = lf != NULL ? lf : end;
	const char *cr = memchr(p, '\r', (size_t)(lim - p));

	return cr != NULL ? cr : lim;
}

/*
 * The DATA sink: message bytes in, dot-stuffed lines out, every line end
 * (CRLF, bare LF, bare CR) sent as CRLF.  A CR at the end of one write
 * waits in c->cr for the next byte: CRLF split between writes is one
 * line end.
 */
static int
data_write(void *arg, const void *buf, size_t len, char *err, size_t errlen)
{
	struct smtp_client *c = arg;
	const char *p = buf, *end = p + len, *q;

	while (p < end) {
		if (c->cr) {	/* CR LF, or a bare CR: a line end either way */
			c->cr = false;
			c->bol = true;
			if (emit(c, "\r\n", 2, err, errlen) < 0)
				return -1;
			if (*p == '\n' && ++p == end)
				break;
		}
		if (c->bol && *p == '.' && emit(c, ".", 1, err, errlen) < 0)
			return -1;
		q = line_end(p, end);
		if (q > p) {
			if (emit(c, p, (size_t)(q - p), err, errlen) < 0)
				return -1;
			c->bol = false;
		}
		if (q == end)
			break;
		if (*q == '\r') {
			c->cr = true;
			p = q + 1;
			continue;
		}
		if (emit(c, "\r\n", 2, err, errlen) < 0)
			return -1;
		c->bol = true;
		p = q + 1;
	}
	return 0;
}

/*
 * The message from produce, a final line end if it lacks one, and ".".
 * If produce fails half-way, nothing more is sent: the caller drops the
 * connection, and a server discards a message whose "." never came.
 */
static int
send_message(struct smtp_client *c, smtp_producer_fn *produce, void *arg,
    char *err, size_t errlen)
{
	struct sink s = { data_write, c };

	c->bol = true;
	c->cr = false;
	c->wlen = 0;
	if (produce(arg, &s, err, errlen) != 0)
		return -1;
	if ((c->cr || !c->bol) && emit(c, "\r\n", 2, err, errlen) < 0)
		return -1;
	if (emit(c, ".\r\n", 3, err, errlen) < 0)
		return -1;
	return flush(c, err, errlen);
}

/*
 * MAIL, RCPT... and DATA one after the other, each reply awaited; 0 and
 * *go when DATA got its 354, else the result.
 */
static int
envelope_lockstep(struct smtp_client *c, const char *mail,
    const char *const *rcpts, size_t n, char *err, size_t errlen)
{
	struct smtp_reply r;
	char cmd[400];
	size_t i;

	if (command(c, mail, &r, NULL, err, errlen) < 0)
		return SMTP_TEMPFAIL;
	if (r.code / 100 != 2)
		return refused(c, mail, &r, err, errlen);
	for (i = 0; i < n; i++) {
		snprintf(cmd, sizeof(cmd), "RCPT TO:<%s>", rcpts[i]);
		if (command(c, cmd, &r, NULL, err, errlen) < 0)
			return SMTP_TEMPFAIL;
		if (r.code / 100 != 2)	/* all or nothing: no DATA */
			return refused(c, cmd, &r, err, errlen);
	}
	if (command(c, "DATA", &r, NULL, err, errlen) < 0)
		return SMTP_TEMPFAIL;
	if (r.code / 100 != 3)
		return refused(c, "DATA", &r, err, errlen);
	return SMTP_OK;
}

/* Commands written before their replies are read: a bound, so that
 * neither side can fill the other's buffers and wait for ever. */
#define PIPE_BATCH	100

/*
 * The same with PIPELINING (RFC 2920): the commands go out in batches
 * and their replies are read in order, one round trip per batch instead
 * of one per command.  The price: DATA is sent before the RCPT replies
 * are known.  If anything was refused but DATA still got its 354, the
 * message cannot be stopped politely (a lone "." would deliver an empty
 * message to the recipients accepted), so the connection is dropped,
 * which aborts the transaction; the next smtp_send fails.
 */
static int
envelope_pipelined(struct smtp_client *c, const char *mail,
    const char *const *rcpts, size_t n, char *err, size_t errlen)
{
	size_t total = n + 2, sent = 0, got = 0;
	struct smtp_reply r = { 0, "" }, bad = { 0, "" };
	char cmd[400], what[400] = "";
	int len;

	c->wlen = 0;
	while (got < total) {
		for (; sent < total && sent - got < PIPE_BATCH; sent++) {
			if (sent == 0)
				len = snprintf(cmd, sizeof(cmd), "%s\r\n",
				    mail);
			else if (sent <= n)
				len = snprintf(cmd, sizeof(cmd),
				    "RCPT TO:<%s>\r\n", rcpts[sent - 1]);
			else
				len = snprintf(cmd, sizeof(cmd), "DATA\r\n");
			assert(len > 0 && (size_t)len < sizeof(cmd));
			if (emit(c, cmd, (size_t)len, err, errlen) < 0)
				goto broken;
		}
		if (flush(c, err, errlen) < 0)
			goto broken;
		for (; got < sent; got++) {
			bool ok;

			if (smtpio_reply(&c->io, &r, NULL, NULL, err,
			    errlen) < 0)
				goto broken;
			ok = got + 1 == total ? r.code / 100 == 3 :
			    r.code / 100 == 2;
			if (ok || bad.code != 0)
				continue;
			bad = r;
			if (got == 0)
				snprintf(what, sizeof(what), "%s", mail);
			else if (got <= n)
				snprintf(what, sizeof(what), "RCPT TO:<%s>",
				    rcpts[got - 1]);
			else
				snprintf(what, sizeof(what), "DATA");
		}
	}
	if (bad.code == 0)
		return SMTP_OK;
	if (r.code / 100 == 3) {	/* DATA accepted after a refusal */
		snprintf(err, errlen, "%s refused: %s", what, bad.text);
		c->broken = true;
		return bad.code / 100 == 5 ? SMTP_PERMFAIL : SMTP_TEMPFAIL;
	}
	return refused(c, what, &bad, err, errlen);
broken:
	c->broken = true;
	return SMTP_TEMPFAIL;
}

/* MAIL, RCPT..., DATA, message; the deadline is already set. */
static int
transaction(struct smtp_client *c, const char *from,
    const char *const *rcpts, size_t n, smtp_producer_fn *produce,
    void *arg, char *err, size_t errlen)
{
	struct smtp_reply r;
	char mail[400];
	bool utf8 = false;
	size_t i;
	int rc;

	if ((rc = check_envelope(from, rcpts, n, err, errlen)) != SMTP_OK)
		return rc;
	if (c->broken) {
		snprintf(err, errlen, "connection unusable after an earlier "
		    "error");
		return SMTP_TEMPFAIL;
	}
	for (i = 0; i < n && c->smtputf8 && !utf8; i++)
		utf8 = has_8bit(rcpts[i]);
	snprintf(mail, sizeof(mail), "MAIL FROM:<%s>%s", from,
	    c->smtputf8 && (utf8 || has_8bit(from)) ? " SMTPUTF8" : "");
	rc = c->pipelining ? envelope_pipelined(c, mail, rcpts, n, err,
	    errlen) : envelope_lockstep(c, mail, rcpts, n, err, errlen);
	if (rc != SMTP_OK)
		return rc;
	if (send_message(c, produce, arg, err, errlen) < 0 ||
	    smtpio_reply(&c->io, &r, NULL, NULL, err, errlen) < 0) {
		c->broken = true;
		return SMTP_TEMPFAIL;
	}
	if (r.code / 100 != 2)
		return refused(c, "message", &r, err, errlen);
	return SMTP_OK;
}

/* The producer for a message held in a spool. */
static int
produce_spool(void *arg, const struct sink *out, char *err, size_t errlen)
{
	return spool_copy_to_sink(arg, out, err, errlen);
}

static struct smtp_client *
client_new(const char *helo, const struct smtp_security *sec,
    unsigned timeout_s, char *err, size_t errlen)
{
	struct smtp_client *c;

	if (!helo_name_ok(helo)) {
		snprintf(err, errlen, "bad HELO name");
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	c->io.fd = -1;
	c->timeout_s = timeout_s;
	c->sec = sec;
	return c;
}

int
smtp_open(struct smtp_client **out, const struct sockspec *to,
    const char *helo_name, const struct smtp_security *sec,
    unsigned timeout_s, char *err, size_t errlen)
{
	struct smtp_client *c;
	int rc;

	assert(out != NULL && to != NULL && helo_name != NULL);
	*out = NULL;
	if ((c = client_new(helo_name, sec, timeout_s, err, errlen)) == NULL)
		return SMTP_TEMPFAIL;
	rc = greet(c, to, helo_name, smtpio_deadline_in(timeout_s), err,
	    errlen);
	if (rc != SMTP_OK) {
		smtp_close(c);
		return rc;
	}
	*out = c;
	return SMTP_OK;
}

int
smtp_send_stream(struct smtp_client *c, const char *mail_from,
    const char *const *rcpts, size_t nrcpts, smtp_producer_fn *produce,
    void *arg, char *err, size_t errlen)
{
	assert(c != NULL && mail_from != NULL && produce != NULL);
	assert(rcpts != NULL || nrcpts == 0);
	c->io.deadline = smtpio_deadline_in(c->timeout_s);
	return transaction(c, mail_from, rcpts, nrcpts, produce, arg, err,
	    errlen);
}

int
smtp_send(struct smtp_client *c, const char *mail_from,
    const char *const *rcpts, size_t nrcpts, const struct spool *message,
    char *err, size_t errlen)
{
	assert(message != NULL);
	return smtp_send_stream(c, mail_from, rcpts, nrcpts, produce_spool,
	    (void *)message, err, errlen);
}

void
smtp_close(struct smtp_client *c)
{
	struct smtp_reply r;
	char ignore[200];

	if (c == NULL)
		return;
	if (c->io.fd >= 0 && !c->broken) {
		c->io.deadline = smtpio_deadline_in(QUIT_WAIT);
		(void)command(c, "QUIT", &r, NULL, ignore, sizeof(ignore));
	}
	smtpio_close(&c->io);
	free(c);
}

int
smtp_submit(const struct sockspec *to, const char *helo_name,
    const struct smtp_security *sec, const char *mail_from,
    const char *const *rcpts, size_t nrcpts, const struct spool *message,
    unsigned timeout_s, char *err, size_t errlen)
{
	struct smtp_client *c;
	int rc;

	assert(to != NULL && helo_name != NULL && mail_from != NULL);
	assert(message != NULL && (rcpts != NULL || nrcpts == 0));
	/* Refuse bad addresses before even connecting. */
	if ((rc = check_envelope(mail_from, rcpts, nrcpts, err, errlen)) !=
	    SMTP_OK)
		return rc;
	if ((c = client_new(helo_name, sec, timeout_s, err, errlen)) == NULL)
		return SMTP_TEMPFAIL;
	/* One deadline for the whole exchange. */
	rc = greet(c, to, helo_name, smtpio_deadline_in(timeout_s), err,
	    errlen);
	if (rc == SMTP_OK)
		rc = transaction(c, mail_from, rcpts, nrcpts, produce_spool,
		    (void *)message, err, errlen);
	smtp_close(c);
	return rc;
}
