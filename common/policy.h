/*
 * policy.h -- the policy file, smime-milter.policy(5) (SPEC M3, M4).
 *
 * A policy is a list of first-match rules on (sender, recipient) plus a
 * default, and named groups of addresses (listed in the file or read from
 * an LDAP group).  Loading parses, checks and indexes everything; the
 * result is immutable and reference counted, so the daemon swaps in a new
 * policy on reload while messages in flight keep the one they started
 * with.  Deciding is a pure function of the policy and its arguments.
 *
 * Parts: policy_parse.c (syntax, includes, settings), policy_groups.c
 * (group resolution, LDAP members, cycles), policy_load.c (assembly and
 * the entry points below), policy_index.c (the look-up structures and
 * policy_decide), policy_request.c (request header and subject tag),
 * policy_names.c (setting names, defaults, the string arena).
 */
#ifndef SMIME_POLICY_H
#define SMIME_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "cmsenv.h"
#include "smime_sign.h"

enum pol_encrypt {
	POL_ENCRYPT_NEVER = 0,
	POL_ENCRYPT_OPPORTUNISTIC,	/* when a certificate exists */
	POL_ENCRYPT_REQUIRED,		/* else missing-cert decides */
};

enum pol_missing {
	POL_MISSING_REJECT = 0,	/* 550 5.7.1 (RCPT time where possible) */
	POL_MISSING_DEFER,	/* 451 4.7.1, the MTA retries */
	POL_MISSING_NOTIFY,	/* drop the recipient, tell the sender */
	POL_MISSING_SIGN_ONLY,	/* send signed, not encrypted */
	POL_MISSING_PLAIN,	/* send as the rule's sign setting says */
};

enum pol_bcc {
	POL_BCC_INDIVIDUAL = 0,	/* one copy per hidden recipient */
	POL_BCC_SHARED,		/* hidden recipients share one copy */
};

/* Everything a rule can set. */
struct policy_settings {
	enum sign_mode sign;
	enum sign_digest digest;
	enum pol_encrypt encrypt;
	enum cms_cipher cipher;
	enum cms_keytransport key_transport;
	enum pol_missing missing_cert;
	enum pol_bcc bcc;
	bool encrypt_to_sender;
	bool protect_headers;
	bool allow_plain_ok;
};

/* Request flags (RequestHeader values, SubjectTag). */
#define POL_REQ_ENCRYPT		0x1u
#define POL_REQ_SIGN		0x2u
#define POL_REQ_PLAIN_OK	0x4u

struct policy;

/*
 * Members of an LDAP group, for "group NAME = ldap:DIR DN".  Returns 0
 * and a NULL-terminated array of addresses (freed by the policy with
 * free() on each and on the array), or -1 with a reason.
 */
struct policy_resolver {
	int (*members)(void *arg, const char *directory, const char *dn,
	    char ***members, size_t *n, char *err, size_t errlen);
	void *arg;
};

/*
 * Load the policy file at path (includes are read relative to the file
 * that names them).  resolver may be NULL: LDAP groups then stay
 * unresolved.  previous may be NULL; when an LDAP group cannot be read,
 * its members from previous (a group of the same name and source) are
 * kept.  Returns the policy with one reference, or NULL with
 * "file:line:col: reason" in err.
 */
struct policy *policy_load(const char *path,
    const struct policy_resolver *resolver, const struct policy *previous,
    char *err, size_t errlen);

/* The same from text (tests); name is used in messages and as the base
 * for relative includes. */
struct policy *policy_parse(const char *name, const char *text, size_t len,
    const struct policy_resolver *resolver, const struct policy *previous,
    char *err, size_t errlen);

/* The policy used when PolicyFile is not set. */
struct policy *policy_builtin(void);

struct policy *policy_retain(struct policy *p);
void policy_release(struct policy *p);

/* Counts, for logs and smimectl. */
size_t policy_rule_count(const struct policy *p);
size_t policy_group_count(const struct policy *p);
/* LDAP groups whose members are unknown (never read). */
size_t policy_unresolved_count(const struct policy *p);
/* Name, source ("file" or "ldap:DIR DN") and member count of group i;
 * members is (size_t)-1 for an unresolved LDAP group. */
void policy_group_info(const struct policy *p, size_t i, const char **name,
    const char **source, size_t *members);

/*
 * Confidential lists ("list ADDRESS = members" in the file, SPEC M9): the
 * milter expands them itself, one copy per member.  Returns 1 and the
 * members (the policy's strings, lower-cased) if address is a list, 0 if
 * it is not, -1 if it is but its members cannot be known now (an LDAP
 * group never read: the caller tempfails).
 */
int policy_list_members(const struct policy *p, const char *address,
    const char *const **members, size_t *n);
size_t policy_list_count(const struct policy *p);

/* The outcome of matching one (sender, recipient) pair. */
struct policy_decision {
	struct policy_settings s;
	const char *file;	/* where the matched rule is; the policy */
	unsigned line;		/* owns the string; line 0: no rule matched */
	bool unavailable;	/* a group needed to decide is unresolved */
	const char *unavailable_group;	/* its name, when unavailable */
	unsigned requested;	/* POL_REQ_* honoured (policy_apply_request) */
	unsigned ignored;	/* POL_REQ_* that could not change anything */
};

/*
 * First-match decision for one recipient of a message from sender ("" is
 * the null sender, matched only by "*").  Addresses are compared with
 * ASCII case folding; bytes above 127 compare exactly.  Never fails:
 * when an unresolved LDAP group could decide the match, out->unavailable
 * is set (the caller tempfails: the group might require encryption).
 */
void policy_decide(const struct policy *p, const char *sender,
    const char *rcpt, struct policy_decision *out);

/*
 * Apply request flags from a trusted sender (the caller checks trust):
 *   encrypt   encrypt=required; a missing-cert of plain or sign-only
 *             becomes reject, so the sender learns that nothing went out
 *             encrypted and may resend with plain-ok;
 *   sign      sign=clear if the rule says none;
 *   plain-ok  missing-cert=plain, only where the rule has allow-plain-ok.
 * Never lowers anything else.  Records what changed in d->requested and
 * what did not in d->ignored.
 */
void policy_apply_request(struct policy_decision *d, unsigned flags);

/*
 * Request flags in a RequestHeader value ("encrypt, sign", any case).
 * Unknown words are ignored and counted in *unknown (may be NULL).
 */
unsigned policy_request_parse(const char *value, unsigned *unknown);

/*
 * Find tag in a Subject value (ASCII case-insensitive).  Returns true and
 * writes the subject without the tag (and one adjacent space) to out
 * (outlen >= strlen(subject) + 1), or false if the tag is absent or
 * empty.
 */
bool policy_subject_untag(const char *subject, const char *tag, char *out,
    size_t outlen);

/* Names used in the file, for explain output and logs. */
const char *policy_encrypt_name(enum pol_encrypt e);
const char *policy_missing_name(enum pol_missing m);
const char *policy_bcc_name(enum pol_bcc b);
const char *policy_sign_name(enum sign_mode m);

/*
 * Every setting as "sign=clear digest=sha256 ..." (the file's syntax)
 * into out.  Returns out.
 */
char *policy_settings_format(const struct policy_settings *s, char *out,
    size_t outlen);

#endif
