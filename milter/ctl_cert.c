/*
 * ctl_cert.c -- "smimectl cert lookup|list|import".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "certcheck.h"
#include "certlookup.h"
#include "certsrc_dir.h"
#include "config.h"
#include "ctl.h"

static struct certlookup *
open_lookup(const char *path, struct config **cfgp)
{
	struct certlookup *lk;
	char err[512];

	if ((*cfgp = ctl_load_config(path)) == NULL)
		return NULL;
	lk = certlookup_new(*cfgp, NULL, err, sizeof(err));
	if (lk == NULL) {
		fprintf(stderr, "smimectl: %s\n", err);
		config_release(*cfgp);
		*cfgp = NULL;
	}
	return lk;
}

static void
print_time(const char *label, const ASN1_TIME *t)
{
	BIO *out = BIO_new_fp(stdout, BIO_NOCLOSE);

	printf("%s", label);
	ASN1_TIME_print(out, t);
	BIO_free(out);
}

/* One certificate, indented, in the form every cert command uses. */
static void
print_cert(X509 *cert, const char *indent)
{
	EVP_PKEY *pkey = X509_get0_pubkey(cert);
	BIGNUM *serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert),
	    NULL);
	char *hex = serial != NULL ? BN_bn2hex(serial) : NULL;
	char subject[512], fp[65];

	X509_NAME_oneline(X509_get_subject_name(cert), subject,
	    sizeof(subject));
	cert_fingerprint(cert, fp);
	printf("%ssubject   %s\n", indent, subject);
	printf("%sserial    %s\n", indent, hex != NULL ? hex : "?");
	printf("%s", indent);
	print_time("notAfter  ", X509_get0_notAfter(cert));
	printf("\n");
	printf("%skey       %s %d bits\n", indent, pkey != NULL &&
	    EVP_PKEY_get0_type_name(pkey) ? EVP_PKEY_get0_type_name(pkey) :
	    "?", pkey != NULL ? EVP_PKEY_get_bits(pkey) : 0);
	printf("%ssha256    %s\n", indent, fp);
	OPENSSL_free(hex);
	BN_free(serial);
}

struct explain_state {
	int shown;
};

static void
explain_source(const char *source, enum lookup_status st,
    const struct cert_list *cands, const char *error, void *arg)
{
	struct explain_state *es = arg;
	size_t i;

	es->shown++;
	if (st == LOOKUP_ERROR) {
		printf("  %s: could not look: %s\n", source, error);
		return;
	}
	if (cands == NULL || cands->count == 0) {
		printf("  %s: no certificate%s%s\n", source,
		    error != NULL && *error ? ": " : "", error ? error : "");
		return;
	}
	printf("  %s: %zu candidate%s\n", source, cands->count,
	    cands->count == 1 ? "" : "s");
	for (i = 0; i < cands->count; i++) {
		const struct cert_candidate *c = &cands->items[i];

		char caps[128];

		smime_caps_format(&c->caps, caps, sizeof(caps));
		printf("    from %s\n", c->origin);
		print_cert(c->cert, "      ");
		printf("      caps      %s\n", caps);
		if (c->verdict == CERT_OK)
			printf("      ACCEPTED\n");
		else
			printf("      REJECTED %s: %s\n",
			    cert_verdict_name(c->verdict), c->reason);
	}
}

int
ctl_cert_lookup(int argc, char **argv)
{
	struct config *cfg;
	struct certlookup *lk;
	const char *path;
	int i, first = ctl_config_arg(argc, argv, &path), rc = 0;

	if (first < 0 || first >= argc)
		return EX_USAGE;
	if ((lk = open_lookup(path, &cfg)) == NULL)
		return EX_CONFIG;
	for (i = first; i < argc; i++) {
		struct explain_state es = { 0 };
		struct cert_result res;
		size_t j;
		char fp[65];

		printf("%s\n", argv[i]);
		certlookup_explain(lk, argv[i], explain_source, &es);
		switch (certlookup_find(lk, argv[i], &res)) {
		case LOOKUP_FOUND:
			for (j = 0; j < res.usable.count; j++) {
				cert_fingerprint(res.usable.items[j].cert, fp);
				printf("  => encrypt to %s (%s)\n", fp,
				    res.usable.items[j].source);
			}
			break;
		case LOOKUP_NONE:
			printf("  => no usable certificate\n");
			if (rc == 0)
				rc = 1;
			break;
		case LOOKUP_ERROR:
			printf("  => could not look: %s\n", res.error);
			rc = EX_TEMPFAIL;
			break;
		}
		cert_result_free(&res);
	}
	certlookup_free(lk);
	config_release(cfg);
	return rc;
}

static void
list_entry(const char *address, X509 *cert, const char *file, void *arg)
{
	char fp[65];
	BIO *out = BIO_new_fp(stdout, BIO_NOCLOSE);

	(void)arg;
	cert_fingerprint(cert, fp);
	printf("%s\t%s\t", address, fp);
	ASN1_TIME_print(out, X509_get0_notAfter(cert));
	BIO_free(out);
	printf("\t%s\n", file);
}

int
ctl_cert_list(int argc, char **argv)
{
	static const char *const stores[] = { "dir", "harvested" };
	struct config *cfg;
	struct certlookup *lk;
	const char *path;
	size_t i;
	int first = ctl_config_arg(argc, argv, &path);

	if (first < 0 || first != argc)
		return EX_USAGE;
	if ((lk = open_lookup(path, &cfg)) == NULL)
		return EX_CONFIG;
	printf("# address\tsha256\tnotAfter\tfile\n");
	for (i = 0; i < 2; i++) {
		struct certsrc *src = certlookup_source(lk, stores[i]);

		if (src != NULL)
			certsrc_dir_foreach(src, list_entry, NULL);
	}
	certlookup_free(lk);
	config_release(cfg);
	return 0;
}

/* Every certificate in a PEM or DER file. */
static STACK_OF(X509) *
read_certs(const char *file)
{
	STACK_OF(X509) *certs = sk_X509_new_null();
	FILE *f = fopen(file, "rb");
	X509 *x;

	if (f == NULL || certs == NULL) {
		if (f != NULL)
			fclose(f);
		sk_X509_free(certs);
		return NULL;
	}
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
		sk_X509_push(certs, x);
	if (sk_X509_num(certs) == 0) {
		rewind(f);
		if ((x = d2i_X509_fp(f, NULL)) != NULL)
			sk_X509_push(certs, x);
	}
	ERR_clear_error();
	fclose(f);
	return certs;
}

static void
print_address(const char *address, void *arg)
{
	(void)arg;
	printf(" %s", address);
}

int
ctl_cert_import(int argc, char **argv)
{
	struct config *cfg;
	struct certlookup *lk;
	struct certsrc *dir;
	const char *path;
	char err[512], fp[65];
	int i, j, first = ctl_config_arg(argc, argv, &path), rc = 0;

	if (first < 0 || first >= argc)
		return EX_USAGE;
	if ((lk = open_lookup(path, &cfg)) == NULL)
		return EX_CONFIG;
	if ((dir = certlookup_source(lk, "dir")) == NULL) {
		fprintf(stderr, "smimectl: CertificateSources has no dir: "
		    "store to import into\n");
		rc = EX_CONFIG;
		goto done;
	}
	for (i = first; i < argc; i++) {
		STACK_OF(X509) *certs = read_certs(argv[i]);

		if (certs == NULL || sk_X509_num(certs) == 0) {
			fprintf(stderr, "smimectl: %s: no certificate\n",
			    argv[i]);
			rc = EX_DATAERR;
			sk_X509_pop_free(certs, X509_free);
			continue;
		}
		for (j = 0; j < sk_X509_num(certs); j++) {
			X509 *x = sk_X509_value(certs, j);
			int added;

			if (X509_check_ca(x) != 0) {
				char subject[256];

				X509_NAME_oneline(X509_get_subject_name(x),
				    subject, sizeof(subject));
				printf("skipped CA certificate %s (CA "
				    "certificates belong in TrustAnchors)\n",
				    subject);
				continue;
			}
			added = certsrc_dir_add(dir, x, NULL, NULL, err,
			    sizeof(err));
			if (added < 0) {
				fprintf(stderr, "smimectl: %s: %s\n", argv[i],
				    err);
				rc = EX_CANTCREAT;
				continue;
			}
			cert_fingerprint(x, fp);
			printf("%s %s:", added == 1 ? "present" : "imported",
			    fp);
			cert_foreach_address(x, false, print_address, NULL);
			printf("\n");
		}
		sk_X509_pop_free(certs, X509_free);
	}
	if (rc == 0)
		printf("reload smime-milter (SIGHUP) to use new "
		    "certificates\n");
done:
	certlookup_free(lk);
	config_release(cfg);
	return rc;
}
