/*
 * config.h -- smime-milter.conf: "Key value" lines, driven by one typed
 * option table (name, type, default, range, doc line) that serves the
 * parser, "smime-milter -n", "smimectl config options" and the check that
 * keeps the man page in step.
 *
 * A struct config is immutable once loaded and reference counted: the
 * daemon swaps in a new one on SIGHUP while messages in flight keep the one
 * they started with.
 */
#ifndef SMIME_CONFIG_H
#define SMIME_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sockspec.h"

struct netlist;

enum config_mode {
	MODE_OUTBOUND = 0,	/* sign and encrypt outgoing mail */
	MODE_INBOUND,		/* decrypt and verify incoming mail */
	MODE_BOTH,
};

struct config {
	_Atomic int refs;		/* see config_retain */
	char *path;			/* file it came from, or NULL */

	struct sockspec socket;		/* Socket */
	char *user;			/* UserID: "user" or "user:group" */
	char *pid_file;			/* PidFile */
	bool syslog;			/* Syslog */
	int syslog_facility;		/* SyslogFacility: LOG_MAIL, ... */
	int log_level;			/* LogLevel: enum log_level */
	char *spool_dir;		/* SpoolDir */
	uint64_t spool_threshold;	/* SpoolThreshold, bytes */
	uint64_t max_message_size;	/* MaxMessageSize, bytes; 0 = none */
	int mode;			/* Mode: enum config_mode */
	struct netlist *internal_networks; /* InternalNetworks */
	unsigned milter_timeout;	/* MilterTimeout, seconds */
	unsigned file_umask;		/* UMask: mode bits, 0 to 0777 */

	/* Certificates (see certlookup.h). */
	char *cert_sources;		/* CertificateSources, words */
	char *trust_anchors;		/* TrustAnchors: file or directory */
	char **crl_files;		/* CRLFile, NULL-terminated (repeats) */
	bool require_crl;		/* RequireCRL */
	bool allow_subject_email;	/* AllowSubjectEmail */
	unsigned min_rsa_bits;		/* MinRSABits */
	bool encrypt_to_all_certs;	/* EncryptToAllCertificates */
	unsigned cert_cache_size;	/* CertCacheSize, entries */
	unsigned cert_cache_ttl;	/* CertCacheTTL, seconds */
	unsigned cert_negative_ttl;	/* CertNegativeTTL, seconds */
	unsigned crl_refresh;		/* CRLRefresh, seconds; 0 = never */
	char **ldap_directories;	/* LDAPDirectory specs (repeats) */
	char *harvest_dir;		/* HarvestDir */

	/* Policy (see policy.h) and the keys used for signing. */
	char *policy_file;		/* PolicyFile; NULL = built-in */
	unsigned policy_refresh;	/* PolicyRefresh, seconds (LDAP groups) */
	char *request_header;		/* RequestHeader; "" = disabled */
	char *subject_tag;		/* SubjectTag; "" = disabled */
	char *sender_keys;		/* SenderKeys directory */
	char *sender_key_passphrase_file; /* SenderKeyPassphraseFile */
	char *sender_auth_map;		/* SenderAuthMap */
	char *notice_from;		/* NoticeFrom */
	struct sockspec reinject;	/* ReinjectSocket */
	unsigned reinject_rcpt_limit;	/* ReinjectRecipientLimit */
	bool reject_at_rcpt;		/* RejectAtRcpt */
	uint64_t body_chunk;		/* ReplaceBodyChunk, bytes */
	char *reinject_secret_file;	/* ReinjectSecretFile */
	char *journal_dir;		/* JournalDir */
	bool remove_valid_marker;	/* RemoveValidMarker */
	bool bcc_in_own_copy;		/* BccInOwnCopy */
	unsigned reinject_timeout;	/* ReinjectTimeout, seconds */
	int reinject_tls;		/* ReinjectTLS: enum smtp_tls */
	char *reinject_tls_ca_file;	/* ReinjectTLSCAFile */
	char *reinject_auth_file;	/* ReinjectAuthFile */

	char **values;			/* text of every option, table order */
};

/*
 * Load and validate a configuration file.  Returns a new config with one
 * reference (the caller's), or NULL with "file:line: reason" in err.
 */
struct config *config_load(const char *path, char *err, size_t errlen);

/*
 * Parse configuration text (tests, and config_load).  name is used in
 * error messages.  Same return convention as config_load.
 */
struct config *config_parse(const char *name, const char *text, size_t len,
    char *err, size_t errlen);

/* A configuration holding only the defaults (never NULL unless OOM). */
struct config *config_defaults(void);

/* Take another reference; returns cfg. */
struct config *config_retain(struct config *cfg);

/* Drop a reference; frees cfg with the last one.  NULL is ignored. */
void config_release(struct config *cfg);

/*
 * Checks that need the running system rather than the text: the UserID
 * exists, SpoolDir is a directory.  Returns 0 or -1 with a reason.
 */
int config_check_system(const struct config *cfg, char *err, size_t errlen);

/*
 * Option table introspection, for "smimectl config options" and the
 * documentation check.  Returns the number of options; fills the
 * name/type/default/doc of option i (pointers into static storage).
 */
size_t config_option_count(void);
void config_option_info(size_t i, const char **name, const char **type,
    const char **def, const char **doc);

/* Write the effective value of every option as "Key value" lines. */
void config_dump(const struct config *cfg, void (*emit)(const char *line,
    void *arg), void *arg);

/* Lists (CRLFile, LDAPDirectory): NULL-terminated arrays. */
size_t config_list_count(char *const *list);
void config_list_free(char **list);

/*
 * Call fn for every word of text (separated by spaces, tabs or commas)
 * until it returns non-zero; returns that value, 0, or -1 when out of
 * memory.
 */
int config_each_word(const char *text, int (*fn)(const char *word,
    void *arg), void *arg);

/* Names for enum values (for logs). */
const char *config_mode_name(int mode);



/*
 * The running configuration, shared by all threads.  config_current()
 * returns it with a new reference (release it when done; NULL if none was
 * installed).  config_install() makes cfg current, taking over the
 * caller's reference, and releases the previous one: messages that hold a
 * reference keep the configuration they started with.
 */
struct config *config_current(void);
void config_install(struct config *cfg);

#endif
