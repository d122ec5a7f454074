/*
 * test_ldapspec.c -- LDAPDirectory specs: every parser error, defaults,
 * the bind password file, and the source's behaviour without a server
 * (refused connection, a server that never answers, pool exhaustion).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "certsrc_ldap.h"
#include "log.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define U "uri=ldap://127.0.0.1:389"
#define B "base=dc=example,dc=test"
#define OK U " " B

/* NULL want = valid, else a piece of the reason. */
static const struct {
	const char *spec;
	const char *want;
} specs[] = {
	/* valid */
	{ "corp " OK, NULL },
	{ "  corp\t" OK "  ", NULL },
	{ "a.b-c_9 " OK, NULL },
	{ "corp uri=ldaps://ldap.example.test " B, NULL },
	{ "corp uri=ldap://a:389,ldaps://b:636,ldap://[::1]:389 " B, NULL },
	{ "corp uri=ldap://a/ " B, NULL },
	{ "corp " U " base=\"ou=Some People,dc=example,dc=test\"", NULL },
	{ "corp " U " base=cn=a\\,b,dc=x", NULL },
	{ "corp " OK " bind-dn=cn=milter,dc=example,dc=test "
	    "bind-password-file=/etc/smime-milter/ldap.pw", NULL },
	{ "corp " OK " starttls=yes", NULL },
	{ "corp " OK " starttls=NO", NULL },
	{ "corp " OK " filter=(mail=%s)", NULL },
	{ "corp " OK " filter=\"(&(objectClass=inetOrgPerson) (mail=%s))\"",
	    NULL },
	{ "corp " OK " attrs=userCertificate;binary", NULL },
	{ "corp " OK " attrs=2.5.4.36;binary,x-Cert-1", NULL },
	{ "corp " OK " timeout=1 pool=64 max-entries=10000 "
	    "max-value-bytes=256", NULL },
	{ "corp " OK " timeout=300 pool=1 max-entries=1 "
	    "max-value-bytes=16777216", NULL },
	{ "corp " OK " crl-dn=\"cn=Test CA,dc=example,dc=test\"", NULL },
	{ "corp " OK " crl-dn=cn=a,dc=x;cn=b\\;c,dc=x", NULL },

	/* name */
	{ "", "empty directory spec" },
	{ "   \t ", "empty directory spec" },
	{ U " " B, "missing directory name before 'uri=" },
	{ "c/rp " OK, "bad directory name 'c/rp'" },
	{ "abcdefghijklmnopqrstuvwxyz0123456 " OK, "bad directory name" },
	/* tokens */
	{ "corp " OK " foo", "expected key=value, got 'foo'" },
	{ "corp rp " OK, "expected key=value, got 'rp'" },
	{ "corp " OK " =x", "'=' without a key" },
	{ "corp " OK " a-very-long-key-name-that-is-not-known=1",
	    "unknown key 'a-very-long-key-name" },
	{ "corp " OK " colour=blue", "unknown key 'colour'" },
	{ "corp " OK " URI=ldap://x", "unknown key 'URI'" },
	{ "corp " U " base=\"dc=example,dc=test", "base: missing closing" },
	{ "corp " U " base=\"dc=example\",dc=test", "base: text after the "
	    "closing" },
	{ "corp " U " base=dc=\"example\"", "base: '\"' inside a value" },
	{ "corp " U " base=", "base: empty value" },
	{ "corp " U " base=\"\"", "base: empty value" },
	{ "corp " OK " " B, "base: given twice" },
	{ "corp " OK " timeout=5 timeout=6", "timeout: given twice" },
	/* uri */
	{ "corp uri=http://x " B, "uri: 'http://x' is not an LDAP URL" },
	{ "corp uri=x " B, "uri: 'x' is not an LDAP URL" },
	{ "corp uri=ldapi:///run/slapd.sock " B, "scheme must be ldap or "
	    "ldaps" },
	{ "corp uri=ldap:/// " B, "uri: 'ldap:///' has no host" },
	{ "corp uri=ldap://h/dc=x " B, "only scheme, host and port" },
	{ "corp uri=ldap://h/??sub " B, "only scheme, host and port" },
	{ "corp uri=ldap://h/??\?!x " B, "only scheme, host and port" },
	{ "corp uri=ldap://a,,ldap://b " B, "uri: empty element" },
	{ "corp uri=ldap://a, " B, "uri: empty element" },
	{ "corp uri=,ldap://a " B, "uri: empty element" },
	{ "corp uri=\"ldap://a, ldap://b\" " B, "uri: white space" },
	{ "corp uri=ldap://1,ldap://2,ldap://3,ldap://4,ldap://5,ldap://6,"
	    "ldap://7,ldap://8,ldap://9 " B, "uri: more than 8 URIs" },
	{ "corp " B, "uri: missing (required)" },
	/* DNs */
	{ "corp " U, "base: missing (required)" },
	{ "corp " U " base=example", "base: 'example' is not a valid DN" },
	{ "corp " U " base=dc=x,,dc=y", "base: 'dc=x,,dc=y' is not a valid" },
	{ "corp " OK " bind-dn=nodn bind-password-file=/x",
	    "bind-dn: 'nodn' is not a valid DN" },
	{ "corp " OK " crl-dn=cn=a,dc=x;bad", "crl-dn: 'bad' is not a "
	    "valid DN" },
	{ "corp " OK " crl-dn=cn=a,dc=x;;cn=b,dc=x", "crl-dn: empty DN" },
	{ "corp " OK " crl-dn=cn=a,dc=x;", "crl-dn: empty DN" },
	{ "corp " OK " crl-dn=cn=1;cn=2;cn=3;cn=4;cn=5;cn=6;cn=7;cn=8;cn=9;"
	    "cn=10;cn=11;cn=12;cn=13;cn=14;cn=15;cn=16;cn=17",
	    "crl-dn: more than 16 DNs" },
	/* bind */
	{ "corp " OK " bind-dn=cn=x,dc=y", "bind-dn: given without "
	    "bind-password-file" },
	{ "corp " OK " bind-password-file=/etc/pw", "bind-password-file: "
	    "given without bind-dn" },
	{ "corp " OK " bind-dn=cn=x,dc=y bind-password-file=pw",
	    "bind-password-file: path must be absolute, got 'pw'" },
	/* starttls */
	{ "corp " OK " starttls=maybe", "starttls: expected yes or no, got "
	    "'maybe'" },
	{ "corp " OK " starttls=1", "starttls: expected yes or no" },
	{ "corp uri=ldaps://x " B " starttls=yes", "starttls: yes with an "
	    "ldaps:// URI" },
	{ "corp uri=ldap://x,LDAPS://y " B " starttls=yes", "starttls: yes "
	    "with an ldaps:// URI" },
	/* filter */
	{ "corp " OK " filter=(mail=*)", "filter: no %s" },
	{ "corp " OK " filter=(mail=%d)", "filter: '%d' at offset 6" },
	{ "corp " OK " filter=(mail=%s)%", "filter: lone '%'" },
	{ "corp " OK " filter=mail=%s", "filter: must start with '('" },
	{ "corp " OK " filter=(mail=%s", "filter: unbalanced '('" },
	{ "corp " OK " filter=(mail=%s))", "filter: unbalanced ')'" },
	{ "corp " OK " filter=(&(mail=%s)(cn=\\q1))", "filter: '\\' at "
	    "offset" },
	{ "corp " OK " filter=(mail=%s\x01)", "filter: control or "
	    "non-ASCII" },
	/* attrs */
	{ "corp " OK " attrs=userCertificate,", "attrs: '' is not an "
	    "attribute name" },
	{ "corp " OK " attrs=,userCertificate", "attrs: '' is not" },
	{ "corp " OK " attrs=user_cert", "attrs: 'user_cert' is not" },
	{ "corp " OK " attrs=1cert", "attrs: '1cert' is not" },
	{ "corp " OK " attrs=2.5..4", "attrs: '2.5..4' is not" },
	{ "corp " OK " attrs=2.5.4.", "attrs: '2.5.4.' is not" },
	{ "corp " OK " attrs=userCertificate;", "attrs: 'userCertificate;' "
	    "is not" },
	{ "corp " OK " attrs=a;;binary", "attrs: 'a;;binary' is not" },
	{ "corp " OK " attrs=a,b,A", "attrs: 'A' listed twice" },
	{ "corp " OK " attrs=a1,a2,a3,a4,a5,a6,a7,a8,a9,a10,a11,a12,a13,a14,"
	    "a15,a16,a17", "attrs: more than 16 attributes" },
	/* numbers */
	{ "corp " OK " timeout=abc", "timeout: expected a number, got "
	    "'abc'" },
	{ "corp " OK " timeout=-1", "timeout: expected a number" },
	{ "corp " OK " timeout=5s", "timeout: expected a number" },
	{ "corp " OK " timeout=0", "timeout: 0 is out of range (1 to 300)" },
	{ "corp " OK " timeout=301", "timeout: 301 is out of range" },
	{ "corp " OK " timeout=99999999999999999999", "timeout: expected a "
	    "number" },
	{ "corp " OK " pool=0", "pool: 0 is out of range (1 to 64)" },
	{ "corp " OK " pool=65", "pool: 65 is out of range" },
	{ "corp " OK " max-entries=0", "max-entries: 0 is out of range (1 "
	    "to 10000)" },
	{ "corp " OK " max-entries=10001", "max-entries: 10001 is out of "
	    "range" },
	{ "corp " OK " max-value-bytes=255", "max-value-bytes: 255 is out of "
	    "range (256 to 16777216)" },
	{ "corp " OK " max-value-bytes=16777217", "max-value-bytes: 16777217 "
	    "is out of range" },
};

static void
test_spec_table(void **state)
{
	char err[512];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < N(specs); i++) {
		err[0] = '\0';
		rc = ldap_spec_check(specs[i].spec, err, sizeof(err));
		if (specs[i].want == NULL && rc != 0)
			fail_msg("#%zu '%s': unexpected error '%s'", i,
			    specs[i].spec, err);
		if (specs[i].want != NULL && (rc != -1 ||
		    strstr(err, specs[i].want) == NULL))
			fail_msg("#%zu '%s': rc %d err '%s', want '%s'", i,
			    specs[i].spec, rc, err, specs[i].want);
	}
}

static void
test_value_too_long(void **state)
{
	char spec[6000], err[256];

	(void)state;
	snprintf(spec, sizeof(spec), "corp " OK " filter=(mail=%%s)(");
	memset(spec + strlen(spec), 'x', 4500);
	spec[5500] = '\0';
	assert_int_equal(ldap_spec_check(spec, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "filter: value longer than 4095"));
}

static const struct {
	const char *spec;
	const char *want;
} canonicals[] = {
	{ "corp " OK, "corp uri=ldap://127.0.0.1:389 base=dc=example,dc=test "
	    "starttls=no filter=(|(mail=%s)(mailAlternateAddress=%s)"
	    "(otherMailbox=%s)) attrs=userSMIMECertificate,"
	    "userCertificate;binary timeout=5 pool=4 max-entries=50 "
	    "max-value-bytes=65536" },
	{ "x base=\"ou=A B,dc=x\" uri=ldap://h,ldap://g starttls=yes "
	    "filter=(mail=%s) attrs=userCertificate;binary timeout=2 pool=1 "
	    "crl-dn=\"cn=CA 1,dc=x;cn=CA2,dc=x\" max-entries=3 "
	    "max-value-bytes=1000 bind-password-file=/p bind-dn=cn=m,dc=x",
	    "x uri=ldap://h,ldap://g base=\"ou=A B,dc=x\" bind-dn=cn=m,dc=x "
	    "bind-password-file=/p starttls=yes filter=(mail=%s) "
	    "attrs=userCertificate;binary timeout=2 pool=1 "
	    "crl-dn=\"cn=CA 1,dc=x;cn=CA2,dc=x\" max-entries=3 "
	    "max-value-bytes=1000" },
};

static void
test_canonical(void **state)
{
	char out[1024], again[1024], err[256];
	size_t i;

	(void)state;
	for (i = 0; i < N(canonicals); i++) {
		assert_int_equal(ldap_spec_canonical(canonicals[i].spec, out,
		    sizeof(out), err, sizeof(err)), 0);
		assert_string_equal(out, canonicals[i].want);
		/* The canonical form parses to itself. */
		assert_int_equal(ldap_spec_canonical(out, again,
		    sizeof(again), err, sizeof(err)), 0);
		assert_string_equal(again, out);
	}
	assert_int_equal(ldap_spec_canonical("corp " OK, out, 40, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "longer than 40"));
	assert_int_equal(ldap_spec_canonical("corp", out, sizeof(out), err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "uri: missing"));
}

static void
test_spec_name(void **state)
{
	char name[LDAP_SPEC_NAME_MAX + 1];

	(void)state;
	assert_int_equal(ldap_spec_name("corp " OK, name, sizeof(name)), 0);
	assert_string_equal(name, "corp");
	/* Only the name is looked at. */
	assert_int_equal(ldap_spec_name("  dir2 garbage", name, sizeof(name)),
	    0);
	assert_string_equal(name, "dir2");
	assert_int_equal(ldap_spec_name("corp", name, 5), 0);
	assert_int_equal(ldap_spec_name("corp", name, 4), -1);
	assert_int_equal(ldap_spec_name("", name, sizeof(name)), -1);
	assert_int_equal(ldap_spec_name(U, name, sizeof(name)), -1);
	assert_int_equal(ldap_spec_name("c:rp " OK, name, sizeof(name)), -1);
}

/* ------------------------------------------------------ password file */

static char tmpdir[64];

static int
make_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_ldapspec.XXXXXX");
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int
remove_tmpdir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f;

	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static const struct {
	const char *file;	/* name in tmpdir; "-" = does not exist */
	const char *content;	/* NULL = make a directory */
	mode_t mode;
	const char *want;	/* NULL = accepted */
} pwfiles[] = {
	{ "ok", "s3cret\n", 0600, NULL },
	{ "ok-nonl", "s3cret", 0400, NULL },
	{ "ok-crlf", "s3cret\r\nsecond line ignored\n", 0600, NULL },
	{ "group-read", "s3cret\n", 0640, "mode 0640 lets group or others" },
	{ "world-read", "s3cret\n", 0604, "mode 0604" },
	{ "group-write", "s3cret\n", 0620, "mode 0620" },
	{ "empty", "", 0600, "empty password" },
	{ "empty-line", "\nsecond\n", 0600, "empty password" },
	{ "dir", NULL, 0700, "not a regular file" },
	{ "-", "", 0, "No such file or directory" },
	{ "link", "", 0, "is a symbolic link (refused)" },
};

static void
test_password_file(void **state)
{
	char path[256], spec[512], err[512];
	struct certsrc *src;
	size_t i;

	(void)state;
	for (i = 0; i < N(pwfiles); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir,
		    strcmp(pwfiles[i].file, "-") == 0 ? "missing" :
		    pwfiles[i].file);
		if (strcmp(pwfiles[i].file, "link") == 0) {
			char target[256];

			snprintf(target, sizeof(target), "%s/ok", tmpdir);
			assert_int_equal(symlink(target, path), 0);
		} else if (strcmp(pwfiles[i].file, "-") == 0) {
			/* nothing */
		} else if (pwfiles[i].content == NULL) {
			assert_int_equal(mkdir(path, pwfiles[i].mode), 0);
		} else {
			write_file(path, pwfiles[i].content, pwfiles[i].mode);
		}
		snprintf(spec, sizeof(spec), "corp " OK " bind-dn=cn=m,dc=x "
		    "bind-password-file=%s", path);
		err[0] = '\0';
		src = certsrc_ldap_new(spec, err, sizeof(err));
		if (pwfiles[i].want == NULL && src == NULL)
			fail_msg("%s: unexpected error '%s'", pwfiles[i].file,
			    err);
		if (pwfiles[i].want != NULL && (src != NULL ||
		    strstr(err, pwfiles[i].want) == NULL))
			fail_msg("%s: err '%s', want '%s'", pwfiles[i].file,
			    err, pwfiles[i].want);
		/* The reason names the file, never its content. */
		if (src == NULL && (strstr(err, path) == NULL ||
		    strstr(err, "s3cret") != NULL))
			fail_msg("%s: bad reason '%s'", pwfiles[i].file, err);
		if (src != NULL)
			src->free(src);
	}
}

static void
test_new_bad_spec(void **state)
{
	char err[256];

	(void)state;
	assert_null(certsrc_ldap_new("corp " U, err, sizeof(err)));
	assert_non_null(strstr(err, "base: missing"));
}

/* ------------------------------------------- behaviour without server */

/*
 * A TCP port on 127.0.0.1 with a socket bound to it.  listening = false:
 * connections are refused; true: the kernel completes the handshake but
 * nobody ever reads or answers (a hung server).
 */
static int
grab_port(bool listening, int *port)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	if (listening)
		assert_int_equal(listen(fd, 16), 0);
	*port = ntohs(sin.sin_port);
	return fd;
}

static long
elapsed_ms(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 +
	    (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void
test_refused(void **state)
{
	struct cert_list out = CERT_LIST_INIT;
	struct ldap_counters c;
	STACK_OF(X509_CRL) *crls = NULL;
	struct timespec t0;
	struct certsrc *src;
	char spec[256], err[256];
	int port, fd = grab_port(false, &port);

	(void)state;
	snprintf(spec, sizeof(spec), "corp uri=ldap://127.0.0.1:%d " B
	    " timeout=2 crl-dn=cn=CA,dc=example,dc=test", port);
	/* Creating the source does not connect. */
	src = certsrc_ldap_new(spec, err, sizeof(err));
	assert_non_null(src);
	assert_string_equal(src->name, "ldap:corp");
	assert_null(src->reload);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(src->lookup(src, "alice@example.test", &out, err,
	    sizeof(err)), LOOKUP_ERROR);
	assert_true(elapsed_ms(&t0) < 1000);
	assert_non_null(strstr(err, "Can't contact LDAP server"));
	assert_int_equal(out.count, 0);
	assert_int_equal(certsrc_ldap_fetch_crls(src, &crls, err,
	    sizeof(err)), LOOKUP_ERROR);
	assert_null(crls);
	certsrc_ldap_counters(src, &c);
	assert_int_equal(c.lookups, 1);
	assert_int_equal(c.errors, 2);
	assert_int_equal(c.timeouts, 0);
	assert_int_equal(c.reconnects, 0);
	src->free(src);
	close(fd);
}

static void
test_no_crl_dn(void **state)
{
	STACK_OF(X509_CRL) *crls = NULL;
	struct certsrc *src;
	char err[256];

	(void)state;
	src = certsrc_ldap_new("corp uri=ldap://127.0.0.1:1 " B, err,
	    sizeof(err));
	assert_non_null(src);
	assert_int_equal(certsrc_ldap_fetch_crls(src, &crls, err,
	    sizeof(err)), LOOKUP_NONE);
	assert_null(crls);
	src->free(src);
}

struct hung_arg {
	struct certsrc *src;
	enum lookup_status st;
	char err[256];
};

static void *
hung_lookup(void *p)
{
	struct hung_arg *a = p;
	struct cert_list out = CERT_LIST_INIT;

	a->st = a->src->lookup(a->src, "bob@example.test", &out, a->err,
	    sizeof(a->err));
	cert_list_free(&out);
	return NULL;
}

/*
 * A server that never answers: every look-up ends within its budget
 * (timeout=1), whether it timed out on the connection or waiting for
 * the only one (pool=1); nothing hangs and nothing is retried past it.
 * Serialised look-ups would take 3 s, a retry after a timeout 2 s.
 */
static void
test_hung_server(void **state)
{
	struct hung_arg a[3];
	pthread_t t[3];
	struct ldap_counters c;
	struct timespec t0;
	char spec[256], err[256];
	int port, fd = grab_port(true, &port);
	size_t i;
	long ms;

	(void)state;
	snprintf(spec, sizeof(spec), "corp uri=ldap://127.0.0.1:%d " B
	    " timeout=1 pool=1", port);
	a[0].src = certsrc_ldap_new(spec, err, sizeof(err));
	assert_non_null(a[0].src);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < N(a); i++) {
		a[i].src = a[0].src;
		assert_int_equal(pthread_create(&t[i], NULL, hung_lookup,
		    &a[i]), 0);
	}
	for (i = 0; i < N(a); i++)
		pthread_join(t[i], NULL);
	ms = elapsed_ms(&t0);
	if (ms < 900 || ms > 1800)
		fail_msg("3 look-ups took %ld ms; want about 1000", ms);
	for (i = 0; i < N(a); i++) {
		assert_int_equal(a[i].st, LOOKUP_ERROR);
		if (strstr(a[i].err, "Timed out") == NULL &&
		    strstr(a[i].err, "timed out") == NULL &&
		    strstr(a[i].err, "pool exhausted") == NULL)
			fail_msg("look-up %zu: reason '%s'", i, a[i].err);
	}
	certsrc_ldap_counters(a[0].src, &c);
	assert_int_equal(c.lookups, 3);
	assert_int_equal(c.errors, 3);
	assert_int_equal(c.timeouts, 3);
	a[0].src->free(a[0].src);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_table),
		cmocka_unit_test(test_value_too_long),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_spec_name),
		cmocka_unit_test(test_password_file),
		cmocka_unit_test(test_new_bad_spec),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_no_crl_dn),
		cmocka_unit_test(test_hung_server),
	};

	/* Expected failures are logged; keep the test output readable. */
	log_setup("test_ldapspec", false, 0, false, LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
