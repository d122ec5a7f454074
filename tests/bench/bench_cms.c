/*
 * bench_cms.c -- the encrypt-once fan-out (cmsenv.h) against what it
 * replaces, measured in one process.
 *
 *   bench_cms [-r RUNS] [-c CIPHER] fanout PKI [GROUPS [SIZE]]
 *       one SIZE-byte message (default 100 KB) to GROUPS (default 1000)
 *       single-recipient groups (alice, RSA-2048): cms_envelope_new plus
 *       every copy written, against GROUPS independent CMS_encrypt +
 *       SMIME_write_CMS; and the floor it is measured against: GROUPS
 *       RSA public-key operations, one content encryption, one base64
 *       pass and one copy of every output byte, each timed alone.
 *   bench_cms [-r RUNS] [-c CIPHER] stream PKI [SIZE [SPOOL_DIR]]
 *       one SIZE-byte message (default 50 MB), spooled to disk as the
 *       milter does, to one recipient: MB/s of cms_envelope_new_stream
 *       (the copy written while encrypting), of the two-step path
 *       (cms_envelope_new, then cms_envelope_write), the floor (AES with
 *       one context and base64, alone in process over cache-resident
 *       64 KB chunks, and reading the content through spool views), and
 *       the peak resident set (getrusage ru_maxrss).
 *   bench_cms [-r RUNS] [-c CIPHER] small PKI [COUNT [SIZE]]
 *       COUNT (default 2000) messages of SIZE bytes (default 10 KB) to
 *       one recipient each: messages per second, whole pipeline, with
 *       the copy streamed and in two steps.
 *
 * Every figure is the median of RUNS (default 5) runs.  Output: one
 * "key value" line each, for tests/bench/bench-cms.sh.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>

#include "b64out.h"
#include "cmsenv.h"
#include "sink.h"
#include "spool.h"

#define MAX_RUNS 64

static int runs = 5;
static enum cms_cipher cipher = CMS_CIPHER_AES256_GCM;
static X509 *alice;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
die(const char *what, const char *err)
{
	fprintf(stderr, "bench_cms: %s: %s\n", what, err);
	ERR_print_errors_fp(stderr);
	exit(1);
}

static const EVP_CIPHER *
evp_cipher(void)
{
	switch (cipher) {
	case CMS_CIPHER_AES128_GCM: return EVP_aes_128_gcm();
	case CMS_CIPHER_AES128_CBC: return EVP_aes_128_cbc();
	case CMS_CIPHER_AES256_CBC: return EVP_aes_256_cbc();
	default: return EVP_aes_256_gcm();
	}
}

/* size bytes of CRLF text lines with varying content. */
static struct spool *
make_content(size_t size, const char *dir, uint64_t threshold,
    unsigned char **copy)
{
	struct spool *sp = spool_new(dir, threshold);
	unsigned char *chunk = malloc(65536);
	char err[256];
	size_t done = 0, n, i;

	if (sp == NULL || chunk == NULL)
		die("content", "out of memory");
	if (copy != NULL && (*copy = malloc(size + 1)) == NULL)
		die("content", "out of memory");
	while (done < size) {
		n = size - done < 65536 ? size - done : 65536;
		for (i = 0; i < n; i++)
			chunk[i] = (i + done) % 72 == 71 ? '\n' :
			    (i + done) % 72 == 70 ? '\r' :
			    (unsigned char)('a' + (i * 7 + done / 72) % 26);
		if (spool_append(sp, chunk, n, err, sizeof(err)) != 0)
			die("content", err);
		if (copy != NULL)
			memcpy(*copy + done, chunk, n);
		done += n;
	}
	free(chunk);
	return sp;
}

static uint64_t threshold;	/* for the shared base64; 0: default */

static struct cms_envelope *
envelope(const struct spool *content, const struct cms_group *g, size_t n,
    const char *dir)
{
	struct cms_options opt;
	struct cms_envelope *env;
	char err[512];

	memset(&opt, 0, sizeof(opt));
	opt.cipher = cipher;
	opt.kt = CMS_KT_RSA_PKCS1;
	opt.spool_dir = dir;
	opt.spool_threshold = threshold;
	if ((env = cms_envelope_new(content, g, n, &opt, err,
	    sizeof(err))) == NULL)
		die("cms_envelope_new", err);
	return env;
}

/* GROUPS RSA public-key operations on a 32-byte key, nothing else. */
static double
time_rsa(size_t groups)
{
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(X509_get0_pubkey(alice), NULL);
	unsigned char key[32], out[512];
	size_t outlen, i;
	double t0;

	if (ctx == NULL || EVP_PKEY_encrypt_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) <= 0)
		die("rsa", "setup");
	RAND_bytes(key, sizeof(key));
	t0 = now();
	for (i = 0; i < groups; i++) {
		outlen = sizeof(out);
		if (EVP_PKEY_encrypt(ctx, out, &outlen, key, sizeof(key)) <= 0)
			die("rsa", "encrypt");
	}
	t0 = now() - t0;
	EVP_PKEY_CTX_free(ctx);
	return t0;
}

/* One encryption of len bytes in 64 KB chunks. */
static double
time_aes(const unsigned char *in, size_t len, unsigned char *out)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	unsigned char key[32], iv[16], tag[16];
	size_t off, n;
	int m;
	double t0;

	RAND_bytes(key, sizeof(key));
	RAND_bytes(iv, sizeof(iv));
	t0 = now();
	if (EVP_EncryptInit_ex(ctx, evp_cipher(), NULL, key, iv) != 1)
		die("aes", "init");
	for (off = 0; off < len; off += n) {
		n = len - off < 65536 ? len - off : 65536;
		if (EVP_EncryptUpdate(ctx, out + off, &m, in + off,
		    (int)n) != 1)
			die("aes", "update");
	}
	EVP_EncryptFinal_ex(ctx, out + off, &m);
	if (cipher == CMS_CIPHER_AES128_GCM || cipher == CMS_CIPHER_AES256_GCM)
		EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, 16, tag);
	t0 = now() - t0;
	EVP_CIPHER_CTX_free(ctx);
	return t0;
}

/* One base64 pass over len bytes (as the engine does it, in chunks). */
static double
time_base64(const unsigned char *in, size_t len, char *text)
{
	struct b64out b;
	size_t off, n, o = 0;
	double t0 = now();

	b64out_init(&b);
	for (off = 0; off < len; off += n) {
		n = len - off < 65536 ? len - off : 65536;
		o += b64out_update(&b, in + off, n, text + o);
	}
	o += b64out_final(&b, text + o);
	return now() - t0;
}

static int
fanout(int argc, char **argv)
{
	size_t groups = argc > 0 ? strtoul(argv[0], NULL, 10) : 1000;
	size_t size = argc > 1 ? strtoul(argv[1], NULL, 10) : 100 * 1000;
	double ours[MAX_RUNS], indep[MAX_RUNS], rsa[MAX_RUNS], aes[MAX_RUNS],
	    b64[MAX_RUNS], copy[MAX_RUNS], rcp[MAX_RUNS], cnt[MAX_RUNS],
	    chk[MAX_RUNS], wr[MAX_RUNS];
	unsigned osl = 0;
	struct cert_candidate *cand = calloc(groups, sizeof(*cand));
	struct cms_group *g = calloc(groups, sizeof(*g));
	unsigned char *plain, *ct;
	struct cms_envelope_stats st;
	struct cms_envelope *env;
	struct spool *content;
	struct membuf mb = { NULL, 0, 0, 0 };
	struct sink s = sink_to_membuf(&mb);
	STACK_OF(X509) *recips = sk_X509_new_null();
	BIO *out = BIO_new(BIO_s_mem());
	size_t i, copylen = 0, indep_len = 0;
	char err[512], *text, *dst;
	int r;
	double t0, t1;

	if (cand == NULL || g == NULL || recips == NULL || out == NULL)
		die("fanout", "out of memory");
	sk_X509_push(recips, alice);
	content = make_content(size, "/tmp", 1 << 20, &plain);
	for (i = 0; i < groups; i++) {
		cand[i].cert = alice;
		g[i].recips = &cand[i];
		g[i].nrecips = 1;
		g[i].label = "bench";
	}
	ct = malloc(size + 64);
	text = malloc(b64out_bound(size + 64));
	if (ct == NULL || text == NULL)
		die("fanout", "out of memory");
	for (r = 0; r < runs; r++) {
		/* Encrypt once, fan out. */
		t0 = now();
		env = envelope(content, g, groups, "/tmp");
		t1 = now();
		for (i = 0; i < groups; i++) {
			mb.len = 0;
			if (cms_envelope_write(env, i, &s, err,
			    sizeof(err)) != 0)
				die("write", err);
		}
		ours[r] = now() - t0;
		wr[r] = now() - t1;
		copylen = mb.len;
		cms_envelope_stats(env, &st);
		rcp[r] = st.recipient_seconds;
		cnt[r] = st.content_seconds;
		chk[r] = st.check_seconds;
		osl = st.openssl_checks;
		cms_envelope_free(env);

		/* Independent encryptions, one per recipient. */
		t0 = now();
		for (i = 0; i < groups; i++) {
			BIO *in = BIO_new_mem_buf(plain, (int)size);
			CMS_ContentInfo *cms = CMS_encrypt(recips, in,
			    evp_cipher(), CMS_BINARY);

			(void)BIO_reset(out);
			if (cms == NULL || SMIME_write_CMS(out, cms, NULL,
			    CMS_BINARY) != 1)
				die("CMS_encrypt", "failed");
			indep_len = (size_t)BIO_pending(out);
			CMS_ContentInfo_free(cms);
			BIO_free(in);
		}
		indep[r] = now() - t0;

		/* The floor: each essential part alone. */
		rsa[r] = time_rsa(groups);
		aes[r] = time_aes(plain, size, ct);
		b64[r] = time_base64(ct, size + 18, text);
		if ((dst = malloc(copylen)) == NULL)
			die("copy", "out of memory");
		memcpy(dst, mb.data, copylen);	/* fault the pages in */
		t0 = now();
		for (i = 0; i < groups; i++) {
			memcpy(dst, mb.data, copylen);
			__asm__ __volatile__("" : : "r"(dst) : "memory");
		}
		copy[r] = now() - t0;
		free(dst);
	}
	printf("fanout_groups %zu\n", groups);
	printf("fanout_message_bytes %zu\n", size);
	printf("fanout_cipher %s\n", cms_cipher_name(cipher));
	printf("fanout_copy_bytes %zu\n", copylen);
	printf("fanout_independent_copy_bytes %zu\n", indep_len);
	printf("fanout_ours_s %.6f\n", median(ours, runs));
	printf("fanout_ours_recipients_s %.6f\n", median(rcp, runs));
	printf("fanout_ours_content_s %.6f\n", median(cnt, runs));
	printf("fanout_ours_write_s %.6f\n", median(wr, runs));
	printf("fanout_ours_selfcheck_s %.6f\n", median(chk, runs));
	printf("fanout_openssl_checks %u\n", osl);
	printf("fanout_independent_s %.6f\n", median(indep, runs));
	printf("floor_rsa_s %.6f\n", median(rsa, runs));
	printf("floor_content_encryption_s %.6f\n", median(aes, runs));
	printf("floor_base64_s %.6f\n", median(b64, runs));
	printf("floor_copy_output_s %.6f\n", median(copy, runs));
	for (r = 0; r < runs; r++)
		rsa[r] += aes[r] + b64[r] + copy[r];
	printf("floor_sum_s %.6f\n", median(rsa, runs));
	printf("fanout_speedup %.2f\n", median(indep, runs) /
	    median(ours, runs));
	printf("fanout_over_floor %.2f\n", median(ours, runs) /
	    median(rsa, runs));
	free(mb.data);
	free(plain);
	free(ct);
	free(text);
	free(cand);
	free(g);
	sk_X509_free(recips);
	BIO_free(out);
	spool_free(content);
	return 0;
}

static int
discard(void *arg, const void *buf, size_t len, char *err, size_t errlen)
{
	(void)buf;
	(void)err;
	(void)errlen;
	*(size_t *)arg += len;
	return 0;
}

static long
rss_kb(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0, resident = 0;

	if (f != NULL) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/*
 * Reading the content the way the engine does (spool views: a mapped
 * window of the spool file), touching every cache line.  Seconds.
 */
static double
time_read_views(const struct spool *content)
{
	uint64_t off = 0;
	struct spool_view v;
	char err[256];
	volatile unsigned char sink = 0;
	size_t i;
	double t0 = now();

	for (;;) {
		if (spool_view(content, off, SPOOL_VIEW_MAX, &v, err,
		    sizeof(err)) != 0)
			die("view", err);
		if (v.len == 0)
			break;
		for (i = 0; i < v.len; i += 64)
			sink ^= v.p[i];
		off += v.len;
		spool_view_end(&v);
	}
	(void)sink;
	return now() - t0;
}

/* The same bytes copied out with spool_read (pread), for comparison. */
static double
time_read_pread(const struct spool *content, unsigned char *buf)
{
	uint64_t off, size = spool_size(content);
	char err[256];
	ssize_t n;
	double t0 = now();

	for (off = 0; off < size; off += (uint64_t)n)
		if ((n = spool_read(content, off, buf, 65536, err,
		    sizeof(err))) <= 0)
			die("read", err);
	return now() - t0;
}

static struct cms_envelope *
envelope_stream(const struct spool *content, const struct cms_group *g,
    const char *dir, const struct sink *out)
{
	struct cms_options opt;
	struct cms_envelope *env;
	char err[512];

	memset(&opt, 0, sizeof(opt));
	opt.cipher = cipher;
	opt.kt = CMS_KT_RSA_PKCS1;
	opt.spool_dir = dir;
	if ((env = cms_envelope_new_stream(content, g, 1, &opt, 0, out, err,
	    sizeof(err))) == NULL)
		die("cms_envelope_new_stream", err);
	return env;
}

static int
stream(int argc, char **argv)
{
	size_t size = argc > 0 ? strtoul(argv[0], NULL, 10) : 50u << 20;
	const char *dir = argc > 1 ? argv[1] : "/var/tmp";
	double t[MAX_RUNS], ts[MAX_RUNS], t2[MAX_RUNS], tv[MAX_RUNS],
	    tp[MAX_RUNS], enc[MAX_RUNS], b64[MAX_RUNS], fl[MAX_RUNS];
	struct cert_candidate cand = { .cert = alice };
	struct cms_group g = { &cand, 1, "bench" };
	struct cms_envelope *env;
	struct spool *content, *outsp;
	unsigned char *buf = malloc(65536 + 64);
	char err[512], *text = malloc(b64out_bound(65536 + 64));
	size_t written = 0, written2 = 0, off, n;
	struct sink s = { discard, &written }, s2 = { discard, &written2 },
	    ss;
	struct rusage ru;
	struct b64out bo;
	EVP_CIPHER_CTX *ctx;
	unsigned char key[32] = { 1 };
	long before;
	int r, outl;
	double t0;

	if (buf == NULL || text == NULL)
		die("stream", "out of memory");
	content = make_content(size, dir, 256 * 1024, NULL);
	before = rss_kb();
	for (r = 0; r < runs; r++) {
		/* The engine, one pass, copy to a discarding sink. */
		written = 0;
		t0 = now();
		env = envelope_stream(content, &g, dir, &s);
		t[r] = now() - t0;
		cms_envelope_free(env);

		/* The same, copy written to a spool on disk (a new body). */
		outsp = spool_new(dir, 256 * 1024);
		ss = sink_to_spool(outsp);
		t0 = now();
		env = envelope_stream(content, &g, dir, &ss);
		ts[r] = now() - t0;
		cms_envelope_free(env);
		spool_free(outsp);

		/* Two steps: shared base64 spooled, then copied out. */
		written2 = 0;
		t0 = now();
		env = envelope(content, &g, 1, dir);
		if (cms_envelope_write(env, 0, &s2, err, sizeof(err)) != 0)
			die("write", err);
		t2[r] = now() - t0;
		cms_envelope_free(env);

		tv[r] = time_read_views(content);
		tp[r] = time_read_pread(content, buf);

		/* In-process AES (one context, as the engine) and base64
		 * over the same bytes, 64 KB at a time, each chunk copied in
		 * first (cache-resident, no I/O, untimed). */
		enc[r] = 0;
		b64[r] = 0;
		ctx = EVP_CIPHER_CTX_new();
		b64out_init(&bo);
		if (ctx == NULL || EVP_EncryptInit_ex(ctx, evp_cipher(), NULL,
		    key, key) != 1)
			die("aes", "init");
		for (off = 0; off < size; off += n) {
			n = size - off < 65536 ? size - off : 65536;
			if (spool_read(content, off, buf, n, err,
			    sizeof(err)) != (ssize_t)n)
				die("read", err);
			t0 = now();
			if (EVP_EncryptUpdate(ctx, buf, &outl, buf,
			    (int)n) != 1)
				die("aes", "update");
			enc[r] += now() - t0;
			t0 = now();
			(void)b64out_update(&bo, buf, (size_t)outl, text);
			b64[r] += now() - t0;
		}
		EVP_CIPHER_CTX_free(ctx);
		fl[r] = enc[r] + b64[r] + tv[r];
	}
	getrusage(RUSAGE_SELF, &ru);
	if (written != written2)
		die("stream", "streamed and written copies differ in length");
	printf("stream_message_bytes %zu\n", size);
	printf("stream_cipher %s\n", cms_cipher_name(cipher));
	printf("stream_output_bytes %zu\n", written);
	printf("stream_mb_per_s %.1f\n", size / median(t, runs) / 1e6);
	printf("stream_total_s %.6f\n", median(t, runs));
	printf("stream_to_spool_mb_per_s %.1f\n",
	    size / median(ts, runs) / 1e6);
	printf("stream_two_step_mb_per_s %.1f\n",
	    size / median(t2, runs) / 1e6);
	printf("stream_aes_s %.6f\n", median(enc, runs));
	printf("stream_base64_s %.6f\n", median(b64, runs));
	printf("stream_read_views_s %.6f\n", median(tv, runs));
	printf("stream_read_pread_s %.6f\n", median(tp, runs));
	printf("stream_floor_s %.6f\n", median(fl, runs));
	printf("stream_aes_only_mb_per_s %.1f\n",
	    size / median(enc, runs) / 1e6);
	printf("stream_base64_only_mb_per_s %.1f\n",
	    size / median(b64, runs) / 1e6);
	printf("stream_rss_before_kb %ld\n", before);
	printf("stream_peak_rss_kb %ld\n", ru.ru_maxrss);
	free(buf);
	free(text);
	spool_free(content);
	return 0;
}

static int
small(int argc, char **argv)
{
	size_t count = argc > 0 ? strtoul(argv[0], NULL, 10) : 2000;
	size_t size = argc > 1 ? strtoul(argv[1], NULL, 10) : 10 * 1000;
	struct cert_candidate cand = { .cert = alice };
	struct cms_group g = { &cand, 1, "bench" };
	struct membuf mb = { NULL, 0, 0, 0 };
	struct sink s = sink_to_membuf(&mb);
	struct cms_envelope *env;
	struct spool *content;
	unsigned char *plain;
	double t[2][MAX_RUNS], t0;
	char err[512];
	size_t i;
	int r, two;

	content = make_content(size, "/tmp", 1 << 20, &plain);
	spool_free(content);
	for (r = 0; r < runs; r++)
		for (two = 0; two < 2; two++) {
			t0 = now();
			for (i = 0; i < count; i++) {
				/* As the milter: body spooled, encrypted,
				 * written (streamed, or in two steps). */
				content = spool_new("/tmp", 256 * 1024);
				if (content == NULL || spool_append(content,
				    plain, size, err, sizeof(err)) != 0)
					die("spool", err);
				mb.len = 0;
				if (two) {
					env = envelope(content, &g, 1, "/tmp");
					if (cms_envelope_write(env, 0, &s, err,
					    sizeof(err)) != 0)
						die("write", err);
				} else
					env = envelope_stream(content, &g,
					    "/tmp", &s);
				cms_envelope_free(env);
				spool_free(content);
			}
			t[two][r] = now() - t0;
		}
	printf("small_messages %zu\n", count);
	printf("small_message_bytes %zu\n", size);
	printf("small_cipher %s\n", cms_cipher_name(cipher));
	printf("small_messages_per_s %.1f\n", count / median(t[0], runs));
	printf("small_two_step_messages_per_s %.1f\n",
	    count / median(t[1], runs));
	free(mb.data);
	free(plain);
	return 0;
}

int
main(int argc, char **argv)
{
	char path[4096];
	FILE *f;
	int c;

	while ((c = getopt(argc, argv, "r:c:")) != -1) {
		switch (c) {
		case 'r':
			runs = atoi(optarg);
			if (runs < 1 || runs > MAX_RUNS)
				goto usage;
			break;
		case 'c':
			if (cms_cipher_parse(optarg, &cipher) != 0 ||
			    cipher == CMS_CIPHER_AUTO)
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (argc - optind < 2)
		goto usage;
	snprintf(path, sizeof(path), "%s/certs/alice-rsa2048.pem",
	    argv[optind + 1]);
	if ((f = fopen(path, "r")) == NULL ||
	    (alice = PEM_read_X509(f, NULL, NULL, NULL)) == NULL)
		die(path, "cannot read");
	fclose(f);
	if (strcmp(argv[optind], "fanout") == 0)
		return fanout(argc - optind - 2, argv + optind + 2);
	if (strcmp(argv[optind], "stream") == 0)
		return stream(argc - optind - 2, argv + optind + 2);
	if (strcmp(argv[optind], "small") == 0)
		return small(argc - optind - 2, argv + optind + 2);
usage:
	fprintf(stderr, "usage: bench_cms [-r RUNS] [-c CIPHER] "
	    "fanout|stream|small PKI [ARGS...]\n");
	return 2;
}
