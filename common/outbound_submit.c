/*
 * outbound_submit.c -- hand the extra copies of a message to the MTA's
 * milter-free listener (ReinjectSocket): one connection, one transaction
 * per copy (or per ReinjectRecipientLimit recipients of it), the original
 * envelope sender, each copy written while it is sent.  The journal
 * (journal.h) makes a retry after a failure half-way skip the copies that
 * went out.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "journal.h"
#include "log.h"
#include "message.h"
#include "outbound_int.h"
#include "runtime.h"
#include "smtpsubmit.h"

/* What smtp_send_stream asks to write: copy i for some recipients. */
struct copy_part {
	const struct outbound_copy *c;
	size_t i;
	const char *const *rcpts;
	size_t n;
};

static int
produce_copy(void *arg, const struct sink *out, char *err, size_t errlen)
{
	const struct copy_part *p = arg;

	return outbound_extra_write(p->c, p->i, p->rcpts, p->n, out, err,
	    errlen);
}

/*
 * Copy i, part [from, from + n) of its recipients, unless the journal
 * says it went out before.  *smtp is connected on first use.
 */
static int
submit_part(struct runtime *rt, const struct message *msg,
    const struct outbound_copy *c, size_t i, size_t from, size_t n,
    bool last, const char *fp, const char *helo, struct smtp_client **smtp,
    char *err, size_t errlen)
{
	const struct config *cfg = rt->cfg;
	const struct outbound_extra *x = &c->extra[i];
	struct copy_part part = { c, i, x->rcpts + from, n };
	char key[JOURNAL_KEY_LEN + 1], which[64] = "";

	if (n < x->nrcpts)
		snprintf(which, sizeof(which), ", recipients %zu-%zu of %zu",
		    from + 1, from + n, x->nrcpts);
	journal_copy_key(part.rcpts, n, key, sizeof(key));
	if (key[0] == '\0') {	/* no hash (out of memory): no record */
		snprintf(err, errlen, "cannot make the journal key");
		return -1;
	}
	if (journal_has(rt->journal_dir, fp, key)) {
		log_qid(LOG_LVL_NOTICE, msg->qid, "copy %zu (%s, %zu "
		    "recipient%s%s) was re-submitted before: not again",
		    i + 1, x->what, n, n == 1 ? "" : "s", which);
		return 0;
	}
	if (*smtp == NULL && smtp_open(smtp, &cfg->reinject, helo,
	    rt->reinject_sec, cfg->reinject_timeout, err, errlen) !=
	    SMTP_OK) {
		*smtp = NULL;
		return -1;
	}
	if (smtp_send_stream(*smtp, msg->sender, part.rcpts, n, produce_copy,
	    &part, err, errlen) != SMTP_OK)
		return -1;
	/*
	 * The record is for a retry after a failure further on.  After the
	 * last part nothing can fail on our side but the notice: without
	 * one, recording it (a file made, synced and removed again for
	 * nearly every message with a Bcc recipient) buys nothing.
	 */
	if ((!last || c->notice_follows) &&
	    journal_add(rt->journal_dir, fp, key, err, errlen) != 0)
		/* It went out; a retry may send it again.  Say so. */
		log_qid(LOG_LVL_ERROR, msg->qid, "%s", err);
	log_qid(LOG_LVL_INFO, msg->qid, "copy %zu re-submitted: %s, %zu "
	    "recipient%s%s", i + 1, x->what, n, n == 1 ? "" : "s", which);
	return 0;
}

const char *
outbound_journal_fp(struct outbound_copy *c, const struct message *msg)
{
	if (c->journal_fp[0] == '\0' && journal_fingerprint(msg,
	    c->journal_fp, sizeof(c->journal_fp)) != 0) {
		c->journal_fp[0] = '\0';
		return NULL;
	}
	return c->journal_fp;
}

int
outbound_submit(struct runtime *rt, const struct message *msg,
    struct outbound_copy *c, const char *helo,
    void (*progress)(void *arg), void *arg, char *err, size_t errlen)
{
	size_t limit = rt->cfg->reinject_rcpt_limit, i, from, n;
	struct smtp_client *smtp = NULL;
	const char *fp;
	int rc = 0;

	if (c->nextra == 0)
		return 0;
	if ((fp = outbound_journal_fp(c, msg)) == NULL) {
		snprintf(err, errlen, "cannot fingerprint the message");
		return -1;
	}
	/*
	 * Each copy is made while it is sent.  A copy for more recipients
	 * than the listener takes at once (Postfix: smtpd_recipient_limit,
	 * with a 4xx for the rest, so it would never go) goes in several
	 * transactions, each journalled on its own.
	 */
	for (i = 0; i < c->nextra && rc == 0; i++) {
		if (c->extra[i].nrcpts == 0) {	/* outbound_build refuses */
			snprintf(err, errlen, "copy %zu has no recipient",
			    i + 1);
			rc = -1;
			break;
		}
		for (from = 0; from < c->extra[i].nrcpts && rc == 0;
		    from += n) {
			n = c->extra[i].nrcpts - from;
			if (limit > 0 && n > limit)
				n = limit;
			rc = submit_part(rt, msg, c, i, from, n,
			    i + 1 == c->nextra && from + n ==
			    c->extra[i].nrcpts, fp, helo, &smtp, err, errlen);
			/* Each part is the whole message again. */
			if (rc == 0 && progress != NULL)
				progress(arg);
		}
	}
	smtp_close(smtp);
	return rc;
}

void
outbound_delivered(struct runtime *rt, const struct message *msg,
    struct outbound_copy *c, const struct outbound_plan *plan)
{
	const char *fp;

	/* No record without a copy or a notice, and then no reason to hash
	 * the body at all. */
	if (c->nextra == 0 && !outbound_notice_due(msg, plan))
		return;
	/* The record has done its job.  Kept, a later message that
	 * happens to look the same would lose its copies. */
	if ((fp = outbound_journal_fp(c, msg)) != NULL)
		journal_forget(rt->journal_dir, fp);
}
