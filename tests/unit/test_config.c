/*
 * test_config.c -- every option type, every error of the config parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "netlist.h"

static struct config *
parse(const char *text, char *err, size_t errlen)
{
	return config_parse("t.conf", text, strlen(text), err, errlen);
}

static void
test_defaults(void **state)
{
	struct config *cfg = config_defaults();

	(void)state;
	assert_non_null(cfg);
	assert_string_equal(cfg->socket.text, "inet:8895@127.0.0.1");
	assert_null(cfg->user);
	assert_null(cfg->pid_file);
	assert_true(cfg->syslog);
	assert_int_equal(cfg->syslog_facility, LOG_MAIL);
	assert_int_equal(cfg->log_level, LOG_LVL_INFO);
	assert_string_equal(cfg->spool_dir, "/var/tmp");
	assert_int_equal(cfg->spool_threshold, 256 * 1024);
	assert_int_equal(cfg->max_message_size, 0);
	assert_int_equal(cfg->mode, MODE_OUTBOUND);
	assert_true(netlist_contains_text(cfg->internal_networks,
	    "127.0.0.1"));
	assert_true(netlist_contains_text(cfg->internal_networks, "::1"));
	assert_false(netlist_contains_text(cfg->internal_networks,
	    "10.0.0.1"));
	assert_int_equal(cfg->milter_timeout, 600);
	assert_int_equal(cfg->file_umask, 007);
	config_release(cfg);
}

static void
test_every_type(void **state)
{
	char err[512];
	struct config *cfg = parse(
	    "# comment line\n"
	    "\n"
	    "   socket   unix:/run/smime/milter.sock  \n"
	    "UserID smime:mail\n"
	    "PidFile /run/smime.pid\r\n"
	    "Syslog off\n"
	    "SyslogFacility local3\n"
	    "LogLevel DEBUG\n"
	    "SpoolDir /var/spool/smime\n"
	    "SpoolThreshold 1m\n"
	    "MaxMessageSize 2G\n"
	    "Mode both\n"
	    "InternalNetworks 10.0.0.0/8, 192.168.1.7 2001:db8::/32\n"
	    "UMask 027\n"
	    "MilterTimeout 30", err, sizeof(err));

	(void)state;
	assert_non_null(cfg);
	assert_int_equal(cfg->socket.family, SOCK_FAMILY_UNIX);
	assert_string_equal(cfg->socket.path, "/run/smime/milter.sock");
	assert_string_equal(cfg->user, "smime:mail");
	assert_string_equal(cfg->pid_file, "/run/smime.pid");
	assert_false(cfg->syslog);
	assert_int_equal(cfg->syslog_facility, LOG_LOCAL3);
	assert_int_equal(cfg->log_level, LOG_LVL_DEBUG);
	assert_string_equal(cfg->spool_dir, "/var/spool/smime");
	assert_int_equal(cfg->spool_threshold, 1024 * 1024);
	assert_int_equal(cfg->max_message_size, 2ull * 1024 * 1024 * 1024);
	assert_int_equal(cfg->mode, MODE_BOTH);
	assert_int_equal(netlist_count(cfg->internal_networks), 3);
	assert_true(netlist_contains_text(cfg->internal_networks,
	    "10.200.3.4"));
	assert_true(netlist_contains_text(cfg->internal_networks,
	    "192.168.1.7"));
	assert_false(netlist_contains_text(cfg->internal_networks,
	    "192.168.1.8"));
	assert_true(netlist_contains_text(cfg->internal_networks,
	    "2001:db8:1::5"));
	/* The defaults' loopback entries are replaced, not merged. */
	assert_false(netlist_contains_text(cfg->internal_networks,
	    "127.0.0.1"));
	assert_int_equal(cfg->milter_timeout, 30);
	assert_int_equal(cfg->file_umask, 027);
	config_release(cfg);
}

static void
test_bool_spellings(void **state)
{
	static const struct { const char *text; bool value; } cases[] = {
		{ "yes", true }, { "YES", true }, { "true", true },
		{ "on", true }, { "1", true }, { "no", false },
		{ "False", false }, { "off", false }, { "0", false },
	};
	char text[64], err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg;

		snprintf(text, sizeof(text), "Syslog %s\n", cases[i].text);
		cfg = parse(text, err, sizeof(err));
		assert_non_null(cfg);
		assert_int_equal(cfg->syslog, cases[i].value);
		config_release(cfg);
	}
}

static void
test_sizes(void **state)
{
	static const struct { const char *text; uint64_t value; } cases[] = {
		{ "0", 0 }, { "1", 1 }, { "200000", 200000 },
		{ "4k", 4096 }, { "4K", 4096 }, { "3m", 3 * 1024 * 1024 },
		{ "1g", 1024 * 1024 * 1024 },
	};
	char text[64], err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg;

		snprintf(text, sizeof(text), "SpoolThreshold %s\n",
		    cases[i].text);
		cfg = parse(text, err, sizeof(err));
		assert_non_null(cfg);
		assert_int_equal(cfg->spool_threshold, cases[i].value);
		config_release(cfg);
	}
}

/* UMask digits are octal with or without a leading zero. */
static void
test_octal(void **state)
{
	static const struct { const char *text; unsigned value; } cases[] = {
		{ "0", 0 }, { "000", 0 }, { "7", 07 }, { "007", 07 },
		{ "0007", 07 }, { "22", 022 }, { "027", 027 },
		{ "077", 077 }, { "777", 0777 }, { "0777", 0777 },
	};
	char text[64], err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct config *cfg;

		snprintf(text, sizeof(text), "UMask %s\n", cases[i].text);
		cfg = parse(text, err, sizeof(err));
		if (cfg == NULL)
			fail_msg("UMask %s refused: %s", cases[i].text, err);
		if (cfg->file_umask != cases[i].value)
			fail_msg("UMask %s gave %o, want %o", cases[i].text,
			    cfg->file_umask, cases[i].value);
		config_release(cfg);
	}
}

/* Each bad input and the exact error it must produce. */
static const struct {
	const char *text;
	const char *error;
} bad_cases[] = {
	{ "Frobnicate yes\n", "t.conf:1: unknown option 'Frobnicate'" },
	{ "\n\nSyslog\n", "t.conf:3: option Syslog needs a value" },
	{ "Syslog maybe\n", "t.conf:1: Syslog: expected yes or no, got "
	    "'maybe'" },
	{ "LogLevel loud\n", "t.conf:1: LogLevel: unknown value 'loud' (one "
	    "of: error warning notice info debug)" },
	{ "Mode sideways\n", "t.conf:1: Mode: unknown value 'sideways' (one "
	    "of: outbound inbound both)" },
	{ "SyslogFacility kern\n", "t.conf:1: SyslogFacility: unknown value "
	    "'kern' (one of: mail daemon user local0 local1 local2 local3 "
	    "local4 local5 local6 local7)" },
	{ "SpoolThreshold lots\n", "t.conf:1: SpoolThreshold: expected a "
	    "size such as 512k, 10m or 1g, got 'lots'" },
	{ "SpoolThreshold 10x\n", "t.conf:1: SpoolThreshold: expected a "
	    "size such as 512k, 10m or 1g, got '10x'" },
	{ "SpoolThreshold 10kk\n", "t.conf:1: SpoolThreshold: expected a "
	    "size such as 512k, 10m or 1g, got '10kk'" },
	{ "SpoolThreshold -1\n", "t.conf:1: SpoolThreshold: expected a "
	    "size such as 512k, 10m or 1g, got '-1'" },
	{ "SpoolThreshold 2g\n", "t.conf:1: SpoolThreshold: 2g is out of "
	    "range (0 to 1073741824)" },
	{ "MaxMessageSize 99999999999999999999999\n", "t.conf:1: "
	    "MaxMessageSize: expected a size such as 512k, 10m or 1g, got "
	    "'99999999999999999999999'" },
	{ "MaxMessageSize 17179869184g\n", "t.conf:1: MaxMessageSize: "
	    "expected a size such as 512k, 10m or 1g, got '17179869184g'" },
	{ "MilterTimeout 0\n", "t.conf:1: MilterTimeout: 0 is out of range "
	    "(1 to 86400)" },
	{ "MilterTimeout 5s\n", "t.conf:1: MilterTimeout: expected a number, "
	    "got '5s'" },
	{ "SpoolDir relative/dir\n", "t.conf:1: SpoolDir: path must be "
	    "absolute, got 'relative/dir'" },
	{ "PidFile pid\n", "t.conf:1: PidFile: path must be absolute, got "
	    "'pid'" },
	{ "UserID :mail\n", "t.conf:1: UserID: expected user or user:group, "
	    "got ':mail'" },
	{ "UserID a:b:c\n", "t.conf:1: UserID: expected user or user:group, "
	    "got 'a:b:c'" },
	{ "UserID us er\n", "t.conf:1: UserID: expected user or user:group, "
	    "got 'us er'" },
	{ "UserID smime:\n", "t.conf:1: UserID: expected user or "
	    "user:group, got 'smime:'" },
	{ "Socket 8895\n", "t.conf:1: Socket: socket spec needs a type: "
	    "inet:PORT@HOST, inet6:PORT@HOST or unix:PATH: '8895'" },
	{ "Socket inet:70000@127.0.0.1\n", "t.conf:1: Socket: bad port in "
	    "socket spec (want 1-65535): 'inet:70000@127.0.0.1'" },
	{ "Socket tcp:25@host\n", "t.conf:1: Socket: unknown socket type "
	    "'tcp' (want inet, inet6 or unix): 'tcp:25@host'" },
	{ "InternalNetworks 10.0.0.0/33\n", "t.conf:1: InternalNetworks: bad "
	    "prefix length in '10.0.0.0/33'" },
	{ "InternalNetworks mail.example.com\n", "t.conf:1: InternalNetworks: "
	    "'mail.example.com' is not an IP address" },
	{ "UMask 8\n", "t.conf:1: UMask: expected an octal mask such as "
	    "007 or 027, got '8'" },
	{ "UMask 079\n", "t.conf:1: UMask: expected an octal mask such as "
	    "007 or 027, got '079'" },
	{ "UMask 0x1f\n", "t.conf:1: UMask: expected an octal mask such as "
	    "007 or 027, got '0x1f'" },
	{ "UMask -7\n", "t.conf:1: UMask: expected an octal mask such as "
	    "007 or 027, got '-7'" },
	{ "UMask u=rwx,g=rx\n", "t.conf:1: UMask: expected an octal mask "
	    "such as 007 or 027, got 'u=rwx,g=rx'" },
	{ "UMask 00007\n", "t.conf:1: UMask: expected an octal mask such "
	    "as 007 or 027, got '00007'" },
	{ "UMask 1777\n", "t.conf:1: UMask: 1777 is out of range (000 to "
	    "777)" },
	{ "Syslog yes\nLogLevel info\nsyslog no\n", "t.conf:3: Syslog was "
	    "already set on line 1" },
};

static void
test_errors(void **state)
{
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct config *cfg = parse(bad_cases[i].text, err,
		    sizeof(err));

		if (cfg != NULL)
			fail_msg("accepted: %s", bad_cases[i].text);
		if (strcmp(err, bad_cases[i].error) != 0)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, err,
			    bad_cases[i].error);
	}
}

static void
test_long_line_and_nul(void **state)
{
	char err[512];
	char *text = malloc(5000);

	(void)state;
	assert_non_null(text);
	memset(text, 'x', 4999);
	text[4999] = '\0';
	assert_null(parse(text, err, sizeof(err)));
	assert_string_equal(err, "t.conf:1: line longer than 4096 bytes");
	free(text);

	assert_null(config_parse("t.conf", "Syslog yes\nLog\0Level x\n", 23,
	    err, sizeof(err)));
	assert_string_equal(err, "t.conf:2: NUL byte in line");
}

static void
test_load_file(void **state)
{
	char dir[] = "/tmp/test_config.XXXXXX";
	char path[300], err[512];
	struct config *cfg;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/smime-milter.conf", dir);

	cfg = config_load(path, err, sizeof(err));
	assert_null(cfg);
	assert_non_null(strstr(err, "cannot open: No such file"));

	f = fopen(path, "w");
	assert_non_null(f);
	fputs("LogLevel notice\nMode inbound\n", f);
	fclose(f);
	cfg = config_load(path, err, sizeof(err));
	assert_non_null(cfg);
	assert_int_equal(cfg->mode, MODE_INBOUND);
	assert_string_equal(cfg->path, path);
	config_release(cfg);

	/* A directory is not a configuration file. */
	cfg = config_load(dir, err, sizeof(err));
	assert_null(cfg);
	assert_non_null(strstr(err, "not a regular file"));

	unlink(path);
	rmdir(dir);
}

static void
test_check_system(void **state)
{
	char err[512];
	struct config *cfg;

	(void)state;
	cfg = parse("UserID no-such-user-here\n", err, sizeof(err));
	assert_non_null(cfg);
	assert_int_equal(config_check_system(cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "UserID: no such user 'no-such-user-here'");
	config_release(cfg);

	cfg = parse("UserID root:no-such-group\n", err, sizeof(err));
	assert_int_equal(config_check_system(cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "UserID: no such group 'no-such-group'");
	config_release(cfg);

	cfg = parse("SpoolDir /nonexistent/spool\n", err, sizeof(err));
	assert_int_equal(config_check_system(cfg, err, sizeof(err)), -1);
	assert_string_equal(err, "SpoolDir: '/nonexistent/spool' is not a "
	    "directory");
	config_release(cfg);

	cfg = parse("UserID root\nSpoolDir /tmp\n", err, sizeof(err));
	assert_int_equal(config_check_system(cfg, err, sizeof(err)), 0);
	config_release(cfg);
}

static void
collect(const char *line, void *arg)
{
	size_t len = strlen(arg);

	snprintf((char *)arg + len, 4096 - len, "%s\n", line);
}

static void
test_dump_and_table(void **state)
{
	const char *name, *type, *def, *doc;
	char out[4096] = "";
	char err[512];
	struct config *cfg;
	size_t i;

	(void)state;
	cfg = parse("LogLevel debug\n", err, sizeof(err));
	config_dump(cfg, collect, out);
	assert_non_null(strstr(out, "LogLevel debug\n"));
	assert_non_null(strstr(out, "Socket inet:8895@127.0.0.1\n"));
	assert_non_null(strstr(out, "# UserID (not set)\n"));
	assert_non_null(strstr(out, "UMask 007\n"));
	config_release(cfg);
	out[0] = '\0';
	cfg = parse("UMask 0027\n", err, sizeof(err));
	config_dump(cfg, collect, out);
	assert_non_null(strstr(out, "UMask 0027\n"));
	config_release(cfg);

	assert_true(config_option_count() >= 12);
	for (i = 0; i < config_option_count(); i++) {
		config_option_info(i, &name, &type, &def, &doc);
		assert_true(strlen(name) > 0 && strlen(doc) > 10);
	}
}

static void
test_refcount_and_current(void **state)
{
	struct config *cfg = config_defaults(), *cur, *next;

	(void)state;
	assert_null(config_current());
	config_install(cfg);
	cur = config_current();
	assert_ptr_equal(cur, cfg);
	next = config_defaults();
	config_install(next);	/* cfg stays alive: cur holds it */
	assert_string_equal(cur->socket.text, "inet:8895@127.0.0.1");
	config_release(cur);
	config_install(NULL);
	assert_null(config_current());
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_type),
		cmocka_unit_test(test_bool_spellings),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_octal),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_long_line_and_nul),
		cmocka_unit_test(test_load_file),
		cmocka_unit_test(test_check_system),
		cmocka_unit_test(test_dump_and_table),
		cmocka_unit_test(test_refcount_and_current),
	};

	log_setup("test_config", false, 0, false, LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
