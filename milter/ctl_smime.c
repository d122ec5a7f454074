/*
 * ctl_smime.c -- "smimectl decrypt|verify": look inside S/MIME messages
 * with the same code the gateway uses.  Messages come on standard input.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "config.h"
#include "ctl.h"
#include "sink.h"
#include "smime_read.h"
#include "smime_sign.h"

/* All of standard input, bounded. */
static int
read_stdin(struct membuf *mb)
{
	struct sink s = sink_to_membuf(mb);
	char buf[65536], err[256];
	size_t n;

	memset(mb, 0, sizeof(*mb));
	mb->limit = SMIME_READ_MAX;
	while ((n = fread(buf, 1, sizeof(buf), stdin)) > 0)
		if (sink_write(&s, buf, n, err, sizeof(err)) != 0) {
			fprintf(stderr, "smimectl: standard input: %s\n", err);
			return -1;
		}
	return 0;
}

static void
print_subject(const char *label, X509 *x)
{
	char subject[512];

	X509_NAME_oneline(X509_get_subject_name(x), subject, sizeof(subject));
	printf("%s%s\n", label, subject);
}

int
ctl_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "anchors", required_argument, NULL, 'a' },
		{ "content", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *anchors_file = NULL, *content_file = NULL, *conf = NULL;
	struct verify_result res;
	struct membuf msg;
	struct config *cfg = NULL;
	X509_STORE *anchors = NULL;
	FILE *content = NULL;
	struct sink s;
	char err[512], caps[128];
	int ch, i, rc = EX_DATAERR;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a': anchors_file = optarg; break;
		case 'o': content_file = optarg; break;
		case 'c': conf = optarg; break;
		default: return EX_USAGE;
		}
	}
	if (optind != argc)
		return EX_USAGE;
	/* Without --anchors, the configuration's TrustAnchors. */
	if (anchors_file == NULL) {
		if ((cfg = ctl_load_config(conf != NULL ? conf :
		    SYSCONFDIR "/smime-milter.conf")) == NULL)
			return EX_CONFIG;
		anchors_file = cfg->trust_anchors;
		if (anchors_file == NULL) {
			fprintf(stderr, "smimectl: no TrustAnchors; use "
			    "--anchors FILE\n");
			config_release(cfg);
			return EX_CONFIG;
		}
	}
	if ((anchors = smime_load_anchors(anchors_file, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "smimectl: %s\n", err);
		rc = EX_CONFIG;
		goto done;
	}
	if (content_file != NULL && (content = fopen(content_file, "wb")) ==
	    NULL) {
		fprintf(stderr, "smimectl: cannot write %s\n", content_file);
		rc = EX_CANTCREAT;
		goto done;
	}
	if (read_stdin(&msg) != 0)
		goto done;
	s = sink_to_file(content);
	smime_verify(msg.data, msg.len, anchors, 0, content ? &s : NULL, &res);
	free(msg.data);
	printf("status: %s (%s)\n", verify_status_name(res.status),
	    res.reason);
	for (i = 0; i < sk_X509_num(res.signers); i++)
		print_subject("signer: ", sk_X509_value(res.signers, i));
	if (res.signing_time != 0)
		printf("signing-time: %s", ctime(&res.signing_time));
	smime_caps_format(&res.caps, caps, sizeof(caps));
	printf("capabilities: %s\n", caps);
	rc = res.status == VERIFY_OK ? 0 : 1;
	verify_result_free(&res);
done:
	if (content != NULL)
		fclose(content);
	X509_STORE_free(anchors);
	config_release(cfg);
	return rc;
}

int
ctl_decrypt(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "cert", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key_file = NULL, *cert_file = NULL;
	struct signer pair;	/* a key and its certificate, checked to match */
	struct membuf msg = { 0 };
	struct sink out = sink_to_file(stdout);
	char err[512];
	int ch, rc = EX_DATAERR;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k': key_file = optarg; break;
		case 'r': cert_file = optarg; break;
		default: return EX_USAGE;
		}
	}
	if (optind != argc || key_file == NULL || cert_file == NULL)
		return EX_USAGE;
	if (signer_load(&pair, key_file, cert_file, NULL, NULL, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "smimectl: %s\n", err);
		return EX_NOINPUT;
	}
	if (read_stdin(&msg) != 0)
		goto done;
	if (smime_decrypt(msg.data, msg.len, pair.key, pair.cert, &out, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "smimectl: %s\n", err);
		goto done;
	}
	rc = 0;
done:
	free(msg.data);
	signer_free(&pair);
	return rc;
}
