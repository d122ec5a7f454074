/*
 * outbound_notice.c -- tell the sender which recipients got nothing
 * (missing-cert notify).  The notice goes to the MTA's milter-free
 * ReinjectSocket with the null envelope sender (RFC 3834), before the
 * message itself is accepted: if it cannot be sent, the message is
 * tempfailed and nothing is lost; the journal (journal.h) keeps a retry
 * from sending it twice.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "journal.h"
#include "log.h"
#include "message.h"
#include "mime.h"
#include "notice.h"
#include "outbound_int.h"
#include "runtime.h"
#include "sink.h"
#include "smtpsubmit.h"
#include "spool.h"

#define NOTICE_TIMEOUT 30

static const char *
header_value(const struct message *msg, const char *name)
{
	const struct header *h = mime_find_header(msg->headers, msg->nheaders,
	    name);

	return h != NULL ? h->value : NULL;
}

bool
outbound_notice_due(const struct message *msg,
    const struct outbound_plan *plan)
{
	size_t i;

	for (i = 0; i < plan->n && msg->sender[0] != '\0'; i++)
		if (plan->r[i].action == RA_NOTIFY)
			return true;
	return false;
}

int
outbound_send_notice(struct runtime *rt, const struct message *msg,
    const struct outbound_plan *plan, struct outbound_copy *c,
    const char *hostname, char *err, size_t errlen)
{
	const struct config *cfg = rt->cfg;
	struct notice_entry *e = calloc(plan->n + 1, sizeof(*e));
	struct notice_info info = { 0 };
	char from[512], key[JOURNAL_KEY_LEN + 1];
	const char *rcpt[1], *notice_key[1] = { "<notice>" }, *fp;
	struct spool *sp = NULL;
	struct sink s;
	size_t i, n = 0;
	int rc = -1;

	if (e == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < plan->n; i++)
		if (plan->r[i].action == RA_NOTIFY) {
			const char *list = plan->r[i].list;

			/* Members of a confidential list stay unnamed: the
			 * notice names the list, once (members follow each
			 * other in the plan). */
			if (list != NULL && n > 0 && e[n - 1].address == list)
				continue;
			e[n].address = list != NULL ? list : plan->r[i].addr;
			e[n].reason = list != NULL ? "members of this list have "
			    "no usable certificate" : plan->r[i].why;
			info.allow_plain_ok_hint |= plan->r[i].d.s.allow_plain_ok;
			n++;
		}
	if (n == 0 || msg->sender[0] == '\0') {
		/* Nobody to tell: the null sender never gets notices. */
		free(e);
		return 0;
	}
	/* The notice's journal key: a one-word "recipient list" no copy
	 * can have (every recipient address has an '@'). */
	journal_copy_key(notice_key, 1, key, sizeof(key));
	if (key[0] == '\0' || (fp = outbound_journal_fp(c, msg)) == NULL) {
		snprintf(err, errlen, "cannot fingerprint the message");
		goto done;
	}
	if (journal_has(rt->journal_dir, fp, key)) {
		log_qid(LOG_LVL_NOTICE, msg->qid, "the notice to <%s> was "
		    "sent before: not again", msg->sender);
		rc = 0;
		goto done;
	}
	if (strchr(cfg->notice_from, '@') != NULL)
		snprintf(from, sizeof(from), "%s", cfg->notice_from);
	else
		snprintf(from, sizeof(from), "%s@%s", cfg->notice_from,
		    hostname);
	info.from = from;
	info.to = msg->sender;
	info.orig_subject = header_value(msg, "Subject");
	info.orig_message_id = header_value(msg, "Message-ID");
	info.queue_id = msg->qid;
	info.hostname = hostname;
	info.request_header = cfg->request_header;
	if (cfg->request_header[0] == '\0')
		info.allow_plain_ok_hint = false;
	if ((sp = spool_new(cfg->spool_dir, cfg->spool_threshold)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto done;
	}
	s = sink_to_spool(sp);
	if (notice_build(&info, e, n, &s, err, errlen) != 0)
		goto done;
	rcpt[0] = msg->sender;
	if (smtp_submit(&cfg->reinject, hostname, rt->reinject_sec, "", rcpt,
	    1, sp, NOTICE_TIMEOUT, err, errlen) != SMTP_OK)
		goto done;
	if (journal_add(rt->journal_dir, fp, key, err, errlen) != 0)
		/* It went out; a retry may send it again.  Say so. */
		log_qid(LOG_LVL_ERROR, msg->qid, "%s", err);
	rc = 0;
done:
	spool_free(sp);
	free(e);
	return rc;
}
