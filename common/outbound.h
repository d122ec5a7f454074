/*
 * outbound.h -- what happens to one outgoing message at end-of-data.
 *
 * Two steps, both free of libmilter so they are tested directly:
 *
 *   outbound_plan()   per recipient: the policy decision (request flags
 *                     applied when the sender is trusted), the
 *                     certificate look-up and the resulting action; then
 *                     the verdict for the message (deliver, reject,
 *                     defer, tempfail, pass untouched) with the SMTP reply.
 *   outbound_build()  the copy that stays in the SMTP transaction: the
 *                     header edits and the new body (signed and/or
 *                     encrypted), checked before it is released.
 *
 * The milter applies the copy (callbacks.c); notices go out through
 * notice.h/smtpsubmit.h before the message is accepted.
 */
#ifndef SMIME_OUTBOUND_H
#define SMIME_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "certlist.h"
#include "certsrc.h"
#include "journal.h"
#include "policy.h"

struct message;
struct runtime;
struct signer;
struct sink;
struct spool;

enum rcpt_action {
	RA_ENCRYPT,	/* usable certificate(s): encrypted copy */
	RA_SIGN,	/* signed, not encrypted */
	RA_PLAIN,	/* as it came (request header and tag removed) */
	RA_REJECT,	/* missing-cert reject */
	RA_DEFER,	/* missing-cert defer */
	RA_NOTIFY,	/* missing-cert notify: dropped, sender told */
	RA_TEMPFAIL,	/* could not decide or look up: retry */
	RA_LIST,	/* a confidential list: expanded, itself dropped */
};
#define RA_COUNT (RA_LIST + 1)

struct rcpt_plan {
	const char *addr;		/* the message's or policy's string */
	const char *list;		/* member of this list, or NULL */
	struct policy_decision d;
	enum rcpt_action action;
	enum lookup_status lookup;	/* LOOKUP_NONE if not looked up */
	struct cert_list certs;		/* usable certificates (owned) */
	bool hidden;			/* not in To/Cc: a Bcc recipient */
	char why[200];			/* reason, for logs and notices */
};

enum plan_verdict {
	PLAN_PASS,	/* already encrypted: untouched */
	PLAN_DELIVER,	/* apply outbound_build() and accept */
	PLAN_REJECT,	/* 550 5.7.1 */
	PLAN_DEFER,	/* 451 4.7.1 */
	PLAN_TEMPFAIL,	/* 451 4.7.1 / 4.3.0 */
	PLAN_DISCARD,	/* every recipient was notified: nothing to send */
};

struct outbound_plan {
	struct rcpt_plan *r;
	size_t n;
	struct policy *policy;		/* reference held */
	unsigned request;		/* POL_REQ_* found in the message */
	bool trusted;			/* authenticated or internal */
	const char *trust_why;
	bool already_encrypted, already_signed;
	bool claims_encrypted;		/* header says so, the body does not */
	bool resubmitted;		/* our own marker verified: pass */
	bool forged_marker;		/* a marker that does not verify */
	const struct signer *signer;	/* NULL: nothing is signed */
	const char *sign_why;		/* why there is no signer */
	enum plan_verdict verdict;
	const char *rcode, *xcode;	/* SMTP reply for REJECT/DEFER/... */
	char reply[600];
	char log[900];			/* one line summary for syslog */
};

/*
 * Decide everything for msg with policy (the one in force when the
 * message began; NULL: the runtime's current one); internal: the client
 * is in InternalNetworks.  Returns 0 (see plan->verdict), or -1 when out
 * of memory.  Free with outbound_plan_free() in both cases.
 */
int outbound_plan(struct runtime *rt, struct policy *policy,
    const struct message *msg, bool internal, struct outbound_plan *plan);
void outbound_plan_free(struct outbound_plan *plan);

/* One header change, in libmilter's terms. */
struct header_edit {
	enum { HE_CHANGE, HE_ADD } op;
	char *name;
	unsigned index;		/* HE_CHANGE: 1 = first field of the name */
	char *value;		/* HE_CHANGE: NULL deletes the field */
};

/*
 * A copy re-submitted through ReinjectSocket (SPEC M8).  Its bytes are
 * made only when it is sent (outbound_extra_write): a fan-out to 1,000
 * recipients holds one copy at a time, not 1,000.
 */
struct outbound_extra {
	const char **rcpts;	/* the message's strings */
	size_t nrcpts;
	bool hidden;		/* a Bcc recipient's own copy */
	size_t group;		/* its delivery group (outbound_build.c) */
	char what[80];		/* "encrypted", "signed", "plain" */
};

struct outbound_state;

/*
 * What end-of-data does: the copy that stays in the SMTP transaction
 * (header edits, new body, recipients deleted) and the copies to
 * re-submit.  Delivery groups (SPEC M8): visible encrypted recipients
 * share a copy; every Bcc recipient gets a copy of its own (bcc shared:
 * one for all of them); signed-only and plain recipients get their own
 * copy; no Bcc recipient is ever in a copy with anybody else when it is
 * encrypted, and Bcc fields are on no copy.  The visible encrypted copy
 * stays in the transaction where there is one.
 */
struct outbound_copy {
	struct header_edit *edits;
	size_t nedits;
	struct spool *body;	/* new body, NULL: keep the body */
	char **drop_rcpts;	/* recipients to delete from the transaction */
	size_t ndrop;
	struct outbound_extra *extra;
	size_t nextra;
	bool discard;		/* only list members: all re-submitted */
	char summary[300];	/* "encrypted aes256-gcm to 2; +2 copies" */
	bool notice_follows;	/* a notice goes out after the copies */
	/* The message's journal fingerprint, made on first use by
	 * outbound_journal_fp() for the copies, the notice and the end:
	 * one pass over the body instead of one each.  "" until then. */
	char journal_fp[JOURNAL_KEY_LEN + 1];
	/* What the extra copies are written from (outbound_build.c);
	 * it refers to the message and plan, which must outlive it. */
	struct outbound_state *state;
};

/*
 * Build the copy that stays, and prepare the others (their content is
 * encrypted once, here; each copy is written when it is sent).  0, or -1
 * with a reason (the caller tempfails: fail closed).  Free *out with
 * outbound_copy_free() in both cases, before msg and plan.
 */
int outbound_build(struct runtime *rt, const struct message *msg,
    const struct outbound_plan *plan, struct outbound_copy *out, char *err,
    size_t errlen);

/*
 * Hand the re-submitted copies to ReinjectSocket in one connection, one
 * transaction each, skipping those the journal says went out already
 * (a retry after a failure half-way); progress(arg) is called between
 * copies (smfi_progress).  0, or -1 with the SMTP error (the caller
 * tempfails the original: nothing is lost).  The journal keeps its
 * record until outbound_delivered().
 */
int outbound_submit(struct runtime *rt, const struct message *msg,
    struct outbound_copy *c, const char *helo,
    void (*progress)(void *arg), void *arg, char *err, size_t errlen);
void outbound_copy_free(struct outbound_copy *c);

/*
 * Every copy and the notice went out and the original is about to be
 * accepted: drop the message's journal record.  Not before: a failure
 * after the copies (the notice) tempfails the original, and its retry
 * must not send them again.
 */
void outbound_delivered(struct runtime *rt, const struct message *msg,
    struct outbound_copy *c, const struct outbound_plan *plan);

/*
 * Write re-submitted copy i of c (from outbound_build) as a whole
 * message to out, for rcpts: all of c->extra[i].rcpts or, when the
 * copy is split into several transactions, some of them (the marker
 * covers exactly these).  An encrypted copy is self-checked before its
 * entity is written: its RecipientInfos must be exactly its group's
 * certificates.  0, or -1 with a reason; out may then hold part of the
 * copy, which must be discarded.
 */
int outbound_extra_write(const struct outbound_copy *c, size_t i,
    const char *const *rcpts, size_t n, const struct sink *out, char *err,
    size_t errlen);

/*
 * Only the request header's removal, the subject tag's and markers': for
 * mail that passes otherwise untouched (already encrypted, or our own
 * copy: verified_marker; its marker is kept unless RemoveValidMarker).
 * 0, or -1 when out of memory.
 */
int outbound_strip_requests(struct runtime *rt, const struct message *msg,
    bool verified_marker, struct outbound_copy *out);

/*
 * Send the notice for the RA_NOTIFY recipients to the sender through
 * ReinjectSocket (nothing to do without such recipients or with the
 * null sender), once: it is journalled like a copy, so that the retry of
 * a message tempfailed after it does not send it again.  c: the message's
 * copies (outbound_build), or a zeroed one when none were built; it
 * keeps the journal fingerprint.  hostname: the MTA's name (macro j),
 * for NoticeFrom without a domain and the notice's Message-ID.  0, or -1
 * with a reason (the caller tempfails the message).
 */
int outbound_send_notice(struct runtime *rt, const struct message *msg,
    const struct outbound_plan *plan, struct outbound_copy *c,
    const char *hostname, char *err, size_t errlen);

/* Does outbound_send_notice() have somebody to tell (RA_NOTIFY
 * recipients, and a sender that is not the null sender)? */
bool outbound_notice_due(const struct message *msg,
    const struct outbound_plan *plan);

/*
 * SPEC M9: if msg is S/MIME-encrypted and goes to confidential lists
 * whose keys SenderKeys holds, the message their members get instead:
 * decrypted with the list's key, the MIME header fields replaced by the
 * decrypted entity's, those lists its only recipients.  *others: the
 * original has other recipients (they keep it as it is).  Returns 1 and
 * *out (message_free it), 0 when this does not apply, -1 with a reason
 * (the caller tempfails).
 */
int outbound_open_for_lists(struct runtime *rt, struct policy *p,
    const struct message *msg, struct message **out, bool *others,
    char *err, size_t errlen);

/*
 * With outbound_open_for_lists() *others: what the other recipients'
 * original needs -- cleaned like any mail that passes (no Bcc,
 * Resent-Bcc, request header, subject tag or forged marker: see
 * outbound_strip_requests) and, unless lists_dropped (the copies built
 * for work already delete them), without the lists of work, whose
 * members got copies of their own or a notice.  0, or -1 when out of
 * memory.  Free *out with outbound_copy_free().
 */
int outbound_keep_for_others(struct runtime *rt, const struct message *msg,
    const struct message *work, bool lists_dropped,
    struct outbound_copy *out);

/*
 * Append s to the SMTP reply text in out (NUL-terminated, outlen bytes):
 * printable ASCII only, anything else and '%' (a format character to
 * libmilter) become '?', so nothing from a message can break the reply.
 */
void outbound_reply_append(char *out, size_t outlen, const char *s);

const char *rcpt_action_name(enum rcpt_action a);

#endif
