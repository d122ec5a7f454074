/*
 * smtpsubmit_tool.c -- drive notice_build and smtp_submit from scripts
 * (tests/integration/t_notice.sh):
 *
 *   smtpsubmit_tool notice [--hint HEADER] FROM TO SUBJECT MSGID QID HOST
 *                   ADDRESS=REASON...        the notice on stdout
 *   smtpsubmit_tool submit SOCKSPEC HELO FROM RCPT... <MESSAGE
 *                   prints "ok", or "tempfail: ..."/"permfail: ..." and
 *                   exits 1/2
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notice.h"
#include "sink.h"
#include "smtpsubmit.h"
#include "sockspec.h"
#include "spool.h"

static int
notice(int argc, char **argv)
{
	struct notice_info in = { 0 };
	struct notice_entry *e;
	struct sink out = sink_to_file(stdout);
	char err[300];
	int i, n = 0;

	if (argc > 1 && strcmp(argv[0], "--hint") == 0) {
		in.allow_plain_ok_hint = true;
		in.request_header = argv[1];
		argc -= 2;
		argv += 2;
	}
	if (argc < 7)
		return 64;
	in.from = argv[0];
	in.to = argv[1];
	in.orig_subject = argv[2];
	in.orig_message_id = argv[3];
	in.queue_id = argv[4];
	in.hostname = argv[5];
	e = calloc((size_t)argc, sizeof(*e));
	for (i = 6; i < argc; i++, n++) {
		e[n].address = argv[i];
		e[n].reason = strchr(argv[i], '=');
		if (e[n].reason != NULL)
			*(char *)e[n].reason++ = '\0';
	}
	if (notice_build(&in, e, (size_t)n, &out, err, sizeof(err)) != 0) {
		fprintf(stderr, "notice: %s\n", err);
		free(e);
		return 1;
	}
	free(e);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
submit(int argc, char **argv)
{
	struct sockspec to;
	struct spool *sp;
	char buf[65536], err[300];
	size_t n;
	int rc;

	if (argc < 4)
		return 64;
	if (sockspec_parse(argv[0], &to, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 64;
	}
	sp = spool_new("/tmp", 1 << 20);
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		if (spool_append(sp, buf, n, err, sizeof(err)) != 0) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
	rc = smtp_submit(&to, argv[1], NULL, argv[2],
	    (const char *const *)argv + 3, (size_t)argc - 3, sp, 30, err,
	    sizeof(err));
	spool_free(sp);
	if (rc == SMTP_OK)
		printf("ok\n");
	else
		printf("%s: %s\n", rc == SMTP_PERMFAIL ? "permfail" :
		    "tempfail", err);
	return rc == SMTP_OK ? 0 : rc == SMTP_PERMFAIL ? 2 : 1;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "notice") == 0)
		return notice(argc - 2, argv + 2);
	if (argc > 1 && strcmp(argv[1], "submit") == 0)
		return submit(argc - 2, argv + 2);
	fprintf(stderr, "usage: smtpsubmit_tool notice|submit ...\n");
	return 64;
}
