/*
 * notice.c -- the "missing certificate" notice to the sender.
 */
#include "notice.h"

#include <assert.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "address.h"
#include "mimeenc.h"
#include "rfc2047.h"
#include "sink.h"
#include "sslerr.h"
#include "utf8text.h"

#define SUBJECT_PREFIX	"Undelivered (no certificate): "
#define RAW_MAX		4096	/* bytes of the raw Subject we look at */
#define MSGID_MAX	250
#define QUEUEID_MAX	64
#define NOTICE_ADDRESS_MAX	320

/* The body goes out as it is (7bit) or through the QP encoder. */
struct body {
	const struct sink *out;
	bool qp;
	struct qpenc enc;
};

static int
put(struct body *b, const char *s, char *err, size_t errlen)
{
	return b->qp ? qpenc_update(&b->enc, s, strlen(s), err, errlen) :
	    sink_puts(b->out, s, err, errlen);
}

static bool
hostname_ok(const char *h)
{
	size_t len = strlen(h), i;

	if (len == 0 || len > 253 || h[0] == '.' || h[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++)
		if (!(isalnum((unsigned char)h[i]) || h[i] == '-' ||
		    (h[i] == '.' && h[i + 1] != '.')))
			return false;
	return true;
}

static bool
field_name_ok(const char *name)
{
	size_t len = strlen(name), i;

	if (len == 0 || len > 76)
		return false;
	for (i = 0; i < len; i++)
		if (name[i] <= 0x20 || name[i] >= 0x7f || name[i] == ':')
			return false;
	return true;
}

/* RFC 5322 dot-atom-text. */
static bool
dot_atom(const char *p, size_t n)
{
	size_t i;

	if (n == 0 || p[0] == '.' || p[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '.' ? p[i + 1] == '.' : !(isalnum(c) ||
		    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL))
			return false;
	}
	return true;
}

/* A msg-id, RFC 5322 section 3.6.4 (no obsolete forms), alone. */
static bool
msgid_ok(const char *s)
{
	size_t len = strlen(s), i;
	const char *at;

	if (len < 5 || len > MSGID_MAX || s[0] != '<' || s[len - 1] != '>' ||
	    (at = memchr(s, '@', len)) == NULL || !dot_atom(s + 1,
	    (size_t)(at - s - 1)))
		return false;
	if (at[1] != '[')
		return dot_atom(at + 1, (size_t)(s + len - 1 - at - 1));
	/* no-fold-literal: "[" dtext* "]" */
	for (i = (size_t)(at - s) + 2; i < len - 2; i++)
		if (s[i] < 33 || s[i] > 126 || s[i] == '[' || s[i] == ']' ||
		    s[i] == '\\')
			return false;
	return len - (size_t)(at - s) >= 4 && s[len - 2] == ']';
}

/* RFC 5322 date-time in local time; fixed English names (no locale). */
static void
format_date(time_t t, char *buf, size_t len)
{
	static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long off;

	localtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	snprintf(buf, len, "%s, %d %s %d %02d:%02d:%02d %c%02ld%02ld",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    off < 0 ? '-' : '+', labs(off) / 60, labs(off) % 60);
}

/* "<32 random hex digits@hostname>" */
static int
new_message_id(const char *hostname, char *buf, size_t len, char *err,
    size_t errlen)
{
	unsigned char rnd[16];
	char hex[sizeof(rnd) * 2 + 1];
	size_t i;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
		ssl_error(err, errlen, "no randomness for the Message-ID");
		return -1;
	}
	for (i = 0; i < sizeof(rnd); i++)
		snprintf(hex + 2 * i, 3, "%02x", rnd[i]);
	snprintf(buf, len, "<%s@%s>", hex, hostname);
	return 0;
}

/* The original Subject, decoded and cleaned, at most 200 characters. */
static int
clean_subject(const char *raw, char *out, size_t outlen, char *err,
    size_t errlen)
{
	char *unfolded = malloc(RAW_MAX + 1), *decoded = malloc(3 * RAW_MAX +
	    1);
	size_t n;
	int rc = -1;

	if (unfolded == NULL || decoded == NULL) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	/* Unfold first: encoded-words are split across folded lines. */
	n = utf8_clean(raw != NULL ? raw : "", raw != NULL ? strlen(raw) : 0,
	    RAW_MAX, unfolded, RAW_MAX + 1);
	n = rfc2047_decode(unfolded, n, decoded, 3 * RAW_MAX + 1);
	utf8_clean(decoded, n, NOTICE_SUBJECT_MAX, out, outlen);
	rc = 0;
cleanup:
	free(unfolded);
	free(decoded);
	return rc;
}

static int
check_info(const struct notice_info *in, size_t n, char *err, size_t errlen)
{
	if (in->to == NULL || in->to[0] == '\0')
		snprintf(err, errlen, "no sender to notify (null sender)");
	else if (!address_is_safe(in->to))
		snprintf(err, errlen, "sender address unsafe in a header");
	else if (in->from == NULL || in->from[0] == '\0' ||
	    !address_is_safe(in->from))
		snprintf(err, errlen, "bad NoticeFrom address");
	else if (in->hostname == NULL || !hostname_ok(in->hostname))
		snprintf(err, errlen, "bad host name for the Message-ID");
	else if (in->allow_plain_ok_hint && (in->request_header == NULL ||
	    !field_name_ok(in->request_header)))
		snprintf(err, errlen, "bad request header name");
	else if (n == 0)
		snprintf(err, errlen, "no recipients to report");
	else
		return 0;
	return -1;
}

static bool
all_ascii(const struct notice_entry *e, size_t n, const char *subject,
    const char *msgid, const char *qid)
{
	size_t i;

	if (!text_is_ascii(subject) || !text_is_ascii(msgid) ||
	    !text_is_ascii(qid))
		return false;
	for (i = 0; i < n; i++)
		if (!text_is_ascii(e[i].address) || (e[i].reason != NULL &&
		    !text_is_ascii(e[i].reason)))
			return false;
	return true;
}

static int
write_header(const struct notice_info *in, const char *subject,
    const char *msgid, bool qp, const struct sink *out, char *err,
    size_t errlen)
{
	char line[1100], date[64], id[300], *value;
	int rc;

	format_date(in->date != 0 ? in->date : time(NULL), date, sizeof(date));
	if (new_message_id(in->hostname, id, sizeof(id), err, errlen) < 0)
		return -1;
	snprintf(line, sizeof(line), "Date: %s\r\nFrom: \"S/MIME Gateway\" "
	    "<%s>\r\nTo: <%s>\r\n", date, in->from, in->to);
	if (sink_puts(out, line, err, errlen) < 0)
		return -1;
	if ((value = malloc(sizeof(SUBJECT_PREFIX) + strlen(subject))) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	snprintf(value, sizeof(SUBJECT_PREFIX) + strlen(subject), "%s%s",
	    SUBJECT_PREFIX, subject);
	if (subject[0] == '\0')	/* no dangling ": " */
		value[strlen(SUBJECT_PREFIX) - 2] = '\0';
	rc = rfc2047_write_field(out, "Subject", value, err, errlen);
	free(value);
	if (rc < 0)
		return -1;
	snprintf(line, sizeof(line), "Message-ID: %s\r\n", id);
	if (msgid_ok(msgid))
		snprintf(line + strlen(line), sizeof(line) - strlen(line),
		    "In-Reply-To: %s\r\nReferences: %s\r\n", msgid, msgid);
	if (sink_puts(out, line, err, errlen) < 0)
		return -1;
	return sink_puts(out, "Auto-Submitted: auto-generated\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: ", err, errlen) < 0 ||
	    sink_puts(out, qp ? "quoted-printable\r\n\r\n" : "7bit\r\n\r\n",
	    err, errlen) < 0 ? -1 : 0;
}

static int
write_entries(struct body *b, const struct notice_entry *e, size_t n,
    char *err, size_t errlen)
{
	char addr[4 * NOTICE_ADDRESS_MAX + 1], reason[4 * NOTICE_REASON_MAX + 1];
	size_t i;

	for (i = 0; i < n; i++) {
		utf8_clean(e[i].address, strlen(e[i].address), NOTICE_ADDRESS_MAX,
		    addr, sizeof(addr));
		if (e[i].reason != NULL)
			utf8_clean(e[i].reason, strlen(e[i].reason),
			    NOTICE_REASON_MAX, reason, sizeof(reason));
		if (e[i].reason == NULL || reason[0] == '\0')
			snprintf(reason, sizeof(reason), "no usable "
			    "certificate");
		if (put(b, "  - ", err, errlen) < 0 || put(b, addr, err,
		    errlen) < 0 || put(b, ": ", err, errlen) < 0 ||
		    put(b, reason, err, errlen) < 0 || put(b, "\r\n", err,
		    errlen) < 0)
			return -1;
	}
	return 0;
}

static int
write_body(const struct notice_info *in, const struct notice_entry *e,
    size_t n, const char *subject, const char *msgid, const char *qid,
    struct body *b, char *err, size_t errlen)
{
	const char *parts[] = {
	    "This is an automatic notice from the mail gateway ",
	    in->hostname, ".\r\n\r\nYour message\r\n\r\n  Subject:    ",
	    subject[0] != '\0' ? subject : "(none)",
	    "\r\n  Message-ID: ", msgid[0] != '\0' ? msgid : "(none)",
	    "\r\n  Queue ID:   ", qid[0] != '\0' ? qid : "(unknown)",
	    "\r\n\r\nwas NOT delivered to the recipients below.  The mail "
	    "policy requires\r\nmessages to them to be encrypted, and no "
	    "usable certificate was found\r\nfor them:\r\n\r\n",
	};
	size_t i;

	for (i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		if (put(b, parts[i], err, errlen) < 0)
			return -1;
	if (write_entries(b, e, n, err, errlen) < 0 ||
	    put(b, "\r\nRecipients not listed here are not affected by this "
	    "notice.\r\n\r\nWhat you can do:\r\n\r\n  - Ask these recipients "
	    "for a digitally signed (S/MIME) message,\r\n    or ask them or "
	    "their administrator to publish their certificate\r\n    in the "
	    "directory; then send your message again.\r\n", err, errlen) < 0)
		return -1;
	if (in->allow_plain_ok_hint && (put(b, "  - If the message need not "
	    "be encrypted, send it again with the\r\n    header line\r\n\r\n"
	    "        ", err, errlen) < 0 || put(b, in->request_header, err,
	    errlen) < 0 || put(b, ": plain-ok\r\n\r\n    added; these "
	    "recipients then receive it without encryption.\r\n", err,
	    errlen) < 0))
		return -1;
	return 0;
}

int
notice_build(const struct notice_info *info, const struct notice_entry *e,
    size_t n, const struct sink *out, char *err, size_t errlen)
{
	char subject[4 * NOTICE_SUBJECT_MAX + 1], msgid[4 * MSGID_MAX + 8];
	char qid[4 * QUEUEID_MAX + 1];
	const char *raw;
	struct body b = { .out = out };

	assert(info != NULL && out != NULL && (e != NULL || n == 0));
	if (check_info(info, n, err, errlen) < 0 ||
	    clean_subject(info->orig_subject, subject, sizeof(subject), err,
	    errlen) < 0)
		return -1;
	raw = info->orig_message_id != NULL ? info->orig_message_id : "";
	/* One more than a msg-id may have: a cut one ("...") is invalid. */
	utf8_clean(raw, strlen(raw), MSGID_MAX + 1, msgid, sizeof(msgid));
	raw = info->queue_id != NULL ? info->queue_id : "";
	utf8_clean(raw, strlen(raw), QUEUEID_MAX, qid, sizeof(qid));
	b.qp = !all_ascii(e, n, subject, msgid, qid);
	if (write_header(info, subject, msgid, b.qp, out, err, errlen) < 0)
		return -1;
	if (b.qp)
		qpenc_init(&b.enc, out, true);
	if (write_body(info, e, n, subject, msgid, qid, &b, err, errlen) < 0)
		return -1;
	return b.qp ? qpenc_final(&b.enc, err, errlen) : 0;
}
