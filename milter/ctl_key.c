/*
 * ctl_key.c -- "smimectl key list": the sender keys the daemon would
 * load (SenderKeys), i.e. which addresses can sign and until when.
 */
#include <stdio.h>
#include <sysexits.h>
#include <time.h>

#include <openssl/asn1.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "config.h"
#include "ctl.h"
#include "senderkeys.h"

/* notAfter as "2027-01-31T23:59:59Z" and whole days left (< 0: past). */
static void
expiry(const X509 *cert, char *iso, size_t isolen, int *days)
{
	const ASN1_TIME *t = X509_get0_notAfter(cert);
	struct tm tm;
	int secs;

	if (ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(iso, isolen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(iso, isolen, "?");
	if (ASN1_TIME_diff(days, &secs, NULL, t) != 1)
		*days = 0;
	else if (*days == 0 && secs < 0)
		*days = -1;	/* expired earlier today */
}

static void
print_entry(const char *address, const X509 *cert, const char *file)
{
	EVP_PKEY *pkey = X509_get0_pubkey(cert);
	const char *type = pkey != NULL ? EVP_PKEY_get0_type_name(pkey) : NULL;
	char iso[32], left[32], subject[512];
	int days;

	expiry(cert, iso, sizeof(iso), &days);
	if (days < 0)
		snprintf(left, sizeof(left), "EXPIRED");
	else
		snprintf(left, sizeof(left), "%d days", days);
	X509_NAME_oneline(X509_get_subject_name(cert), subject,
	    sizeof(subject));
	printf("%s\t%s\t%s\t%s\t%s %d\t%s\n", address, iso, left, subject,
	    type != NULL ? type : "?", pkey != NULL ? EVP_PKEY_get_bits(pkey) :
	    0, file);
}

int
ctl_key_list(int argc, char **argv)
{
	struct senderkeys *sk;
	struct config *cfg;
	const char *path, *address, *file;
	const X509 *cert;
	char err[1024];
	size_t i;
	int first = ctl_config_arg(argc, argv, &path);

	if (first < 0 || first != argc)
		return EX_USAGE;
	if ((cfg = ctl_load_config(path)) == NULL)
		return EX_CONFIG;
	if (cfg->sender_keys == NULL)
		fprintf(stderr, "smimectl: SenderKeys is not set: no address "
		    "can sign\n");
	sk = senderkeys_load(cfg->sender_keys, cfg->sender_key_passphrase_file,
	    err, sizeof(err));
	config_release(cfg);
	if (sk == NULL) {
		fprintf(stderr, "smimectl: sender keys: %s\n", err);
		return EX_CONFIG;
	}
	printf("# address\tnotAfter\tleft\tsubject\tkey\tfile\n");
	for (i = 0; i < senderkeys_count(sk); i++) {
		senderkeys_entry(sk, i, &address, &cert, &file);
		print_entry(address, cert, file);
	}
	senderkeys_free(sk);
	return 0;
}
