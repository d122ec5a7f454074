/*
 * test_smtpsecure.c -- STARTTLS and AUTH PLAIN of the reinjection client
 * against a fake server in a thread that speaks TLS with a certificate
 * made here (EC P-256, self-signed, subjectAltName chosen per test):
 * exact transcripts (what the server read, "[TLS]" where TLS began),
 * the AUTH PLAIN encoding, refusals when STARTTLS or AUTH PLAIN is not
 * offered, certificate checks (wrong CA, address mismatch), bytes
 * injected before the handshake, credentials withheld from servers on
 * other hosts without TLS, the password never in err; and smtpsec_new
 * (the auth file's format and permissions, verify without a CA file).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "smtpsec.h"
#include "smtpsubmit.h"
#include "sockspec.h"
#include "spool.h"

/* Replies of the fake server; NULL: the default one. */
struct script {
	const char *ehlo;	/* before TLS */
	const char *ehlo_tls;	/* after TLS */
	const char *starttls;	/* a 220 reply starts the handshake */
	const char *auth;
};

#define EHLO_TLS_AUTH "250-fake.example\r\n250-STARTTLS\r\n" \
	"250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"

struct fake {
	const struct script *s;
	SSL_CTX *ctx;		/* server side, with the certificate */
	int lfd;
	struct sockspec spec;
	char sockpath[108];
	pthread_t thread;
	char got[8192];		/* what the server read, "[TLS]" marked */
	size_t glen;
};

/* A certificate for the fake server, and who trusts what. */
struct pki {
	EVP_PKEY *key;
	X509 *ip1;		/* subjectAltName IP:127.0.0.1, DNS:localhost */
	X509 *ip2;		/* subjectAltName IP:127.0.0.2 only */
	X509 *other;		/* another self-signed one: the "wrong CA" */
	EVP_PKEY *other_key;
};

static struct pki pki;

static X509 *
make_cert(EVP_PKEY *key, long serial, const char *san)
{
	X509 *x = X509_new();
	X509_NAME *name;
	X509_EXTENSION *ext;
	X509V3_CTX v3;

	assert_non_null(x);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, key);
	name = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"fake.example", -1, -1, 0);
	X509_set_issuer_name(x, name);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

static int
pki_setup(void **state)
{
	(void)state;
	pki.key = EVP_EC_gen("P-256");
	pki.other_key = EVP_EC_gen("P-256");
	if (pki.key == NULL || pki.other_key == NULL)
		return -1;
	pki.ip1 = make_cert(pki.key, 1, "IP:127.0.0.1,DNS:localhost");
	pki.ip2 = make_cert(pki.key, 2, "IP:127.0.0.2");
	pki.other = make_cert(pki.other_key, 3, "IP:127.0.0.1");
	return 0;
}

static int
pki_teardown(void **state)
{
	(void)state;
	X509_free(pki.ip1);
	X509_free(pki.ip2);
	X509_free(pki.other);
	EVP_PKEY_free(pki.key);
	EVP_PKEY_free(pki.other_key);
	return 0;
}

/* A client context as smtpsec makes them: verify against trusted, or
 * (trusted NULL) no check at all. */
static SSL_CTX *
client_ctx(X509 *trusted)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	assert_non_null(ctx);
	if (trusted == NULL) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	assert_int_equal(X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx),
	    trusted), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}

static void
record(struct fake *f, const char *s, size_t len)
{
	if (f->glen + len < sizeof(f->got)) {
		memcpy(f->got + f->glen, s, len);
		f->glen += len;
		f->got[f->glen] = '\0';
	}
}

/* One line (with its LF) from the client, plain or TLS; 0 at the end. */
static size_t
get_line(int fd, SSL *ssl, char *line, size_t size)
{
	size_t n = 0;
	char c;

	while (n + 1 < size) {
		if (ssl != NULL ? SSL_read(ssl, &c, 1) != 1 :
		    recv(fd, &c, 1, 0) != 1)
			break;
		line[n++] = c;
		if (c == '\n')
			break;
	}
	line[n] = '\0';
	return n;
}

static void
put(int fd, SSL *ssl, const char *reply)
{
	if (ssl != NULL)
		(void)SSL_write(ssl, reply, (int)strlen(reply));
	else
		(void)send(fd, reply, strlen(reply), MSG_NOSIGNAL);
}

static const char *
pick(const char *reply, const char *dflt)
{
	return reply != NULL ? reply : dflt;
}

/* Serve one connection until QUIT, the end, or a failed handshake. */
static void *
serve(void *arg)
{
	struct fake *f = arg;
	const struct script *s = f->s;
	char line[2048];
	const char *r;
	SSL *ssl = NULL;
	bool data = false;
	int fd;

	if ((fd = accept(f->lfd, NULL, NULL)) < 0)
		return NULL;
	put(fd, NULL, "220 fake.example ESMTP\r\n");
	while (get_line(fd, ssl, line, sizeof(line)) > 0) {
		record(f, line, strlen(line));
		if (data) {
			if (strcmp(line, ".\r\n") == 0) {
				data = false;
				put(fd, ssl, "250 2.0.0 queued\r\n");
			}
		} else if (strncasecmp(line, "EHLO", 4) == 0) {
			put(fd, ssl, ssl != NULL ? pick(s->ehlo_tls,
			    "250-fake.example\r\n250 AUTH PLAIN\r\n") :
			    pick(s->ehlo, EHLO_TLS_AUTH));
		} else if (strncasecmp(line, "STARTTLS", 8) == 0) {
			r = pick(s->starttls, "220 2.0.0 ready\r\n");
			put(fd, ssl, r);
			if (strncmp(r, "220 ", 4) != 0)
				continue;
			record(f, "[TLS]", 5);
			ssl = SSL_new(f->ctx);
			SSL_set_fd(ssl, fd);
			if (SSL_accept(ssl) != 1)
				break;
		} else if (strncasecmp(line, "AUTH", 4) == 0) {
			put(fd, ssl, pick(s->auth, "235 2.7.0 ok\r\n"));
		} else if (strncasecmp(line, "DATA", 4) == 0) {
			put(fd, ssl, "354 go ahead\r\n");
			data = true;
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			put(fd, ssl, "221 2.0.0 bye\r\n");
			break;
		} else {
			put(fd, ssl, "250 2.0.0 ok\r\n");
		}
	}
	SSL_free(ssl);
	close(fd);
	return NULL;
}

/*
 * Start a fake with certificate cert: on a unix socket (addr "unix"),
 * or on an ephemeral port of the IPv4 address addr.
 */
static void
fake_start(struct fake *f, const struct script *s, X509 *cert,
    const char *addr)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	socklen_t len;
	char spec[200], err[200];

	memset(f, 0, sizeof(*f));
	f->s = s;
	f->ctx = SSL_CTX_new(TLS_server_method());
	assert_non_null(f->ctx);
	assert_int_equal(SSL_CTX_use_certificate(f->ctx, cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(f->ctx, cert == pki.other ?
	    pki.other_key : pki.key), 1);
	if (strcmp(addr, "unix") == 0) {
		snprintf(f->sockpath, sizeof(f->sockpath),
		    "/tmp/test_smtpsecure.%ld.sock", (long)getpid());
		unlink(f->sockpath);
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, f->sockpath);
		len = sizeof(*sun);
	} else {
		sin->sin_family = AF_INET;
		assert_int_equal(inet_pton(AF_INET, addr, &sin->sin_addr), 1);
		len = sizeof(*sin);
	}
	f->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(f->lfd >= 0);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&ss, len), 0);
	assert_int_equal(listen(f->lfd, 4), 0);
	if (f->sockpath[0] != '\0') {
		snprintf(spec, sizeof(spec), "unix:%s", f->sockpath);
	} else {
		assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&ss,
		    &len), 0);
		snprintf(spec, sizeof(spec), "inet:%u@%s",
		    ntohs(sin->sin_port), addr);
	}
	assert_int_equal(sockspec_parse(spec, &f->spec, err, sizeof(err)),
	    0);
	assert_int_equal(pthread_create(&f->thread, NULL, serve, f), 0);
}

static void
fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	pthread_join(f->thread, NULL);
	close(f->lfd);
	SSL_CTX_free(f->ctx);
	if (f->sockpath[0] != '\0')
		unlink(f->sockpath);
}

static const char *const rcpt[] = { "b@example.net" };

/* One smtp_submit of "x" against s; f keeps the transcript. */
static int
run(struct fake *f, const struct script *s, X509 *cert, const char *addr,
    const struct smtp_security *sec, char *err, size_t errlen)
{
	struct spool *sp = spool_new("/tmp", 4096);
	char why[200];
	int rc;

	assert_non_null(sp);
	assert_int_equal(spool_append(sp, "x\r\n", 3, why, sizeof(why)), 0);
	fake_start(f, s, cert, addr);
	err[0] = '\0';
	rc = smtp_submit(&f->spec, "test.example", sec, "a@example.org",
	    rcpt, 1, sp, 5, err, errlen);
	fake_stop(f);
	spool_free(sp);
	return rc;
}

#define MAIL_X "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n" \
	"DATA\r\nx\r\n.\r\nQUIT\r\n"

/* The password and its encoding never reach err. */
static void
assert_no_secret(const char *err, const char *pass, const char *b64)
{
	if (strstr(err, pass) != NULL || (b64 != NULL &&
	    strstr(err, b64) != NULL))
		fail_msg("secret in err: %s", err);
}

/* AUTH PLAIN is base64("\0user\0pass"); plain text is fine locally. */
static void
test_auth_plain_encoding(void **state)
{
	static const struct {
		const char *user, *pass, *addr, *b64;
	} cases[] = {
		{ "user", "pass", "unix", "AHVzZXIAcGFzcw==" },
		{ "reinject@example.org", "p:ss w0rd", "127.0.0.1",
		    "AHJlaW5qZWN0QGV4YW1wbGUub3JnAHA6c3MgdzByZA==" },
		{ "j\xc3\xbcrgen", "p\xc3\xa4ss", "unix",
		    "AGrDvHJnZW4AcMOkc3M=" },
	};
	struct script s = { .ehlo = "250-fake\r\n250 AUTH LOGIN PLAIN\r\n" };
	struct fake f;
	char err[300], want[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct smtp_security sec = { .tls = SMTP_TLS_NONE,
		    .user = (char *)cases[i].user,
		    .pass = (char *)cases[i].pass };

		assert_int_equal(run(&f, &s, pki.ip1, cases[i].addr, &sec,
		    err, sizeof(err)), SMTP_OK);
		snprintf(want, sizeof(want), "EHLO test.example\r\n"
		    "AUTH PLAIN %s\r\n" MAIL_X, cases[i].b64);
		assert_string_equal(f.got, want);
	}
}

/* AUTH wanted, PLAIN not offered: nothing sent, temporary failure. */
static void
test_auth_not_offered(void **state)
{
	static const struct {
		const char *ehlo, *err;
		int rc;
	} cases[] = {
		{ "250-fake\r\n250 8BITMIME\r\n", "no AUTH at all",
		    SMTP_TEMPFAIL },
		{ "250-fake\r\n250 AUTH LOGIN CRAM-MD5\r\n",
		    "does not offer AUTH PLAIN", SMTP_TEMPFAIL },
		{ "250-fake\r\n250 AUTH PLAINX\r\n",
		    "does not offer AUTH PLAIN", SMTP_TEMPFAIL },
		{ "250-fake\r\n250 AUTH=LOGIN PLAIN\r\n", NULL, SMTP_OK },
		{ "250-fake\r\n250 auth login plain\r\n", NULL, SMTP_OK },
	};
	struct smtp_security sec = { .tls = SMTP_TLS_NONE, .user = "u",
	    .pass = "secret-pw" };
	struct fake f;
	char err[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct script s = { .ehlo = cases[i].ehlo };

		assert_int_equal(run(&f, &s, pki.ip1, "unix", &sec, err,
		    sizeof(err)), cases[i].rc);
		if (cases[i].err == NULL) {
			assert_non_null(strstr(f.got, "AUTH PLAIN "));
			continue;
		}
		if (strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu: err \"%s\"", i, err);
		if (strstr(f.got, "AUTH") != NULL ||
		    strstr(f.got, "MAIL") != NULL)
			fail_msg("case %zu sent: %s", i, f.got);
		assert_no_secret(err, sec.pass, NULL);
	}
}

/* A refused AUTH is temporary; err has the reply code and enhanced
 * status only, never the text (an echo of the credentials may be cut or
 * folded past any search); a 334 leaves the session out of step (no
 * QUIT). */
static void
test_auth_refused_without_secret(void **state)
{
	static const struct {
		const char *reply, *err;
		bool quit;
	} cases[] = {
		{ "535 5.7.8 Error: authentication failed\r\n",
		    "AUTH PLAIN refused: 535 5.7.8 (reply text withheld)",
		    true },
		{ "535 5.7.8 bad AHVzZXIAc2VjcmV0LXB3\r\n",
		    "AUTH PLAIN refused: 535 5.7.8 (reply text withheld)",
		    true },
		{ "535 5.7.8 wrong password secret-pw\r\n",
		    "AUTH PLAIN refused: 535 5.7.8 (reply text withheld)",
		    true },
		/* An echo cut in two lines: no search would find it. */
		{ "535-5.7.8 got AHVzZXIAc2Vj\r\n535 5.7.8 cmV0LXB3\r\n",
		    "AUTH PLAIN refused: 535 5.7.8 (reply text withheld)",
		    true },
		{ "535 secret-pw\r\n",
		    "AUTH PLAIN refused: 535 (reply text withheld)", true },
		{ "454 4.7.0 temporary authentication failure\r\n",
		    "AUTH PLAIN refused: 454 4.7.0 (reply text withheld)",
		    true },
		{ "334 \r\n", "AUTH PLAIN refused: 334 (reply text withheld)",
		    false },
		/* A malformed reply: its text is withheld too. */
		{ "53x secret-pw\r\n", "no valid reply to AUTH PLAIN", false },
	};
	struct smtp_security sec = { .tls = SMTP_TLS_NONE, .user = "user",
	    .pass = "secret-pw" };
	struct fake f;
	char err[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct script s = { .auth = cases[i].reply };

		assert_int_equal(run(&f, &s, pki.ip1, "127.0.0.1", &sec, err,
		    sizeof(err)), SMTP_TEMPFAIL);
		if (strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu: err \"%s\"", i, err);
		assert_no_secret(err, sec.pass, "AHVzZXIAc2VjcmV0LXB3");
		assert_null(strstr(err, "AHVzZXIAc2Vj"));
		assert_null(strstr(f.got, "MAIL"));
		assert_true((strstr(f.got, "QUIT") != NULL) == cases[i].quit);
	}
}

/* STARTTLS required but not offered (or refused): nothing else sent. */
static void
test_starttls_required(void **state)
{
	static const struct {
		int level;
		const char *ehlo, *starttls, *err;
		int rc;
	} cases[] = {
		{ SMTP_TLS_ENCRYPT, "250-fake\r\n250 AUTH PLAIN\r\n", NULL,
		    "does not offer STARTTLS", SMTP_TEMPFAIL },
		{ SMTP_TLS_VERIFY, "250-fake\r\n250 AUTH PLAIN\r\n", NULL,
		    "does not offer STARTTLS", SMTP_TEMPFAIL },
		{ SMTP_TLS_ENCRYPT, "502 5.5.1 no EHLO here\r\n", NULL,
		    "does not offer STARTTLS", SMTP_TEMPFAIL },
		{ SMTP_TLS_MAY, EHLO_TLS_AUTH,
		    "454 4.7.0 TLS not available\r\n",
		    "STARTTLS refused: 454 4.7.0", SMTP_TEMPFAIL },
		/* may: plain text when not offered. */
		{ SMTP_TLS_MAY, "250-fake\r\n250 AUTH PLAIN\r\n", NULL, NULL,
		    SMTP_OK },
	};
	struct fake f;
	char err[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct script s = { .ehlo = cases[i].ehlo,
		    .starttls = cases[i].starttls };
		struct smtp_security sec = { .tls = cases[i].level,
		    .ctx = client_ctx(NULL), .user = "user",
		    .pass = "secret-pw" };

		assert_int_equal(run(&f, &s, pki.ip1, "127.0.0.1", &sec, err,
		    sizeof(err)), cases[i].rc);
		SSL_CTX_free(sec.ctx);
		if (cases[i].err == NULL) {
			assert_string_equal(f.got, "EHLO test.example\r\n"
			    "AUTH PLAIN AHVzZXIAc2VjcmV0LXB3\r\n" MAIL_X);
			continue;
		}
		if (strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu: err \"%s\"", i, err);
		if (strstr(f.got, "AUTH") != NULL ||
		    strstr(f.got, "MAIL") != NULL)
			fail_msg("case %zu sent: %s", i, f.got);
	}
}

/* STARTTLS, EHLO again, capabilities from the second EHLO only. */
static void
test_starttls_transcript(void **state)
{
	struct smtp_security sec = { .tls = SMTP_TLS_ENCRYPT,
	    .ctx = client_ctx(NULL), .user = "user", .pass = "secret-pw" };
	/* AUTH only after TLS, as with smtpd_tls_auth_only. */
	struct script s = { .ehlo = "250-fake\r\n250 STARTTLS\r\n" };
	struct fake f;
	char err[300];

	(void)state;
	assert_int_equal(run(&f, &s, pki.other, "127.0.0.1", &sec, err,
	    sizeof(err)), SMTP_OK);
	assert_string_equal(f.got, "EHLO test.example\r\nSTARTTLS\r\n[TLS]"
	    "EHLO test.example\r\nAUTH PLAIN AHVzZXIAc2VjcmV0LXB3\r\n"
	    MAIL_X);

	/* AUTH offered before TLS but not after: what counts is after. */
	s.ehlo = EHLO_TLS_AUTH;
	s.ehlo_tls = "250-fake\r\n250 8BITMIME\r\n";
	assert_int_equal(run(&f, &s, pki.ip1, "127.0.0.1", &sec, err,
	    sizeof(err)), SMTP_TEMPFAIL);
	assert_non_null(strstr(err, "does not offer AUTH PLAIN"));
	assert_null(strstr(f.got, "AUTH PLAIN"));

	/* Without credentials: TLS only. */
	sec.user = sec.pass = NULL;
	s.ehlo_tls = NULL;
	assert_int_equal(run(&f, &s, pki.ip1, "unix", &sec, err,
	    sizeof(err)), SMTP_OK);
	assert_string_equal(f.got, "EHLO test.example\r\nSTARTTLS\r\n[TLS]"
	    "EHLO test.example\r\n" MAIL_X);
	SSL_CTX_free(sec.ctx);
}

/* verify: the chain against the trusted certificate, and the address
 * of ReinjectSocket against the certificate's; encrypt checks nothing. */
static void
test_certificate_checks(void **state)
{
	static const struct {
		X509 **served, **trusted;	/* trusted NULL: encrypt */
		int rc;
		const char *err;
	} cases[] = {
		{ &pki.ip1, &pki.ip1, SMTP_OK, NULL },
		{ &pki.ip1, &pki.other, SMTP_TEMPFAIL,
		    "certificate verify failed" },
		{ &pki.other, &pki.ip1, SMTP_TEMPFAIL,
		    "certificate verify failed" },
		{ &pki.ip2, &pki.ip2, SMTP_TEMPFAIL, "IP address mismatch" },
		{ &pki.ip2, NULL, SMTP_OK, NULL },
		{ &pki.other, NULL, SMTP_OK, NULL },
	};
	struct fake f;
	char err[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct script s = { 0 };
		struct smtp_security sec = {
		    .tls = cases[i].trusted != NULL ? SMTP_TLS_VERIFY :
		    SMTP_TLS_ENCRYPT, .user = "user", .pass = "secret-pw",
		    .ctx = client_ctx(cases[i].trusted != NULL ?
		    *cases[i].trusted : NULL) };

		assert_int_equal(run(&f, &s, *cases[i].served, "127.0.0.1",
		    &sec, err, sizeof(err)), cases[i].rc);
		SSL_CTX_free(sec.ctx);
		if (cases[i].rc == SMTP_OK) {
			assert_non_null(strstr(f.got, "[TLS]EHLO"));
			assert_non_null(strstr(f.got, "DATA"));
			continue;
		}
		if (strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu: err \"%s\"", i, err);
		if (strstr(f.got, "[TLS]EHLO") != NULL ||
		    strstr(f.got, "AUTH") != NULL)
			fail_msg("case %zu: sent after a failed handshake: %s",
			    i, f.got);
	}
}

/* Bytes after the 220 to STARTTLS arrived in the clear: refused. */
static void
test_starttls_injection_refused(void **state)
{
	struct smtp_security sec = { .tls = SMTP_TLS_ENCRYPT,
	    .ctx = client_ctx(NULL) };
	struct script s = { .starttls = "220 2.0.0 ready\r\n250 injected\r\n" };
	struct fake f;
	char err[300];

	(void)state;
	/* The client must not even try the handshake. */
	assert_int_equal(run(&f, &s, pki.ip1, "127.0.0.1", &sec, err,
	    sizeof(err)), SMTP_TEMPFAIL);
	assert_non_null(strstr(err, "sent data after its reply to STARTTLS"));
	SSL_CTX_free(sec.ctx);
}

/* A non-loopback address of this host, or "" if there is none. */
static void
other_address(char *buf, size_t size)
{
	struct ifaddrs *ifa, *i;

	buf[0] = '\0';
	if (getifaddrs(&ifa) != 0)
		return;
	for (i = ifa; i != NULL && buf[0] == '\0'; i = i->ifa_next)
		if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET &&
		    ((unsigned char *)&((struct sockaddr_in *)
		    i->ifa_addr)->sin_addr)[0] != 127)
			inet_ntop(AF_INET, &((struct sockaddr_in *)
			    i->ifa_addr)->sin_addr, buf, (socklen_t)size);
	freeifaddrs(ifa);
}

/* Credentials go to another host only over TLS with a verified
 * certificate: neither in clear nor to an unchecked TLS peer (whoever is
 * in between could be it). */
static void
test_auth_needs_tls_off_host(void **state)
{
	struct smtp_security sec = { .tls = SMTP_TLS_MAY,
	    .ctx = client_ctx(NULL), .user = "user", .pass = "secret-pw" };
	struct script s = { .ehlo = "250-fake\r\n250 AUTH PLAIN\r\n" };
	struct fake f;
	char addr[INET_ADDRSTRLEN], err[300], san[64];
	X509 *cert;

	(void)state;
	other_address(addr, sizeof(addr));
	if (addr[0] == '\0') {
		SSL_CTX_free(sec.ctx);
		skip();		/* only loopback here */
		return;
	}
	assert_int_equal(run(&f, &s, pki.ip1, addr, &sec, err, sizeof(err)),
	    SMTP_TEMPFAIL);
	assert_non_null(strstr(err, "without ReinjectTLS verify"));
	assert_null(strstr(f.got, "AUTH"));
	/* STARTTLS offered, but the certificate is not checked (may). */
	s.ehlo = NULL;
	assert_int_equal(run(&f, &s, pki.ip1, addr, &sec, err, sizeof(err)),
	    SMTP_TEMPFAIL);
	assert_non_null(strstr(err, "without ReinjectTLS verify"));
	assert_non_null(strstr(f.got, "[TLS]EHLO"));
	assert_null(strstr(f.got, "AUTH"));
	SSL_CTX_free(sec.ctx);
	/* Verified (a certificate for that address): they go. */
	snprintf(san, sizeof(san), "IP:%s", addr);
	cert = make_cert(pki.key, 9, san);
	sec.tls = SMTP_TLS_VERIFY;
	sec.ctx = client_ctx(cert);
	assert_int_equal(run(&f, &s, cert, addr, &sec, err, sizeof(err)),
	    SMTP_OK);
	assert_non_null(strstr(f.got, "[TLS]EHLO test.example\r\nAUTH PLAIN "));
	SSL_CTX_free(sec.ctx);
	X509_free(cert);
}

/* smtpsec_new: a private user:password file, verify needs a CA file. */
static void
test_smtpsec_files(void **state)
{
	static const struct {
		const char *text, *tls;
		mode_t mode;
		const char *user, *pass, *err;
	} cases[] = {
		{ "reinject:pa:ss word\n", "none", 0600, "reinject",
		    "pa:ss word", NULL },
		{ "u@example.org:pw\r\nsecond line\n", "encrypt", 0400,
		    "u@example.org", "pw", NULL },
		{ "reinject:secret-pw\n", "none", 0644, NULL, NULL,
		    "chmod 600" },
		{ "reinject:secret-pw\n", "none", 0640, NULL, NULL,
		    "chmod 600" },
		{ "secret-pw\n", "none", 0600, NULL, NULL,
		    "must be user:password" },
		{ ":secret-pw\n", "none", 0600, NULL, NULL, "1 to 255" },
		{ "reinject:\n", "none", 0600, NULL, NULL, "1 to 255" },
		{ "\n", "none", 0600, NULL, NULL, "empty" },
		{ "reinject:secret-pw\n", "verify", 0600, NULL, NULL,
		    "ReinjectTLS verify needs ReinjectTLSCAFile" },
	};
	char path[] = "/tmp/test_smtpsecure.authXXXXXX";
	char conf[512], err[400];
	struct smtp_security *sec;
	struct config *cfg;
	size_t i;
	int fd;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		strcpy(path, "/tmp/test_smtpsecure.authXXXXXX");
		assert_true((fd = mkstemp(path)) >= 0);
		assert_true(write(fd, cases[i].text, strlen(cases[i].text)) ==
		    (ssize_t)strlen(cases[i].text));
		close(fd);
		assert_int_equal(chmod(path, cases[i].mode), 0);
		snprintf(conf, sizeof(conf), "ReinjectAuthFile %s\n"
		    "ReinjectTLS %s\n", path, cases[i].tls);
		cfg = config_parse("t.conf", conf, strlen(conf), err,
		    sizeof(err));
		assert_non_null(cfg);
		err[0] = '\0';
		sec = smtpsec_new(cfg, err, sizeof(err));
		unlink(path);
		config_release(cfg);
		if (cases[i].err != NULL) {
			assert_null(sec);
			if (strstr(err, cases[i].err) == NULL)
				fail_msg("case %zu: err \"%s\"", i, err);
			assert_no_secret(err, "secret-pw", NULL);
			continue;
		}
		assert_non_null(sec);
		assert_string_equal(sec->user, cases[i].user);
		assert_string_equal(sec->pass, cases[i].pass);
		assert_true((sec->ctx != NULL) == (strcmp(cases[i].tls,
		    "none") != 0));
		smtpsec_free(sec);
	}
}

/* verify with a CA file: the context checks peers; junk is refused. */
static void
test_smtpsec_ca_file(void **state)
{
	char path[] = "/tmp/test_smtpsecure.caXXXXXX";
	char conf[512], err[400];
	struct smtp_security *sec;
	struct config *cfg;
	FILE *fp;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) >= 0);
	assert_non_null(fp = fdopen(fd, "w"));
	assert_int_equal(PEM_write_X509(fp, pki.ip1), 1);
	fclose(fp);
	snprintf(conf, sizeof(conf), "ReinjectTLS verify\n"
	    "ReinjectTLSCAFile %s\n", path);
	assert_non_null(cfg = config_parse("t.conf", conf, strlen(conf), err,
	    sizeof(err)));
	assert_non_null(sec = smtpsec_new(cfg, err, sizeof(err)));
	assert_int_equal(sec->tls, SMTP_TLS_VERIFY);
	assert_null(sec->user);
	assert_true((SSL_CTX_get_verify_mode(sec->ctx) & SSL_VERIFY_PEER) !=
	    0);
	smtpsec_free(sec);
	config_release(cfg);

	assert_non_null(fp = fopen(path, "w"));
	fputs("not a certificate\n", fp);
	fclose(fp);
	assert_non_null(cfg = config_parse("t.conf", conf, strlen(conf), err,
	    sizeof(err)));
	assert_null(smtpsec_new(cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "ReinjectTLSCAFile"));
	config_release(cfg);
	unlink(path);

	/* Neither TLS nor AUTH: an empty struct, not NULL. */
	assert_non_null(cfg = config_defaults());
	assert_non_null(sec = smtpsec_new(cfg, err, sizeof(err)));
	assert_true(sec->tls == SMTP_TLS_NONE && sec->ctx == NULL &&
	    sec->user == NULL);
	smtpsec_free(sec);
	config_release(cfg);
	/* An unknown level is refused by the parser. */
	assert_null(config_parse("t.conf", "ReinjectTLS always\n", 19, err,
	    sizeof(err)));
	assert_non_null(strstr(err, "none may encrypt verify"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_auth_plain_encoding),
		cmocka_unit_test(test_auth_not_offered),
		cmocka_unit_test(test_auth_refused_without_secret),
		cmocka_unit_test(test_starttls_required),
		cmocka_unit_test(test_starttls_transcript),
		cmocka_unit_test(test_certificate_checks),
		cmocka_unit_test(test_starttls_injection_refused),
		cmocka_unit_test(test_auth_needs_tls_off_host),
		cmocka_unit_test(test_smtpsec_files),
		cmocka_unit_test(test_smtpsec_ca_file),
	};

	/* OpenSSL writes TLS records with write(2). */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, pki_setup, pki_teardown);
}
