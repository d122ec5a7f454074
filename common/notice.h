/*
 * notice.h -- the notice to a sender whose message some recipients did
 * not get (policy "missing-cert notify", SPEC M5): a plain text MIME
 * message listing those recipients and why.
 *
 * Everything taken from the original message (Subject, Message-ID, queue
 * id, addresses, reasons) is untrusted: it is unfolded, stripped of
 * control characters, cut to a bounded length and, in the header,
 * written as RFC 2047 encoded-words where needed, so no value can start a
 * header line of its own and no line exceeds 998 octets.
 */
#ifndef SMIME_NOTICE_H
#define SMIME_NOTICE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct sink;

struct notice_info {
	const char *from;		/* NoticeFrom address */
	const char *to;			/* the original envelope sender */
	const char *orig_subject;	/* raw header value, or NULL */
	const char *orig_message_id;	/* raw header value, or NULL */
	const char *queue_id;		/* of the original, or NULL */
	const char *hostname;		/* our name: Message-ID, the text */
	const char *request_header;	/* e.g. "X-SMIME-Request" */
	bool allow_plain_ok_hint;	/* suggest resending with plain-ok */
	time_t date;			/* the Date field; 0 = now */
};

/* A recipient that got nothing, and why (reason may be NULL). */
struct notice_entry {
	const char *address;
	const char *reason;
};

/* Characters kept of untrusted values; longer ones end in "...". */
#define NOTICE_SUBJECT_MAX	200
#define NOTICE_REASON_MAX	300

/*
 * Write the notice for the n >= 1 recipients in e to out: header (Date,
 * From, To, Subject "Undelivered (no certificate): " + the original
 * subject, a new Message-ID from RAND_bytes, In-Reply-To and References
 * when the original Message-ID is a valid msg-id, Auto-Submitted:
 * auto-generated as RFC 3834 asks, MIME-Version, text/plain UTF-8, 7bit
 * when all is ASCII, else quoted-printable), then the explanation with
 * one line per recipient and what the sender can do.  The request header
 * hint ("resend with <request_header>: plain-ok") appears only with
 * allow_plain_ok_hint.  Lines end in CRLF.
 *
 * Returns 0, or -1 with a reason in err: to is empty (never notify the
 * null sender: that is how bounce loops start) or not a safe address,
 * from or hostname unusable, request_header not a field name while the
 * hint is on, no entries, no randomness, or the sink failed.  Send the
 * notice with the null sender (MAIL FROM:<>), RFC 3834 section 3.3.
 */
int notice_build(const struct notice_info *info, const struct notice_entry *e,
    size_t n, const struct sink *out, char *err, size_t errlen);

#endif
