/*
 * passmilter.c -- "make bench-e2e": a libmilter filter that accepts every
 * message unchanged, the baseline smime-milter is measured against.
 *
 *   passmilter -p SOCKET [-D]
 *
 * SOCKET is a libmilter socket (inet:PORT@127.0.0.1, unix:/path).  It
 * negotiates what smime-milter negotiates (cb_negotiate in
 * milter/callbacks.c, less SMFIP_NODATA, which milter/smime-milter.c
 * takes out): the same actions, events and macro lists, so the MTA sends
 * both filters the same commands and the difference in a benchmark is the
 * work smime-milter does.  Every callback returns SMFIS_CONTINUE.
 *
 * -D skips the DATA event (SMFIP_NODATA) as filters commonly do, and as
 * smime-milter did: over TCP, Postfix then stalls about 40 ms per message
 * (the comment in cb_negotiate, milter/callbacks.c).  It
 * answers each command in one write, so unlike smime-milter it needs no
 * TCP_NODELAY.  SIGTERM stops it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#define WANTED_ACTIONS (SMFIF_ADDHDRS | SMFIF_CHGBODY | SMFIF_ADDRCPT | \
    SMFIF_DELRCPT | SMFIF_CHGHDRS | SMFIF_QUARANTINE)

static bool skip_data;		/* -D */

static sfsistat
pass_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)f2;
	(void)f3;
	*pf0 = f0 & WANTED_ACTIONS;
	*pf1 = f1 & (SMFIP_HDR_LEADSPC | SMFIP_NOHELO | SMFIP_NOUNKNOWN |
	    (skip_data ? SMFIP_NODATA : 0));
	*pf2 = 0;
	*pf3 = 0;
	if (f0 & SMFIF_SETSYMLIST) {
		*pf0 |= SMFIF_SETSYMLIST;
		(void)smfi_setsymlist(ctx, SMFIM_CONNECT,
		    "{daemon_name} {client_addr} j");
		(void)smfi_setsymlist(ctx, SMFIM_ENVFROM,
		    "i {auth_authen} {auth_type}");
		(void)smfi_setsymlist(ctx, SMFIM_ENVRCPT, "i");
		(void)smfi_setsymlist(ctx, SMFIM_EOH, "i");
		(void)smfi_setsymlist(ctx, SMFIM_EOM, "i");
	}
	return SMFIS_CONTINUE;
}

static sfsistat
pass_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *addr)
{
	(void)ctx;
	(void)host;
	(void)addr;
	return SMFIS_CONTINUE;
}

static sfsistat
pass_args(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_CONTINUE;
}

static sfsistat
pass_header(SMFICTX *ctx, char *name, char *value)
{
	(void)ctx;
	(void)name;
	(void)value;
	return SMFIS_CONTINUE;
}

static sfsistat
pass_event(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

static sfsistat
pass_body(SMFICTX *ctx, unsigned char *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	return SMFIS_CONTINUE;
}

static struct smfiDesc pass_filter = {
	.xxfi_name = "passmilter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = WANTED_ACTIONS,
	.xxfi_connect = pass_connect,
	.xxfi_envfrom = pass_args,
	.xxfi_envrcpt = pass_args,
	.xxfi_header = pass_header,
	.xxfi_eoh = pass_event,
	.xxfi_body = pass_body,
	.xxfi_eom = pass_event,
	.xxfi_abort = pass_event,
	.xxfi_close = pass_event,
	.xxfi_negotiate = pass_negotiate,
};

int
main(int argc, char **argv)
{
	const char *sock = NULL;
	int ch;

	while ((ch = getopt(argc, argv, "p:D")) != -1) {
		switch (ch) {
		case 'p':
			sock = optarg;
			break;
		case 'D':
			skip_data = true;
			break;
		default:
			goto usage;
		}
	}
	if (sock == NULL || optind != argc)
		goto usage;
	if (smfi_register(pass_filter) == MI_FAILURE ||
	    smfi_setconn((char *)sock) == MI_FAILURE ||
	    smfi_opensocket(1) == MI_FAILURE) {
		fprintf(stderr, "passmilter: cannot listen on %s\n", sock);
		return 1;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 1;
usage:
	fprintf(stderr, "usage: passmilter -p SOCKET [-D]\n");
	return 2;
}
