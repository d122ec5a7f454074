/*
 * outbound_submit.c -- hand the extra copies of a message to the MTA's
 * milter-free listener (ReinjectSocket): one connection, one transaction
 * per copy, the original envelope sender.  The journal (journal.h) makes
 * a retry after a failure half-way skip the copies that went out.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "journal.h"
#include "log.h"
#include "message.h"
#include "outbound_int.h"
#include "runtime.h"
#include "smtpsubmit.h"

int
outbound_submit(struct runtime *rt, const struct message *msg,
    const struct outbound_copy *c, const char *helo,
    void (*progress)(void *arg), void *arg, char *err, size_t errlen)
{
	const struct config *cfg = rt->cfg;
	char fp[JOURNAL_KEY_LEN + 1], key[JOURNAL_KEY_LEN + 1];
	struct smtp_client *smtp = NULL;
	size_t i;
	int rc = 0;

	if (c->nextra == 0)
		return 0;
	if (journal_fingerprint(msg, fp, sizeof(fp)) != 0) {
		snprintf(err, errlen, "cannot fingerprint the message");
		return -1;
	}
	for (i = 0; i < c->nextra && rc == 0; i++) {
		const struct outbound_extra *x = &c->extra[i];

		journal_copy_key(x->rcpts, x->nrcpts, key, sizeof(key));
		if (journal_has(rt->journal_dir, fp, key)) {
			log_qid(LOG_LVL_NOTICE, msg->qid, "copy %zu (%s, %zu "
			    "recipient%s) was re-submitted before: not again",
			    i + 1, x->what, x->nrcpts, x->nrcpts == 1 ? "" :
			    "s");
			continue;
		}
		if (smtp == NULL && smtp_open(&smtp, &cfg->reinject, helo,
		    rt->reinject_sec, cfg->reinject_timeout, err,
		    errlen) != SMTP_OK) {
			smtp = NULL;
			rc = -1;
			break;
		}
		if (smtp_send(smtp, msg->sender, x->rcpts, x->nrcpts,
		    x->message, err, errlen) != SMTP_OK) {
			rc = -1;
			break;
		}
		if (journal_add(rt->journal_dir, fp, key, err, errlen) != 0)
			/* It went out; a retry may send it again.  Say so. */
			log_qid(LOG_LVL_ERROR, msg->qid, "%s", err);
		log_qid(LOG_LVL_INFO, msg->qid, "copy %zu re-submitted: %s, "
		    "%zu recipient%s", i + 1, x->what, x->nrcpts,
		    x->nrcpts == 1 ? "" : "s");
		if (progress != NULL)
			progress(arg);
	}
	smtp_close(smtp);
	/* All handed over: the record has done its job.  Kept, a later
	 * message that happens to look the same would lose its copies. */
	if (rc == 0)
		journal_forget(rt->journal_dir, fp);
	return rc;
}
