/*
 * smimectl -- administration tool for smime-milter.  One table maps
 * subcommands to handlers; each handler parses its own arguments.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "certlookup.h"
#include "config.h"
#include "ctl.h"
#include "log.h"
#include "policy.h"
#include "runtime.h"
#include "version.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc/smime-milter"
#endif
#define DEFAULT_CONFIG SYSCONFDIR "/smime-milter.conf"

struct command {
	const char *group;	/* first word */
	const char *name;	/* second word, or NULL */
	int (*run)(int argc, char **argv);
	const char *args;
	const char *help;
};

static int cmd_help(int argc, char **argv);

/* -c FILE, the only common option; returns the index of the next arg. */
int
ctl_config_arg(int argc, char **argv, const char **path)
{
	int ch;

	*path = DEFAULT_CONFIG;
	optind = 1;
	while ((ch = getopt(argc, argv, "c:")) != -1) {
		if (ch != 'c')
			return -1;
		*path = optarg;
	}
	return optind;
}

struct config *
ctl_load_config(const char *path)
{
	struct config *cfg;
	char err[512];

	cfg = config_load(path, err, sizeof(err));
	if (cfg == NULL)
		fprintf(stderr, "smimectl: %s\n", err);
	return cfg;
}

/* "[-c FILE] [FILE]": the configuration file to use. */
static int
config_path_arg(int argc, char **argv, const char **path)
{
	int next = ctl_config_arg(argc, argv, path);

	if (next < 0 || next < argc - 1)
		return -1;
	if (next == argc - 1)
		*path = argv[next];
	return 0;
}

/* The daemon's own start-up checks, certificate sources included. */
static int
cmd_config_check(int argc, char **argv)
{
	struct runtime *rt;
	struct policy *p;
	const char *path;
	char err[512], desc[512];

	if (config_path_arg(argc, argv, &path) != 0)
		return EX_USAGE;
	if ((rt = runtime_load(path, NULL, err, sizeof(err))) == NULL) {
		fprintf(stderr, "smimectl: %s\n", err);
		return EX_CONFIG;
	}
	p = runtime_policy(rt);
	certlookup_describe(rt->certs, desc, sizeof(desc));
	printf("%s: configuration OK (certificates: %s; policy: %zu rules, "
	    "%zu groups)\n", path, desc, policy_rule_count(p),
	    policy_group_count(p));
	policy_release(p);
	runtime_release(rt);
	return 0;
}

static void
print_line(const char *line, void *arg)
{
	fprintf(arg, "%s\n", line);
}

static int
cmd_config_show(int argc, char **argv)
{
	struct config *cfg;
	const char *path;

	if (config_path_arg(argc, argv, &path) != 0)
		return EX_USAGE;
	if ((cfg = ctl_load_config(path)) == NULL)
		return EX_CONFIG;
	config_dump(cfg, print_line, stdout);
	config_release(cfg);
	return 0;
}

/* Tab-separated: name, type, default, description (one per line). */
static int
cmd_config_options(int argc, char **argv)
{
	const char *name, *type, *def, *doc;
	size_t i;

	(void)argv;
	if (argc != 1)
		return EX_USAGE;
	for (i = 0; i < config_option_count(); i++) {
		config_option_info(i, &name, &type, &def, &doc);
		printf("%s\t%s\t%s\t%s\n", name, type, def, doc);
	}
	return 0;
}

static int
cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("smimectl %s\n", SMIME_MILTER_VERSION);
	return 0;
}

static const struct command commands[] = {
	{ "config", "check", cmd_config_check, "[-c FILE] [FILE]",
	    "validate a configuration file" },
	{ "config", "show", cmd_config_show, "[-c FILE] [FILE]",
	    "print the effective value of every option" },
	{ "config", "options", cmd_config_options, "",
	    "list every option with its type, default and meaning" },
	{ "cert", "lookup", ctl_cert_lookup, "[-c FILE] ADDRESS...",
	    "show every candidate certificate and the decision" },
	{ "cert", "list", ctl_cert_list, "[-c FILE]",
	    "list the certificates of the local stores" },
	{ "cert", "import", ctl_cert_import, "[-c FILE] CERTFILE...",
	    "add certificates to the directory store" },
	{ "policy", "check", ctl_policy_check, "[-c FILE] [POLICYFILE]",
	    "check a policy file as the daemon would; list its groups" },
	{ "policy", "explain", ctl_policy_explain, "[-c FILE] --from ADDRESS "
	    "[--auth USER] [--client IP] [--header 'Name: value']... "
	    "RECIPIENT...", "show the rule, settings, certificates and action "
	    "for each recipient" },
	{ "key", "list", ctl_key_list, "[-c FILE]",
	    "list the sender keys: address, expiry, key, file" },
	{ "process", NULL, ctl_process, "[-c FILE] [--sign clear|opaque "
	    "--sign-key KEY --sign-cert CERT [--sign-chain FILE] [--digest "
	    "sha256|sha384|sha512] [--pss]] [--cipher C] [--key-transport K] "
	    "[--protect-headers] [--group MEMBER[,MEMBER...]]... --out DIR "
	    "< MESSAGE", "sign and/or encrypt one message, one copy per "
	    "group" },
	{ "verify", NULL, ctl_verify, "[-c FILE | --anchors FILE] "
	    "[--content FILE] < MESSAGE", "check an S/MIME signature" },
	{ "decrypt", NULL, ctl_decrypt, "--key KEY --cert CERT < MESSAGE",
	    "decrypt an S/MIME message to standard output" },
	{ "version", NULL, cmd_version, "", "print the version" },
	{ "help", NULL, cmd_help, "", "print this help" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: smimectl COMMAND [ARGS]\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++) {
		char word[64];

		snprintf(word, sizeof(word), "%s%s%s %s", commands[i].group,
		    commands[i].name ? " " : "",
		    commands[i].name ? commands[i].name : "",
		    commands[i].args);
		fprintf(out, "  %-32s %s\n", word, commands[i].help);
	}
}

static int
cmd_help(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

int
main(int argc, char **argv)
{
	size_t i;
	int rc;

	log_setup("smimectl", false, 0, true, LOG_LVL_WARNING);
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)
		return cmd_help(argc, argv);
	for (i = 0; i < NCOMMANDS; i++) {
		const struct command *c = &commands[i];
		int skip = c->name != NULL ? 2 : 1;

		if (strcmp(argv[1], c->group) != 0)
			continue;
		if (c->name != NULL && (argc < 3 || strcmp(argv[2], c->name)))
			continue;
		rc = c->run(argc - skip, argv + skip);
		if (rc == EX_USAGE)
			fprintf(stderr, "usage: smimectl %s%s%s %s\n", c->group,
			    c->name ? " " : "", c->name ? c->name : "",
			    c->args);
		return rc;
	}
	fprintf(stderr, "smimectl: unknown command '%s%s%s'\n", argv[1],
	    argc > 2 ? " " : "", argc > 2 ? argv[2] : "");
	usage(stderr);
	return EX_USAGE;
}
