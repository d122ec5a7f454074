/*
 * callbacks.c -- libmilter callbacks: collect the message, hand it to the
 * pipeline at end-of-data, map every outcome to a reply in one place.
 *
 * Two contexts: struct conn lives from connect to close (attached with
 * smfi_setpriv); struct message lives from MAIL FROM to end-of-data or
 * abort.  libmilter may call close without connect (NULL private data).
 */
#include "callbacks.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "certlookup.h"
#include "config.h"
#include "log.h"
#include "message.h"
#include "mta.h"
#include "netlist.h"
#include "outbound.h"
#include "policy.h"
#include "runtime.h"
#include "spool.h"

/* Actions later steps need: body and header rewriting, recipient
 * changes for delivery groups, quarantine for held mail. */
#define WANTED_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | \
    SMFIF_DELRCPT | SMFIF_CHGHDRS | SMFIF_QUARANTINE)

struct conn {
	char *hostname;
	char client_addr[INET6_ADDRSTRLEN];
	char *daemon_name;
	char *mta_host;		/* macro j: the MTA's own name */
	struct message *msg;
	struct runtime *rt;	/* taken at MAIL FROM, for this message */
	struct policy *policy;	/* the policy in force at MAIL FROM */
	bool internal;		/* client in InternalNetworks */
};

/* Outcomes of a callback; reply_for() turns them into milter replies. */
enum outcome {
	OUT_CONTINUE,
	OUT_TOO_BIG,
	OUT_TEMPFAIL,
};

static struct conn *
conn_get(SMFICTX *ctx)
{
	return mta_getpriv(ctx);
}

static void
conn_drop_message(struct conn *conn)
{
	message_free(conn->msg);
	conn->msg = NULL;
	policy_release(conn->policy);
	conn->policy = NULL;
	runtime_release(conn->rt);
	conn->rt = NULL;
}

/* The queue id is known only after the first RCPT in Postfix: refresh. */
static void
refresh_qid(SMFICTX *ctx, struct message *msg)
{
	const char *qid = mta_getsymval(ctx, "i");

	if (qid != NULL && *qid != '\0' &&
	    (msg->qid == NULL || strcmp(msg->qid, qid) != 0))
		(void)message_set_qid(msg, qid);
}

/*
 * The one place where internal outcomes become SMTP replies.  Frees the
 * message on every final outcome, so a later abort finds nothing to do.
 */
static sfsistat
reply_for(SMFICTX *ctx, struct conn *conn, enum outcome out,
    const char *reason)
{
	const char *qid = conn->msg != NULL ? conn->msg->qid : NULL;

	switch (out) {
	case OUT_CONTINUE:
		return SMFIS_CONTINUE;
	case OUT_TOO_BIG:
		log_qid(LOG_LVL_NOTICE, qid, "action=reject reason=\"%s\"",
		    reason);
		(void)mta_setreply(ctx, "552", "5.3.4",
		    "Message too big for this system");
		conn_drop_message(conn);
		return SMFIS_REJECT;
	case OUT_TEMPFAIL:
		log_qid(LOG_LVL_ERROR, qid, "action=tempfail reason=\"%s\"",
		    reason);
		(void)mta_setreply(ctx, "451", "4.3.0",
		    "Temporary local problem, please try again later");
		conn_drop_message(conn);
		return SMFIS_TEMPFAIL;
	}
	return SMFIS_TEMPFAIL;
}

static sfsistat
reply_for_status(SMFICTX *ctx, struct conn *conn, enum msg_status st)
{
	if (st == MSG_OK)
		return SMFIS_CONTINUE;
	return reply_for(ctx, conn, st == MSG_TOO_BIG ? OUT_TOO_BIG :
	    OUT_TEMPFAIL, conn->msg->reason);
}

static sfsistat
cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)f2;
	(void)f3;
	if ((f0 & WANTED_ACTIONS) != WANTED_ACTIONS)
		log_msg(LOG_LVL_WARNING, "MTA does not offer all milter "
		    "actions (offered 0x%lx, want 0x%lx)", f0,
		    (unsigned long)WANTED_ACTIONS);
	*pf0 = f0 & WANTED_ACTIONS;
	/*
	 * Raw header values (leading space kept) for faithful rewriting;
	 * skip the callbacks we never use -- but not DATA.  Postfix sends
	 * the DATA-stage macros even to a filter that skips the event, and
	 * flushes them on their own when smtpd hands the connection to
	 * cleanup(8); with nothing to answer them, cleanup's first header
	 * packet waits (Nagle) for an ACK our kernel delays by 40 ms.
	 * Taking the event (libmilter answers "continue" itself: there is
	 * no xxfi_data) costs one round trip and carries that ACK at once.
	 * "make bench-e2e" measures it.
	 */
	*pf1 = f1 & (SMFIP_HDR_LEADSPC | SMFIP_NOHELO | SMFIP_NOUNKNOWN);
	*pf2 = 0;
	*pf3 = 0;
	if (f0 & SMFIF_SETSYMLIST) {
		*pf0 |= SMFIF_SETSYMLIST;
		(void)mta_setsymlist(ctx, SMFIM_CONNECT,
		    "{daemon_name} {client_addr} j");
		(void)mta_setsymlist(ctx, SMFIM_ENVFROM,
		    "i {auth_authen} {auth_type}");
		(void)mta_setsymlist(ctx, SMFIM_ENVRCPT, "i");
		(void)mta_setsymlist(ctx, SMFIM_EOH, "i");
		(void)mta_setsymlist(ctx, SMFIM_EOM, "i");
	}
	return SMFIS_CONTINUE;
}

static void
format_addr(const struct sockaddr *sa, char *out, size_t outlen)
{
	out[0] = '\0';
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)
		    sa)->sin_addr, out, (socklen_t)outlen);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)
		    (const void *)sa)->sin6_addr, out, (socklen_t)outlen);
}

static sfsistat
cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *hostaddr)
{
	struct conn *conn = calloc(1, sizeof(*conn));
	const char *daemon, *addr;

	if (conn == NULL) {
		log_msg(LOG_LVL_ERROR, "connect: out of memory");
		return SMFIS_TEMPFAIL;
	}
	conn->hostname = strdup(hostname != NULL ? hostname : "unknown");
	addr = mta_getsymval(ctx, "j");
	conn->mta_host = strdup(addr != NULL && *addr != '\0' ? addr :
	    "localhost");
	daemon = mta_getsymval(ctx, "{daemon_name}");
	conn->daemon_name = daemon != NULL ? strdup(daemon) : NULL;
	format_addr(hostaddr, conn->client_addr, sizeof(conn->client_addr));
	addr = mta_getsymval(ctx, "{client_addr}");
	if (conn->client_addr[0] == '\0' && addr != NULL)
		snprintf(conn->client_addr, sizeof(conn->client_addr), "%s",
		    addr);
	if (conn->hostname == NULL || conn->mta_host == NULL ||
	    (daemon != NULL && conn->daemon_name == NULL)) {
		free(conn->mta_host);
		free(conn->hostname);
		free(conn->daemon_name);
		free(conn);
		log_msg(LOG_LVL_ERROR, "connect: out of memory");
		return SMFIS_TEMPFAIL;
	}
	mta_setpriv(ctx, conn);
	log_msg(LOG_LVL_DEBUG, "connect from %s [%s] daemon=%s",
	    conn->hostname, conn->client_addr,
	    conn->daemon_name != NULL ? conn->daemon_name : "-");
	return SMFIS_CONTINUE;
}

static sfsistat
cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn *conn = conn_get(ctx);
	const char *auth;

	if (conn == NULL)
		return SMFIS_TEMPFAIL;
	conn_drop_message(conn);	/* a new MAIL FROM resets the message */
	if ((conn->rt = runtime_current()) == NULL)
		return reply_for(ctx, conn, OUT_TEMPFAIL, "no configuration");
	conn->policy = runtime_policy(conn->rt);
	conn->internal = netlist_contains_text(
	    conn->rt->cfg->internal_networks, conn->client_addr);
	conn->msg = message_new(conn->rt->cfg, argv[0]);
	if (conn->msg == NULL)
		return reply_for(ctx, conn, OUT_TEMPFAIL, "out of memory");
	auth = mta_getsymval(ctx, "{auth_authen}");
	if ((auth != NULL && message_set_auth(conn->msg, auth) != 0))
		return reply_for(ctx, conn, OUT_TEMPFAIL, "out of memory");
	refresh_qid(ctx, conn->msg);
	return SMFIS_CONTINUE;
}

/*
 * Postfix's non_smtpd_milters (mail from sendmail(1)) must never reject
 * at RCPT: Postfix shows that mail to the milter as coming from the
 * loopback address, so no loopback client is rejected here; end-of-data
 * decides for them.
 */
static bool
loopback_client(const struct conn *conn)
{
	return conn->client_addr[0] == '\0' ||
	    strncmp(conn->client_addr, "127.", 4) == 0 ||
	    strcmp(conn->client_addr, "::1") == 0;
}

/*
 * Reject one recipient at RCPT time when the policy file alone requires
 * encryption with missing-cert=reject and the look-up says there is no
 * certificate: the sender's client shows which address failed and the
 * other recipients are unaffected.  Nothing a header could change later
 * (plain-ok where allowed) is decided here.
 */
static bool
reject_at_rcpt(struct conn *conn, const char *rcpt, char *reply,
    size_t replylen)
{
	const struct config *cfg = conn->rt->cfg;
	struct policy_decision d;
	struct cert_result res;
	struct policy *p;
	const char *const *members;
	size_t nmembers;
	bool reject = false;

	if (!cfg->reject_at_rcpt || cfg->mode == MODE_INBOUND ||
	    loopback_client(conn))
		return false;
	p = policy_retain(conn->policy);
	policy_decide(p, conn->msg->sender, rcpt, &d);
	/* A confidential list has no certificate of its own: its members
	 * decide, at end-of-data.  (-1, members not known now: the same.) */
	if (policy_list_members(p, rcpt, &members, &nmembers) != 0) {
		policy_release(p);
		return false;
	}
	if (!d.unavailable && d.s.encrypt == POL_ENCRYPT_REQUIRED &&
	    d.s.missing_cert == POL_MISSING_REJECT && !d.s.allow_plain_ok) {
		reject = certlookup_find(conn->rt->certs, rcpt, &res) ==
		    LOOKUP_NONE;
		cert_result_free(&res);
	}
	if (reject)
		log_qid(LOG_LVL_NOTICE, conn->msg->qid, "action=reject rcpt=<%s> "
		    "reason=\"encryption required, no certificate\" rule=%s:%u",
		    rcpt, d.file, d.line);
	policy_release(p);
	reply[0] = '\0';
	outbound_reply_append(reply, replylen, "<");
	outbound_reply_append(reply, replylen, rcpt);
	outbound_reply_append(reply, replylen, ">: encryption is required "
	    "for this recipient and no usable certificate is known");
	return reject;
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *conn = conn_get(ctx);
	enum msg_status st;
	char reply[600];

	if (conn == NULL || conn->msg == NULL)
		return SMFIS_TEMPFAIL;
	refresh_qid(ctx, conn->msg);
	if ((st = message_add_rcpt(conn->msg, argv[0])) != MSG_OK)
		return reply_for_status(ctx, conn, st);
	if (!reject_at_rcpt(conn, conn->msg->rcpts[conn->msg->nrcpts - 1],
	    reply, sizeof(reply)))
		return SMFIS_CONTINUE;
	message_drop_last_rcpt(conn->msg);
	(void)mta_setreply(ctx, "550", "5.7.1", reply);
	return SMFIS_REJECT;
}

static sfsistat
cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn *conn = conn_get(ctx);

	if (conn == NULL || conn->msg == NULL)
		return SMFIS_TEMPFAIL;
	return reply_for_status(ctx, conn,
	    message_add_header(conn->msg, name, value));
}

static sfsistat
cb_eoh(SMFICTX *ctx)
{
	struct conn *conn = conn_get(ctx);

	if (conn == NULL || conn->msg == NULL)
		return SMFIS_TEMPFAIL;
	refresh_qid(ctx, conn->msg);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct conn *conn = conn_get(ctx);

	if (conn == NULL || conn->msg == NULL)
		return SMFIS_TEMPFAIL;
	return reply_for_status(ctx, conn,
	    message_add_body(conn->msg, chunk, len));
}

/*
 * We negotiate SMFIP_HDR_LEADSPC, so values we hand to the MTA must bring
 * the space after the colon themselves (the MTA adds none).
 */
static const char *
lead_space(const char *value, char *buf, size_t buflen)
{
	if (value == NULL || value[0] == ' ' || value[0] == '\t')
		return value;
	snprintf(buf, buflen, " %s", value);
	return buf;
}

/* Apply the copy: recipients, header fields (last first, so indexes of
 * earlier fields of the same name stay valid), then the body. */
static int
apply_copy(SMFICTX *ctx, const struct outbound_copy *c, size_t chunk,
    char *err, size_t errlen)
{
	unsigned char buf[65535];
	char val[2048];
	uint64_t off = 0;
	size_t i;
	ssize_t got;

	for (i = 0; i < c->ndrop; i++)
		if (mta_delrcpt(ctx, c->drop_rcpts[i]) != MI_SUCCESS)
			goto fail;
	for (i = c->nedits; i-- > 0; )
		if (c->edits[i].op == HE_CHANGE && mta_chgheader(ctx,
		    c->edits[i].name, (int)c->edits[i].index,
		    lead_space(c->edits[i].value, val, sizeof(val))) !=
		    MI_SUCCESS)
			goto fail;
	for (i = 0; i < c->nedits; i++)
		if (c->edits[i].op == HE_ADD && mta_addheader(ctx,
		    c->edits[i].name, lead_space(c->edits[i].value, val,
		    sizeof(val))) != MI_SUCCESS)
			goto fail;
	if (c->body == NULL)
		return 0;
	/* Body chunks of ReplaceBodyChunk bytes, at most 65535 as the
	 * protocol wants. */
	if (chunk == 0 || chunk > sizeof(buf))
		chunk = sizeof(buf);
	while ((got = spool_read(c->body, off, buf, chunk, err,
	    errlen)) > 0) {
		if (mta_replacebody(ctx, buf, (int)got) != MI_SUCCESS)
			goto fail;
		off += (uint64_t)got;
	}
	if (got == 0)
		return 0;
	if (got < 0)
		return -1;
fail:
	snprintf(err, errlen, "the MTA refused a change to the message");
	return -1;
}

static void
progress_cb(void *arg)
{
	(void)mta_progress(arg);
}

static sfsistat
eom_reply(SMFICTX *ctx, struct conn *conn, const struct outbound_plan *plan)
{
	int level = plan->verdict == PLAN_TEMPFAIL ? LOG_LVL_WARNING :
	    LOG_LVL_NOTICE;

	log_qid(level, conn->msg->qid, "action=%s from=<%s> nrcpt=%zu %s "
	    "reply=\"%s %s %s\"", plan->verdict == PLAN_REJECT ? "reject" :
	    "tempfail", conn->msg->sender, conn->msg->nrcpts, plan->log,
	    plan->rcode, plan->xcode, plan->reply);
	(void)mta_setreply(ctx, plan->rcode, plan->xcode, plan->reply);
	conn_drop_message(conn);
	return plan->verdict == PLAN_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
}

/* Already encrypted, or our own re-submitted copy: untouched, except
 * that no request header or marker ever leaves. */
static sfsistat
eom_pass(SMFICTX *ctx, struct conn *conn, struct outbound_plan *plan)
{
	struct message *msg = conn->msg;
	struct outbound_copy copy = { 0 };
	char err[512];

	if (outbound_strip_requests(conn->rt, msg, plan->resubmitted,
	    &copy) != 0 ||
	    apply_copy(ctx, &copy, conn->rt->cfg->body_chunk, err,
	    sizeof(err)) != 0) {
		outbound_copy_free(&copy);
		return reply_for(ctx, conn, OUT_TEMPFAIL,
		    "cannot remove the request header");
	}
	log_qid(LOG_LVL_INFO, msg->qid, "action=accept from=<%s> nrcpt=%zu "
	    "size=%llu %s reason=\"%s, passed untouched\"", msg->sender,
	    msg->nrcpts, (unsigned long long)message_size(msg), plan->log,
	    plan->resubmitted ? "our re-submitted copy" : "already encrypted");
	outbound_copy_free(&copy);
	conn_drop_message(conn);
	return SMFIS_CONTINUE;
}

/* outbound_keep_for_others() applied to the original. */
static int
keep_for_others(SMFICTX *ctx, struct conn *conn, const struct message *work,
    bool lists_dropped, char *err, size_t errlen)
{
	struct outbound_copy keep = { 0 };
	int rc = -1;

	if (outbound_keep_for_others(conn->rt, conn->msg, work, lists_dropped,
	    &keep) != 0)
		snprintf(err, errlen, "out of memory");
	else
		rc = apply_copy(ctx, &keep, conn->rt->cfg->body_chunk, err,
		    errlen);
	outbound_copy_free(&keep);
	return rc;
}

/*
 * The copy in the transaction, then the others, then the notice: any
 * failure tempfails the original and the MTA drops every change, so
 * nothing is lost (the journal stops a retry from sending copies twice).
 * work is the message the plan is about: conn->msg, or its decryption
 * for confidential lists (others: recipients that keep the original).
 */
static sfsistat
eom_deliver(SMFICTX *ctx, struct conn *conn, const struct message *work,
    bool others, struct outbound_plan *plan)
{
	struct message *msg = conn->msg;
	struct outbound_copy copy = { 0 };
	char err[512];
	bool discard;
	sfsistat rc;

	if ((plan->verdict == PLAN_DELIVER && (outbound_build(conn->rt, work,
	    plan, &copy, err, sizeof(err)) != 0 ||
	    apply_copy(ctx, &copy, conn->rt->cfg->body_chunk, err,
	    sizeof(err)) != 0)) ||
	    (work != msg && others && keep_for_others(ctx, conn, work,
	    plan->verdict == PLAN_DELIVER, err, sizeof(err)) != 0) ||
	    (plan->verdict == PLAN_DELIVER && outbound_submit(conn->rt, work,
	    &copy, conn->mta_host, progress_cb, ctx, err, sizeof(err)) != 0) ||
	    outbound_send_notice(conn->rt, work, plan, &copy, conn->mta_host,
	    err, sizeof(err)) != 0) {
		log_qid(LOG_LVL_ERROR, msg->qid, "from=<%s> nrcpt=%zu %s",
		    msg->sender, msg->nrcpts, plan->log);
		outbound_copy_free(&copy);
		return reply_for(ctx, conn, OUT_TEMPFAIL, err);
	}
	outbound_delivered(conn->rt, work, &copy, plan);
	/* With other recipients the original stays for them. */
	discard = (plan->verdict == PLAN_DISCARD || copy.discard) && !others;
	log_qid(LOG_LVL_INFO, msg->qid, "action=%s from=<%s> nrcpt=%zu "
	    "size=%llu %s%s copy=\"%s\"", discard ? "discard" : "accept",
	    msg->sender, msg->nrcpts, (unsigned long long)message_size(msg),
	    plan->log, work != msg ? " list-key=decrypted" : "",
	    copy.summary);
	rc = discard ? SMFIS_DISCARD : SMFIS_CONTINUE;
	outbound_copy_free(&copy);
	conn_drop_message(conn);
	return rc;
}

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct conn *conn = conn_get(ctx);
	struct message *msg, *listmsg = NULL;
	struct outbound_plan plan;
	bool others = false;
	char err[512];
	sfsistat rc;

	if (conn == NULL || conn->msg == NULL)
		return SMFIS_TEMPFAIL;
	msg = conn->msg;
	refresh_qid(ctx, msg);
	if (conn->rt->cfg->mode == MODE_INBOUND) {
		log_qid(LOG_LVL_INFO, msg->qid, "action=accept from=<%s> "
		    "nrcpt=%zu reason=\"inbound mode\"", msg->sender,
		    msg->nrcpts);
		conn_drop_message(conn);
		return SMFIS_CONTINUE;
	}
	if (outbound_open_for_lists(conn->rt, conn->policy, msg, &listmsg,
	    &others, err, sizeof(err)) < 0)
		return reply_for(ctx, conn, OUT_TEMPFAIL, err);
	if (outbound_plan(conn->rt, conn->policy, listmsg != NULL ? listmsg :
	    msg, conn->internal, &plan) != 0) {
		outbound_plan_free(&plan);
		message_free(listmsg);
		return reply_for(ctx, conn, OUT_TEMPFAIL, "out of memory");
	}
	switch (plan.verdict) {
	case PLAN_REJECT:
	case PLAN_DEFER:
	case PLAN_TEMPFAIL:
		rc = eom_reply(ctx, conn, &plan);
		break;
	case PLAN_PASS:
		rc = eom_pass(ctx, conn, &plan);
		break;
	default:
		rc = eom_deliver(ctx, conn, listmsg != NULL ? listmsg : msg,
		    others, &plan);
	}
	outbound_plan_free(&plan);
	message_free(listmsg);
	return rc;
}

static sfsistat
cb_abort(SMFICTX *ctx)
{
	struct conn *conn = conn_get(ctx);

	if (conn != NULL && conn->msg != NULL) {
		log_qid(LOG_LVL_DEBUG, conn->msg->qid, "aborted by MTA");
		conn_drop_message(conn);
	}
	return SMFIS_CONTINUE;
}

static sfsistat
cb_close(SMFICTX *ctx)
{
	struct conn *conn = conn_get(ctx);

	if (conn == NULL)
		return SMFIS_CONTINUE;
	conn_drop_message(conn);
	free(conn->hostname);
	free(conn->daemon_name);
	free(conn->mta_host);
	free(conn);
	mta_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

struct smfiDesc smime_filter = {
	.xxfi_name = "smime-milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = WANTED_ACTIONS,
	.xxfi_connect = cb_connect,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_negotiate = cb_negotiate,
};
