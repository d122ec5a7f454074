/*
 * test_groups.c -- bad input at end-of-data (issue 6, "Bad input and
 * failure"): one test per case, each checking everything that leaves
 * the milter -- every copy's envelope recipients, its RecipientInfos
 * (read with OpenSSL's CMS parser), its text and decrypted content, and
 * what a fake reinjection listener receives from outbound_submit() -- so
 * that a Bcc leak or a lost recipient fails a test.
 *
 *   test_thousands              3,000 recipients: groups, time, memory
 *   test_odd_syntax             quoted, UTF-8, domain-literal addresses
 *   test_lying_headers          To/Cc name people not in the envelope
 *   test_duplicates             the same recipient twice, domain case
 *   test_duplicates_local_case  Dup@ and dup@: two mailboxes
 *   test_to_and_bcc             in To and in Bcc: visible
 *   test_only_bcc               no To/Cc, "undisclosed-recipients:;"
 *   test_empty_body             no body at all, an empty line
 *   test_8bit_headers           raw UTF-8 (and Latin-1) Subject, names
 *   test_bcc_never_shown        no Bcc field, no hidden address elsewhere
 *   test_bcc_plain_staying      ... also when the staying copy is plain
 *   test_resent_bcc             ... nor a Resent-Bcc field
 *   test_forged_marker          removed; the message is processed
 *   test_forged_marker_passing  removed from mail passing untouched
 *
 * Every re-submitted copy is also read back and planned again, as if the
 * reinjection port ran the milter: it must pass untouched (our marker).
 *
 * Certificates: alice, bob (RSA), carol (EC) and victor of the test PKI,
 * and EC P-256 certificates issued here by the PKI's intermediate CA for
 * the other addresses the tests need.
 *
 * These tests found five defects (duplicated mailboxes, case of local
 * parts in the journal, Bcc on a plain staying copy, Resent-Bcc, the
 * journal kept after success); all are fixed and checked strictly.
 * TEST_GROUPS_DUMP=1 prints every copy.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <netinet/in.h>
#include <dirent.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "log.h"
#include "marker.h"
#include "message.h"
#include "message_read.h"
#include "outbound.h"
#include "outbound_int.h"
#include "pki_fixture.h"
#include "runtime.h"
#include "sink.h"
#include "spool.h"

static char dir[] = "/tmp/test_groups.XXXXXX";
static X509 *ca_cert;		/* the PKI's intermediate CA */
static EVP_PKEY *ca_key;
static char *chain_pem;		/* intermediate + root, appended to certs */

/* --------------------------------------------------------- identities */

struct ident {
	char addr[128];
	X509 *cert;
	EVP_PKEY *key;
};

static struct ident alice, bob, carol, victor;

static char *
read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static EVP_PKEY *
read_key(const char *rel)
{
	FILE *f = fopen(pki_path(rel), "r");
	EVP_PKEY *k;

	assert_non_null(f);
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(k);
	return k;
}

/* One of the PKI's certificates, copied (with its chain) to certs/. */
static void
pki_ident(struct ident *id, const char *addr, const char *name)
{
	char rel[200], path[300];
	FILE *f;

	snprintf(id->addr, sizeof(id->addr), "%s", addr);
	id->cert = pki_cert(name);
	assert_non_null(id->cert);
	snprintf(rel, sizeof(rel), "keys/%s.key", name);
	id->key = read_key(rel);
	snprintf(path, sizeof(path), "%s/certs/%s.pem", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, id->cert), 1);
	fputs(chain_pem, f);
	fclose(f);
}

static void
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *e = X509V3_EXT_conf_nid(NULL, ctx, nid, value);

	assert_non_null(e);
	assert_int_equal(X509_add_ext(x, e, -1), 1);
	X509_EXTENSION_free(e);
}

/*
 * An EC P-256 certificate for addr (in subjectAltName) issued by the
 * intermediate CA, written with its chain to certs/: runtimes made after
 * this find it.
 */
static void
issue(struct ident *id, const char *addr)
{
	static unsigned count;
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	BIGNUM *bn = BN_new();
	X509V3_CTX ctx;
	char san[200], path[300];
	FILE *f;

	assert_true(x != NULL && name != NULL && bn != NULL);
	snprintf(id->addr, sizeof(id->addr), "%s", addr);
	id->key = EVP_EC_gen("P-256");
	assert_non_null(id->key);
	assert_int_equal(X509_set_version(x, 2), 1);
	assert_int_equal(BN_rand(bn, 64, BN_RAND_TOP_ONE, BN_RAND_BOTTOM_ANY),
	    1);
	assert_non_null(BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)));
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), -86400));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 30L * 86400));
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)"test_groups recipient", -1, -1, 0), 1);
	assert_int_equal(X509_set_subject_name(x, name), 1);
	assert_int_equal(X509_set_issuer_name(x,
	    X509_get_subject_name(ca_cert)), 1);
	assert_int_equal(X509_set_pubkey(x, id->key), 1);
	X509V3_set_ctx(&ctx, ca_cert, x, NULL, NULL, 0);
	add_ext(x, &ctx, NID_basic_constraints, "critical,CA:FALSE");
	add_ext(x, &ctx, NID_key_usage,
	    "critical,digitalSignature,keyAgreement");
	add_ext(x, &ctx, NID_ext_key_usage, "emailProtection");
	add_ext(x, &ctx, NID_subject_key_identifier, "hash");
	add_ext(x, &ctx, NID_authority_key_identifier, "keyid:always");
	snprintf(san, sizeof(san), "email:%s", addr);
	add_ext(x, &ctx, NID_subject_alt_name, san);
	assert_true(X509_sign(x, ca_key, EVP_sha256()) > 0);
	snprintf(path, sizeof(path), "%s/certs/gen%u.pem", dir, count++);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fputs(chain_pem, f);
	fclose(f);
	id->cert = x;
	X509_NAME_free(name);
	BN_free(bn);
}

static void
ident_free(struct ident *id)
{
	X509_free(id->cert);
	EVP_PKEY_free(id->key);
	memset(id, 0, sizeof(*id));
}

/* ------------------------------------------ a fake reinjection listener */

/* One transaction the listener received. */
struct txn {
	char **rcpts;
	size_t n;
	char *data;		/* dot-stuffing undone */
	size_t len;
	bool refused;		/* listener.refuse: not queued */
	bool ended;		/* its "." came */
};

struct listener {
	int fd;
	unsigned port;
	pthread_t thread;
	struct txn *t;
	size_t nt;
	size_t refuse;		/* 451 after the "." of message #refuse */
	unsigned refuse_null;	/* 451 to this many MAIL FROM:<> */
};

static void *
xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (p == NULL)
		abort();	/* no cmocka assertions in this thread */
	return p;
}

static void
say(int fd, const char *text)
{
	(void)send(fd, text, strlen(text), MSG_NOSIGNAL);
}

static void
serve_conn(struct listener *l, int fd)
{
	FILE *in = fdopen(dup(fd), "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	bool data = false;
	struct txn *t = NULL;

	if (in == NULL)
		abort();
	say(fd, "220 fake ESMTP\r\n");
	while ((n = getline(&line, &cap, in)) > 0) {
		if (data && strcmp(line, ".\r\n") == 0) {
			data = false;
			t->refused = l->nt == l->refuse;
			t->ended = true;
			say(fd, t->refused ? "451 4.3.0 try later\r\n" :
			    "250 2.0.0 queued\r\n");
		} else if (data) {
			const char *p = line[0] == '.' ? line + 1 : line;
			size_t len = strlen(p);

			t->data = xrealloc(t->data, t->len + len + 1);
			memcpy(t->data + t->len, p, len + 1);
			t->len += len;
		} else if (strncasecmp(line, "EHLO", 4) == 0) {
			say(fd, "250-fake\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n");
		} else if (strncasecmp(line, "MAIL", 4) == 0 &&
		    l->refuse_null > 0 && strstr(line, ":<>") != NULL) {
			l->refuse_null--;
			t = NULL;
			say(fd, "451 4.3.0 not now\r\n");
		} else if (strncasecmp(line, "MAIL", 4) == 0) {
			l->t = xrealloc(l->t, (l->nt + 1) * sizeof(*l->t));
			t = &l->t[l->nt++];
			memset(t, 0, sizeof(*t));
			t->data = xrealloc(NULL, 1);
			t->data[0] = '\0';
			say(fd, "250 2.1.0 ok\r\n");
		} else if (strncasecmp(line, "RCPT", 4) == 0 && t != NULL) {
			char *lt = strchr(line, '<'), *gt = strrchr(line, '>');

			if (lt == NULL || gt == NULL || gt < lt)
				abort();
			t->rcpts = xrealloc(t->rcpts, (t->n + 1) *
			    sizeof(*t->rcpts));
			t->rcpts[t->n++] = strndup(lt + 1, (size_t)(gt - lt - 1));
			say(fd, "250 2.1.5 ok\r\n");
		} else if (strncasecmp(line, "DATA", 4) == 0) {
			data = true;
			say(fd, "354 go ahead\r\n");
		} else if (strncasecmp(line, "QUIT", 4) == 0) {
			say(fd, "221 2.0.0 bye\r\n");
			break;
		} else {
			say(fd, "250 2.0.0 ok\r\n");
		}
	}
	free(line);
	fclose(in);
}

static void *
serve(void *arg)
{
	struct listener *l = arg;
	int fd;

	while ((fd = accept(l->fd, NULL, NULL)) >= 0) {
		serve_conn(l, fd);
		close(fd);
	}
	return NULL;
}

static void
listener_start(struct listener *l)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	memset(l, 0, sizeof(*l));
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l->fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(l->fd >= 0);
	assert_int_equal(bind(l->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(l->fd, 8), 0);
	assert_int_equal(getsockname(l->fd, (struct sockaddr *)&sa, &len), 0);
	l->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&l->thread, NULL, serve, l), 0);
}

/* Stop accepting; after this, l->t holds every transaction. */
static void
listener_stop(struct listener *l)
{
	if (l->fd < 0)
		return;
	(void)shutdown(l->fd, SHUT_RDWR);
	assert_int_equal(pthread_join(l->thread, NULL), 0);
	close(l->fd);
	l->fd = -1;
}

static void
listener_free(struct listener *l)
{
	size_t i, k;

	listener_stop(l);
	for (i = 0; i < l->nt; i++) {
		for (k = 0; k < l->t[i].n; k++)
			free(l->t[i].rcpts[k]);
		free(l->t[i].rcpts);
		free(l->t[i].data);
	}
	free(l->t);
}

/* ------------------------------------------------ runtime and message */

/* More configuration lines for the next make_runtime (tests set it). */
static const char *extra_config = "";

static struct runtime *
make_runtime(const char *policy, unsigned port)
{
	static unsigned journals;
	char text[4096], err[512], path[300];
	struct config *cfg;
	struct runtime *rt;
	FILE *f;

	snprintf(path, sizeof(path), "%s/policy", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(policy, f);
	fclose(f);
	snprintf(text, sizeof(text), "SpoolDir %s\nCertificateSources "
	    "dir:%s/certs\nTrustAnchors %s\nPolicyFile %s/policy\n"
	    "ReinjectSocket inet:%u@127.0.0.1\nJournalDir %s/journal%u\n%s",
	    dir, dir, pki_path("ca/anchors.pem"), dir, port, dir, journals++,
	    extra_config);
	cfg = config_parse("t", text, strlen(text), err, sizeof(err));
	if (cfg == NULL)
		fail_msg("%s", err);
	rt = runtime_new(cfg, NULL, err, sizeof(err));
	if (rt == NULL)
		fail_msg("%s", err);
	return rt;
}

/* The message: rcpts[0..nrcpts), headers as name/value pairs up to a
 * NULL name, body NULL: no body at all. */
static struct message *
make_message(struct runtime *rt, const char *const *rcpts, size_t nrcpts,
    const char *const *headers, const char *body)
{
	struct message *m = message_new(rt->cfg, "<s@example.org>");
	size_t i;

	assert_non_null(m);
	for (i = 0; i < nrcpts; i++)
		assert_int_equal(message_add_rcpt(m, rcpts[i]), MSG_OK);
	for (i = 0; headers[i] != NULL; i += 2)
		assert_int_equal(message_add_header(m, headers[i],
		    headers[i + 1]), MSG_OK);
	if (body != NULL)
		assert_int_equal(message_add_body(m, body, strlen(body)),
		    MSG_OK);
	return m;
}

static size_t
count_strings(const char *const *v)
{
	size_t n = 0;

	while (v[n] != NULL)
		n++;
	return n;
}

/* --------------------------------------------------------------- copies */

/* What one copy is, as the MTA sees it. */
struct view {
	const char **rcpts;	/* envelope recipients */
	size_t n;
	char *text;		/* header and body */
	CMS_ContentInfo *cms;	/* when it is application/pkcs7-mime */
	char *inner;		/* decrypted content, once a key opened it */
};

struct run {
	struct listener l;
	struct runtime *rt;
	struct message *m;
	struct outbound_plan plan;
	struct outbound_copy c;
	struct view *v;		/* v[0]: the copy staying in the transaction */
	size_t nv;
	bool planned, built;
};

static char *
spool_text(const struct spool *sp)
{
	uint64_t size = spool_size(sp), off = 0;
	char *buf = malloc((size_t)size + 1), err[200];
	ssize_t got;

	assert_non_null(buf);
	while (off < size) {
		got = spool_read(sp, off, buf + off, (size_t)(size - off), err,
		    sizeof(err));
		if (got <= 0)
			fail_msg("spool_read: %s", err);
		off += (uint64_t)got;
	}
	buf[size] = '\0';
	return buf;
}

static void
append(char **buf, size_t *len, const char *s, size_t n)
{
	*buf = realloc(*buf, *len + n + 1);
	assert_non_null(*buf);
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
}

struct field {
	char *name, *value;
};

static char *
with_lead_space(const char *v)
{
	char *s = malloc(strlen(v) + 2);

	assert_non_null(s);
	sprintf(s, "%s%s", v[0] == ' ' || v[0] == '\t' ? "" : " ", v);
	return s;
}

/*
 * The staying copy as the MTA makes it from the original and the edits,
 * the way milter/callbacks.c applies them: header changes last first
 * (index: n-th field of that name), then additions, then the body.
 */
static char *
staying_text(const struct message *m, const struct outbound_copy *c)
{
	struct field *f = calloc(m->nheaders + c->nedits + 1, sizeof(*f));
	size_t n = 0, i, k, len = 0;
	char *text = NULL, *body;

	assert_non_null(f);
	for (i = 0; i < m->nheaders; i++, n++) {
		f[n].name = strdup(m->headers[i].name);
		f[n].value = strdup(m->headers[i].value);
	}
	for (i = c->nedits; i-- > 0; ) {
		const struct header_edit *e = &c->edits[i];
		unsigned seen = 0;

		if (e->op != HE_CHANGE)
			continue;
		for (k = 0; k < n; k++)
			if (strcasecmp(f[k].name, e->name) == 0 &&
			    ++seen == e->index)
				break;
		if (k == n && e->value != NULL) {
			f[n].name = strdup(e->name);
			f[n++].value = with_lead_space(e->value);
		} else if (k < n && e->value == NULL) {
			free(f[k].name);
			free(f[k].value);
			memmove(&f[k], &f[k + 1], (n - k - 1) * sizeof(*f));
			n--;
		} else if (k < n) {
			free(f[k].value);
			f[k].value = with_lead_space(e->value);
		}
	}
	for (i = 0; i < c->nedits; i++)
		if (c->edits[i].op == HE_ADD) {
			f[n].name = strdup(c->edits[i].name);
			f[n++].value = with_lead_space(c->edits[i].value);
		}
	for (i = 0; i < n; i++) {
		append(&text, &len, f[i].name, strlen(f[i].name));
		append(&text, &len, ":", 1);
		append(&text, &len, f[i].value, strlen(f[i].value));
		append(&text, &len, "\r\n", 2);
		free(f[i].name);
		free(f[i].value);
	}
	free(f);
	append(&text, &len, "\r\n", 2);
	body = spool_text(c->body != NULL ? c->body : m->body);
	append(&text, &len, body, strlen(body));
	free(body);
	return text;
}

static CMS_ContentInfo *
parse_cms(const char *text)
{
	const char *eoh = strstr(text, "\r\n\r\n");
	CMS_ContentInfo *cms = NULL;
	BIO *in;

	/* Only a copy whose own header says so is S/MIME. */
	if (eoh == NULL || memmem(text, (size_t)(eoh - text),
	    "Content-Type: application/pkcs7-mime", 36) == NULL)
		return NULL;
	in = BIO_new_mem_buf(text, -1);
	cms = SMIME_read_CMS(in, NULL);
	BIO_free(in);
	assert_non_null(cms);
	return cms;
}

/* Recipient identifiers in the CMS: one per ktri, one per kari key. */
static size_t
cms_ids(CMS_ContentInfo *cms)
{
	STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
	size_t n = 0;
	int i;

	for (i = 0; i < sk_CMS_RecipientInfo_num(ris); i++) {
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);

		if (CMS_RecipientInfo_type(ri) == CMS_RECIPINFO_AGREE)
			n += (size_t)sk_CMS_RecipientEncryptedKey_num(
			    CMS_RecipientInfo_kari_get0_reks(ri));
		else
			n++;
	}
	return n;
}

/* True if a RecipientInfo of cms identifies cert. */
static bool
cms_names(CMS_ContentInfo *cms, X509 *cert)
{
	STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);
	int i, k;

	for (i = 0; i < sk_CMS_RecipientInfo_num(ris); i++) {
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
		STACK_OF(CMS_RecipientEncryptedKey) *reks;

		switch (CMS_RecipientInfo_type(ri)) {
		case CMS_RECIPINFO_TRANS:
			if (CMS_RecipientInfo_ktri_cert_cmp(ri, cert) == 0)
				return true;
			break;
		case CMS_RECIPINFO_AGREE:
			reks = CMS_RecipientInfo_kari_get0_reks(ri);
			for (k = 0; k < sk_CMS_RecipientEncryptedKey_num(reks);
			    k++)
				if (CMS_RecipientEncryptedKey_cert_cmp(
				    sk_CMS_RecipientEncryptedKey_value(reks, k),
				    cert) == 0)
					return true;
			break;
		default:
			break;
		}
	}
	return false;
}

/* The content, if id's key opens the copy; NULL otherwise. */
static char *
decrypt(const struct view *v, const struct ident *id)
{
	BIO *out = BIO_new(BIO_s_mem());
	char *text = NULL, *p;
	long n;

	assert_non_null(out);
	if (CMS_decrypt(v->cms, id->key, id->cert, NULL, out, 0) == 1) {
		n = BIO_get_mem_data(out, &p);
		text = strndup(p, (size_t)n);
		assert_non_null(text);
	}
	ERR_clear_error();
	BIO_free(out);
	return text;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool
same_set(const char **got, size_t ngot, const char *const *want,
    size_t nwant)
{
	const char **a = calloc(ngot + 1, sizeof(*a));
	const char **b = calloc(nwant + 1, sizeof(*b));
	bool same = ngot == nwant;
	size_t i;

	assert_true(a != NULL && b != NULL);
	memcpy(a, got, ngot * sizeof(*a));
	memcpy(b, want, nwant * sizeof(*b));
	qsort(a, ngot, sizeof(*a), cmp_str);
	qsort(b, nwant, sizeof(*b), cmp_str);
	for (i = 0; same && i < ngot; i++)
		same = strcmp(a[i], b[i]) == 0;
	free(a);
	free(b);
	return same;
}

/* Re-submitted copy i as the listener would get it (all recipients). */
static char *
extra_text(const struct outbound_copy *c, size_t i)
{
	struct membuf mb = { 0 };
	struct sink s = sink_to_membuf(&mb);
	char err[256];

	if (outbound_extra_write(c, i, c->extra[i].rcpts, c->extra[i].nrcpts,
	    &s, err, sizeof(err)) != 0)
		fail_msg("outbound_extra_write: %s", err);
	assert_int_equal(sink_write(&s, "", 1, err, sizeof(err)), 0);
	return (char *)mb.data;
}

static void
make_views(struct run *r)
{
	size_t i, k;

	r->nv = 1 + r->c.nextra;
	r->v = calloc(r->nv, sizeof(*r->v));
	assert_non_null(r->v);
	/* Staying: the envelope minus the recipients deleted. */
	r->v[0].rcpts = calloc(r->m->nrcpts + 1, sizeof(char *));
	assert_non_null(r->v[0].rcpts);
	for (i = 0; i < r->m->nrcpts; i++) {
		for (k = 0; k < r->c.ndrop; k++)
			if (strcmp(r->c.drop_rcpts[k], r->m->rcpts[i]) == 0)
				break;
		if (k == r->c.ndrop)
			r->v[0].rcpts[r->v[0].n++] = r->m->rcpts[i];
	}
	r->v[0].text = staying_text(r->m, &r->c);
	for (i = 0; i < r->c.nextra; i++) {
		struct view *v = &r->v[i + 1];

		v->n = r->c.extra[i].nrcpts;
		v->rcpts = calloc(v->n + 1, sizeof(char *));
		assert_non_null(v->rcpts);
		memcpy(v->rcpts, r->c.extra[i].rcpts, v->n * sizeof(char *));
		v->text = extra_text(&r->c, i);
	}
	for (i = 0; i < r->nv; i++)
		r->v[i].cms = parse_cms(r->v[i].text);
}

/* Plan and build; the verdict must be "deliver". */
static void
run_start(struct run *r, const char *policy, const char *const *rcpts,
    size_t nrcpts, const char *const *headers, const char *body)
{
	char err[512];

	memset(r, 0, sizeof(*r));
	listener_start(&r->l);
	r->rt = make_runtime(policy, r->l.port);
	r->m = make_message(r->rt, rcpts, nrcpts, headers, body);
	assert_int_equal(outbound_plan(r->rt, NULL, r->m, false, &r->plan),
	    0);
	r->planned = true;
	if (r->plan.verdict != PLAN_DELIVER)
		fail_msg("verdict %d: %s", r->plan.verdict, r->plan.log);
	if (outbound_build(r->rt, r->m, &r->plan, &r->c, err, sizeof(err)) !=
	    0)
		fail_msg("outbound_build: %s", err);
	r->built = true;
	make_views(r);
}

/*
 * Every copy the listener got, read back as the milter would see it if
 * the reinjection port ran the milter too: our marker verifies for it,
 * so it passes untouched (no loop, no second encryption).
 */
static void
assert_copies_pass(const struct run *r)
{
	char rcpt[400];
	size_t i, k;

	for (i = 0; i < r->l.nt; i++) {
		const struct txn *t = &r->l.t[i];
		FILE *in = fmemopen(t->data, t->len, "r");
		struct message *m = message_new(r->rt->cfg, r->m->sender);
		struct outbound_plan plan;

		assert_true(in != NULL && m != NULL);
		assert_int_equal(message_read(m, in), MSG_OK);
		fclose(in);
		for (k = 0; k < t->n; k++) {
			snprintf(rcpt, sizeof(rcpt), "<%s>", t->rcpts[k]);
			assert_int_equal(message_add_rcpt(m, rcpt), MSG_OK);
		}
		assert_int_equal(outbound_plan(r->rt, NULL, m, false, &plan),
		    0);
		if (plan.verdict != PLAN_PASS || !plan.resubmitted)
			fail_msg("re-submitted copy %zu (to %s) does not pass: "
			    "%s", i, t->rcpts[0], plan.log);
		outbound_plan_free(&plan);
		message_free(m);
	}
}

/* Hand the extra copies to the fake listener; then r->l.t is complete. */
static void
run_submit(struct run *r)
{
	char err[512];

	if (outbound_submit(r->rt, r->m, &r->c, "test.example", NULL, NULL,
	    err, sizeof(err)) != 0)
		fail_msg("outbound_submit: %s", err);
	listener_stop(&r->l);
	assert_copies_pass(r);
}

/* TEST_GROUPS_DUMP=1: every copy on stderr (when changing a test). */
static void
dump(const struct run *r)
{
	size_t i, k;

	if (getenv("TEST_GROUPS_DUMP") == NULL)
		return;
	for (i = 0; i < r->nv; i++) {
		fprintf(stderr, "===== copy %zu to", i);
		for (k = 0; k < r->v[i].n && k < 5; k++)
			fprintf(stderr, " %s", r->v[i].rcpts[k]);
		fprintf(stderr, "%s\n%.3000s\n", k < r->v[i].n ? " ..." : "",
		    r->v[i].text);
		if (r->v[i].inner != NULL)
			fprintf(stderr, "----- inside\n%.3000s\n",
			    r->v[i].inner);
	}
}

static void
run_free(struct run *r)
{
	size_t i;

	dump(r);
	for (i = 0; i < r->nv; i++) {
		free(r->v[i].rcpts);
		free(r->v[i].text);
		free(r->v[i].inner);
		CMS_ContentInfo_free(r->v[i].cms);
	}
	free(r->v);
	listener_free(&r->l);
	if (r->built)
		outbound_copy_free(&r->c);
	if (r->planned)
		outbound_plan_free(&r->plan);
	message_free(r->m);
	runtime_release(r->rt);
	memset(r, 0, sizeof(*r));
}

/* The one copy addr is an envelope recipient of (fails if not one). */
static size_t
copy_of(const struct run *r, const char *addr)
{
	size_t i, k, found = r->nv, times = 0;

	for (i = 0; i < r->nv; i++)
		for (k = 0; k < r->v[i].n; k++)
			if (strcmp(r->v[i].rcpts[k], addr) == 0) {
				found = i;
				times++;
			}
	if (times != 1)
		fail_msg("%s is a recipient of %zu copies, not 1", addr, times);
	return found;
}

/*
 * Copy vi goes to exactly want (NULL-terminated) and is encrypted for
 * exactly ids (NULL-terminated; NULL: not encrypted): as many
 * RecipientInfos as ids, each of them named, and the first one's key
 * opens it (the content is kept in v->inner).
 */
static void
assert_copy(struct run *r, size_t vi, const char *const *want,
    const struct ident *const *ids)
{
	struct view *v = &r->v[vi];
	size_t n, i;

	if (!same_set(v->rcpts, v->n, want, count_strings(want))) {
		fprintf(stderr, "copy %zu goes to:", vi);
		for (i = 0; i < v->n && i < 20; i++)
			fprintf(stderr, " %s", v->rcpts[i]);
		fail_msg("copy %zu: %zu recipients, not the %zu expected", vi,
		    v->n, count_strings(want));
	}
	if (ids == NULL) {
		if (v->cms != NULL)
			fail_msg("copy %zu is encrypted", vi);
		return;
	}
	if (v->cms == NULL)
		fail_msg("copy %zu (to %s) is not encrypted", vi, want[0]);
	for (n = 0; ids[n] != NULL; n++)
		if (!cms_names(v->cms, ids[n]->cert))
			fail_msg("copy %zu has no RecipientInfo for %s", vi,
			    ids[n]->addr);
	if (cms_ids(v->cms) != n)
		fail_msg("copy %zu: %zu recipient identifiers, expected %zu",
		    vi, cms_ids(v->cms), n);
	assert_int_equal(sk_CMS_RecipientInfo_num(
	    CMS_get0_RecipientInfos(v->cms)), n);
	free(v->inner);
	v->inner = decrypt(v, ids[0]);
	if (v->inner == NULL)
		fail_msg("%s cannot open copy %zu", ids[0]->addr, vi);
}

/* No copy names id in a RecipientInfo (or has it as a recipient). */
static void
assert_named_nowhere(const struct run *r, const struct ident *id)
{
	size_t i, k;

	for (i = 0; i < r->nv; i++) {
		if (r->v[i].cms != NULL && cms_names(r->v[i].cms, id->cert))
			fail_msg("copy %zu has a RecipientInfo for %s", i,
			    id->addr);
		for (k = 0; k < r->v[i].n; k++)
			if (strcasecmp(r->v[i].rcpts[k], id->addr) == 0)
				fail_msg("copy %zu goes to %s", i, id->addr);
	}
}

/* Copy vi's text and decrypted content do not contain s (any case). */
static void
assert_lacks(const struct run *r, size_t vi, const char *s)
{
	if (strcasestr(r->v[vi].text, s) != NULL)
		fail_msg("copy %zu (to %s) shows \"%s\"", vi,
		    r->v[vi].n > 0 ? r->v[vi].rcpts[0] : "-", s);
	if (r->v[vi].inner != NULL && strcasestr(r->v[vi].inner, s) != NULL)
		fail_msg("copy %zu (to %s) shows \"%s\" inside", vi,
		    r->v[vi].n > 0 ? r->v[vi].rcpts[0] : "-", s);
}

/* A header field name at the start of a line of text (any case). */
static bool
has_field(const char *text, const char *name)
{
	size_t n = strlen(name);
	const char *p;

	if (text == NULL)
		return false;
	for (p = text; p != NULL; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncasecmp(p, name, n) == 0 && p[n] == ':')
			return true;
	}
	return false;
}

/* Every recipient is in exactly one copy. */
static void
assert_partition(const struct run *r)
{
	size_t i, total = 0;

	for (i = 0; i < r->m->nrcpts; i++)
		(void)copy_of(r, r->m->rcpts[i]);
	for (i = 0; i < r->nv; i++)
		total += r->v[i].n;
	assert_int_equal(total, r->m->nrcpts);
}

/* The recipients of transaction t, appended to out. */
static size_t
submitted_one(const struct txn *t, const char **out, size_t max)
{
	size_t k;

	for (k = 0; k < t->n; k++) {
		assert_true(k < max);
		out[k] = t->rcpts[k];
	}
	return t->n;
}

/* The recipients of every transaction the listener got, in one list. */
static size_t
submitted(const struct run *r, const char **out, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < r->l.nt; i++)
		n += submitted_one(&r->l.t[i], out + n, max - n);
	return n;
}

/* ------------------------------------------------------------- the tests */

/*
 * 1. Thousands of recipients: 2,950 without a certificate (half of them
 * in To/Cc), 25 visible and 25 hidden with one.  One encrypted copy for
 * the 25 visible (staying), one per hidden certificate holder, one plain
 * copy for the 2,950 (in transactions of at most 1,000); every recipient
 * re-submitted once; in bounded time and memory.
 */
#define BULK_PLAIN 2950
#define BULK_CERTS 25

static void
test_thousands(void **state)
{
	static struct ident vis[BULK_CERTS], hid[BULK_CERTS];
	const char **rcpts = calloc(BULK_PLAIN + 2 * BULK_CERTS + 1,
	    sizeof(*rcpts));
	const char **plain = calloc(BULK_PLAIN + BULK_CERTS + 1,
	    sizeof(*plain));
	const char **got = calloc(BULK_PLAIN + 2 * BULK_CERTS, sizeof(*got));
	const struct ident *ids[BULK_CERTS + 1];
	const char *vis_rcpts[BULK_CERTS + 1], *one[2] = { NULL, NULL };
	char *to = NULL, *cc = NULL, addr[64], **owned;
	size_t tolen = 0, cclen = 0, n = 0, i, ngot, np = 0;
	const char *hdrs[12];
	struct timespec t0, t1;
	struct rusage ru0, ru1;
	double secs;
	long grew_kb;
	struct run r;

	(void)state;
	owned = calloc(BULK_PLAIN + 1, sizeof(*owned));
	assert_true(rcpts != NULL && plain != NULL && got != NULL &&
	    owned != NULL);
	for (i = 0; i < BULK_CERTS; i++) {
		snprintf(addr, sizeof(addr), "vis%02zu@bulk.example.test", i);
		issue(&vis[i], addr);
		snprintf(addr, sizeof(addr), "hid%02zu@bulk.example.test", i);
		issue(&hid[i], addr);
	}
	append(&to, &tolen, " ", 1);
	append(&cc, &cclen, " ", 1);
	for (i = 0; i < BULK_PLAIN; i++) {
		snprintf(addr, sizeof(addr), "p%04zu@bulk.example.test", i);
		owned[i] = strdup(addr);
		plain[np++] = rcpts[n++] = owned[i];
		/* Even ones visible, alternately in To and Cc. */
		if (i % 2 == 0) {
			char **buf = i % 4 == 0 ? &to : &cc;
			size_t *len = i % 4 == 0 ? &tolen : &cclen;

			append(buf, len, addr, strlen(addr));
			append(buf, len, ",\r\n ", 4);
		}
		/* Certificate holders spread over the envelope. */
		if (i % 100 == 50 && i / 100 < BULK_CERTS) {
			rcpts[n++] = vis[i / 100].addr;
			rcpts[n++] = hid[i / 100].addr;
			append(&cc, &cclen, vis[i / 100].addr,
			    strlen(vis[i / 100].addr));
			append(&cc, &cclen, ",\r\n ", 4);
		}
	}
	append(&to, &tolen, "last-visible@bulk.example.test", 30);
	append(&cc, &cclen, "Someone <someone@bulk.example.test>", 35);
	assert_int_equal(n, BULK_PLAIN + 2 * BULK_CERTS);
	hdrs[0] = "From"; hdrs[1] = " s@example.org";
	hdrs[2] = "To"; hdrs[3] = to;
	hdrs[4] = "Cc"; hdrs[5] = cc;
	hdrs[6] = "Subject"; hdrs[7] = " bulk";
	hdrs[8] = "Message-ID"; hdrs[9] = " <bulk.1@example.org>";
	hdrs[10] = NULL;

	getrusage(RUSAGE_SELF, &ru0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	run_start(&r, "default encrypt=opportunistic\n", rcpts, n, hdrs,
	    "Hello everybody.\r\n");
	run_submit(&r);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	grew_kb = ru1.ru_maxrss - ru0.ru_maxrss;
	print_message("3,000 recipients: %.2f s, peak RSS +%ld KB\n", secs,
	    grew_kb);
	/* Generous bounds (about 1.5 s and 6 MB here; sanitizers, slow CI):
	 * quadratic work, or memory per recipient beyond a few KB, would
	 * blow them.  ASan's shadow memory and quarantine make the RSS
	 * meaningless there: it is checked in the normal build only. */
	if (secs > 30.0)
		fail_msg("3,000 recipients took %.1f s", secs);
#ifndef __SANITIZE_ADDRESS__
	if (grew_kb > 64 * 1024)
		fail_msg("3,000 recipients grew the peak RSS by %ld KB",
		    grew_kb);
#endif

	for (i = 0; i < r.plan.n; i++) {
		bool cert = strncmp(r.plan.r[i].addr, "p", 1) != 0;
		bool shown = cert ? strncmp(r.plan.r[i].addr, "vis", 3) == 0 :
		    atoi(r.plan.r[i].addr + 1) % 2 == 0;

		if (r.plan.r[i].hidden == shown)
			fail_msg("%s: hidden=%d", r.plan.r[i].addr,
			    r.plan.r[i].hidden);
		assert_int_equal(r.plan.r[i].action, cert ? RA_ENCRYPT :
		    RA_PLAIN);
	}
	assert_int_equal(r.nv, 2 + BULK_CERTS);
	assert_partition(&r);
	for (i = 0; i < BULK_CERTS; i++) {
		vis_rcpts[i] = vis[i].addr;
		ids[i] = &vis[i];
	}
	vis_rcpts[BULK_CERTS] = NULL;
	ids[BULK_CERTS] = NULL;
	assert_int_equal(copy_of(&r, vis[0].addr), 0);
	assert_copy(&r, 0, vis_rcpts, ids);
	assert_int_equal(r.c.ndrop, BULK_PLAIN + BULK_CERTS);
	for (i = 0; i < BULK_CERTS; i++) {
		size_t vi = copy_of(&r, hid[i].addr);
		const struct ident *own[2] = { &hid[i], NULL };

		one[0] = hid[i].addr;
		assert_copy(&r, vi, one, own);
		assert_true(r.c.extra[vi - 1].hidden);
		assert_null(decrypt(&r.v[vi], &vis[0]));
		/* Nobody else sees a hidden certificate holder. */
		assert_lacks(&r, 0, hid[i].addr);
		assert_lacks(&r, copy_of(&r, plain[0]), hid[i].addr);
	}
	plain[np] = NULL;
	assert_copy(&r, copy_of(&r, plain[0]), plain, NULL);
	/* Hidden plain recipients are named in no header either. */
	assert_lacks(&r, 0, "p0001@");
	assert_lacks(&r, copy_of(&r, plain[0]), "p2949@");

	/* What the listener got: each of the 2,975 once, in 28
	 * transactions: the plain copy to 2,950 in three (ReinjectRecipient-
	 * Limit 1,000; run_submit checked each part's marker), 25 Bcc. */
	assert_int_equal(r.l.nt, 3 + BULK_CERTS);
	for (i = 0; i < r.l.nt; i++)
		assert_true(r.l.t[i].n <= 1000);
	ngot = submitted(&r, got, BULK_PLAIN + 2 * BULK_CERTS);
	for (i = 0; i < BULK_CERTS; i++)
		plain[np + i] = hid[i].addr;
	assert_true(same_set(got, ngot, plain, np + BULK_CERTS));
	run_free(&r);
	for (i = 0; i < BULK_CERTS; i++) {
		ident_free(&vis[i]);
		ident_free(&hid[i]);
	}
	for (i = 0; i < BULK_PLAIN; i++)
		free(owned[i]);
	free(owned);
	free(to);
	free(cc);
	free(rcpts);
	free(plain);
	free(got);
}

/*
 * 2. Odd but valid addresses: visible exactly when To/Cc name the same
 * mailbox (address.h: quoted or not, domain in any case, local part
 * exact); an address only in a display name or comment is hidden.
 */
static void
test_odd_syntax(void **state)
{
	static const struct {
		const char *envelope;	/* RCPT TO argument */
		bool hidden;
		int cert;		/* index into certs[], -1: none */
	} t[] = {
		{ "<\"john doe\"@example.test>", false, -1 },
		{ "<\"john.doe\"@odd.example.test>", false, 0 },
		{ "<j\xc3\xb6rg@odd.example.test>", false, -1 },
		{ "<user@[192.0.2.1]>", false, 1 },
		{ "<\"a\\\"b\"@example.test>", false, -1 },
		{ "<shown@odd.example.test>", false, 2 },
		{ "<obs@odd.example.test>", false, -1 },
		{ "<inname@odd.example.test>", true, 3 },
		{ "<incomment@odd.example.test>", true, 4 },
		{ "<Casey@odd.example.test>", true, 5 },
		{ "<\"quoted bcc\"@example.test>", true, -1 },
	};
	static const char *const cert_addrs[] = { "john.doe@odd.example.test",
	    "user@[192.0.2.1]", "shown@odd.example.test",
	    "inname@odd.example.test", "incomment@odd.example.test",
	    "casey@odd.example.test" };
	static const char *const hdrs[] = {
	    "From", " s@example.org",
	    "To", " \"John Doe\" <\"john doe\"@example.test>,\r\n"
	    " john.doe@ODD.Example.Test, \"a\\\"b\"@example.test,\r\n"
	    " \"inname@odd.example.test\" <decoy@odd.example.test>,\r\n"
	    " team: shown@odd.example.test, (x) other@odd.example.test;,\r\n"
	    " <@relay.example:obs@odd.example.test>",
	    "Cc", " J\xc3\xb6rg <j\xc3\xb6rg@odd.example.test>,"
	    " user@[192.0.2.1],\r\n"
	    " decoy2@odd.example.test (incomment@odd.example.test),"
	    " casey@odd.example.test",
	    "Subject", " odd",
	    "Message-ID", " <odd.1@example.org>", NULL };
	enum { N = sizeof(t) / sizeof(t[0]), NCERTS = 6 };
	struct ident certs[NCERTS];
	const char *rcpts[N], *plain[N + 1], *visible[N + 1], *want[N];
	const char *got[N], *one[2] = { 0 };
	const struct ident *vis_ids[N + 1], *own[2] = { 0 };
	size_t i, np = 0, nvis = 0, nw = 0, ngot, vi;
	struct run r;

	(void)state;
	for (i = 0; i < NCERTS; i++)
		issue(&certs[i], cert_addrs[i]);
	for (i = 0; i < N; i++)
		rcpts[i] = t[i].envelope;
	run_start(&r, "default encrypt=opportunistic\n", rcpts, N, hdrs,
	    "Odd.\r\n");
	for (i = 0; i < N; i++) {
		if (r.plan.r[i].hidden != t[i].hidden)
			fail_msg("%s: hidden=%d, expected %d", t[i].envelope,
			    r.plan.r[i].hidden, t[i].hidden);
		assert_int_equal(r.plan.r[i].action, t[i].cert >= 0 ?
		    RA_ENCRYPT : RA_PLAIN);
		if (t[i].cert < 0)
			plain[np++] = r.m->rcpts[i];
		else if (!t[i].hidden) {
			visible[nvis] = r.m->rcpts[i];
			vis_ids[nvis++] = &certs[t[i].cert];
		}
		/* Everybody but the staying copy's recipients is
		 * re-submitted. */
		if (t[i].cert < 0 || t[i].hidden)
			want[nw++] = r.m->rcpts[i];
	}
	plain[np] = NULL;
	visible[nvis] = NULL;
	vis_ids[nvis] = NULL;
	assert_partition(&r);
	/* The visible certificate holders share the staying copy; every
	 * hidden one has a copy of its own; the rest one plain copy. */
	assert_copy(&r, 0, visible, vis_ids);
	for (i = 0; i < N; i++) {
		if (t[i].cert < 0 || !t[i].hidden)
			continue;
		vi = copy_of(&r, r.m->rcpts[i]);
		one[0] = r.m->rcpts[i];
		own[0] = &certs[t[i].cert];
		assert_copy(&r, vi, one, own);
		assert_true(r.c.extra[vi - 1].hidden);
		assert_false(cms_names(r.v[0].cms, certs[t[i].cert].cert));
	}
	assert_copy(&r, copy_of(&r, plain[0]), plain, NULL);
	assert_int_equal(r.nv, 5);
	/* The re-submission carries every odd address unchanged. */
	run_submit(&r);
	assert_int_equal(r.l.nt, 4);
	ngot = submitted(&r, got, N);
	assert_true(same_set(got, ngot, want, nw));
	run_free(&r);
	for (i = 0; i < NCERTS; i++)
		ident_free(&certs[i]);
}

/*
 * 3. Headers that lie: To and Cc name bob, victor and mallory, who are
 * not in the envelope.  Nobody gets a copy the envelope does not ask
 * for, and their certificates are in no RecipientInfo.  A second To
 * field naming carol does not make her visible.
 */
static void
test_lying_headers(void **state)
{
	static const char *const rcpts[] = { "<alice@example.test>",
	    "<carol@example.test>" };
	static const char *const hdrs[] = { "From", " s@example.org",
	    "To", " alice@example.test, Bob <bob@example.test>,"
	    " victor@example.test",
	    "Cc", " mallory@example.test",
	    "To", " carol@example.test",
	    "Subject", " lies",
	    "Message-ID", " <lies.1@example.org>", NULL };
	static const char *const to_alice[] = { "alice@example.test", NULL };
	static const char *const to_carol[] = { "carol@example.test", NULL };
	const struct ident *a[] = { &alice, NULL }, *c[] = { &carol, NULL };
	struct run r;

	(void)state;
	run_start(&r, "default encrypt=required\n", rcpts, 2, hdrs,
	    "Hi.\r\n");
	assert_int_equal(r.plan.n, 2);
	assert_false(r.plan.r[0].hidden);
	assert_true(r.plan.r[1].hidden);
	assert_int_equal(r.nv, 2);
	assert_partition(&r);
	assert_copy(&r, 0, to_alice, a);
	assert_copy(&r, 1, to_carol, c);
	assert_named_nowhere(&r, &bob);
	assert_named_nowhere(&r, &victor);
	run_submit(&r);
	assert_int_equal(r.l.nt, 1);
	assert_int_equal(r.l.t[0].n, 1);
	assert_string_equal(r.l.t[0].rcpts[0], "carol@example.test");
	run_free(&r);
}

/*
 * 4. Duplicate envelope recipients: each mailbox must get exactly one
 * copy, and no recipient may be lost.
 */
static void
test_duplicates(void **state)
{
	static const char *const rcpts[] = { "<alice@example.test>",
	    "<alice@example.test>", "<alice@EXAMPLE.TEST>",
	    "<bob@example.test>", "<bob@example.test>",
	    "<carol@example.test>", "<carol@Example.Test>" };
	static const char *const hdrs[] = { "From", " s@example.org",
	    "To", " alice@example.test", "Subject", " twice",
	    "Message-ID", " <dup.1@example.org>", NULL };
	static const char *const stay[] = { "alice@example.test",
	    "alice@example.test", "alice@EXAMPLE.TEST", NULL };
	const struct ident *a[] = { &alice, NULL };
	const char *got[8];
	size_t ngot, i, bobs = 0, carols = 0;
	struct run r;

	(void)state;
	run_start(&r, "default encrypt=required\n", rcpts, 7, hdrs,
	    "Twice.\r\n");
	for (i = 0; i < 7; i++)
		assert_int_equal(r.plan.r[i].hidden, i >= 3);
	/* Alice's three spellings: one copy, one RecipientInfo. */
	assert_copy(&r, 0, stay, a);
	for (i = 1; i < r.nv; i++) {
		const struct ident *who = strncasecmp(r.v[i].rcpts[0], "bob",
		    3) == 0 ? &bob : &carol;
		size_t k;

		/* A hidden copy never mixes mailboxes and names only its own
		 * recipient, once. */
		for (k = 0; k < r.v[i].n; k++)
			assert_int_equal(strncasecmp(r.v[i].rcpts[k], who->addr,
			    strlen(who->addr)), 0);
		assert_true(cms_names(r.v[i].cms, who->cert));
		assert_int_equal(cms_ids(r.v[i].cms), 1);
	}
	/* Each duplicated hidden recipient gets one copy, not one per
	 * occurrence (bob twice, carol in two domain spellings). */
	assert_int_equal(r.nv, 3);
	run_submit(&r);
	/* What the MTA gets: bob and carol once each. */
	ngot = submitted(&r, got, 8);
	for (i = 0; i < ngot; i++) {
		bobs += strcasecmp(got[i], "bob@example.test") == 0;
		carols += strcasecmp(got[i], "carol@example.test") == 0;
	}
	assert_int_equal(ngot, 2);
	assert_int_equal(bobs, 1);
	assert_int_equal(carols, 1);
	run_free(&r);
}

/*
 * 4b. Two hidden recipients whose local parts differ in case only are
 * two mailboxes (address.h: local parts are case-sensitive): both must
 * reach the MTA.
 */
static void
test_duplicates_local_case(void **state)
{
	static const char *const rcpts[] = { "<alice@example.test>",
	    "<Dup@example.test>", "<dup@example.test>" };
	static const char *const hdrs[] = { "From", " s@example.org",
	    "To", " alice@example.test", "Subject", " case",
	    "Message-ID", " <dup.2@example.org>", NULL };
	static const char *const want[] = { "Dup@example.test",
	    "dup@example.test" };
	struct ident dup;
	const char *got[4];
	size_t ngot;
	struct run r;

	(void)state;
	issue(&dup, "dup@example.test");
	run_start(&r, "default encrypt=required\n", rcpts, 3, hdrs,
	    "Case.\r\n");
	assert_true(r.plan.r[1].hidden);
	assert_true(r.plan.r[2].hidden);
	assert_int_equal(r.nv, 3);
	assert_partition(&r);
	run_submit(&r);
	ngot = submitted(&r, got, 4);
	/* Both reach the MTA: the journal keys copies by canonical address
	 * (local parts keep their case). */
	assert_true(same_set(got, ngot, want, 2));
	run_free(&r);
	ident_free(&dup);
}

/*
 * 5. The same address in To and Bcc (and in Cc and Bcc spelled
 * differently): visible, in the shared encrypted copy.
 */
static void
test_to_and_bcc(void **state)
{
	static const char *const rcpts[] = { "<alice@example.test>",
	    "<bob@example.test>", "<victor@example.test>",
	    "<carol@example.test>" };
	static const char *const hdrs[] = { "From", " s@example.org",
	    "To", " alice@example.test, bob@example.test",
	    "Cc", " \"V\" <victor@EXAMPLE.test>",
	    "Bcc", " bob@example.test, victor@example.test,"
	    " carol@example.test",
	    "Subject", " both",
	    "Message-ID", " <both.1@example.org>", NULL };
	static const char *const stay[] = { "alice@example.test",
	    "bob@example.test", "victor@example.test", NULL };
	static const char *const to_carol[] = { "carol@example.test", NULL };
	const struct ident *abv[] = { &alice, &bob, &victor, NULL };
	const struct ident *c[] = { &carol, NULL };
	size_t i;
	struct run r;

	(void)state;
	run_start(&r, "default encrypt=required\n", rcpts, 4, hdrs,
	    "Both.\r\n");
	for (i = 0; i < 4; i++)
		assert_int_equal(r.plan.r[i].hidden, i == 3);
	assert_int_equal(r.nv, 2);
	assert_partition(&r);
	assert_copy(&r, 0, stay, abv);
	assert_copy(&r, 1, to_carol, c);
	for (i = 0; i < r.nv; i++) {
		assert_false(has_field(r.v[i].text, "Bcc"));
		assert_false(has_field(r.v[i].inner, "Bcc"));
	}
	assert_lacks(&r, 0, "carol@");
	run_free(&r);
}

/*
 * 6. Only hidden recipients: no To or Cc at all, or only an empty group
 * (also without a Message-ID, which the markers cover otherwise).
 * Every certificate holder gets a copy of its own (or, with bcc shared,
 * one copy among them); the others one plain copy.
 */
static void
test_only_bcc(void **state)
{
	static const char *const rcpts[] = { "<bob@example.test>",
	    "<carol@example.test>", "<nocert@example.test>" };
	static const char *const no_to[] = { "From", " s@example.org",
	    "Subject", " nobody visible", "Bcc", " bob@example.test",
	    "Message-ID", " <bcc.1@example.org>", NULL };
	static const char *const undisclosed[] = { "From", " s@example.org",
	    "To", " undisclosed-recipients:;", "Subject", " nobody visible",
	    "Message-ID", " <bcc.2@example.org>", NULL };
	static const char *const no_id[] = { "From", " s@example.org",
	    "To", " undisclosed-recipients:;", "Subject", " no Message-ID",
	    NULL };
	static const char *const to_bob[] = { "bob@example.test", NULL };
	static const char *const to_carol[] = { "carol@example.test", NULL };
	static const char *const both[] = { "bob@example.test",
	    "carol@example.test", NULL };
	static const char *const to_nocert[] = { "nocert@example.test", NULL };
	const struct ident *b[] = { &bob, NULL }, *c[] = { &carol, NULL };
	const struct ident *bc[] = { &bob, &carol, NULL };
	static const struct {
		const char *policy;
		const char *const *hdrs;
		bool shared;
	} t[] = {
		{ "default encrypt=opportunistic\n", no_to, false },
		{ "default encrypt=opportunistic\n", undisclosed, false },
		{ "default encrypt=opportunistic\n", no_id, false },
		{ "default encrypt=opportunistic bcc=shared\n", undisclosed,
		    true },
	};
	size_t i, k;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct run r;

		run_start(&r, t[i].policy, rcpts, 3, t[i].hdrs, "Psst.\r\n");
		for (k = 0; k < 3; k++)
			assert_true(r.plan.r[k].hidden);
		assert_partition(&r);
		if (t[i].shared) {
			assert_int_equal(r.nv, 2);
			assert_copy(&r, copy_of(&r, "bob@example.test"), both,
			    bc);
		} else {
			assert_int_equal(r.nv, 3);
			assert_copy(&r, copy_of(&r, "bob@example.test"), to_bob,
			    b);
			assert_copy(&r, copy_of(&r, "carol@example.test"),
			    to_carol, c);
			assert_null(decrypt(&r.v[copy_of(&r,
			    "carol@example.test")], &bob));
		}
		assert_copy(&r, copy_of(&r, "nocert@example.test"), to_nocert,
		    NULL);
		/* The copy that stays is one of them, not a mix. */
		assert_true(r.v[0].n == (t[i].shared ? 2u : 1u));
		for (k = 0; k < r.nv; k++) {
			assert_false(has_field(r.v[k].text, "Bcc"));
			if (r.v[k].cms != NULL && !t[i].shared)
				assert_lacks(&r, k, strcmp(r.v[k].rcpts[0],
				    "bob@example.test") == 0 ? "carol@" :
				    "bob@");
		}
		run_submit(&r);
		assert_int_equal(r.l.nt, r.nv - 1);
		run_free(&r);
	}
}

/*
 * 7. An empty body (no body at all; a body of one empty line): every
 * copy is built, the encrypted ones open to the header fields and an
 * empty body, the plain one ends with its header.
 */
static void
test_empty_body(void **state)
{
	static const char *const rcpts[] = { "<alice@example.test>",
	    "<nocert@example.test>", "<carol@example.test>" };
	static const char *const hdrs[] = { "From", " s@example.org",
	    "To", " alice@example.test, nocert@example.test",
	    "Subject", " empty", "Message-ID", " <empty.1@example.org>",
	    NULL };
	static const char *const to_alice[] = { "alice@example.test", NULL };
	static const char *const to_carol[] = { "carol@example.test", NULL };
	static const char *const to_nocert[] = { "nocert@example.test", NULL };
	const struct ident *a[] = { &alice, NULL }, *c[] = { &carol, NULL };
	static const char *const bodies[] = { NULL, "", "\r\n" };
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		struct run r;
		const char *p, *eoh;
		size_t vi;

		run_start(&r, "default encrypt=opportunistic\n", rcpts, 3,
		    hdrs, bodies[i]);
		assert_int_equal(r.nv, 3);
		assert_partition(&r);
		assert_copy(&r, 0, to_alice, a);
		assert_copy(&r, copy_of(&r, "carol@example.test"), to_carol,
		    c);
		vi = copy_of(&r, "nocert@example.test");
		assert_copy(&r, vi, to_nocert, NULL);
		/* Plain: the header, the empty line, the body as it was. */
		eoh = strstr(r.v[vi].text, "\r\n\r\n");
		assert_non_null(eoh);
		assert_string_equal(eoh + 4, bodies[i] != NULL ? bodies[i] :
		    "");
		/* Encrypted: a text/plain entity with the same empty body. */
		assert_int_equal(strncmp(r.v[0].inner, "Content-Type: text/plain",
		    24), 0);
		p = strstr(r.v[0].inner, "\r\n\r\n");
		assert_non_null(p);
		assert_string_equal(p + 4, bodies[i] != NULL ? bodies[i] : "");
		run_submit(&r);
		assert_int_equal(r.l.nt, 2);
		run_free(&r);
	}
}

/*
 * 8. 8-bit header fields (raw UTF-8 in Subject and display names; a
 * Latin-1 byte): classification unaffected, every copy built, the plain
 * copy keeps the bytes as they came, and with header protection the
 * protected Subject is an encoded word (RFC 2047) with the same bytes.
 */
static void
test_8bit_headers(void **state)
{
	static const char *const rcpts[] = { "<alice@example.test>",
	    "<nocert@example.test>", "<carol@example.test>" };
	static const char *const utf8[] = {
	    "From", " \"J\xc3\xb6rg M\xc3\xbcller\" <s@example.org>",
	    "To", " Zo\xc3\xab <alice@example.test>, \xe5\xae\x8c\xe4\xba\x86"
	    " <nocert@example.test>",
	    "Subject", " Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln",
	    "Message-ID", " <8bit.1@example.org>", NULL };
	static const char *const latin1[] = {
	    "From", " \"J\xf6rg\" <s@example.org>",
	    "To", " Zo\xeb <alice@example.test>, nocert@example.test",
	    "Subject", " caf\xe9",
	    "Message-ID", " <8bit.2@example.org>", NULL };
	static const struct {
		const char *const *hdrs;
		bool protect;
		const char *inner_subject;	/* with protect-headers */
	} t[] = {
		{ utf8, false, NULL },
		{ utf8, true, "Subject: =?utf-8?B?R3LDvMOfZSBhdXMgS8O2bG4=?=\r\n" },
		{ latin1, false, NULL },
		{ latin1, true, "Subject: =?unknown-8bit?B?Y2Fm6Q==?=\r\n" },
	};
	static const char *const to_alice[] = { "alice@example.test", NULL };
	static const char *const to_carol[] = { "carol@example.test", NULL };
	static const char *const to_nocert[] = { "nocert@example.test", NULL };
	const struct ident *a[] = { &alice, NULL }, *c[] = { &carol, NULL };
	char field[200];
	size_t i, k, vi;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *const *h = t[i].hdrs;
		struct run r;

		run_start(&r, t[i].protect ? "default encrypt=opportunistic "
		    "protect-headers=yes\n" : "default encrypt=opportunistic\n",
		    rcpts, 3, h, "8 bit.\r\n");
		assert_false(r.plan.r[0].hidden);
		assert_false(r.plan.r[1].hidden);
		assert_true(r.plan.r[2].hidden);
		assert_int_equal(r.nv, 3);
		assert_partition(&r);
		assert_copy(&r, 0, to_alice, a);
		vi = copy_of(&r, "carol@example.test");
		assert_copy(&r, vi, to_carol, c);
		/* The plain copy keeps every field byte for byte. */
		vi = copy_of(&r, "nocert@example.test");
		assert_copy(&r, vi, to_nocert, NULL);
		for (k = 0; h[k] != NULL; k += 2) {
			snprintf(field, sizeof(field), "\n%s:%s\r\n", h[k],
			    h[k + 1]);
			if (strstr(r.v[vi].text, field) == NULL)
				fail_msg("plain copy lacks %s", field + 1);
		}
		/* The staying copy: Subject raw, or "[...]" and encoded
		 * inside. */
		snprintf(field, sizeof(field), "\nSubject:%s\r\n", h[5]);
		if (!t[i].protect) {
			assert_non_null(strstr(r.v[0].text, field));
			assert_false(has_field(r.v[0].inner, "Subject"));
			run_free(&r);
			continue;
		}
		assert_null(strstr(r.v[0].text, field));
		assert_non_null(strstr(r.v[0].text, "\nSubject: [...]\r\n"));
		for (k = 0; k < r.nv; k++)
			if (r.v[k].inner != NULL &&
			    strstr(r.v[k].inner, t[i].inner_subject) == NULL)
				fail_msg("copy %zu: no %s", k,
				    t[i].inner_subject);
		run_submit(&r);
		assert_int_equal(r.l.nt, 2);
		run_free(&r);
	}
}

/*
 * 9. Bcc recipients are named on no other copy, in no header and no
 * RecipientInfo, and no copy has a Bcc field: the staying copy through
 * its edits, the re-submitted copies in their text, the encrypted ones
 * also inside.
 */
static void
test_bcc_never_shown(void **state)
{
	static const char *const rcpts[] = { "<alice@example.test>",
	    "<nocert@example.test>", "<bob@example.test>",
	    "<carol@example.test>", "<victor@example.test>",
	    "<hidplain@example.test>" };
	static const char *const hdrs[] = { "From", " s@example.org",
	    "To", " alice@example.test", "Cc", " nocert@example.test",
	    "Bcc", " bob@example.test, carol@example.test,\r\n"
	    " hidplain@example.test",
	    "Subject", " secret", "bcc", " victor@example.test",
	    "Message-ID", " <bcc.9@example.org>", NULL };
	static const char *const policies[] = {
	    "default encrypt=opportunistic\n",
	    "default encrypt=opportunistic protect-headers=yes\n" };
	static const char *const to_alice[] = { "alice@example.test", NULL };
	static const char *const plain[] = { "nocert@example.test",
	    "hidplain@example.test", NULL };
	const struct ident *hidden[] = { &bob, &carol, &victor };
	const struct ident *a[] = { &alice, NULL };
	size_t p, i, k;

	(void)state;
	for (p = 0; p < 2; p++) {
		struct run r;

		run_start(&r, policies[p], rcpts, 6, hdrs, "Secret.\r\n");
		assert_int_equal(r.nv, 5);
		assert_partition(&r);
		assert_copy(&r, 0, to_alice, a);
		assert_copy(&r, copy_of(&r, "nocert@example.test"), plain,
		    NULL);
		for (i = 0; i < 3; i++) {
			size_t vi = copy_of(&r, hidden[i]->addr);
			const char *one[] = { hidden[i]->addr, NULL };
			const struct ident *own[] = { hidden[i], NULL };

			assert_copy(&r, vi, one, own);
		}
		/* The staying copy loses both Bcc fields through edits. */
		assert_true(r.c.nedits >= 2);
		for (i = 0; i < r.nv; i++) {
			if (has_field(r.v[i].text, "Bcc") ||
			    (r.v[i].inner != NULL &&
			    has_field(r.v[i].inner, "Bcc")))
				fail_msg("copy %zu (to %s) has a Bcc field", i,
				    r.v[i].rcpts[0]);
			for (k = 0; k < 3; k++) {
				if (r.v[i].n == 1 && strcmp(r.v[i].rcpts[0],
				    hidden[k]->addr) == 0)
					continue;
				assert_lacks(&r, i, hidden[k]->addr);
				if (r.v[i].cms != NULL)
					assert_false(cms_names(r.v[i].cms,
					    hidden[k]->cert));
			}
			if (r.v[i].n == 1)	/* not the plain copy */
				assert_lacks(&r, i, "hidplain@");
		}
		/* Not even the plain copy to hidplain shows hidplain. */
		assert_lacks(&r, copy_of(&r, "nocert@example.test"),
		    "hidplain@");
		run_free(&r);
	}
}

/*
 * 9b. The same when the copy that stays is not encrypted (no visible
 * certificate holder; or nobody has a certificate): the Bcc field must
 * go from it too.
 */
static void
test_bcc_plain_staying(void **state)
{
	static const char *const with_carol[] = { "<nocert@example.test>",
	    "<carol@example.test>" };
	static const char *const nobody[] = { "<nocert@example.test>",
	    "<hidplain@example.test>" };
	static const char *const hdrs[] = { "From", " s@example.org",
	    "To", " nocert@example.test",
	    "Bcc", " carol@example.test, hidplain@example.test",
	    "Subject", " plain", "Message-ID", " <bcc.10@example.org>", NULL };
	static const struct {
		const char *const *rcpts;
		size_t ncopies;
	} t[] = { { with_carol, 2 }, { nobody, 1 } };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct run r;

		run_start(&r, "default encrypt=opportunistic\n", t[i].rcpts, 2,
		    hdrs, "Plain.\r\n");
		assert_int_equal(r.nv, t[i].ncopies);
		assert_partition(&r);
		/* The plain copy for nocert stays in the transaction. */
		assert_int_equal(copy_of(&r, "nocert@example.test"), 0);
		assert_null(r.v[0].cms);
		/* No Bcc field on the staying copy, plain or not. */
		assert_false(has_field(r.v[0].text, "Bcc"));
		assert_lacks(&r, 0, "carol@");
		assert_lacks(&r, 0, "hidplain@");
		run_free(&r);
	}
}

/*
 * 9c. Resent-Bcc (RFC 5322 3.6.6) is a Bcc field too: carol, hidden in
 * the resending, must not be shown to alice.
 */
static void
test_resent_bcc(void **state)
{
	static const char *const rcpts[] = { "<alice@example.test>",
	    "<carol@example.test>" };
	static const char *const hdrs[] = {
	    "Resent-From", " s@example.org",
	    "Resent-To", " alice@example.test",
	    "Resent-Bcc", " carol@example.test",
	    "Resent-Message-ID", " <resent.1@example.org>",
	    "From", " s@example.org", "To", " alice@example.test",
	    "Subject", " resent", "Message-ID", " <resent.0@example.org>",
	    NULL };
	static const char *const to_alice[] = { "alice@example.test", NULL };
	static const char *const to_carol[] = { "carol@example.test", NULL };
	const struct ident *a[] = { &alice, NULL }, *c[] = { &carol, NULL };
	struct run r;

	(void)state;
	run_start(&r, "default encrypt=required\n", rcpts, 2, hdrs,
	    "Again.\r\n");
	assert_false(r.plan.r[0].hidden);
	assert_true(r.plan.r[1].hidden);
	assert_int_equal(r.nv, 2);
	assert_copy(&r, 0, to_alice, a);
	assert_copy(&r, 1, to_carol, c);
	/* Resent-Bcc is a Bcc field too: on no copy. */
	assert_false(has_field(r.v[0].text, "Resent-Bcc"));
	assert_lacks(&r, 0, "carol@");
	run_free(&r);
}

/*
 * 10. A marker forged by an outside sender (garbage; a well-formed one
 * for another message): noted, removed from every copy, and the message
 * is processed like any other -- not passed untouched.  Each re-submitted
 * copy carries exactly one marker, ours, which verifies.
 */
static void
test_forged_marker(void **state)
{
	static const char *const rcpts[] = { "<alice@example.test>",
	    "<nocert@example.test>", "<carol@example.test>" };
	static const char *const to_alice[] = { "alice@example.test", NULL };
	const struct ident *a[] = { &alice, NULL };
	const char *hdrs[] = { "From", " s@example.org",
	    "X-SMIME-Milter-Copy", " garbage; h=!!",
	    "To", " alice@example.test, nocert@example.test",
	    "x-smime-milter-copy", " v1; t=1; h=AAAA",
	    "Subject", " forged", "Message-ID", " <forged.1@example.org>",
	    NULL };
	const char *one[] = { "alice@example.test" };
	char other[160], value[200];
	struct outbound_plan p2;
	struct message *m2;
	struct run r;
	size_t i, len;

	(void)state;
	run_start(&r, "default encrypt=opportunistic\n", rcpts, 3, hdrs,
	    "Forged.\r\n");
	assert_true(r.plan.forged_marker);
	assert_false(r.plan.resubmitted);
	assert_int_equal(r.plan.verdict, PLAN_DELIVER);
	assert_non_null(strstr(r.plan.log, "marker=forged"));

	/* A well-formed marker made with the right secret, but for another
	 * Message-ID, is forged as well. */
	other[0] = ' ';
	assert_int_equal(marker_make(&r.rt->secret, "<another@example.org>",
	    one, 1, time(NULL), other + 1, sizeof(other) - 1), 0);
	hdrs[7] = other;
	m2 = make_message(r.rt, rcpts, 3, hdrs, "Forged.\r\n");
	assert_int_equal(outbound_plan(r.rt, NULL, m2, false, &p2), 0);
	assert_true(p2.forged_marker);
	assert_false(p2.resubmitted);
	assert_int_equal(p2.verdict, PLAN_DELIVER);
	outbound_plan_free(&p2);
	message_free(m2);

	/* Processed like any other message: alice's copy encrypted, carol's
	 * and the plain one re-submitted. */
	assert_int_equal(r.nv, 3);
	assert_partition(&r);
	assert_copy(&r, 0, to_alice, a);
	for (i = 0; i < r.nv; i++) {
		const char *p = r.v[i].text;

		assert_lacks(&r, i, "garbage");
		assert_lacks(&r, i, "h=AAAA");
		if (i == 0) {
			assert_false(has_field(p, MARKER_FIELD));
			continue;
		}
		/* Exactly one marker, at the top, ours, valid for this copy. */
		assert_int_equal(strncmp(p, MARKER_FIELD ": v1; t=", 24), 0);
		assert_null(strcasestr(p + 1, "\n" MARKER_FIELD ":"));
		len = strcspn(p + strlen(MARKER_FIELD) + 1, "\r\n");
		assert_true(len < sizeof(value));
		memcpy(value, p + strlen(MARKER_FIELD) + 1, len);
		value[len] = '\0';
		if (!marker_verify(&r.rt->secret, value,
		    "<forged.1@example.org>", r.v[i].rcpts, r.v[i].n,
		    time(NULL)))
			fail_msg("copy %zu: our marker does not verify", i);
	}
	run_submit(&r);
	assert_int_equal(r.l.nt, 2);
	run_free(&r);
}

/*
 * 10b. A forged marker on mail that passes untouched (already
 * encrypted) is still removed; one that verifies for exactly this
 * message and these recipients passes (the loop protection).
 */
static void
test_forged_marker_passing(void **state)
{
	static const char *const rcpts[] = { "<nocert@example.test>" };
	static const char *const enc[] = { "To", " nocert@example.test",
	    "X-SMIME-Milter-Copy", " v1; t=0; h=forged",
	    "Content-Type", " application/pkcs7-mime; "
	    "smime-type=enveloped-data; name=smime.p7m",
	    "Content-Transfer-Encoding", " base64",
	    "Message-ID", " <pass.1@example.org>", NULL };
	struct runtime *rt = make_runtime("default encrypt=required\n", 25);
	char *p7m = pki_enveloped_b64("alice-rsa2048");
	struct message *m = make_message(rt, rcpts, 1, enc, p7m);
	struct outbound_plan plan;
	struct outbound_copy c;
	const char *one[] = { "nocert@example.test" };
	const char *hdrs[10];
	char mark[160];
	char *text;

	(void)state;
	assert_int_equal(outbound_plan(rt, NULL, m, false, &plan), 0);
	assert_int_equal(plan.verdict, PLAN_PASS);
	assert_true(plan.forged_marker);
	assert_int_equal(outbound_strip_requests(rt, m, plan.resubmitted, &c), 0);
	text = staying_text(m, &c);
	assert_false(has_field(text, MARKER_FIELD));
	assert_non_null(strstr(text, "application/pkcs7-mime"));
	free(text);
	outbound_copy_free(&c);
	outbound_plan_free(&plan);
	message_free(m);

	/* Our own marker for exactly this copy: passes. */
	mark[0] = ' ';
	assert_int_equal(marker_make(&rt->secret, "<pass.2@example.org>",
	    one, 1, time(NULL), mark + 1, sizeof(mark) - 1), 0);
	hdrs[0] = MARKER_FIELD; hdrs[1] = mark;
	hdrs[2] = "To"; hdrs[3] = " x@example.test";
	hdrs[4] = "Message-ID"; hdrs[5] = " <pass.2@example.org>";
	hdrs[6] = NULL;
	m = make_message(rt, rcpts, 1, hdrs, "Body.\r\n");
	assert_int_equal(outbound_plan(rt, NULL, m, false, &plan), 0);
	assert_int_equal(plan.verdict, PLAN_PASS);
	assert_true(plan.resubmitted);
	outbound_plan_free(&plan);
	message_free(m);
	runtime_release(rt);
	free(p7m);
}

/*
 * 15. A copy for more recipients than ReinjectRecipientLimit goes in
 * several transactions, each with a marker for its own recipients and
 * journalled on its own: when the second of three is refused, the
 * message tempfails, and the retry sends the second and third only.
 */
static void
test_split_and_retry(void **state)
{
	static const char *const rcpts[] = { "<alice@example.test>",
	    "<p1@example.test>", "<p2@example.test>", "<p3@example.test>",
	    "<p4@example.test>", "<p5@example.test>" };
	static const char *const hdrs[] = { "From", " s@example.org",
	    "To", " alice@example.test", "Subject", " split",
	    "Message-ID", " <split.1@example.org>", NULL };
	static const char *const plain[] = { "p1@example.test",
	    "p2@example.test", "p3@example.test", "p4@example.test",
	    "p5@example.test" };
	const char *got[8];
	struct runtime *rt;
	struct run r;
	char err[512];
	size_t i, ngot;

	(void)state;
	extra_config = "ReinjectRecipientLimit 2\n";
	run_start(&r, "default encrypt=opportunistic\n", rcpts, 6, hdrs,
	    "Split.\r\n");
	extra_config = "";
	assert_int_equal(r.c.nextra, 1);
	assert_int_equal(r.c.extra[0].nrcpts, 5);
	r.l.refuse = 2;
	assert_int_equal(outbound_submit(r.rt, r.m, &r.c, "test.example",
	    NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "451 4.3.0"));
	/* The retry: the same message, planned and built anew (as after the
	 * MTA's tempfail), with the same runtime and so the same journal. */
	rt = r.rt;
	outbound_copy_free(&r.c);
	r.built = false;
	outbound_plan_free(&r.plan);
	r.planned = false;
	r.l.refuse = 0;
	assert_int_equal(outbound_plan(rt, NULL, r.m, false, &r.plan), 0);
	r.planned = true;
	assert_int_equal(outbound_build(rt, r.m, &r.plan, &r.c, err,
	    sizeof(err)), 0);
	r.built = true;
	assert_int_equal(outbound_submit(rt, r.m, &r.c, "test.example", NULL,
	    NULL, err, sizeof(err)), 0);
	listener_stop(&r.l);
	assert_copies_pass(&r);
	/* Transactions: {p1,p2}, {p3,p4} refused, then {p3,p4}, {p5}. */
	assert_int_equal(r.l.nt, 4);
	assert_int_equal(r.l.t[0].n, 2);
	assert_true(r.l.t[1].refused);
	assert_int_equal(r.l.t[2].n, 2);
	assert_int_equal(r.l.t[3].n, 1);
	for (i = ngot = 0; i < r.l.nt; i++)
		if (!r.l.t[i].refused)
			ngot += submitted_one(&r.l.t[i], got + ngot, 8 - ngot);
	assert_true(same_set(got, ngot, plain, 5));
	run_free(&r);
}

/*
 * 16. A re-submitted copy that fails its self-check (the test hook gives
 * its envelope one certificate too many): outbound_build refuses before
 * anything is sent (the copies are written only while they are sent, but
 * all are checked first), so no copy goes out and none would go out on
 * any retry.  (A failure while a copy is written drops the transaction
 * before its "."; test_smtpsubmit checks that.)
 */
static void
test_selfcheck_before_sending(void **state)
{
	static const char *const rcpts[] = { "<alice@example.test>",
	    "<bob@example.test>", "<carol@example.test>" };
	static const char *const hdrs[] = { "From", " s@example.org",
	    "To", " alice@example.test", "Subject", " check",
	    "Message-ID", " <check.1@example.org>", NULL };
	struct runtime *rt;
	struct message *m;
	struct outbound_plan plan;
	struct outbound_copy c;
	char err[512];

	(void)state;
	rt = make_runtime("default encrypt=required\n", 9);
	m = make_message(rt, rcpts, 3, hdrs, "Check.\r\n");
	assert_int_equal(outbound_plan(rt, NULL, m, false, &plan), 0);
	/* Groups: alice (slot 0, stays), bob (1), carol (2). */
	outbound_test_corrupt_group = 3;
	assert_int_equal(outbound_build(rt, m, &plan, &c, err, sizeof(err)),
	    -1);
	outbound_test_corrupt_group = 0;
	if (strstr(err, "bcc: self-check:") == NULL)
		fail_msg("error: %s", err);
	outbound_copy_free(&c);
	outbound_plan_free(&plan);
	message_free(m);
	runtime_release(rt);
}

/*
 * 17. The notice fails after the copies went out (eom_deliver's order:
 * copies, notice, outbound_delivered): the original is tempfailed, and
 * its retry sends the notice but not the copies again; once the message
 * was delivered, the record is gone and an identical later message gets
 * its copies.
 */
static void
test_notice_after_copies(void **state)
{
	static const char *const rcpts[] = { "<alice@example.test>",
	    "<bob@example.test>", "<nocert@example.test>" };
	static const char *const hdrs[] = { "From", " s@example.org",
	    "To", " alice@example.test, nocert@example.test",
	    "Subject", " notice", "Message-ID", " <notice.1@example.org>",
	    NULL };
	struct run r;
	char err[512];
	int attempt;

	(void)state;
	run_start(&r, "default encrypt=required missing-cert=reject\n"
	    "to nocert@example.test missing-cert=notify\n", rcpts, 3, hdrs,
	    "Notice.\r\n");
	r.l.refuse_null = 1;
	for (attempt = 0; attempt < 3; attempt++) {
		if (attempt > 0) {	/* the retry: planned and built anew */
			outbound_copy_free(&r.c);
			outbound_plan_free(&r.plan);
			assert_int_equal(outbound_plan(r.rt, NULL, r.m, false,
			    &r.plan), 0);
			assert_int_equal(outbound_build(r.rt, r.m, &r.plan,
			    &r.c, err, sizeof(err)), 0);
		}
		assert_int_equal(r.c.nextra, 1);
		assert_int_equal(outbound_submit(r.rt, r.m, &r.c,
		    "test.example", NULL, NULL, err, sizeof(err)), 0);
		if (outbound_send_notice(r.rt, r.m, &r.plan, &r.c,
		    "test.example", err, sizeof(err)) != 0) {
			assert_int_equal(attempt, 0);
			assert_non_null(strstr(err, "451 4.3.0"));
			continue;	/* tempfailed: no outbound_delivered */
		}
		outbound_delivered(r.rt, r.m, &r.c, &r.plan);
	}
	listener_stop(&r.l);
	/* bob's copy; the notice (retry); bob's copy and the notice again
	 * for the identical third message, after the record was dropped. */
	assert_int_equal(r.l.nt, 4);
	assert_string_equal(r.l.t[0].rcpts[0], "bob@example.test");
	assert_string_equal(r.l.t[1].rcpts[0], "s@example.org");
	assert_string_equal(r.l.t[2].rcpts[0], "bob@example.test");
	assert_string_equal(r.l.t[3].rcpts[0], "s@example.org");
	run_free(&r);
}

/*
 * 18. One mailbox under several rules gets one copy under the strictest,
 * whatever the order of the envelope:
 *  - nocert, a list member whose list requires encryption (no
 *    certificate: notify) and also addressed directly (plain by the
 *    default): nothing in clear; both occurrences are notified, the
 *    notice names the list and nocert (not as a member);
 *  - bob, a member of a list that never encrypts and addressed directly
 *    under a rule that requires it: one copy, encrypted, list first or
 *    not.
 * (Before, the direct nocert was dropped from the transaction with no
 * copy and no notice, or sent in clear; bob's copy followed whichever
 * occurrence came first.)
 */
static void
test_mailbox_under_several_rules(void **state)
{
	static const char *const rcpts[] = { "<staff@example.test>",
	    "<nocert@example.test>", "<bob@example.test>" };
	static const char *const hdrs[] = { "From", " s@example.org",
	    "To", " staff@example.test, nocert@example.test, "
	    "bob@example.test", "Subject", " both",
	    "Message-ID", " <both.1@example.org>", NULL };
	static const char *const list_first[] = { "<team@example.test>",
	    "<bob@example.test>" };
	static const char *const bob_first[] = { "<bob@example.test>",
	    "<team@example.test>" };
	static const char *const hdrs2[] = { "From", " s@example.org",
	    "To", " team@example.test, bob@example.test", "Subject", " mix",
	    "Message-ID", " <mix.1@example.org>", NULL };
	static const char *const just_bob[] = { "bob@example.test", NULL };
	static const char *const member[] = { "alice@example.test", NULL };
	const struct ident *alice_only[] = { &alice, NULL };
	const struct ident *bob_only[] = { &bob, NULL };
	const char *const *order[] = { list_first, bob_first };
	struct run r;
	size_t i, k, nnotify = 0, o;

	(void)state;
	run_start(&r, "list staff@example.test = alice@example.test "
	    "nocert@example.test\n"
	    "to staff@example.test encrypt=required missing-cert=notify\n"
	    "default encrypt=opportunistic\n", rcpts, 3, hdrs, "Both.\r\n");
	for (i = 0; i < r.plan.n; i++)
		if (r.plan.r[i].action == RA_NOTIFY) {
			assert_string_equal(r.plan.r[i].addr,
			    "nocert@example.test");
			nnotify++;
		}
	assert_int_equal(nnotify, 2);
	for (i = 0; i < r.nv; i++)
		for (k = 0; k < r.v[i].n; k++)
			if (strcmp(r.v[i].rcpts[k], "nocert@example.test") == 0)
				fail_msg("nocert gets copy %zu", i);
	assert_copy(&r, copy_of(&r, "alice@example.test"), member,
	    alice_only);
	run_submit(&r);
	assert_int_equal(r.l.nt, 1);
	run_free(&r);

	for (o = 0; o < 2; o++) {
		run_start(&r, "list team@example.test = bob@example.test "
		    "alice@example.test\n"
		    "to team@example.test encrypt=never\n"
		    "to bob@example.test encrypt=required "
		    "missing-cert=reject\n"
		    "default encrypt=opportunistic\n", order[o], 2, hdrs2,
		    "Secret for bob.\r\n");
		assert_copy(&r, copy_of(&r, "bob@example.test"), just_bob,
		    bob_only);
		run_free(&r);
	}
}

/* Files in directory path (0 if it does not exist). */
static size_t
count_files(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	size_t n = 0;

	while (d != NULL && (e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	if (d != NULL)
		closedir(d);
	return n;
}

/*
 * 19. The journal records what a later failure would make a retry send
 * again: nothing for a message whose only re-submitted copy is its last
 * act (no file made, synced and removed for every Bcc message), a record
 * for every copy but the last when there are several.
 */
static void
test_journal_only_when_needed(void **state)
{
	static const char *const one[] = { "<alice@example.test>",
	    "<bob@example.test>" };
	static const char *const two[] = { "<alice@example.test>",
	    "<bob@example.test>", "<carol@example.test>" };
	static const char *const hdrs[] = { "From", " s@example.org",
	    "To", " alice@example.test", "Subject", " journal",
	    "Message-ID", " <journal.1@example.org>", NULL };
	struct run r;
	char err[512];

	(void)state;
	run_start(&r, "default encrypt=required\n", one, 2, hdrs, "J.\r\n");
	assert_int_equal(r.c.nextra, 1);
	assert_int_equal(outbound_submit(r.rt, r.m, &r.c, "test.example",
	    NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(count_files(r.rt->journal_dir), 0);
	run_free(&r);
	run_start(&r, "default encrypt=required\n", two, 3, hdrs, "J.\r\n");
	assert_int_equal(r.c.nextra, 2);
	assert_int_equal(outbound_submit(r.rt, r.m, &r.c, "test.example",
	    NULL, NULL, err, sizeof(err)), 0);
	assert_int_equal(count_files(r.rt->journal_dir), 1);
	outbound_delivered(r.rt, r.m, &r.c, &r.plan);
	assert_int_equal(count_files(r.rt->journal_dir), 0);
	run_free(&r);
}

/*
 * 20. The same mailbox in another spelling meets the same rules and
 * lists: "staff"@x is the confidential list staff@x (expanded, not a
 * plain copy to the list address for the MTA to expand), and
 * "nocert"@x falls under nocert@x's required/reject rule.
 */
static void
test_quoted_spelling_same_rules(void **state)
{
	static const char *const list_rcpt[] = { "<\"staff\"@example.test>" };
	static const char *const nocert_rcpt[] = {
	    "<\"nocert\"@example.test>" };
	static const char *const hdrs[] = { "From", " s@example.org",
	    "To", " staff@example.test", "Subject", " quoted",
	    "Message-ID", " <quoted.1@example.org>", NULL };
	struct runtime *rt;
	struct message *m;
	struct outbound_plan plan;
	struct run r;

	(void)state;
	run_start(&r, "list staff@example.test = alice@example.test "
	    "bob@example.test\n"
	    "to staff@example.test encrypt=required missing-cert=reject\n"
	    "default encrypt=opportunistic\n", list_rcpt, 1, hdrs,
	    "List secret.\r\n");
	if (r.plan.r[0].action != RA_LIST)
		fail_msg("\"staff\"@example.test: %s (%s), not the list",
		    rcpt_action_name(r.plan.r[0].action), r.plan.r[0].why);
	run_free(&r);
	rt = make_runtime("to nocert@example.test encrypt=required "
	    "missing-cert=reject\ndefault encrypt=opportunistic\n", 9);
	m = make_message(rt, nocert_rcpt, 1, hdrs, "Secret.\r\n");
	assert_int_equal(outbound_plan(rt, NULL, m, false, &plan), 0);
	if (plan.verdict != PLAN_REJECT)
		fail_msg("\"nocert\"@example.test: verdict %d: %s",
		    plan.verdict, plan.log);
	outbound_plan_free(&plan);
	message_free(m);
	runtime_release(rt);
}

/* ------------------------------------------------------------------ main */

static int
setup(void **state)
{
	char path[300];
	FILE *f;

	(void)state;
	log_setup("test_groups", false, 0, false, LOG_LVL_ERROR);
	if (mkdtemp(dir) == NULL || pki_dir() == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/certs", dir);
	if (mkdir(path, 0700) != 0)
		return -1;
	chain_pem = read_text(pki_path("ca/chain.pem"));
	ca_cert = pki_cert("../ca/intermediate");
	if ((f = fopen(pki_path("ca/intermediate.key"), "r")) == NULL)
		return -1;
	ca_key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (ca_cert == NULL || ca_key == NULL)
		return -1;
	pki_ident(&alice, "alice@example.test", "alice-rsa2048");
	pki_ident(&bob, "bob@example.test", "bob-rsa3072");
	pki_ident(&carol, "carol@example.test", "carol-ec256");
	pki_ident(&victor, "victor@example.test", "victor-multi");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	ident_free(&alice);
	ident_free(&bob);
	ident_free(&carol);
	ident_free(&victor);
	X509_free(ca_cert);
	EVP_PKEY_free(ca_key);
	free(chain_pem);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thousands),
		cmocka_unit_test(test_odd_syntax),
		cmocka_unit_test(test_lying_headers),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_duplicates_local_case),
		cmocka_unit_test(test_to_and_bcc),
		cmocka_unit_test(test_only_bcc),
		cmocka_unit_test(test_empty_body),
		cmocka_unit_test(test_8bit_headers),
		cmocka_unit_test(test_bcc_never_shown),
		cmocka_unit_test(test_bcc_plain_staying),
		cmocka_unit_test(test_resent_bcc),
		cmocka_unit_test(test_forged_marker),
		cmocka_unit_test(test_forged_marker_passing),
		cmocka_unit_test(test_split_and_retry),
		cmocka_unit_test(test_selfcheck_before_sending),
		cmocka_unit_test(test_notice_after_copies),
		cmocka_unit_test(test_mailbox_under_several_rules),
		cmocka_unit_test(test_journal_only_when_needed),
		cmocka_unit_test(test_quoted_spelling_same_rules),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
