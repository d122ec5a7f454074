/*
 * ldapgroup_tool.c -- resolve one LDAP group from tests.
 *
 *   ldapgroup_tool SPEC GROUP_DN
 *	SPEC is the text of an LDAPDirectory line.  Prints
 *	  "ok N elapsed_ms=MS" and one "member ADDRESS" line per member
 *	  (exit 0), or
 *	  "error elapsed_ms=MS reason=\"...\"" (exit 1).
 *
 * Log lines of the library go to stderr (LDAPGROUP_LOG=0..4 sets the
 * level, default 2 = notice; 4 shows the skipped values).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "ldapgroup.h"
#include "log.h"

static long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
main(int argc, char **argv)
{
	const char *lvl = getenv("LDAPGROUP_LOG");
	char **members, err[512];
	size_t n, i;
	long t0;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: ldapgroup_tool SPEC GROUP_DN\n");
		return 2;
	}
	/* libldap may write to a socket whose peer is gone. */
	signal(SIGPIPE, SIG_IGN);
	log_setup("ldapgroup_tool", false, 0, true, lvl != NULL ?
	    (enum log_level)atoi(lvl) : LOG_LVL_NOTICE);
	t0 = now_ms();
	rc = ldapgroup_members(argv[1], argv[2], &members, &n, err,
	    sizeof(err));
	if (rc != 0) {
		printf("error elapsed_ms=%ld reason=\"%s\"\n", now_ms() - t0,
		    err);
		return 1;
	}
	printf("ok %zu elapsed_ms=%ld\n", n, now_ms() - t0);
	for (i = 0; i < n; i++)
		printf("member %s\n", members[i]);
	if (members[n] != NULL) {
		printf("error: array not NULL-terminated\n");
		rc = 1;
	}
	ldapgroup_free_members(members);
	return rc;
}
