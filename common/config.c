/*
 * config.c -- the option table and the "Key value" parser.
 *
 * To add an option: add a field to struct config, one line to
 * option_table[], and its entry in man/smime-milter.conf.5 (the test
 * tests/docs/check-man fails until the man page names it and its default).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "certsrc_ldap.h"
#include "log.h"
#include "netlist.h"
#include "smtpsubmit.h"

#define CONFIG_MAX_LINE 4096
#define CONFIG_MAX_FILE (1024 * 1024)

enum opt_type {
	OPT_STRING,
	OPT_PATH,	/* absolute path */
	OPT_USER,	/* user or user:group */
	OPT_BOOL,
	OPT_UINT,	/* decimal, within [min, max] */
	OPT_SIZE,	/* bytes with optional k/m/g suffix, within [min, max] */
	OPT_ENUM,
	OPT_SOCKET,
	OPT_NETLIST,
	OPT_DURATION,	/* seconds with optional s/m/h/d suffix */
	OPT_LIST,	/* may repeat; each value appended (char **) */
	OPT_OCTAL,	/* octal digits, within [min, max] (unsigned) */
};

struct enum_value {
	const char *name;
	int value;
};

struct option {
	const char *name;
	enum opt_type type;
	size_t offset;			/* into struct config */
	const char *def;		/* default, as text; NULL = unset */
	uint64_t min, max;		/* OPT_UINT, OPT_SIZE */
	const struct enum_value *values; /* OPT_ENUM, NULL-terminated */
	const char *doc;		/* one line for smimectl and docs */
	/* Extra validation of a value; 0 or -1 with a reason. */
	int (*check)(const char *value, char *err, size_t errlen);
};

static int check_cert_sources(const char *value, char *err, size_t errlen);
static int check_ldap_spec(const char *value, char *err, size_t errlen);
static int check_header_name(const char *value, char *err, size_t errlen);

static const struct enum_value mode_values[] = {
	{ "outbound", MODE_OUTBOUND },
	{ "inbound", MODE_INBOUND },
	{ "both", MODE_BOTH },
	{ NULL, 0 },
};

static const struct enum_value level_values[] = {
	{ "error", LOG_LVL_ERROR },
	{ "warning", LOG_LVL_WARNING },
	{ "notice", LOG_LVL_NOTICE },
	{ "info", LOG_LVL_INFO },
	{ "debug", LOG_LVL_DEBUG },
	{ NULL, 0 },
};

static const struct enum_value reinject_tls_values[] = {
	{ "none", SMTP_TLS_NONE },
	{ "may", SMTP_TLS_MAY },
	{ "encrypt", SMTP_TLS_ENCRYPT },
	{ "verify", SMTP_TLS_VERIFY },
	{ NULL, 0 },
};

static const struct enum_value facility_values[] = {
	{ "mail", LOG_MAIL },
	{ "daemon", LOG_DAEMON },
	{ "user", LOG_USER },
	{ "local0", LOG_LOCAL0 },
	{ "local1", LOG_LOCAL1 },
	{ "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 },
	{ "local4", LOG_LOCAL4 },
	{ "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 },
	{ "local7", LOG_LOCAL7 },
	{ NULL, 0 },
};

#define OFF(field) offsetof(struct config, field)
#define KIB 1024ull
#define MIB (1024ull * 1024ull)
#define GIB (1024ull * 1024ull * 1024ull)

static const struct option option_table[] = {
	{ "Socket", OPT_SOCKET, OFF(socket), "inet:8895@127.0.0.1", 0, 0,
	    NULL, "where the MTA connects: inet:PORT@HOST, inet6:PORT@HOST "
	    "or unix:PATH", NULL },
	{ "UMask", OPT_OCTAL, OFF(file_umask), "007", 0, 0777, NULL,
	    "octal umask for the files the daemon creates: the unix socket "
	    "and the pid file", NULL },
	{ "UserID", OPT_USER, OFF(user), NULL, 0, 0, NULL,
	    "user (and :group) to switch to after opening the socket", NULL },
	{ "PidFile", OPT_PATH, OFF(pid_file), NULL, 0, 0, NULL,
	    "file to write the daemon's process id to", NULL },
	{ "Syslog", OPT_BOOL, OFF(syslog), "yes", 0, 0, NULL,
	    "log to syslog", NULL },
	{ "SyslogFacility", OPT_ENUM, OFF(syslog_facility), "mail", 0, 0,
	    facility_values, "syslog facility", NULL },
	{ "LogLevel", OPT_ENUM, OFF(log_level), "info", 0, 0, level_values,
	    "least severe level logged: error, warning, notice, info, debug", NULL },
	{ "SpoolDir", OPT_PATH, OFF(spool_dir), "/var/tmp", 0, 0, NULL,
	    "directory for message bodies larger than SpoolThreshold", NULL },
	{ "SpoolThreshold", OPT_SIZE, OFF(spool_threshold), "256k", 0,
	    1 * GIB, NULL, "message bodies above this size are spooled to "
	    "disk instead of memory", NULL },
	{ "MaxMessageSize", OPT_SIZE, OFF(max_message_size), "0", 0,
	    64 * GIB, NULL, "reject larger messages (headers plus body) with "
	    "552 5.3.4; 0 means no limit", NULL },
	{ "Mode", OPT_ENUM, OFF(mode), "outbound", 0, 0, mode_values,
	    "outbound (sign/encrypt), inbound (decrypt/verify) or both", NULL },
	{ "InternalNetworks", OPT_NETLIST, OFF(internal_networks),
	    "127.0.0.0/8 ::1/128", 0, 0, NULL,
	    "client networks whose mail counts as internal", NULL },
	{ "MilterTimeout", OPT_UINT, OFF(milter_timeout), "600", 1, 86400,
	    NULL, "seconds libmilter waits for the MTA before closing a "
	    "connection", NULL },
	{ "CertificateSources", OPT_STRING, OFF(cert_sources),
	    "dir:/var/lib/smime-milter/certs", 0, 0, NULL,
	    "where recipient certificates are looked up, in order: "
	    "dir:PATH, ldap:NAME, harvested", check_cert_sources },
	{ "TrustAnchors", OPT_PATH, OFF(trust_anchors), NULL, 0, 0, NULL,
	    "PEM file or directory of trusted CA certificates", NULL },
	{ "CRLFile", OPT_LIST, OFF(crl_files), NULL, 0, 0, NULL,
	    "certificate revocation list, PEM or DER (may repeat)", NULL },
	{ "CRLRefresh", OPT_DURATION, OFF(crl_refresh), "1h", 0, 7 * 86400,
	    NULL, "how often CRL files and LDAP CRLs are read again; 0 "
	    "means only at start-up and reload", NULL },
	{ "RequireCRL", OPT_BOOL, OFF(require_crl), "no", 0, 0, NULL,
	    "refuse certificates whose revocation status cannot be checked", NULL },
	{ "AllowSubjectEmail", OPT_BOOL, OFF(allow_subject_email), "no", 0, 0,
	    NULL, "accept the legacy emailAddress of the subject DN when "
	    "subjectAltName lacks the address", NULL },
	{ "MinRSABits", OPT_UINT, OFF(min_rsa_bits), "2048", 1024, 16384,
	    NULL, "smallest RSA key accepted for encryption", NULL },
	{ "EncryptToAllCertificates", OPT_BOOL, OFF(encrypt_to_all_certs),
	    "no", 0, 0, NULL, "encrypt to every usable certificate of a "
	    "recipient instead of the newest only", NULL },
	{ "CertCacheSize", OPT_UINT, OFF(cert_cache_size), "10000", 0,
	    10000000, NULL, "addresses kept in the look-up cache; 0 disables "
	    "it", NULL },
	{ "CertCacheTTL", OPT_DURATION, OFF(cert_cache_ttl), "1h", 0,
	    7 * 86400, NULL, "how long a found certificate is cached", NULL },
	{ "CertNegativeTTL", OPT_DURATION, OFF(cert_negative_ttl), "5m", 0,
	    86400, NULL, "how long \"no usable certificate\" is cached", NULL },
	{ "HarvestDir", OPT_PATH, OFF(harvest_dir),
	    "/var/lib/smime-milter/harvested", 0, 0, NULL,
	    "where certificates harvested from signed mail are kept", NULL },
	{ "LDAPDirectory", OPT_LIST, OFF(ldap_directories), NULL, 0, 0, NULL,
	    "an LDAP directory to search: NAME uri=... base=... (may repeat)",
	    check_ldap_spec },
	{ "PolicyFile", OPT_PATH, OFF(policy_file), NULL, 0, 0, NULL,
	    "the policy file, smime-milter.policy(5); unset means the "
	    "built-in policy (encrypt opportunistically, never sign)", NULL },
	{ "PolicyRefresh", OPT_DURATION, OFF(policy_refresh), "15m", 0,
	    86400, NULL, "how often LDAP groups named in the policy are read "
	    "again; 0 means only at start-up and reload", NULL },
	{ "RequestHeader", OPT_STRING, OFF(request_header), "X-SMIME-Request",
	    0, 0, NULL, "header field by which an internal sender asks for "
	    "encrypt, sign or plain-ok; empty disables it", check_header_name },
	{ "SubjectTag", OPT_STRING, OFF(subject_tag), "[secure]", 0, 0, NULL,
	    "Subject tag by which an internal sender asks for encryption; "
	    "empty disables it", NULL },
	{ "SenderKeys", OPT_PATH, OFF(sender_keys), NULL, 0, 0, NULL,
	    "directory of the senders' signing keys (ADDRESS.p12, or "
	    "ADDRESS.key with ADDRESS.crt)", NULL },
	{ "SenderKeyPassphraseFile", OPT_PATH,
	    OFF(sender_key_passphrase_file), NULL, 0, 0, NULL,
	    "file holding the passphrase of the sender keys", NULL },
	{ "SenderAuthMap", OPT_PATH, OFF(sender_auth_map), NULL, 0, 0, NULL,
	    "file mapping SMTP AUTH users to the sender addresses they may "
	    "sign as", NULL },
	{ "NoticeFrom", OPT_STRING, OFF(notice_from), "postmaster", 0, 0,
	    NULL, "From address of notices to senders; without @ the MTA's "
	    "host name is added", NULL },
	{ "ReinjectSocket", OPT_SOCKET, OFF(reinject),
	    "inet:10026@127.0.0.1", 0, 0, NULL, "milter-free SMTP listener of "
	    "the MTA that takes notices and extra copies", NULL },
	{ "ReinjectRecipientLimit", OPT_UINT, OFF(reinject_rcpt_limit),
	    "1000", 1, 100000, NULL, "most recipients of one re-submission; "
	    "a copy for more goes in several transactions", NULL },
	{ "RejectAtRcpt", OPT_BOOL, OFF(reject_at_rcpt), "yes", 0, 0, NULL,
	    "reject a recipient at RCPT TO when the policy alone requires "
	    "encryption and no certificate exists", NULL },
	{ "ReinjectSecretFile", OPT_PATH, OFF(reinject_secret_file), NULL, 0,
	    0, NULL, "file with the secret that marks re-submitted copies; "
	    "unset: a random secret for the daemon's lifetime", NULL },
	{ "ReinjectTimeout", OPT_DURATION, OFF(reinject_timeout), "60s", 5,
	    3600, NULL, "how long one re-submission to ReinjectSocket may "
	    "take", NULL },
	{ "ReinjectTLS", OPT_ENUM, OFF(reinject_tls), "none", 0, 0,
	    reinject_tls_values, "STARTTLS to ReinjectSocket: none, may (if "
	    "offered), encrypt (required) or verify (required, certificate "
	    "checked against ReinjectTLSCAFile)", NULL },
	{ "ReinjectTLSCAFile", OPT_PATH, OFF(reinject_tls_ca_file), NULL, 0,
	    0, NULL, "PEM file of the CA certificates that ReinjectTLS verify "
	    "trusts", NULL },
	{ "ReinjectAuthFile", OPT_PATH, OFF(reinject_auth_file), NULL, 0, 0,
	    NULL, "file with one line user:password for AUTH PLAIN to "
	    "ReinjectSocket (mode 0600); unset: no AUTH", NULL },
	{ "JournalDir", OPT_PATH, OFF(journal_dir),
	    "/var/lib/smime-milter/journal", 0, 0, NULL,
	    "where the copies already re-submitted are recorded", NULL },
	{ "RemoveValidMarker", OPT_BOOL, OFF(remove_valid_marker), "no", 0, 0,
	    NULL, "remove the marker of a re-submitted copy that verifies when "
	    "it passes the milter again", NULL },
	{ "BccInOwnCopy", OPT_BOOL, OFF(bcc_in_own_copy), "no", 0, 0, NULL,
	    "show a Bcc recipient their own address in a Bcc field of their "
	    "own copy", NULL },
	{ "ReplaceBodyChunk", OPT_SIZE, OFF(body_chunk), "65535", 512, 65535,
	    NULL, "largest piece of a new body sent to the MTA at once", NULL },
};

#define OPTION_COUNT (sizeof(option_table) / sizeof(option_table[0]))

static const char *const type_names[] = {
	[OPT_STRING] = "string",
	[OPT_PATH] = "path",
	[OPT_USER] = "user[:group]",
	[OPT_BOOL] = "yes|no",
	[OPT_UINT] = "number",
	[OPT_SIZE] = "size",
	[OPT_ENUM] = "keyword",
	[OPT_SOCKET] = "socket",
	[OPT_NETLIST] = "networks",
	[OPT_DURATION] = "duration",
	[OPT_LIST] = "list",
	[OPT_OCTAL] = "octal",
};

size_t
config_option_count(void)
{
	return OPTION_COUNT;
}

void
config_option_info(size_t i, const char **name, const char **type,
    const char **def, const char **doc)
{
	const struct option *opt = &option_table[i];

	*name = opt->name;
	*type = type_names[opt->type];
	*def = opt->def != NULL ? opt->def : "";
	*doc = opt->doc;
}

const char *
config_mode_name(int mode)
{
	const struct enum_value *v;

	for (v = mode_values; v->name != NULL; v++)
		if (v->value == mode)
			return v->name;
	return "?";
}

static int
parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* Decimal number with an optional k/m/g (binary) suffix. */
static int
parse_size(const char *s, bool suffix_ok, uint64_t *out)
{
	uint64_t v = 0, mult = 1;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (*p != '\0') {
		if (!suffix_ok || p[1] != '\0')
			return -1;
		switch (tolower((unsigned char)*p)) {
		case 'k': mult = KIB; break;
		case 'm': mult = MIB; break;
		case 'g': mult = GIB; break;
		default: return -1;
		}
	}
	if (v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

/*
 * One to four octal digits and nothing else: no sign, no blanks, no "0o"
 * (strtoul would take the first two and stop quietly at an 8 or 9).  A
 * leading zero is optional; "7" and "007" are the same mask.
 */
static int
parse_octal(const char *s, uint64_t *out)
{
	uint64_t v = 0;
	size_t n;

	for (n = 0; s[n] != '\0'; n++) {
		if (s[n] < '0' || s[n] > '7' || n >= 4)
			return -1;
		v = v * 8 + (uint64_t)(s[n] - '0');
	}
	if (n == 0)
		return -1;
	*out = v;
	return 0;
}

/* Seconds with an optional s, m, h or d suffix. */
static int
parse_duration(const char *s, uint64_t *out)
{
	size_t len = strlen(s);
	uint64_t mult = 1, v;
	char num[32];

	if (len == 0 || len >= sizeof(num))
		return -1;
	memcpy(num, s, len + 1);
	switch (tolower((unsigned char)num[len - 1])) {
	case 's': mult = 1; num[--len] = '\0'; break;
	case 'm': mult = 60; num[--len] = '\0'; break;
	case 'h': mult = 3600; num[--len] = '\0'; break;
	case 'd': mult = 86400; num[--len] = '\0'; break;
	default: break;
	}
	if (parse_size(num, false, &v) != 0 || v > UINT32_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

int
config_each_word(const char *text, int (*fn)(const char *word, void *arg),
    void *arg)
{
	char *copy = strdup(text), *tok, *save = NULL;
	int rc = 0;

	if (copy == NULL)
		return -1;
	for (tok = strtok_r(copy, " \t,", &save); tok != NULL && rc == 0;
	    tok = strtok_r(NULL, " \t,", &save))
		rc = fn(tok, arg);
	free(copy);
	return rc;
}

struct word_check {
	char *err;
	size_t errlen;
};

static int
check_source_word(const char *word, void *arg)
{
	struct word_check *wc = arg;

	if ((strncmp(word, "dir:", 4) == 0 && word[4] == '/') ||
	    (strncmp(word, "ldap:", 5) == 0 && word[5] != '\0') ||
	    strcmp(word, "harvested") == 0)
		return 0;
	snprintf(wc->err, wc->errlen, "unknown source '%s' (want dir:/PATH, "
	    "ldap:NAME or harvested)", word);
	return 1;
}

/* "dir:/abs/path", "ldap:NAME" or "harvested", separated by spaces. */
static int
check_cert_sources(const char *value, char *err, size_t errlen)
{
	struct word_check wc = { err, errlen };
	int rc = config_each_word(value, check_source_word, &wc);

	if (rc < 0)
		snprintf(err, errlen, "out of memory");
	return rc != 0 ? -1 : 0;
}

/* The LDAP source owns its spec syntax; checked here for file:line. */
static int
check_ldap_spec(const char *value, char *err, size_t errlen)
{
	return ldap_spec_check(value, err, errlen);
}

/* RFC 5322 field name: printable ASCII except colon; empty disables. */
static int
check_header_name(const char *value, char *err, size_t errlen)
{
	const unsigned char *p;

	for (p = (const unsigned char *)value; *p != '\0'; p++)
		if (*p < 33 || *p > 126 || *p == ':') {
			snprintf(err, errlen, "not a header field name");
			return -1;
		}
	if (p - (const unsigned char *)value > 76) {
		snprintf(err, errlen, "header field name too long");
		return -1;
	}
	return 0;
}

static int
valid_user(const char *s)
{
	const char *p;
	int colons = 0;

	if (*s == '\0' || *s == ':')
		return 0;
	for (p = s; *p != '\0'; p++) {
		if (*p == ':') {
			if (++colons > 1 || p[1] == '\0')
				return 0;
		} else if (!isalnum((unsigned char)*p) && *p != '_' &&
		    *p != '-' && *p != '.') {
			return 0;
		}
	}
	return 1;
}

void
config_list_free(char **list)
{
	size_t i;

	for (i = 0; list != NULL && list[i] != NULL; i++)
		free(list[i]);
	free(list);
}

size_t
config_list_count(char *const *list)
{
	size_t n = 0;

	while (list != NULL && list[n] != NULL)
		n++;
	return n;
}

static int
list_append(char ***list, const char *value)
{
	size_t n = config_list_count(*list);
	char **grown = realloc(*list, (n + 2) * sizeof(char *));

	if (grown == NULL)
		return -1;
	*list = grown;
	if ((grown[n] = strdup(value)) == NULL)
		return -1;
	grown[n + 1] = NULL;
	return 0;
}

static void
free_field(struct config *cfg, const struct option *opt)
{
	void *field = (char *)cfg + opt->offset;

	switch (opt->type) {
	case OPT_STRING:
	case OPT_PATH:
	case OPT_USER:
		free(*(char **)field);
		*(char **)field = NULL;
		break;
	case OPT_NETLIST:
		netlist_free(*(struct netlist **)field);
		*(struct netlist **)field = NULL;
		break;
	case OPT_LIST:
		config_list_free(*(char ***)field);
		*(char ***)field = NULL;
		break;
	default:
		break;
	}
}

/*
 * Store value into the field of opt.  Returns 0, or -1 with the reason
 * (without file:line) in err.
 */
/*
 * n within [opt->min, opt->max], else false and the reason in err; bounds
 * is how to show them (two unsigned long long conversions: "%llu to
 * %llu", octal for masks), a literal from this file.
 */
static bool
in_range(const struct option *opt, const char *value, uint64_t n,
    const char *bounds, char *err, size_t errlen)
{
	char shown[100];

	if (n >= opt->min && n <= opt->max)
		return true;
	snprintf(shown, sizeof(shown), bounds, (unsigned long long)opt->min,
	    (unsigned long long)opt->max);
	snprintf(err, errlen, "%s: %s is out of range (%s)", opt->name, value,
	    shown);
	return false;
}

static int
set_option(struct config *cfg, const struct option *opt, const char *value,
    char *err, size_t errlen)
{
	void *field = (char *)cfg + opt->offset;
	const struct enum_value *ev;
	struct netlist *nl;
	uint64_t n;
	char *dup;
	char why[200];

	if (opt->check != NULL && opt->check(value, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "%s: %s", opt->name, why);
		return -1;
	}
	switch (opt->type) {
	case OPT_LIST:
		if (list_append((char ***)field, value) != 0)
			goto oom;
		return 0;
	case OPT_OCTAL:
		if (parse_octal(value, &n) != 0) {
			snprintf(err, errlen, "%s: expected an octal mask "
			    "such as 007 or 027, got '%s'", opt->name, value);
			return -1;
		}
		if (!in_range(opt, value, n, "%03llo to %03llo", err, errlen))
			return -1;
		*(unsigned *)field = (unsigned)n;
		return 0;
	case OPT_DURATION:
		if (parse_duration(value, &n) != 0) {
			snprintf(err, errlen, "%s: expected a duration such as "
			    "30s, 5m, 1h or 2d, got '%s'", opt->name, value);
			return -1;
		}
		if (!in_range(opt, value, n, "%llu to %llu seconds", err,
		    errlen))
			return -1;
		*(unsigned *)field = (unsigned)n;
		return 0;
	case OPT_PATH:
		if (value[0] != '/') {
			snprintf(err, errlen, "%s: path must be absolute, got "
			    "'%s'", opt->name, value);
			return -1;
		}
		/* FALLTHROUGH */
	case OPT_STRING:
	case OPT_USER:
		if (opt->type == OPT_USER && !valid_user(value)) {
			snprintf(err, errlen, "%s: expected user or "
			    "user:group, got '%s'", opt->name, value);
			return -1;
		}
		if ((dup = strdup(value)) == NULL)
			goto oom;
		free(*(char **)field);
		*(char **)field = dup;
		return 0;
	case OPT_BOOL:
		if (parse_bool(value, (bool *)field) != 0) {
			snprintf(err, errlen, "%s: expected yes or no, got "
			    "'%s'", opt->name, value);
			return -1;
		}
		return 0;
	case OPT_UINT:
	case OPT_SIZE:
		if (parse_size(value, opt->type == OPT_SIZE, &n) != 0) {
			snprintf(err, errlen, "%s: expected %s, got '%s'",
			    opt->name, opt->type == OPT_SIZE ?
			    "a size such as 512k, 10m or 1g" : "a number",
			    value);
			return -1;
		}
		if (!in_range(opt, value, n, "%llu to %llu", err, errlen))
			return -1;
		if (opt->type == OPT_SIZE)
			*(uint64_t *)field = n;
		else
			*(unsigned *)field = (unsigned)n;
		return 0;
	case OPT_ENUM:
		for (ev = opt->values; ev->name != NULL; ev++) {
			if (strcasecmp(ev->name, value) == 0) {
				*(int *)field = ev->value;
				return 0;
			}
		}
		snprintf(err, errlen, "%s: unknown value '%s' (one of:",
		    opt->name, value);
		for (ev = opt->values; ev->name != NULL; ev++) {
			size_t len = strlen(err);

			snprintf(err + len, errlen - len, " %s", ev->name);
		}
		snprintf(err + strlen(err), errlen - strlen(err), ")");
		return -1;
	case OPT_SOCKET:
		if (sockspec_parse(value, (struct sockspec *)field, why,
		    sizeof(why)) != 0) {
			snprintf(err, errlen, "%s: %s: '%s'", opt->name, why,
			    value);
			return -1;
		}
		return 0;
	case OPT_NETLIST:
		if ((nl = netlist_parse(value, why, sizeof(why))) == NULL) {
			snprintf(err, errlen, "%s: %s", opt->name, why);
			return -1;
		}
		netlist_free(*(struct netlist **)field);
		*(struct netlist **)field = nl;
		return 0;
	}
	snprintf(err, errlen, "%s: internal error: bad option type",
	    opt->name);
	return -1;
oom:
	snprintf(err, errlen, "out of memory");
	return -1;
}

/* Keep the text of option i for config_dump(); repeats of a list option
 * are joined with newlines (one "Key value" line each when dumped). */
static int
remember_value(struct config *cfg, size_t i, const char *value, bool append)
{
	char *dup;

	if (append && cfg->values[i] != NULL) {
		if (asprintf(&dup, "%s\n%s", cfg->values[i], value) < 0)
			return -1;
	} else if ((dup = strdup(value != NULL ? value : "")) == NULL) {
		return -1;
	}
	free(cfg->values[i]);
	cfg->values[i] = dup;
	return 0;
}

static struct config *
config_new_defaults(char *err, size_t errlen)
{
	struct config *cfg;
	size_t i;

	cfg = calloc(1, sizeof(*cfg));
	if (cfg == NULL || (cfg->values = calloc(OPTION_COUNT,
	    sizeof(char *))) == NULL) {
		free(cfg);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&cfg->refs, 1);
	for (i = 0; i < OPTION_COUNT; i++) {
		const struct option *opt = &option_table[i];

		if (remember_value(cfg, i, opt->def, false) != 0) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if (opt->def == NULL)
			continue;
		if (set_option(cfg, opt, opt->def, err, errlen) != 0)
			goto fail;
	}
	return cfg;
fail:
	config_release(cfg);
	return NULL;
}

struct config *
config_defaults(void)
{
	char err[256];

	return config_new_defaults(err, sizeof(err));
}

static const struct option *
find_option(const char *name, size_t *index)
{
	size_t i;

	for (i = 0; i < OPTION_COUNT; i++) {
		if (strcasecmp(option_table[i].name, name) == 0) {
			*index = i;
			return &option_table[i];
		}
	}
	return NULL;
}

static char *
trim(char *s)
{
	char *end;

	while (*s == ' ' || *s == '\t')
		s++;
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
	    end[-1] == '\r'))
		*--end = '\0';
	return s;
}

/*
 * Handle one line (NUL-terminated, without newline).  seen[] records the
 * line number each option was set on, to refuse duplicates.
 */
static int
parse_line(struct config *cfg, char *line, unsigned *seen, unsigned lineno,
    const char *name, char *err, size_t errlen)
{
	const struct option *opt;
	char *key, *value, *p;
	char why[512];
	size_t idx;

	key = trim(line);
	if (*key == '\0' || *key == '#')
		return 0;
	for (p = key; *p != '\0' && *p != ' ' && *p != '\t'; p++)
		;
	value = *p != '\0' ? p + 1 : p;
	*p = '\0';
	value = trim(value);

	opt = find_option(key, &idx);
	if (opt == NULL) {
		snprintf(err, errlen, "%s:%u: unknown option '%.80s'", name,
		    lineno, key);
		return -1;
	}
	if (*value == '\0') {
		snprintf(err, errlen, "%s:%u: option %s needs a value", name,
		    lineno, opt->name);
		return -1;
	}
	if (seen[idx] != 0 && opt->type != OPT_LIST) {
		snprintf(err, errlen, "%s:%u: %s was already set on line %u",
		    name, lineno, opt->name, seen[idx]);
		return -1;
	}
	if (set_option(cfg, opt, value, why, sizeof(why)) != 0 ||
	    remember_value(cfg, idx, value, seen[idx] != 0) != 0) {
		snprintf(err, errlen, "%s:%u: %s", name, lineno, why);
		return -1;
	}
	seen[idx] = lineno;
	return 0;
}

struct config *
config_parse(const char *name, const char *text, size_t len, char *err,
    size_t errlen)
{
	struct config *cfg;
	unsigned seen[OPTION_COUNT] = { 0 };
	char line[CONFIG_MAX_LINE + 1];
	unsigned lineno = 0;
	size_t pos = 0;

	err[0] = '\0';
	if ((cfg = config_new_defaults(err, errlen)) == NULL)
		return NULL;
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t linelen = nl != NULL ? (size_t)(nl - (text + pos)) :
		    len - pos;

		lineno++;
		if (linelen > CONFIG_MAX_LINE) {
			snprintf(err, errlen, "%s:%u: line longer than %d "
			    "bytes", name, lineno, CONFIG_MAX_LINE);
			goto fail;
		}
		if (memchr(text + pos, '\0', linelen) != NULL) {
			snprintf(err, errlen, "%s:%u: NUL byte in line", name,
			    lineno);
			goto fail;
		}
		memcpy(line, text + pos, linelen);
		line[linelen] = '\0';
		if (parse_line(cfg, line, seen, lineno, name, err, errlen) != 0)
			goto fail;
		pos += linelen + 1;
	}
	if (cfg->spool_threshold > cfg->max_message_size &&
	    cfg->max_message_size != 0)
		log_msg(LOG_LVL_DEBUG, "%s: SpoolThreshold exceeds "
		    "MaxMessageSize: nothing will be spooled", name);
	if ((cfg->path = strdup(name)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return cfg;
fail:
	config_release(cfg);
	return NULL;
}

struct config *
config_load(const char *path, char *err, size_t errlen)
{
	struct config *cfg = NULL;
	struct stat st;
	char *text = NULL;
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		goto done;
	}
	if (st.st_size > CONFIG_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %d bytes", path,
		    CONFIG_MAX_FILE);
		goto done;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		goto done;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, text + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(err, errlen, "%s: read error: %s", path,
			    n < 0 ? strerror(errno) : "file shrank");
			goto done;
		}
		got += (size_t)n;
	}
	cfg = config_parse(path, text, got, err, errlen);
done:
	free(text);
	close(fd);
	return cfg;
}

struct config *
config_retain(struct config *cfg)
{
	atomic_fetch_add(&cfg->refs, 1);
	return cfg;
}

void
config_release(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	if (atomic_fetch_sub(&cfg->refs, 1) != 1)
		return;
	for (i = 0; i < OPTION_COUNT; i++) {
		free_field(cfg, &option_table[i]);
		if (cfg->values != NULL)
			free(cfg->values[i]);
	}
	free(cfg->values);
	free(cfg->path);
	free(cfg);
}

int
config_check_system(const struct config *cfg, char *err, size_t errlen)
{
	struct stat st;

	if (cfg->user != NULL) {
		char user[256];
		char *colon;

		snprintf(user, sizeof(user), "%s", cfg->user);
		colon = strchr(user, ':');
		if (colon != NULL)
			*colon = '\0';
		if (getpwnam(user) == NULL) {
			snprintf(err, errlen, "UserID: no such user '%s'",
			    user);
			return -1;
		}
		if (colon != NULL && getgrnam(colon + 1) == NULL) {
			snprintf(err, errlen, "UserID: no such group '%s'",
			    colon + 1);
			return -1;
		}
	}
	if (stat(cfg->spool_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "SpoolDir: '%s' is not a directory",
		    cfg->spool_dir);
		return -1;
	}
	return 0;
}

void
config_dump(const struct config *cfg, void (*emit)(const char *line,
    void *arg), void *arg)
{
	char line[CONFIG_MAX_LINE + 128];
	size_t i;

	for (i = 0; i < OPTION_COUNT; i++) {
		const char *v = cfg->values[i];

		if (v == NULL || *v == '\0') {
			snprintf(line, sizeof(line), "# %s (not set)",
			    option_table[i].name);
			emit(line, arg);
			continue;
		}
		while (*v != '\0') {
			size_t len = strcspn(v, "\n");

			snprintf(line, sizeof(line), "%s %.*s",
			    option_table[i].name, (int)len, v);
			emit(line, arg);
			v += len + (v[len] == '\n');
		}
	}
}

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct config *current_config;

struct config *
config_current(void)
{
	struct config *cfg;

	pthread_mutex_lock(&current_lock);
	cfg = current_config != NULL ? config_retain(current_config) : NULL;
	pthread_mutex_unlock(&current_lock);
	return cfg;
}

void
config_install(struct config *cfg)
{
	struct config *old;

	pthread_mutex_lock(&current_lock);
	old = current_config;
	current_config = cfg;
	pthread_mutex_unlock(&current_lock);
	config_release(old);
}
