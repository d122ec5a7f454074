/*
 * smtpsec.c -- configuration to struct smtp_security; see smtpsec.h.
 */
#include "smtpsec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "config.h"
#include "keyfile.h"
#include "log.h"
#include "sslerr.h"

#define AUTH_FIELD_MAX 255	/* as smtpsubmit.c sends them */

/*
 * The client context: TLS 1.2 or newer; with verify, the server's chain
 * must lead to a certificate of ca_file (the name or address check is
 * per connection, smtpio_starttls).  Without verify nothing about the
 * certificate is checked: encryption against passive listeners only.
 */
static SSL_CTX *
client_ctx(int level, const char *ca_file, char *err, size_t errlen)
{
	SSL_CTX *ctx;
	char what[300];

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1) {
		ssl_error(err, errlen, "ReinjectTLS: cannot set up TLS");
		goto fail;
	}
	if (level != SMTP_TLS_VERIFY) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	if (ca_file == NULL) {
		snprintf(err, errlen, "ReinjectTLS verify needs "
		    "ReinjectTLSCAFile");
		goto fail;
	}
	if (SSL_CTX_load_verify_file(ctx, ca_file) != 1) {
		snprintf(what, sizeof(what), "ReinjectTLSCAFile: %s", ca_file);
		ssl_error(err, errlen, what);
		goto fail;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* "user:password" from the private file path into sec. */
static int
read_credentials(struct smtp_security *sec, const char *path, char *err,
    size_t errlen)
{
	char line[KEYFILE_PASS_MAX], why[400], *colon;
	size_t ulen, plen;
	int rc = -1;

	/* The same reader and permission check as the sender keys'
	 * passphrase: first line, private file, nothing of it logged. */
	if (keyfile_read_passphrase(path, line, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "ReinjectAuthFile: %s", why);
		return -1;
	}
	if ((colon = strchr(line, ':')) == NULL) {
		snprintf(err, errlen, "ReinjectAuthFile: %s: the first line "
		    "must be user:password", path);
		goto cleanup;
	}
	ulen = (size_t)(colon - line);
	plen = strlen(colon + 1);
	if (ulen == 0 || plen == 0 || ulen > AUTH_FIELD_MAX ||
	    plen > AUTH_FIELD_MAX) {
		snprintf(err, errlen, "ReinjectAuthFile: %s: user and "
		    "password must each have 1 to %d bytes", path,
		    AUTH_FIELD_MAX);
		goto cleanup;
	}
	*colon = '\0';
	if ((sec->user = strdup(line)) == NULL ||
	    (sec->pass = OPENSSL_strdup(colon + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	rc = 0;
cleanup:
	OPENSSL_cleanse(line, sizeof(line));
	return rc;
}

struct smtp_security *
smtpsec_new(const struct config *cfg, char *err, size_t errlen)
{
	struct smtp_security *sec = calloc(1, sizeof(*sec));

	if (sec == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sec->tls = cfg->reinject_tls;
	if (sec->tls != SMTP_TLS_NONE && (sec->ctx = client_ctx(sec->tls,
	    cfg->reinject_tls_ca_file, err, errlen)) == NULL)
		goto fail;
	if (cfg->reinject_tls_ca_file != NULL && sec->tls != SMTP_TLS_VERIFY)
		log_msg(LOG_LVL_WARNING, "ReinjectTLSCAFile is only used with "
		    "ReinjectTLS verify");
	if (cfg->reinject_auth_file != NULL && read_credentials(sec,
	    cfg->reinject_auth_file, err, errlen) != 0)
		goto fail;
	return sec;
fail:
	smtpsec_free(sec);
	return NULL;
}

void
smtpsec_free(struct smtp_security *sec)
{
	if (sec == NULL)
		return;
	SSL_CTX_free(sec->ctx);
	free(sec->user);
	OPENSSL_clear_free(sec->pass, sec->pass != NULL ?
	    strlen(sec->pass) : 0);
	free(sec);
}
