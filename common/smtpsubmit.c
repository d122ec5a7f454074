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

#include "address.h"
#include "smtpio.h"
#include "spool.h"

#define QUIT_WAIT	2	/* seconds for QUIT after the real work */

struct smtp_client {
	struct smtpio io;
	unsigned timeout_s;
	bool broken;		/* out of step with the server: no more use */
	bool smtputf8;		/* offered in the EHLO reply */
	bool bol;		/* DATA: at the start of a line */
	bool cr;		/* DATA: a CR waits for its LF */
	size_t wlen;
	char wbuf[16384];	/* DATA output, dot-stuffed */
	char rdbuf[16384];	/* message input */
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

static void
ehlo_line(void *arg, const char *text, size_t len)
{
	struct smtp_client *c = arg;

	if (len >= 8 && strncasecmp(text, "SMTPUTF8", 8) == 0 &&
	    (len == 8 || text[8] == ' '))
		c->smtputf8 = true;
}

/* Connect, greeting, EHLO or HELO.  Every failure is temporary. */
static int
greet(struct smtp_client *c, const struct sockspec *to, const char *helo,
    int64_t deadline, char *err, size_t errlen)
{
	struct smtp_reply r;
	char cmd[300];

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
	snprintf(cmd, sizeof(cmd), "EHLO %s", helo);
	if (command(c, cmd, &r, ehlo_line, err, errlen) < 0)
		return SMTP_TEMPFAIL;
	if (r.code / 100 == 5) {	/* an old server: HELO */
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

static int
emit(struct smtp_client *c, const char *s, size_t n, char *err,
    size_t errlen)
{
	if (c->wlen + n > sizeof(c->wbuf)) {
		if (smtpio_write(&c->io, c->wbuf, c->wlen, err, errlen) < 0)
			return -1;
		c->wlen = 0;
	}
	memcpy(c->wbuf + c->wlen, s, n);
	c->wlen += n;
	return 0;
}

/* One message byte: line ends to CRLF, a leading '.' doubled. */
static int
stuff(struct smtp_client *c, char b, char *err, size_t errlen)
{
	if (c->cr) {		/* CR LF, or a bare CR: a line end either way */
		c->cr = false;
		c->bol = true;
		if (emit(c, "\r\n", 2, err, errlen) < 0)
			return -1;
		if (b == '\n')
			return 0;
	}
	if (b == '\r') {
		c->cr = true;
		return 0;
	}
	if (b == '\n') {
		c->bol = true;
		return emit(c, "\r\n", 2, err, errlen);
	}
	if (c->bol && b == '.' && emit(c, ".", 1, err, errlen) < 0)
		return -1;
	c->bol = false;
	return emit(c, &b, 1, err, errlen);
}

/* The message, a final line end if it lacks one, and ".". */
static int
send_message(struct smtp_client *c, const struct spool *msg, char *err,
    size_t errlen)
{
	uint64_t off = 0;
	ssize_t n, i;

	c->bol = true;
	c->cr = false;
	c->wlen = 0;
	while ((n = spool_read(msg, off, c->rdbuf, sizeof(c->rdbuf), err,
	    errlen)) > 0) {
		off += (uint64_t)n;
		for (i = 0; i < n; i++)
			if (stuff(c, c->rdbuf[i], err, errlen) < 0)
				return -1;
	}
	if (n < 0)
		return -1;
	if ((c->cr || !c->bol) && emit(c, "\r\n", 2, err, errlen) < 0)
		return -1;
	if (emit(c, ".\r\n", 3, err, errlen) < 0)
		return -1;
	return smtpio_write(&c->io, c->wbuf, c->wlen, err, errlen);
}

/* MAIL, RCPT..., DATA, message; the deadline is already set. */
static int
transaction(struct smtp_client *c, const char *from,
    const char *const *rcpts, size_t n, const struct spool *msg, char *err,
    size_t errlen)
{
	struct smtp_reply r;
	char cmd[400];
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
	snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>%s", from,
	    c->smtputf8 && (utf8 || has_8bit(from)) ? " SMTPUTF8" : "");
	if (command(c, cmd, &r, NULL, err, errlen) < 0)
		return SMTP_TEMPFAIL;
	if (r.code / 100 != 2)
		return refused(c, cmd, &r, err, errlen);
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
	if (send_message(c, msg, err, errlen) < 0 ||
	    smtpio_reply(&c->io, &r, NULL, NULL, err, errlen) < 0) {
		c->broken = true;
		return SMTP_TEMPFAIL;
	}
	if (r.code / 100 != 2)
		return refused(c, "message", &r, err, errlen);
	return SMTP_OK;
}

static struct smtp_client *
client_new(const char *helo, unsigned timeout_s, char *err, size_t errlen)
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
	return c;
}

int
smtp_open(struct smtp_client **out, const struct sockspec *to,
    const char *helo_name, unsigned timeout_s, char *err, size_t errlen)
{
	struct smtp_client *c;
	int rc;

	assert(out != NULL && to != NULL && helo_name != NULL);
	*out = NULL;
	if ((c = client_new(helo_name, timeout_s, err, errlen)) == NULL)
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
smtp_send(struct smtp_client *c, const char *mail_from,
    const char *const *rcpts, size_t nrcpts, const struct spool *message,
    char *err, size_t errlen)
{
	assert(c != NULL && mail_from != NULL && message != NULL);
	assert(rcpts != NULL || nrcpts == 0);
	c->io.deadline = smtpio_deadline_in(c->timeout_s);
	return transaction(c, mail_from, rcpts, nrcpts, message, err,
	    errlen);
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
    const char *mail_from, const char *const *rcpts, size_t nrcpts,
    const struct spool *message, unsigned timeout_s, char *err,
    size_t errlen)
{
	struct smtp_client *c;
	int rc;

	assert(to != NULL && helo_name != NULL && mail_from != NULL);
	assert(message != NULL && (rcpts != NULL || nrcpts == 0));
	/* Refuse bad addresses before even connecting. */
	if ((rc = check_envelope(mail_from, rcpts, nrcpts, err, errlen)) !=
	    SMTP_OK)
		return rc;
	if ((c = client_new(helo_name, timeout_s, err, errlen)) == NULL)
		return SMTP_TEMPFAIL;
	/* One deadline for the whole exchange. */
	rc = greet(c, to, helo_name, smtpio_deadline_in(timeout_s), err,
	    errlen);
	if (rc == SMTP_OK)
		rc = transaction(c, mail_from, rcpts, nrcpts, message, err,
		    errlen);
	smtp_close(c);
	return rc;
}
