/*
 * runtime.c -- configuration plus the resources it describes.
 */
#include "runtime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "authmap.h"
#include "certlookup.h"
#include "certsrc_ldap.h"
#include "config.h"
#include "log.h"
#include "journal.h"
#include "ldapgroup.h"
#include "policy.h"
#include "senderkeys.h"
#include "smtpsec.h"

/*
 * The secret of the re-submission marker: from ReinjectSecretFile, or
 * random for this process (copies re-submitted by an earlier process are
 * then simply looked at again: already encrypted ones pass, plain ones
 * are plain again).  Where the journal is.  The TLS context and AUTH
 * credentials of the reinjection client: made once here, not per
 * connection, and a bad file stops the start or the reload.
 */
static int
runtime_load_delivery(struct runtime *rt, char *err, size_t errlen)
{
	const struct config *cfg = rt->cfg;

	if ((rt->reinject_sec = smtpsec_new(cfg, err, errlen)) == NULL)
		return -1;

	if (cfg->reinject_secret_file != NULL) {
		if (marker_secret_load(cfg->reinject_secret_file, &rt->secret,
		    err, errlen) != 0)
			return -1;
	} else {
		rt->secret.len = 32;
		if (RAND_bytes(rt->secret.key, (int)rt->secret.len) != 1) {
			snprintf(err, errlen, "no randomness for the "
			    "re-submission secret");
			return -1;
		}
	}
	/* Made by the first record (journal_add): a daemon that never
	 * re-submits anything leaves no trace on disk. */
	snprintf(rt->journal_dir, sizeof(rt->journal_dir), "%s",
	    cfg->journal_dir);
	journal_expire(rt->journal_dir, time(NULL));
	return 0;
}

/* The sender keys and the AUTH map (empty without their options). */
static int
runtime_load_keys(struct runtime *rt, char *err, size_t errlen)
{
	const struct config *cfg = rt->cfg;

	if ((rt->keys = senderkeys_load(cfg->sender_keys,
	    cfg->sender_key_passphrase_file, err, errlen)) == NULL)
		return -1;
	if ((rt->authmap = authmap_load(cfg->sender_auth_map, err,
	    errlen)) == NULL)
		return -1;
	return 0;
}

/*
 * Policy groups "ldap:NAME DN" are read from the LDAPDirectory called
 * NAME.
 */
static int
resolve_group(void *arg, const char *directory, const char *dn,
    char ***members, size_t *n, char *err, size_t errlen)
{
	const struct config *cfg = arg;
	char name[LDAP_SPEC_NAME_MAX + 1];
	size_t i;

	for (i = 0; cfg->ldap_directories != NULL &&
	    cfg->ldap_directories[i] != NULL; i++)
		if (ldap_spec_name(cfg->ldap_directories[i], name,
		    sizeof(name)) == 0 && strcmp(name, directory) == 0)
			return ldapgroup_members(cfg->ldap_directories[i],
			    dn, members, n, err, errlen);
	snprintf(err, errlen, "no LDAPDirectory named %s", directory);
	return -1;
}

struct policy *
runtime_load_policy(const struct config *cfg, const char *path,
    struct policy *previous, char *err, size_t errlen)
{
	struct policy_resolver res = { resolve_group, (void *)cfg };

	if (path == NULL)
		path = cfg->policy_file;
	if (path == NULL)
		return policy_builtin();
	return policy_load(path, &res, previous, err, errlen);
}

struct runtime *
runtime_new(struct config *cfg, struct runtime *previous, char *err,
    size_t errlen)
{
	struct runtime *rt = calloc(1, sizeof(*rt));
	struct policy *prev_policy = NULL;

	if (rt == NULL) {
		config_release(cfg);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	atomic_init(&rt->refs, 1);
	pthread_mutex_init(&rt->policy_lock, NULL);
	rt->cfg = cfg;
	if ((rt->certs = certlookup_new(rt->cfg, NULL, err, errlen)) == NULL)
		goto fail;
	if (previous != NULL)
		prev_policy = runtime_policy(previous);
	rt->policy = runtime_load_policy(rt->cfg, NULL, prev_policy, err,
	    errlen);
	policy_release(prev_policy);
	if (rt->policy == NULL)
		goto fail;
	if (runtime_load_keys(rt, err, errlen) != 0 ||
	    runtime_load_delivery(rt, err, errlen) != 0)
		goto fail;
	return rt;
fail:
	runtime_release(rt);
	return NULL;
}

struct runtime *
runtime_load(const char *path, struct runtime *previous, char *err,
    size_t errlen)
{
	struct config *cfg = config_load(path, err, errlen);

	if (cfg == NULL)
		return NULL;
	if (config_check_system(cfg, err, errlen) != 0) {
		config_release(cfg);
		return NULL;
	}
	return runtime_new(cfg, previous, err, errlen);
}

struct runtime *
runtime_retain(struct runtime *rt)
{
	if (rt != NULL)
		atomic_fetch_add(&rt->refs, 1);
	return rt;
}

void
runtime_release(struct runtime *rt)
{
	if (rt == NULL || atomic_fetch_sub(&rt->refs, 1) != 1)
		return;
	OPENSSL_cleanse(&rt->secret, sizeof(rt->secret));
	smtpsec_free(rt->reinject_sec);
	authmap_free(rt->authmap);
	senderkeys_free(rt->keys);
	policy_release(rt->policy);
	certlookup_free(rt->certs);
	config_release(rt->cfg);
	pthread_mutex_destroy(&rt->policy_lock);
	free(rt);
}

struct policy *
runtime_policy(struct runtime *rt)
{
	struct policy *p;

	pthread_mutex_lock(&rt->policy_lock);
	p = policy_retain(rt->policy);
	pthread_mutex_unlock(&rt->policy_lock);
	return p;
}

int
runtime_refresh_policy(struct runtime *rt, char *err, size_t errlen)
{
	struct policy *old = runtime_policy(rt), *p;

	p = runtime_load_policy(rt->cfg, NULL, old, err, errlen);
	if (p == NULL) {
		policy_release(old);
		return -1;
	}
	pthread_mutex_lock(&rt->policy_lock);
	rt->policy = p;
	pthread_mutex_unlock(&rt->policy_lock);
	/* Once for runtime_policy() above, once for the runtime's own. */
	policy_release(old);
	policy_release(old);
	return 0;
}

static pthread_mutex_t current_lock = PTHREAD_MUTEX_INITIALIZER;
static struct runtime *current;

struct runtime *
runtime_current(void)
{
	struct runtime *rt;

	pthread_mutex_lock(&current_lock);
	rt = runtime_retain(current);
	pthread_mutex_unlock(&current_lock);
	return rt;
}

void
runtime_install(struct runtime *rt)
{
	struct runtime *old;

	config_install(rt != NULL ? config_retain(rt->cfg) : NULL);
	pthread_mutex_lock(&current_lock);
	old = current;
	current = rt;
	pthread_mutex_unlock(&current_lock);
	runtime_release(old);
}
