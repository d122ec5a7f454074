/*
 * ctl_process.c -- "smimectl process": run the gateway's outbound engine
 * on one message without an MTA.  Reads a message on standard input,
 * builds the content to protect, signs it and/or encrypts it once for
 * every --group, and writes each copy as DIR/copy-N.eml.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>

#include "certlookup.h"
#include "cmsenv.h"
#include "config.h"
#include "ctl.h"
#include "message.h"
#include "message_read.h"
#include "mime.h"
#include "outer.h"
#include "sink.h"
#include "smime_sign.h"
#include "spool.h"

#define MAX_GROUPS 1024

struct process_args {
	const char *config, *out_dir, *key, *cert, *chain;
	struct sign_options sign;
	enum cms_cipher cipher;
	enum cms_keytransport kt;
	bool protect_headers;
	char *groups[MAX_GROUPS];
	size_t ngroups;
};

static int
parse_args(int argc, char **argv, struct process_args *a)
{
	static const struct option longopts[] = {
		{ "sign", required_argument, NULL, 's' },
		{ "sign-key", required_argument, NULL, 'k' },
		{ "sign-cert", required_argument, NULL, 'r' },
		{ "sign-chain", required_argument, NULL, 'C' },
		{ "digest", required_argument, NULL, 'd' },
		{ "pss", no_argument, NULL, 'p' },
		{ "cipher", required_argument, NULL, 'x' },
		{ "key-transport", required_argument, NULL, 't' },
		{ "protect-headers", no_argument, NULL, 'H' },
		{ "group", required_argument, NULL, 'g' },
		{ "out", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': a->config = optarg; break;
		case 's':
			if (strcmp(optarg, "clear") == 0)
				a->sign.mode = SIGN_CLEAR;
			else if (strcmp(optarg, "opaque") == 0)
				a->sign.mode = SIGN_OPAQUE;
			else
				return -1;
			break;
		case 'k': a->key = optarg; break;
		case 'r': a->cert = optarg; break;
		case 'C': a->chain = optarg; break;
		case 'd':
			if (strcmp(optarg, "sha256") == 0)
				a->sign.digest = DIGEST_SHA256;
			else if (strcmp(optarg, "sha384") == 0)
				a->sign.digest = DIGEST_SHA384;
			else if (strcmp(optarg, "sha512") == 0)
				a->sign.digest = DIGEST_SHA512;
			else
				return -1;
			break;
		case 'p': a->sign.rsa_pss = true; break;
		case 'x':
			if (cms_cipher_parse(optarg, &a->cipher) != 0)
				return -1;
			break;
		case 't':
			if (cms_keytransport_parse(optarg, &a->kt) != 0)
				return -1;
			break;
		case 'H': a->protect_headers = true; break;
		case 'g':
			if (a->ngroups == MAX_GROUPS)
				return -1;
			a->groups[a->ngroups++] = optarg;
			break;
		case 'o': a->out_dir = optarg; break;
		default: return -1;
		}
	}
	if (optind != argc || a->out_dir == NULL ||
	    (a->sign.mode != SIGN_NONE && (a->key == NULL || a->cert == NULL))
	    || (a->sign.mode == SIGN_NONE && a->ngroups == 0))
		return -1;
	return 0;
}

/* A member of --group: a certificate file, or an address to look up. */
static int
add_member(struct cert_list *certs, const char *member,
    struct certlookup *lk, char *err, size_t errlen)
{
	struct stat st;
	FILE *f;
	X509 *x;
	int rc;

	if (stat(member, &st) != 0 && strchr(member, '@') != NULL) {
		struct cert_result res;

		if (lk == NULL) {
			snprintf(err, errlen, "%s: looking up addresses needs "
			    "-c CONFIG", member);
			return -1;
		}
		if (certlookup_find(lk, member, &res) != LOOKUP_FOUND) {
			snprintf(err, errlen, "%s: %s", member, res.status ==
			    LOOKUP_ERROR ? res.error : "no usable certificate");
			cert_result_free(&res);
			return -1;
		}
		rc = cert_list_copy(certs, &res.usable);
		cert_result_free(&res);
		return rc;
	}
	if ((f = fopen(member, "r")) == NULL) {
		snprintf(err, errlen, "%s: cannot open", member);
		return -1;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	if (x == NULL) {
		rewind(f);
		x = d2i_X509_fp(f, NULL);
	}
	fclose(f);
	ERR_clear_error();
	if (x == NULL) {
		snprintf(err, errlen, "%s: not a certificate", member);
		return -1;
	}
	rc = cert_list_add(certs, x, NULL, "file", member);
	X509_free(x);
	return rc;
}

static int
load_group(char *spec, struct cert_list *certs, struct certlookup *lk,
    char *err, size_t errlen)
{
	char *member, *save = NULL;

	for (member = strtok_r(spec, ",", &save); member != NULL;
	    member = strtok_r(NULL, ",", &save))
		if (add_member(certs, member, lk, err, errlen) != 0)
			return -1;
	return 0;
}

/* One output file: outer header fields, then the entity. */
static int
write_copy(const char *dir, size_t n, const struct message *msg,
    bool protect, struct cms_envelope *env, size_t group,
    const struct spool *entity, char *err, size_t errlen)
{
	char path[400];
	struct sink out;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%.360s/copy-%zu.eml", dir, n);
	if ((f = fopen(path, "wb")) == NULL) {
		snprintf(err, errlen, "cannot create %s", path);
		return -1;
	}
	out = sink_to_file(f);
	rc = outer_write(msg->headers, msg->nheaders, protect, &out, err,
	    errlen);
	if (rc == 0)
		rc = env != NULL ? cms_envelope_write(env, group, &out, err,
		    errlen) : spool_copy_to_sink(entity, &out, err, errlen);
	if (fclose(f) != 0 && rc == 0) {
		snprintf(err, errlen, "cannot write %s", path);
		rc = -1;
	}
	if (rc != 0)
		remove(path);
	else
		printf("%s\n", path);
	return rc;
}

/* Everything after argument parsing; resources freed by the caller. */
struct run {
	struct config *cfg;
	struct certlookup *lk;
	struct message *msg;
	struct spool *content, *signed_entity;
	struct signer signer;
	struct cert_list certs[MAX_GROUPS];
	struct cms_group groups[MAX_GROUPS];
	struct cms_envelope *env;
};

static int
run_process(struct process_args *a, struct run *r, char *err, size_t errlen)
{
	struct mime_options mopt = { a->protect_headers,
	    a->ngroups > 0 ? "cipher" : "clear" };
	struct cms_options copt = { a->cipher, a->kt, NULL, 0, 0 };
	const struct spool *entity;
	struct sink s;
	size_t i;

	copt.spool_dir = r->cfg->spool_dir;
	copt.spool_threshold = r->cfg->spool_threshold;
	for (i = 0; i < a->ngroups; i++) {
		if (load_group(a->groups[i], &r->certs[i], r->lk, err,
		    errlen) != 0)
			return EX_DATAERR;
		r->groups[i].recips = r->certs[i].items;
		r->groups[i].nrecips = r->certs[i].count;
		r->groups[i].label = a->groups[i];
	}
	if ((r->msg = message_new(r->cfg, "")) == NULL ||
	    (r->content = spool_new(r->cfg->spool_dir,
	    r->cfg->spool_threshold)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return EX_OSERR;
	}
	if (message_read(r->msg, stdin) != MSG_OK) {
		snprintf(err, errlen, "standard input: %s", r->msg->reason);
		return EX_DATAERR;
	}
	s = sink_to_spool(r->content);
	if (mime_build_content(r->msg->headers, r->msg->nheaders, r->msg->body,
	    &mopt, &s, NULL, err, errlen) != 0)
		return EX_DATAERR;
	entity = r->content;
	if (a->sign.mode != SIGN_NONE) {
		if (signer_load(&r->signer, a->key, a->cert, a->chain, NULL,
		    err, errlen) != 0)
			return EX_NOINPUT;
		if ((r->signed_entity = spool_new(r->cfg->spool_dir,
		    r->cfg->spool_threshold)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return EX_OSERR;
		}
		s = sink_to_spool(r->signed_entity);
		if (smime_sign_entity(r->content, &r->signer, &a->sign,
		    r->cfg->spool_dir, &s, err, errlen) != 0)
			return EX_SOFTWARE;
		entity = r->signed_entity;
	}
	if (a->ngroups == 0)
		return write_copy(a->out_dir, 1, r->msg, false, NULL, 0, entity,
		    err, errlen) == 0 ? 0 : EX_CANTCREAT;
	if ((r->env = cms_envelope_new(entity, r->groups, a->ngroups, &copt,
	    err, errlen)) == NULL)
		return EX_SOFTWARE;
	for (i = 0; i < a->ngroups; i++)
		if (write_copy(a->out_dir, i + 1, r->msg, a->protect_headers,
		    r->env, i, NULL, err, errlen) != 0)
			return EX_SOFTWARE;
	fprintf(stderr, "smimectl: %zu cop%s, %s\n", a->ngroups,
	    a->ngroups == 1 ? "y" : "ies", cms_envelope_cipher_name(r->env));
	return 0;
}

int
ctl_process(int argc, char **argv)
{
	struct process_args a = { 0 };
	struct run *r = calloc(1, sizeof(*r));
	char err[512] = "";
	size_t i;
	int rc;

	if (r == NULL)
		return EX_OSERR;
	if (parse_args(argc, argv, &a) != 0) {
		free(r);
		return EX_USAGE;
	}
	if (a.config != NULL) {
		if ((r->cfg = ctl_load_config(a.config)) == NULL ||
		    (r->lk = certlookup_new(r->cfg, NULL, err,
		    sizeof(err))) == NULL) {
			rc = EX_CONFIG;
			goto done;
		}
	} else if ((r->cfg = config_defaults()) == NULL) {
		rc = EX_OSERR;
		goto done;
	}
	if (mkdir(a.out_dir, 0700) != 0 && access(a.out_dir, W_OK) != 0) {
		snprintf(err, sizeof(err), "cannot use %s", a.out_dir);
		rc = EX_CANTCREAT;
		goto done;
	}
	rc = run_process(&a, r, err, sizeof(err));
done:
	if (rc != 0 && err[0] != '\0')
		fprintf(stderr, "smimectl: %s\n", err);
	cms_envelope_free(r->env);
	for (i = 0; i < a.ngroups; i++)
		cert_list_free(&r->certs[i]);
	signer_free(&r->signer);
	spool_free(r->signed_entity);
	spool_free(r->content);
	message_free(r->msg);
	certlookup_free(r->lk);
	config_release(r->cfg);
	free(r);
	return rc;
}
