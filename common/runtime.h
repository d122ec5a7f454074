/*
 * runtime.h -- a configuration and everything built from it: the
 * certificate look-up, the policy, the sender keys, the SMTP AUTH map
 * and the TLS context and credentials of the reinjection client.
 *
 * The daemon, "smime-milter -n", "smimectl config check" and "smimectl
 * policy" all build it with runtime_load(), so a file they accept is a
 * file the daemon accepts.  A runtime is reference counted: a message
 * takes one at MAIL FROM and keeps it to the end, while a reload installs
 * a new one.  Only the policy is replaced inside a runtime (LDAP groups
 * are read again every PolicyRefresh), under a lock.
 */
#ifndef SMIME_RUNTIME_H
#define SMIME_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "marker.h"

struct authmap;
struct certlookup;
struct config;
struct policy;
struct senderkeys;
struct smtp_security;

struct runtime {
	_Atomic int refs;
	struct config *cfg;		/* one reference held */
	struct certlookup *certs;	/* owned */
	struct senderkeys *keys;	/* owned; empty without SenderKeys */
	struct authmap *authmap;	/* owned; empty without the map */
	struct marker_secret secret;	/* marks re-submitted copies */
	char journal_dir[4096];		/* JournalDir (made when needed) */
	struct smtp_security *reinject_sec; /* owned: TLS, AUTH (smtpsec.h) */

	pthread_mutex_t policy_lock;
	struct policy *policy;		/* one reference held */
};

/*
 * Load path, check it against the system, open the certificate sources,
 * load the policy (LDAP groups resolved through the configured
 * directories; previous, if not NULL, supplies members of groups that
 * cannot be read now), the sender keys and the AUTH map.  Returns the
 * runtime with one reference, or NULL with a reason.
 */
struct runtime *runtime_load(const char *path, struct runtime *previous,
    char *err, size_t errlen);

/* The same around a loaded configuration (whose reference it takes,
 * also on failure), without the system checks: tests. */
struct runtime *runtime_new(struct config *cfg, struct runtime *previous,
    char *err, size_t errlen);

struct runtime *runtime_retain(struct runtime *rt);
void runtime_release(struct runtime *rt);

/* The current policy, with a new reference (policy_release it). */
struct policy *runtime_policy(struct runtime *rt);

/*
 * Read the policy file again (PolicyRefresh); a file that has become
 * invalid keeps the running policy.  0, or -1 with a reason.
 */
int runtime_refresh_policy(struct runtime *rt, char *err, size_t errlen);

/* Load the policy at path (NULL: the one cfg names, or the built-in
 * one) as runtime_load does, with cfg's LDAP directories. */
struct policy *runtime_load_policy(const struct config *cfg,
    const char *path, struct policy *previous, char *err, size_t errlen);

/*
 * The running runtime shared by all threads (like config_current()):
 * runtime_current() returns it with a new reference, or NULL; install
 * takes over the caller's reference and releases the previous one.
 * Installing also installs its configuration (config_current()).
 */
struct runtime *runtime_current(void);
void runtime_install(struct runtime *rt);

#endif
