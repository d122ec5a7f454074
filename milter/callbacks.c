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

#include "config.h"
#include "log.h"
#include "message.h"
#include "mta.h"
#include "spool.h"

/* Actions later steps need: body and header rewriting, recipient
 * changes for delivery groups, quarantine for held mail. */
#define WANTED_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | \
    SMFIF_DELRCPT | SMFIF_CHGHDRS | SMFIF_QUARANTINE)

struct conn {
	char *hostname;
	char client_addr[INET6_ADDRSTRLEN];
	char *daemon_name;
	struct message *msg;
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
	/* Raw header values (leading space kept) for faithful rewriting;
	 * skip the callbacks we never use. */
	*pf1 = f1 & (SMFIP_HDR_LEADSPC | SMFIP_NOHELO | SMFIP_NOUNKNOWN |
	    SMFIP_NODATA);
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
	daemon = mta_getsymval(ctx, "{daemon_name}");
	conn->daemon_name = daemon != NULL ? strdup(daemon) : NULL;
	format_addr(hostaddr, conn->client_addr, sizeof(conn->client_addr));
	addr = mta_getsymval(ctx, "{client_addr}");
	if (conn->client_addr[0] == '\0' && addr != NULL)
		snprintf(conn->client_addr, sizeof(conn->client_addr), "%s",
		    addr);
	if (conn->hostname == NULL || (daemon != NULL &&
	    conn->daemon_name == NULL)) {
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
	struct config *cfg;
	const char *auth;

	if (conn == NULL)
		return SMFIS_TEMPFAIL;
	conn_drop_message(conn);	/* a new MAIL FROM resets the message */
	cfg = config_current();
	if (cfg == NULL)
		return reply_for(ctx, conn, OUT_TEMPFAIL, "no configuration");
	conn->msg = message_new(cfg, argv[0]);
	config_release(cfg);
	if (conn->msg == NULL)
		return reply_for(ctx, conn, OUT_TEMPFAIL, "out of memory");
	auth = mta_getsymval(ctx, "{auth_authen}");
	if ((auth != NULL && message_set_auth(conn->msg, auth) != 0))
		return reply_for(ctx, conn, OUT_TEMPFAIL, "out of memory");
	refresh_qid(ctx, conn->msg);
	return SMFIS_CONTINUE;
}

static sfsistat
cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn *conn = conn_get(ctx);

	if (conn == NULL || conn->msg == NULL)
		return SMFIS_TEMPFAIL;
	refresh_qid(ctx, conn->msg);
	return reply_for_status(ctx, conn,
	    message_add_rcpt(conn->msg, argv[0]));
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

static sfsistat
cb_eom(SMFICTX *ctx)
{
	struct conn *conn = conn_get(ctx);
	struct message *msg;

	if (conn == NULL || conn->msg == NULL)
		return SMFIS_TEMPFAIL;
	msg = conn->msg;
	refresh_qid(ctx, msg);
	log_qid(LOG_LVL_INFO, msg->qid, "action=accept from=<%s> nrcpt=%zu "
	    "size=%llu spooled=%s", msg->sender, msg->nrcpts,
	    (unsigned long long)message_size(msg),
	    spool_on_disk(msg->body) ? "yes" : "no");
	conn_drop_message(conn);
	return SMFIS_CONTINUE;
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
