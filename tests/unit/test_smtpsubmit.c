/*
 * test_smtpsubmit.c -- the reinjection SMTP client against a scripted fake
 * server in a thread (127.0.0.1, ::1 or a unix socket): exact transcripts
 * with dot-stuffing and line ends, multi-line replies, HELO fallback,
 * refusals at every step (no DATA after a refused RCPT), a silent server
 * (the timeout holds), connection refused, injection attempts refused
 * before anything is sent, several messages over one connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "smtpsubmit.h"
#include "sink.h"
#include "sockspec.h"
#include "spool.h"

/*
 * What the fake server answers.  NULL: a normal positive reply; "": say
 * nothing from then on (but keep reading, so the client must time out).
 */
struct script {
	const char *greeting, *ehlo, *helo, *mail, *rcpt[3], *data, *dot;
};

struct fake {
	const struct script *s;
	int lfd;
	struct sockspec spec;
	char sockpath[108];
	pthread_t thread;
	bool started;
	char *got;		/* everything the client sent */
	size_t glen, gcap;
};

static void
record(struct fake *f, const char *buf, size_t len)
{
	if (f->glen + len + 1 > f->gcap) {
		f->gcap = (f->glen + len + 1) * 2;
		f->got = realloc(f->got, f->gcap);
		assert_non_null(f->got);
	}
	memcpy(f->got + f->glen, buf, len);
	f->glen += len;
	f->got[f->glen] = '\0';
}

/* Send reply unless the server has gone silent; "" makes it silent. */
static void
say(int fd, const char *reply, const char *dflt, bool *silent)
{
	if (*silent)
		return;
	if (reply == NULL)
		reply = dflt;
	if (*reply == '\0')
		*silent = true;
	else
		(void)send(fd, reply, strlen(reply), MSG_NOSIGNAL);
}

static void
handle_line(struct fake *f, int fd, const char *line, bool *data,
    unsigned *nrcpt, bool *silent)
{
	const struct script *s = f->s;
	const char *r;

	if (*data) {
		if (strcmp(line, ".\r\n") == 0) {
			*data = false;
			say(fd, s->dot, "250 2.0.0 queued as FAKE\r\n", silent);
		}
	} else if (strncasecmp(line, "EHLO", 4) == 0) {
		say(fd, s->ehlo, "250-fake.example\r\n250 8BITMIME\r\n",
		    silent);
	} else if (strncasecmp(line, "HELO", 4) == 0) {
		say(fd, s->helo, "250 fake.example\r\n", silent);
	} else if (strncasecmp(line, "MAIL", 4) == 0) {
		say(fd, s->mail, "250 2.1.0 ok\r\n", silent);
	} else if (strncasecmp(line, "RCPT", 4) == 0) {
		say(fd, *nrcpt < 3 ? s->rcpt[*nrcpt] : NULL,
		    "250 2.1.5 ok\r\n", silent);
		(*nrcpt)++;
	} else if (strncasecmp(line, "DATA", 4) == 0) {
		r = s->data != NULL ? s->data : "354 go ahead\r\n";
		say(fd, r, r, silent);
		*data = !*silent && r[0] == '3';
	} else if (strncasecmp(line, "RSET", 4) == 0) {
		say(fd, NULL, "250 2.0.0 ok\r\n", silent);
	} else if (strncasecmp(line, "QUIT", 4) == 0) {
		say(fd, NULL, "221 2.0.0 bye\r\n", silent);
	} else {
		say(fd, NULL, "500 5.5.2 what?\r\n", silent);
	}
}

/* Serve one connection until the client closes it. */
static void *
serve(void *arg)
{
	struct fake *f = arg;
	char buf[8192], line[4096];
	size_t llen = 0;
	unsigned nrcpt = 0;
	bool data = false, silent = false;
	ssize_t n, i;
	int fd;

	if ((fd = accept(f->lfd, NULL, NULL)) < 0)
		return NULL;
	say(fd, f->s->greeting, "220 fake.example ESMTP\r\n", &silent);
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		record(f, buf, (size_t)n);
		for (i = 0; i < n; i++) {
			if (llen + 1 < sizeof(line))
				line[llen++] = buf[i];
			if (buf[i] != '\n')
				continue;
			line[llen] = '\0';
			handle_line(f, fd, line, &data, &nrcpt, &silent);
			llen = 0;
		}
	}
	close(fd);
	return NULL;
}

/* Start a fake on an ephemeral port (inet, inet6) or a unix socket. */
static bool
fake_start(struct fake *f, const struct script *s, enum sock_family fam)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t len = sizeof(ss);
	char spec[200], err[200];

	memset(f, 0, sizeof(*f));
	f->s = s;
	if (fam == SOCK_FAMILY_UNIX) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&ss;

		snprintf(f->sockpath, sizeof(f->sockpath),
		    "/tmp/test_smtpsubmit.%ld.sock", (long)getpid());
		unlink(f->sockpath);
		sun->sun_family = AF_UNIX;
		strcpy(sun->sun_path, f->sockpath);
		len = sizeof(*sun);
	} else if (fam == SOCK_FAMILY_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		len = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*sin);
	}
	f->lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(f->lfd, 4) < 0) {
		if (f->lfd >= 0)
			close(f->lfd);
		return false;
	}
	if (fam == SOCK_FAMILY_UNIX) {
		snprintf(spec, sizeof(spec), "unix:%s", f->sockpath);
	} else {
		len = sizeof(ss);
		assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&ss,
		    &len), 0);
		snprintf(spec, sizeof(spec), fam == SOCK_FAMILY_INET6 ?
		    "inet6:%u@::1" : "inet:%u@127.0.0.1",
		    ntohs(((struct sockaddr_in *)&ss)->sin_port));
	}
	assert_int_equal(sockspec_parse(spec, &f->spec, err, sizeof(err)),
	    0);
	record(f, "", 0);	/* got is a string even if nothing comes */
	assert_int_equal(pthread_create(&f->thread, NULL, serve, f), 0);
	f->started = true;
	return true;
}

/* Stop the fake (also when nobody connected); f->got stays valid. */
static void
fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);	/* wakes a pending accept() */
	if (f->started)
		pthread_join(f->thread, NULL);
	close(f->lfd);
	if (f->sockpath[0] != '\0')
		unlink(f->sockpath);
}

static struct spool *
spool_of(const char *text, size_t len)
{
	struct spool *sp = spool_new("/tmp", 4096);
	char err[200];

	assert_non_null(sp);
	assert_int_equal(spool_append(sp, text, len, err, sizeof(err)), 0);
	return sp;
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *const two_rcpts[] = { "b@example.net", "c@example.net" };

/* Run one smtp_submit of text to two recipients against script s. */
static int
run(const struct script *s, enum sock_family fam, const char *text,
    unsigned timeout, struct fake *f, char *err, size_t errlen)
{
	struct spool *sp = spool_of(text, strlen(text));
	int rc;

	assert_true(fake_start(f, s, fam));
	rc = smtp_submit(&f->spec, "test.example", NULL, "a@example.org",
	    two_rcpts, 2, sp, timeout, err, errlen);
	fake_stop(f);
	spool_free(sp);
	return rc;
}

#define ENVELOPE "EHLO test.example\r\nMAIL FROM:<a@example.org>\r\n" \
	"RCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\n"

static void
test_success_transcript(void **state)
{
	/* Leading dots, a lone ".", bare LF, bare CR, CRLF, no final EOL. */
	static const char msg[] = "Subject: t\n\n.leading dot\r\n..two\n"
	    ".\nbare LF\nbare CR\rCRLF\r\nmid.dot\n.\r\nlast line";
	static const char want[] = ENVELOPE "DATA\r\n"
	    "Subject: t\r\n\r\n..leading dot\r\n...two\r\n"
	    "..\r\nbare LF\r\nbare CR\r\nCRLF\r\nmid.dot\r\n..\r\nlast line\r\n"
	    ".\r\nQUIT\r\n";
	struct script s = { 0 };
	struct fake f;
	char err[300] = "";

	(void)state;
	assert_int_equal(run(&s, SOCK_FAMILY_INET, msg, 5, &f, err,
	    sizeof(err)), SMTP_OK);
	assert_string_equal(f.got, want);
	free(f.got);
}

static void
test_final_line_end_kept_and_empty_message(void **state)
{
	static const struct {
		const char *msg, *data;
	} cases[] = {
		{ "A: b\r\n\r\nbody\r\n", "A: b\r\n\r\nbody\r\n.\r\n" },
		{ "A: b\n\nbody\n", "A: b\r\n\r\nbody\r\n.\r\n" },
		{ "A: b\r\n\r\nbody\r", "A: b\r\n\r\nbody\r\n.\r\n" },
		{ "", ".\r\n" },
		{ ".", "..\r\n.\r\n" },
	};
	struct script s = { 0 };
	struct fake f;
	char err[300], want[200];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(run(&s, SOCK_FAMILY_INET, cases[i].msg, 5,
		    &f, err, sizeof(err)), SMTP_OK);
		snprintf(want, sizeof(want), ENVELOPE "DATA\r\n%sQUIT\r\n",
		    cases[i].data);
		assert_string_equal(f.got, want);
		free(f.got);
	}
}

static void
test_multiline_ehlo_and_smtputf8(void **state)
{
	struct script s = { .ehlo = "250-fake.example greets you\r\n"
	    "250-PIPELINING\r\n250-SIZE 10240000\r\n250-SMTPUTF8\r\n"
	    "250 8BITMIME\r\n" };
	const char *rcpt[] = { "j\xc3\xbcrgen@example.net" };
	struct spool *sp = spool_of("x\r\n", 3);
	struct fake f;
	char err[300];

	(void)state;
	assert_true(fake_start(&f, &s, SOCK_FAMILY_INET));
	assert_int_equal(smtp_submit(&f.spec, "test.example", NULL,
	    "a@example.org", rcpt, 1, sp, 5, err, sizeof(err)), SMTP_OK);
	fake_stop(&f);
	assert_string_equal(f.got, "EHLO test.example\r\n"
	    "MAIL FROM:<a@example.org> SMTPUTF8\r\n"
	    "RCPT TO:<j\xc3\xbcrgen@example.net>\r\nDATA\r\nx\r\n.\r\n"
	    "QUIT\r\n");
	free(f.got);

	/* ASCII addresses: no SMTPUTF8 even when offered. */
	assert_int_equal(run(&s, SOCK_FAMILY_INET, "x\r\n", 5, &f, err,
	    sizeof(err)), SMTP_OK);
	assert_non_null(strstr(f.got, "MAIL FROM:<a@example.org>\r\n"));
	free(f.got);
	spool_free(sp);
}

static void
test_helo_fallback(void **state)
{
	struct script s = { .ehlo = "502 5.5.2 command not recognized\r\n" };
	struct fake f;
	char err[300];

	(void)state;
	assert_int_equal(run(&s, SOCK_FAMILY_INET, "x\r\n", 5, &f, err,
	    sizeof(err)), SMTP_OK);
	assert_string_equal(f.got, "EHLO test.example\r\nHELO test.example\r\n"
	    "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\n"
	    "RCPT TO:<c@example.net>\r\nDATA\r\nx\r\n.\r\nQUIT\r\n");
	free(f.got);
}

/* Refusals: status, the server's reply in err, and what was not sent. */
static void
test_refusals(void **state)
{
	static const struct {
		struct script s;
		int rc;
		const char *err, *absent;
	} cases[] = {
		{ { .mail = "451 4.3.0 try again later\r\n" }, SMTP_TEMPFAIL,
		    "MAIL FROM:<a@example.org> refused: 451 4.3.0 try again "
		    "later", "RCPT" },
		{ { .mail = "553 5.1.8 sender rejected\r\n" }, SMTP_PERMFAIL,
		    "refused: 553 5.1.8 sender rejected", "RCPT" },
		{ { .rcpt = { NULL, "550-5.1.1 no such user\r\n"
		    "550 5.1.1 really not\r\n" } }, SMTP_PERMFAIL,
		    "RCPT TO:<c@example.net> refused: 550-5.1.1 no such user "
		    "/ 5.1.1 really not", "DATA" },
		{ { .rcpt = { "450 4.2.0 mailbox busy\r\n" } }, SMTP_TEMPFAIL,
		    "RCPT TO:<b@example.net> refused: 450 4.2.0", "DATA" },
		{ { .data = "554 5.5.1 no valid recipients\r\n" },
		    SMTP_PERMFAIL, "DATA refused: 554 5.5.1", "x\r\n.\r\n" },
		{ { .dot = "554 5.7.1 message content rejected\r\n" },
		    SMTP_PERMFAIL, "message refused: 554 5.7.1 message content "
		    "rejected", NULL },
		{ { .dot = "452 4.3.1 insufficient storage\r\n" },
		    SMTP_TEMPFAIL, "message refused: 452 4.3.1", NULL },
		/* 5xx before any message: the listener, not the message. */
		{ { .greeting = "554 5.3.2 not accepting\r\n" }, SMTP_TEMPFAIL,
		    "server refused the connection: 554 5.3.2", "MAIL" },
		{ { .ehlo = "502 no\r\n", .helo = "550 go away\r\n" },
		    SMTP_TEMPFAIL, "HELO test.example refused: 550 go away",
		    "MAIL" },
		{ { .ehlo = "421 4.3.2 shutting down\r\n" }, SMTP_TEMPFAIL,
		    "EHLO test.example refused: 421 4.3.2", "MAIL" },
		/* Server reply text is cleaned for logs. */
		{ { .mail = "451 bad\x01\x7f\xff text\r\n" }, SMTP_TEMPFAIL,
		    "refused: 451 bad??? text", "RCPT" },
	};
	struct fake f;
	char err[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(run(&cases[i].s, SOCK_FAMILY_INET, "x\r\n",
		    5, &f, err, sizeof(err)), cases[i].rc);
		if (strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu: err \"%s\", want \"%s\"", i, err,
			    cases[i].err);
		if (cases[i].absent != NULL &&
		    strstr(f.got, cases[i].absent) != NULL)
			fail_msg("case %zu: sent %s: %s", i, cases[i].absent,
			    f.got);
		free(f.got);
	}
}

/* Malformed replies and a server that closes: temporary failures. */
static void
test_protocol_errors(void **state)
{
	static const struct {
		struct script s;
		const char *err;
	} cases[] = {
		{ { .greeting = "hello there\r\n" }, "malformed reply" },
		{ { .mail = "250-ok\r\n251 ok\r\n" }, "reply code changes" },
		{ { .mail = "25\r\n" }, "malformed reply" },
		{ { .mail = "250x\r\n" }, "malformed reply" },
		{ { .mail = "650 what\r\n" }, "malformed reply" },
		{ { .rcpt = { "354 strange\r\n" } }, "refused: 354 strange" },
		{ { .data = "250 no data needed\r\n" }, "DATA refused: 250" },
	};
	struct fake f;
	char err[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(run(&cases[i].s, SOCK_FAMILY_INET, "x\r\n",
		    5, &f, err, sizeof(err)), SMTP_TEMPFAIL);
		if (strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu: err \"%s\"", i, err);
		free(f.got);
	}
}

static void
test_long_reply_lines_refused(void **state)
{
	char *reply = malloc(5000);
	struct script s = { 0 };
	struct fake f;
	char err[300];

	(void)state;
	memset(reply, 'x', 4997);
	memcpy(reply, "220 ", 4);
	strcpy(reply + 4997, "\r\n");
	s.greeting = reply;
	assert_int_equal(run(&s, SOCK_FAMILY_INET, "x\r\n", 5, &f, err,
	    sizeof(err)), SMTP_TEMPFAIL);
	assert_non_null(strstr(err, "reply line longer than"));
	free(f.got);
	free(reply);
}

/* A server that stops answering at various points: timeout + ~0 s. */
static void
test_silent_server_times_out(void **state)
{
	static const struct script cases[] = {
		{ .greeting = "" },
		{ .ehlo = "" },
		{ .rcpt = { NULL, "" } },
		{ .dot = "" },
		{ .ehlo = "250-fake\r\n" },	/* continuation never ends */
	};
	struct fake f;
	char err[300];
	double t0, secs;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t0 = now_s();
		assert_int_equal(run(&cases[i], SOCK_FAMILY_INET, "x\r\n", 1,
		    &f, err, sizeof(err)), SMTP_TEMPFAIL);
		secs = now_s() - t0;
		if (secs < 0.9 || secs > 2.0)
			fail_msg("case %zu took %.2f s", i, secs);
		assert_non_null(strstr(err, "timed out"));
		free(f.got);
	}
}

static void
test_connection_refused(void **state)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	struct sockspec spec;
	struct spool *sp = spool_of("x\r\n", 3);
	char text[64], err[300];
	int fd;

	(void)state;
	/* A port that was just free: bound, never listened on. */
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(text, sizeof(text), "inet:%u@127.0.0.1",
	    ntohs(sin.sin_port));
	assert_int_equal(sockspec_parse(text, &spec, err, sizeof(err)), 0);
	assert_int_equal(smtp_submit(&spec, "test.example", NULL, "",
	    two_rcpts, 2, sp, 5, err, sizeof(err)), SMTP_TEMPFAIL);
	assert_non_null(strstr(err, "cannot connect to inet:"));
	assert_non_null(strstr(err, "refused"));
	close(fd);

	assert_int_equal(sockspec_parse("unix:/nonexistent/smtp.sock", &spec,
	    err, sizeof(err)), 0);
	assert_int_equal(smtp_submit(&spec, "test.example", NULL, "",
	    two_rcpts, 2, sp, 5, err, sizeof(err)), SMTP_TEMPFAIL);
	assert_non_null(strstr(err, "No such file"));
	spool_free(sp);
}

/* Nothing is sent, not even a connection made, for unsafe addresses. */
static void
test_injection_refused(void **state)
{
	static const struct {
		const char *from, *rcpt, *helo;
		int rc;
	} cases[] = {
		{ "a@example.org>\r\nRCPT TO:<evil@x", "b@example.net",
		    "test.example", SMTP_PERMFAIL },
		{ "a@example.org", "b@example.net>\r\nDATA", "test.example",
		    SMTP_PERMFAIL },
		{ "a@example.org", "b@example.net\n", "test.example",
		    SMTP_PERMFAIL },
		{ "a@example.org", "b@exa\rmple.net", "test.example",
		    SMTP_PERMFAIL },
		{ "a@example.org", "<b@example.net>", "test.example",
		    SMTP_PERMFAIL },
		{ "a@example.org", "b@example.net NOTIFY=NEVER",
		    "test.example", SMTP_PERMFAIL },
		{ "a@example.org SIZE=1", "b@example.net", "test.example",
		    SMTP_PERMFAIL },
		{ "a@example.org", "b\tc@example.net", "test.example",
		    SMTP_PERMFAIL },
		{ "a@example.org", "b\x7f@example.net", "test.example",
		    SMTP_PERMFAIL },
		{ "a@example.org", "\"open@example.net", "test.example",
		    SMTP_PERMFAIL },
		{ "a@example.org", "", "test.example", SMTP_PERMFAIL },
		{ "a@example.org", "b@example.net", "x\r\nMAIL FROM:<y>",
		    SMTP_TEMPFAIL },
		{ "a@example.org", "b@example.net", "", SMTP_TEMPFAIL },
	};
	struct script s = { 0 };
	struct fake f;
	struct spool *sp = spool_of("x\r\n", 3);
	char err[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *rcpts[] = { "ok@example.net", cases[i].rcpt };

		assert_true(fake_start(&f, &s, SOCK_FAMILY_INET));
		err[0] = '\0';
		assert_int_equal(smtp_submit(&f.spec, cases[i].helo, NULL,
		    cases[i].from, rcpts, 2, sp, 5, err, sizeof(err)),
		    cases[i].rc);
		fake_stop(&f);
		if (f.glen != 0)
			fail_msg("case %zu sent \"%s\"", i, f.got);
		if (strchr(err, '\r') != NULL || strchr(err, '\n') != NULL)
			fail_msg("case %zu: line break in err", i);
		assert_true(err[0] != '\0');
		free(f.got);
	}
	spool_free(sp);
}

static void
test_address_is_safe(void **state)
{
	static const struct {
		const char *addr;
		bool safe;
	} cases[] = {
		{ "", true },
		{ "a@example.org", true },
		{ "postmaster", true },
		{ "\"john doe\"@example.org", true },
		{ "\"a\\\"b c\"@example.org", true },
		{ "j\xc3\xbcrgen@example.org", true },
		{ "a b@example.org", false },
		{ "\"a b@example.org", false },
		{ "\"a\\\"@example.org", false },
		{ "a@b>", false },
		{ "<a@b", false },
		{ "a@b\r", false },
		{ "a@b\n", false },
		{ "a\t@b", false },
		{ "a\x1b@b", false },
		{ "\"a\r\n\"@b", false },
	};
	char big[400];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (address_is_safe(cases[i].addr) != cases[i].safe)
			fail_msg("case %zu: %s", i, cases[i].addr);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[10] = '@';
	assert_false(address_is_safe(big));
	big[320] = '\0';
	assert_true(address_is_safe(big));
	big[320] = 'a';
	big[321] = '\0';
	assert_false(address_is_safe(big));
}

/* One connection, three messages: refused, accepted, accepted. */
static void
test_session(void **state)
{
	struct script s = { .rcpt = { "550 5.1.1 unknown\r\n" } };
	const char *r1[] = { "x@example.net" }, *r2[] = { "y@example.net" };
	struct spool *m1 = spool_of("one\r\n", 5), *m2 = spool_of("two\n", 4);
	struct smtp_client *c;
	struct fake f;
	char err[300];

	(void)state;
	assert_true(fake_start(&f, &s, SOCK_FAMILY_INET));
	assert_int_equal(smtp_open(&c, &f.spec, "test.example", NULL, 5, err,
	    sizeof(err)), SMTP_OK);
	assert_int_equal(smtp_send(c, "", r1, 1, m1, err, sizeof(err)),
	    SMTP_PERMFAIL);
	assert_non_null(strstr(err, "550 5.1.1 unknown"));
	assert_int_equal(smtp_send(c, "", r2, 1, m2, err, sizeof(err)),
	    SMTP_OK);
	assert_int_equal(smtp_send(c, "s@example.org", r1, 1, m1, err,
	    sizeof(err)), SMTP_OK);
	/* A bad address refuses that message only. */
	r2[0] = "bad\r\n";
	assert_int_equal(smtp_send(c, "", r2, 1, m2, err, sizeof(err)),
	    SMTP_PERMFAIL);
	smtp_close(c);
	fake_stop(&f);
	assert_string_equal(f.got, "EHLO test.example\r\n"
	    "MAIL FROM:<>\r\nRCPT TO:<x@example.net>\r\nRSET\r\n"
	    "MAIL FROM:<>\r\nRCPT TO:<y@example.net>\r\nDATA\r\n"
	    "two\r\n.\r\n"
	    "MAIL FROM:<s@example.org>\r\nRCPT TO:<x@example.net>\r\n"
	    "DATA\r\none\r\n.\r\nQUIT\r\n");
	free(f.got);
	spool_free(m1);
	spool_free(m2);
	smtp_close(NULL);
}

/* After a timeout the session refuses further messages at once. */
static void
test_session_broken_after_timeout(void **state)
{
	struct script s = { .dot = "" };
	const char *r[] = { "x@example.net" };
	struct spool *m = spool_of("one\r\n", 5);
	struct smtp_client *c;
	struct fake f;
	char err[300];

	(void)state;
	assert_true(fake_start(&f, &s, SOCK_FAMILY_INET));
	assert_int_equal(smtp_open(&c, &f.spec, "test.example", NULL, 1, err,
	    sizeof(err)), SMTP_OK);
	assert_int_equal(smtp_send(c, "", r, 1, m, err, sizeof(err)),
	    SMTP_TEMPFAIL);
	assert_non_null(strstr(err, "timed out"));
	assert_int_equal(smtp_send(c, "", r, 1, m, err, sizeof(err)),
	    SMTP_TEMPFAIL);
	assert_non_null(strstr(err, "unusable"));
	smtp_close(c);
	fake_stop(&f);
	assert_null(strstr(f.got, "QUIT"));
	free(f.got);
	spool_free(m);
}

static void
test_unix_and_inet6(void **state)
{
	struct script s = { 0 };
	struct fake f;
	char err[300];

	(void)state;
	assert_int_equal(run(&s, SOCK_FAMILY_UNIX, "x\r\n", 5, &f, err,
	    sizeof(err)), SMTP_OK);
	assert_string_equal(f.got, ENVELOPE "DATA\r\nx\r\n.\r\nQUIT\r\n");
	free(f.got);
	if (!fake_start(&f, &s, SOCK_FAMILY_INET6)) {
		skip();		/* no IPv6 loopback here */
		return;
	}
	fake_stop(&f);
	free(f.got);
	assert_int_equal(run(&s, SOCK_FAMILY_INET6, "x\r\n", 5, &f, err,
	    sizeof(err)), SMTP_OK);
	assert_string_equal(f.got, ENVELOPE "DATA\r\nx\r\n.\r\nQUIT\r\n");
	free(f.got);
}

/* The message in pieces of step bytes, for smtp_send_stream. */
struct pieces {
	const char *text;
	size_t len, step, fail_after;	/* fail_after 0: never fail */
};

static int
produce_pieces(void *arg, const struct sink *out, char *err, size_t errlen)
{
	const struct pieces *p = arg;
	size_t off, n;

	for (off = 0; off < p->len; off += n) {
		n = p->len - off < p->step ? p->len - off : p->step;
		if (p->fail_after != 0 && off >= p->fail_after) {
			snprintf(err, errlen, "producer gave up");
			return -1;
		}
		if (out->write(out->arg, p->text + off, n, err, errlen) != 0)
			return -1;
	}
	return 0;
}

/*
 * Streamed in pieces of every size from 1 byte up: CRLF split between
 * two writes, a dot at the start of a piece, a bare CR at a piece's end
 * all give the transcript of the one-piece case.
 */
static void
test_stream_any_piece_size(void **state)
{
	static const char msg[] = "Subject: t\n\n.leading dot\r\n..two\n"
	    ".\nbare LF\nbare CR\rCRLF\r\nmid.dot\n.\r\n\r.x\r\r\n.last";
	static const char want[] = "EHLO test.example\r\nMAIL FROM:<>\r\n"
	    "RCPT TO:<x@example.net>\r\nDATA\r\n"
	    "Subject: t\r\n\r\n..leading dot\r\n...two\r\n"
	    "..\r\nbare LF\r\nbare CR\r\nCRLF\r\nmid.dot\r\n..\r\n\r\n..x\r\n"
	    "\r\n..last\r\n.\r\n";
	const char *r[] = { "x@example.net" };
	struct script s = { 0 };
	struct pieces p = { msg, sizeof(msg) - 1, 0, 0 };
	struct smtp_client *c;
	struct fake f;
	char err[300], full[sizeof(want) + 20];

	(void)state;
	snprintf(full, sizeof(full), "%sQUIT\r\n", want);
	for (p.step = 1; p.step <= p.len; p.step++) {
		assert_true(fake_start(&f, &s, SOCK_FAMILY_INET));
		assert_int_equal(smtp_open(&c, &f.spec, "test.example", NULL,
		    5, err, sizeof(err)), SMTP_OK);
		assert_int_equal(smtp_send_stream(c, "", r, 1,
		    produce_pieces, &p, err, sizeof(err)), SMTP_OK);
		smtp_close(c);
		fake_stop(&f);
		if (strcmp(f.got, full) != 0)
			fail_msg("pieces of %zu: %s", p.step, f.got);
		free(f.got);
	}
}

/* A producer that fails half-way: no final ".", the connection dropped
 * (the server discards the message), the producer's reason returned. */
static void
test_stream_producer_fails(void **state)
{
	static const char msg[] = "Subject: t\r\n\r\nline one\r\nline two\r\n";
	const char *r[] = { "x@example.net" };
	struct script s = { 0 };
	struct pieces p = { msg, sizeof(msg) - 1, 4, 16 };
	struct smtp_client *c;
	struct fake f;
	char err[300];

	(void)state;
	assert_true(fake_start(&f, &s, SOCK_FAMILY_INET));
	assert_int_equal(smtp_open(&c, &f.spec, "test.example", NULL, 5, err,
	    sizeof(err)), SMTP_OK);
	assert_int_equal(smtp_send_stream(c, "", r, 1, produce_pieces, &p,
	    err, sizeof(err)), SMTP_TEMPFAIL);
	assert_string_equal(err, "producer gave up");
	assert_int_equal(smtp_send_stream(c, "", r, 1, produce_pieces, &p,
	    err, sizeof(err)), SMTP_TEMPFAIL);
	assert_non_null(strstr(err, "unusable"));
	smtp_close(c);
	fake_stop(&f);
	assert_non_null(strstr(f.got, "DATA\r\n"));
	assert_null(strstr(f.got, "\r\n.\r\n"));
	assert_null(strstr(f.got, "QUIT"));
	free(f.got);
}

#define PIPELINING_EHLO "250-fake.example\r\n250-PIPELINING\r\n250 8BITMIME\r\n"

/*
 * PIPELINING offered: the same transcript, and refusals still refuse
 * the whole message.  A refusal before a 354 is followed by RSET; a 354
 * after a refused RCPT cannot be taken back, so the connection is
 * dropped before any of the message is sent.
 */
static void
test_pipelined_refusals(void **state)
{
	static const struct {
		struct script s;
		int rc;
		const char *err, *tail;
	} cases[] = {
		{ { .ehlo = PIPELINING_EHLO }, SMTP_OK, "",
		    ENVELOPE "DATA\r\nx\r\n.\r\nQUIT\r\n" },
		{ { .ehlo = PIPELINING_EHLO, .mail = "451 4.3.0 later\r\n",
		    .rcpt = { "503 5.5.1 need MAIL\r\n",
		    "503 5.5.1 need MAIL\r\n" },
		    .data = "503 5.5.1 need RCPT\r\n" }, SMTP_TEMPFAIL,
		    "MAIL FROM:<a@example.org> refused: 451 4.3.0 later",
		    ENVELOPE "DATA\r\nRSET\r\nQUIT\r\n" },
		{ { .ehlo = PIPELINING_EHLO, .rcpt = { NULL,
		    "550 5.1.1 no such user\r\n" } }, SMTP_PERMFAIL,
		    "RCPT TO:<c@example.net> refused: 550 5.1.1",
		    ENVELOPE "DATA\r\n" },
		{ { .ehlo = PIPELINING_EHLO, .rcpt = {
		    "450 4.2.0 busy\r\n", "450 4.2.0 busy\r\n" },
		    .data = "554 5.5.1 no valid recipients\r\n" },
		    SMTP_TEMPFAIL, "RCPT TO:<b@example.net> refused: 450",
		    ENVELOPE "DATA\r\nRSET\r\nQUIT\r\n" },
		{ { .ehlo = PIPELINING_EHLO,
		    .dot = "554 5.7.1 rejected\r\n" }, SMTP_PERMFAIL,
		    "message refused: 554 5.7.1",
		    ENVELOPE "DATA\r\nx\r\n.\r\nRSET\r\nQUIT\r\n" },
	};
	struct fake f;
	char err[300], want[400];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(run(&cases[i].s, SOCK_FAMILY_INET, "x\r\n",
		    5, &f, err, sizeof(err)), cases[i].rc);
		if (strstr(err, cases[i].err) == NULL)
			fail_msg("case %zu: err \"%s\", want \"%s\"", i, err,
			    cases[i].err);
		snprintf(want, sizeof(want), "%s", cases[i].tail);
		if (strcmp(f.got, want) != 0)
			fail_msg("case %zu: sent %s", i, f.got);
		free(f.got);
	}
}

/* 1,000 recipients pipelined (in batches): every RCPT in order, once. */
static void
test_pipelined_many_recipients(void **state)
{
	enum { N = 1000 };
	struct script s = { .ehlo = PIPELINING_EHLO };
	static char addrs[N][40];
	const char *r[N];
	struct spool *sp = spool_of("x\r\n", 3);
	struct fake f;
	char err[300], line[64];
	const char *at;
	size_t i;

	(void)state;
	for (i = 0; i < N; i++) {
		snprintf(addrs[i], sizeof(addrs[i]), "m%zu@example.net", i);
		r[i] = addrs[i];
	}
	assert_true(fake_start(&f, &s, SOCK_FAMILY_INET));
	assert_int_equal(smtp_submit(&f.spec, "test.example", NULL, "", r, N,
	    sp, 10, err, sizeof(err)), SMTP_OK);
	fake_stop(&f);
	at = f.got;
	for (i = 0; i < N; i++) {
		snprintf(line, sizeof(line), "\r\nRCPT TO:<%s>\r\n", r[i]);
		if ((at = strstr(at, line)) == NULL)
			fail_msg("RCPT %zu missing or out of order", i);
		at += strlen(line) - 2;
	}
	assert_non_null(strstr(at, "\r\nDATA\r\nx\r\n.\r\nQUIT\r\n"));
	free(f.got);
	spool_free(sp);
}

/* Reference dot-stuffing, written the obvious (not streaming) way. */
static char *
stuffed(const char *msg, size_t len, size_t *outlen)
{
	char *out = malloc(len * 2 + 8);
	size_t i, o = 0;
	bool bol = true;

	for (i = 0; i < len; i++) {
		if (msg[i] == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			bol = true;
			continue;
		}
		if (bol && msg[i] == '.')
			out[o++] = '.';
		out[o++] = msg[i];
		bol = false;
	}
	memcpy(out + o, ".\r\n", 3);
	*outlen = o + 3;
	return out;
}

/* 3 MB from a spool on disk, lines of every length, many dots. */
static void
test_large_message_from_disk(void **state)
{
	size_t len = 3 * 1024 * 1024, i, wlen;
	char *msg = malloc(len), *want, err[300];
	struct spool *sp = spool_new("/tmp", 65536);
	struct script s = { 0 };
	const char *r[] = { "x@example.net" };
	const char *head = "EHLO test.example\r\nMAIL FROM:<>\r\n"
	    "RCPT TO:<x@example.net>\r\nDATA\r\n";
	struct fake f;

	(void)state;
	srand(7);
	for (i = 0; i < len; i++) {
		int k = rand() % 40;

		msg[i] = k == 0 ? '\n' : k == 1 ? '.' : (char)('a' + k % 26);
	}
	msg[len - 1] = '\n';
	assert_int_equal(spool_append(sp, msg, len, err, sizeof(err)), 0);
	assert_true(spool_on_disk(sp));
	want = stuffed(msg, len, &wlen);
	assert_true(fake_start(&f, &s, SOCK_FAMILY_INET));
	assert_int_equal(smtp_submit(&f.spec, "test.example", NULL, "", r, 1,
	    sp, 20, err, sizeof(err)), SMTP_OK);
	fake_stop(&f);
	assert_int_equal(f.glen, strlen(head) + wlen + strlen("QUIT\r\n"));
	assert_memory_equal(f.got, head, strlen(head));
	assert_memory_equal(f.got + strlen(head), want, wlen);
	free(f.got);
	free(want);
	free(msg);
	spool_free(sp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_success_transcript),
		cmocka_unit_test(test_final_line_end_kept_and_empty_message),
		cmocka_unit_test(test_multiline_ehlo_and_smtputf8),
		cmocka_unit_test(test_helo_fallback),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_protocol_errors),
		cmocka_unit_test(test_long_reply_lines_refused),
		cmocka_unit_test(test_silent_server_times_out),
		cmocka_unit_test(test_connection_refused),
		cmocka_unit_test(test_injection_refused),
		cmocka_unit_test(test_address_is_safe),
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_session_broken_after_timeout),
		cmocka_unit_test(test_unix_and_inet6),
		cmocka_unit_test(test_large_message_from_disk),
		cmocka_unit_test(test_stream_any_piece_size),
		cmocka_unit_test(test_stream_producer_fails),
		cmocka_unit_test(test_pipelined_refusals),
		cmocka_unit_test(test_pipelined_many_recipients),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
