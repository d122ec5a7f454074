/*
 * ctl_policy.c -- "smimectl policy check" and "smimectl policy explain":
 * the daemon's own policy code on a file, and its whole end-of-data
 * decision for a message described on the command line, so an admin can
 * answer "why was this (not) encrypted?" without reading logs.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include <openssl/x509.h>

#include "certlookup.h"
#include "config.h"
#include "ctl.h"
#include "message.h"
#include "netlist.h"
#include "outbound.h"
#include "policy.h"
#include "runtime.h"

/* "smimectl policy check [-c CONFIG] [FILE]" */
int
ctl_policy_check(int argc, char **argv)
{
	const char *path, *file;
	struct config *cfg;
	struct policy *p;
	char err[512];
	size_t i;
	int rc, next = ctl_config_arg(argc, argv, &path);

	if (next < 0 || next < argc - 1)
		return EX_USAGE;
	if ((cfg = ctl_load_config(path)) == NULL)
		return EX_CONFIG;
	file = next == argc - 1 ? argv[next] : cfg->policy_file;
	p = runtime_load_policy(cfg, file, NULL, err, sizeof(err));
	if (p == NULL) {
		fprintf(stderr, "smimectl: %s\n", err);
		config_release(cfg);
		return EX_DATAERR;
	}
	printf("%s: policy OK: %zu rules, %zu groups\n", file != NULL ? file :
	    "(built-in policy)", policy_rule_count(p), policy_group_count(p));
	for (i = 0; i < policy_group_count(p); i++) {
		const char *name, *source;
		size_t members;

		policy_group_info(p, i, &name, &source, &members);
		if (members == (size_t)-1)
			printf("  group %s (%s): NOT READABLE now; mail that "
			    "depends on it would be deferred\n", name, source);
		else
			printf("  group %s (%s): %zu member pattern%s\n", name,
			    source, members, members == 1 ? "" : "s");
	}
	rc = policy_unresolved_count(p) > 0 ? EX_TEMPFAIL : 0;
	policy_release(p);
	config_release(cfg);
	return rc;
}

struct explain_args {
	const char *config, *from, *auth, *client;
	char *headers[64];
	size_t nheaders;
};

static int
parse_explain(int argc, char **argv, struct explain_args *a)
{
	static const struct option longopts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "auth", required_argument, NULL, 'a' },
		{ "client", required_argument, NULL, 'i' },
		{ "header", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:", longopts, NULL)) != -1)
		switch (ch) {
		case 'c': a->config = optarg; break;
		case 'f': a->from = optarg; break;
		case 'a': a->auth = optarg; break;
		case 'i': a->client = optarg; break;
		case 'H':
			if (a->nheaders == 64 || strchr(optarg, ':') == NULL)
				return -1;
			a->headers[a->nheaders++] = optarg;
			break;
		default: return -1;
		}
	return a->from != NULL && optind < argc ? optind : -1;
}

static void
print_cert(const struct cert_candidate *c, const char *mark)
{
	char subject[256] = "", until[32] = "?";
	const ASN1_TIME *na = X509_get0_notAfter(c->cert);
	struct tm tm;

	X509_NAME_oneline(X509_get_subject_name(c->cert), subject,
	    sizeof(subject));
	if (na != NULL && ASN1_TIME_to_tm(na, &tm) == 1)
		strftime(until, sizeof(until), "%Y-%m-%d", &tm);
	printf("        %s %s, until %s: %s%s%s\n", mark, subject, until,
	    cert_verdict_name(c->verdict), c->reason[0] != '\0' ? ", " : "",
	    c->reason);
}

/* Every candidate of every source, judged afresh (no cache). */
static void
print_source(const char *source, enum lookup_status st,
    const struct cert_list *candidates, const char *error, void *arg)
{
	size_t i;

	(void)arg;
	printf("      %s: %s%s%s\n", source, lookup_status_name(st),
	    error != NULL && *error != '\0' ? ": " : "", error != NULL ?
	    error : "");
	for (i = 0; i < candidates->count; i++)
		print_cert(&candidates->items[i],
		    candidates->items[i].verdict == CERT_OK ? "use" : "NOT");
}

static void
explain_recipient(struct runtime *rt, const struct rcpt_plan *r)
{
	char settings[512];

	printf("%s%s\n", r->addr, r->hidden ? "  (hidden: not in To/Cc)" :
	    "");
	if (r->d.line == 0)
		printf("  rule:     none matched; default%s%s\n",
		    r->d.file != NULL ? " of " : "", r->d.file != NULL ?
		    r->d.file : "");
	else
		printf("  rule:     %s:%u\n", r->d.file, r->d.line);
	if (r->d.unavailable)
		printf("  group:    %s could not be read: undecided\n",
		    r->d.unavailable_group);
	printf("  settings: %s\n", policy_settings_format(&r->d.s, settings,
	    sizeof(settings)));
	if (r->d.requested != 0)
		printf("  request:  raised by the sender's request (%s%s%s)\n",
		    r->d.requested & POL_REQ_ENCRYPT ? " encrypt" : "",
		    r->d.requested & POL_REQ_SIGN ? " sign" : "",
		    r->d.requested & POL_REQ_PLAIN_OK ? " plain-ok" : "");
	if (r->d.s.encrypt != POL_ENCRYPT_NEVER && !r->d.unavailable) {
		printf("  certificates: %s\n", lookup_status_name(r->lookup));
		certlookup_explain(rt->certs, r->addr, print_source, NULL);
	}
	printf("  action:   %s (%s)\n\n", rcpt_action_name(r->action), r->why);
}

/*
 * "smimectl policy explain [-c CONFIG] --from ADDR [--auth USER]
 * [--client IP] [--header 'Name: value']... RCPT..."
 */
int
ctl_policy_explain(int argc, char **argv)
{
	struct explain_args a = { .config = NULL };
	struct outbound_plan plan;
	struct message *msg = NULL;
	struct runtime *rt;
	char err[512];
	bool internal = false;
	int first, i, rc = 0;
	size_t k;

	if ((first = parse_explain(argc, argv, &a)) < 0)
		return EX_USAGE;
	if (a.config == NULL)
		(void)ctl_config_arg(1, argv, &a.config);	/* the default */
	if ((rt = runtime_load(a.config, NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "smimectl: %s\n", err);
		return EX_CONFIG;
	}
	if ((msg = message_new(rt->cfg, a.from)) == NULL ||
	    (a.auth != NULL && message_set_auth(msg, a.auth) != 0)) {
		rc = EX_OSERR;
		goto done;
	}
	for (i = first; i < argc; i++)
		if (message_add_rcpt(msg, argv[i]) != MSG_OK) {
			rc = EX_USAGE;
			goto done;
		}
	for (k = 0; k < a.nheaders; k++) {
		char *colon = strchr(a.headers[k], ':');

		*colon = '\0';
		if (message_add_header(msg, a.headers[k], colon + 1) !=
		    MSG_OK) {
			rc = EX_USAGE;
			goto done;
		}
	}
	if (a.client != NULL)
		internal = netlist_contains_text(rt->cfg->internal_networks,
		    a.client);
	if (outbound_plan(rt, NULL, msg, internal, &plan) != 0) {
		outbound_plan_free(&plan);
		rc = EX_OSERR;
		goto done;
	}
	printf("sender:   <%s>, %s; %s\n", msg->sender, plan.trust_why != NULL ?
	    plan.trust_why : "-", plan.signer != NULL ? "can sign" :
	    plan.sign_why != NULL ? plan.sign_why : "no signing needed");
	if (plan.request != 0)
		printf("request:  %s%s%s (%s)\n", plan.request & POL_REQ_ENCRYPT ?
		    "encrypt " : "", plan.request & POL_REQ_SIGN ? "sign " : "",
		    plan.request & POL_REQ_PLAIN_OK ? "plain-ok " : "",
		    plan.trusted ? "honoured" : "IGNORED: sender not trusted");
	printf("\n");
	if (plan.verdict == PLAN_PASS)
		printf("already encrypted: passed untouched\n");
	else
		for (k = 0; k < plan.n; k++)
			explain_recipient(rt, &plan.r[k]);
	switch (plan.verdict) {
	case PLAN_PASS:
	case PLAN_DELIVER:
		printf("result:   accept\n");
		break;
	case PLAN_DISCARD:
		printf("result:   nobody left; the sender is notified\n");
		break;
	default:
		printf("result:   %s %s %s\n", plan.rcode, plan.xcode,
		    plan.reply);
	}
	outbound_plan_free(&plan);
done:
	message_free(msg);
	runtime_release(rt);
	return rc;
}
