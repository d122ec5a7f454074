/*
 * test_spool.c -- memory-then-disk body storage: threshold crossing, a
 * 50 MB body in bounded memory, no file left behind, write errors, and
 * views (zero-copy reads) of memory and of mapped file windows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "spool.h"

static char spool_dir[] = "/tmp/test_spool.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(spool_dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	return rmdir(spool_dir);
}

static size_t
count_entries(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static long
rss_kib(void)
{
	char line[256];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Deterministic content: byte at offset i. */
static unsigned char
pattern(uint64_t i)
{
	return (unsigned char)((i * 7 + (i >> 13)) & 0xff);
}

static void
fill(unsigned char *buf, uint64_t offset, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = pattern(offset + i);
}

static void
verify_content(struct spool *sp)
{
	unsigned char buf[70000];
	uint64_t off = 0;
	char err[256];
	ssize_t n;
	size_t i;

	while ((n = spool_read(sp, off, buf, sizeof(buf), err,
	    sizeof(err))) > 0) {
		for (i = 0; i < (size_t)n; i++)
			if (buf[i] != pattern(off + i))
				fail_msg("byte %llu differs",
				    (unsigned long long)(off + i));
		off += (uint64_t)n;
	}
	assert_int_equal(n, 0);
	assert_int_equal(off, spool_size(sp));
}

static void
test_stays_in_memory_below_threshold(void **state)
{
	struct spool *sp = spool_new(spool_dir, 1000);
	unsigned char buf[1000];
	char err[256];

	(void)state;
	fill(buf, 0, sizeof(buf));
	assert_int_equal(spool_append(sp, buf, 600, err, sizeof(err)), 0);
	assert_int_equal(spool_append(sp, buf + 600, 400, err, sizeof(err)),
	    0);
	assert_false(spool_on_disk(sp));	/* exactly at the threshold */
	assert_int_equal(spool_size(sp), 1000);
	verify_content(sp);
	spool_free(sp);
}

static void
test_crossing_threshold_moves_to_disk(void **state)
{
	struct spool *sp = spool_new(spool_dir, 1000);
	unsigned char buf[1500];
	char err[256];

	(void)state;
	fill(buf, 0, sizeof(buf));
	assert_int_equal(spool_append(sp, buf, 999, err, sizeof(err)), 0);
	assert_false(spool_on_disk(sp));
	assert_int_equal(spool_append(sp, buf + 999, 2, err, sizeof(err)), 0);
	assert_true(spool_on_disk(sp));
	assert_int_equal(spool_append(sp, buf + 1001, 499, err, sizeof(err)),
	    0);
	assert_int_equal(spool_size(sp), 1500);
	verify_content(sp);
	/* The file is unlinked at once: nothing to clean up, ever. */
	assert_int_equal(count_entries(spool_dir), 0);
	spool_free(sp);
}

static void
test_zero_threshold_goes_straight_to_disk(void **state)
{
	struct spool *sp = spool_new(spool_dir, 0);
	char err[256];

	(void)state;
	assert_int_equal(spool_append(sp, "", 0, err, sizeof(err)), 0);
	assert_false(spool_on_disk(sp));
	assert_int_equal(spool_append(sp, "x", 1, err, sizeof(err)), 0);
	assert_true(spool_on_disk(sp));
	spool_free(sp);
}

static void
test_read_past_end_and_partial(void **state)
{
	struct spool *sp = spool_new(spool_dir, 4);
	unsigned char buf[16];
	char err[256];

	(void)state;
	assert_int_equal(spool_append(sp, "abcdefgh", 8, err, sizeof(err)), 0);
	assert_int_equal(spool_read(sp, 6, buf, sizeof(buf), err,
	    sizeof(err)), 2);
	assert_memory_equal(buf, "gh", 2);
	assert_int_equal(spool_read(sp, 8, buf, sizeof(buf), err,
	    sizeof(err)), 0);
	assert_int_equal(spool_read(sp, 1000, buf, sizeof(buf), err,
	    sizeof(err)), 0);
	spool_free(sp);
}

static size_t
count_fds(void)
{
	return count_entries("/proc/self/fd");
}

static void
test_50mb_body_bounded_memory(void **state)
{
	const uint64_t total = 50ull * 1024 * 1024;
	struct spool *sp;
	unsigned char *chunk = malloc(65535);
	size_t fds_before = count_fds();
	long rss_before, rss_after;
	uint64_t off = 0;
	char err[256];

	(void)state;
	assert_non_null(chunk);
	rss_before = rss_kib();
	sp = spool_new(spool_dir, 256 * 1024);
	while (off < total) {
		size_t len = total - off < 65535 ? (size_t)(total - off) :
		    65535;

		fill(chunk, off, len);
		if (spool_append(sp, chunk, len, err, sizeof(err)) != 0)
			fail_msg("append: %s", err);
		off += len;
	}
	rss_after = rss_kib();
	assert_true(spool_on_disk(sp));
	assert_int_equal(spool_size(sp), total);
	/* 50 MB went through; resident memory grew by far less. */
	if (rss_after - rss_before > 8 * 1024)
		fail_msg("RSS grew by %ld KiB", rss_after - rss_before);
	verify_content(sp);
	assert_int_equal(count_entries(spool_dir), 0);
	assert_int_equal(count_fds(), fds_before + 1);
	spool_free(sp);		/* what an abort does */
	assert_int_equal(count_fds(), fds_before);
	free(chunk);
}

/*
 * Views of a spool in memory and on disk show the same bytes as
 * spool_read at every kind of offset: 0, unaligned, a page boundary, the
 * last byte, the end and beyond; on disk no view maps more than
 * SPOOL_VIEW_MAX; walking view by view covers every byte exactly once.
 */
static void
test_views(void **state)
{
	static const uint64_t offs[] = { 0, 1, 4095, 4096, 4097, 65535,
	    (1u << 20) + 3, 3000000 - 1, 3000000, 3000001 };
	const uint64_t total = 3000000;
	unsigned char *buf = malloc(65536);
	struct spool *sp[2];
	struct spool_view v;
	uint64_t off;
	char err[256];
	size_t i, k, j, want;

	(void)state;
	assert_non_null(buf);
	sp[0] = spool_new(spool_dir, total);		/* stays in memory */
	sp[1] = spool_new(spool_dir, 64 * 1024);	/* spills to disk */
	for (k = 0; k < 2; k++)
		for (off = 0; off < total; off += 65536) {
			size_t len = total - off < 65536 ?
			    (size_t)(total - off) : 65536;

			fill(buf, off, len);
			assert_int_equal(spool_append(sp[k], buf, len, err,
			    sizeof(err)), 0);
		}
	assert_false(spool_on_disk(sp[0]));
	assert_true(spool_on_disk(sp[1]));
	for (k = 0; k < 2; k++) {
		for (i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
			assert_int_equal(spool_view(sp[k], offs[i], total, &v,
			    err, sizeof(err)), 0);
			want = offs[i] >= total ? 0 : (size_t)(total -
			    offs[i]);
			if (k == 1 && want > SPOOL_VIEW_MAX)
				want = SPOOL_VIEW_MAX;
			assert_int_equal(v.len, want);
			assert_true(k == 1 || v.map == NULL);
			for (j = 0; j < v.len; j++)
				if (v.p[j] != pattern(offs[i] + j))
					fail_msg("spool %zu offset %llu: byte "
					    "%zu differs", k, (unsigned long
					    long)offs[i], j);
			spool_view_end(&v);
			assert_null(v.p);
			assert_int_equal(v.len, 0);
		}
		/* Asked for less, given exactly that. */
		assert_int_equal(spool_view(sp[k], 10, 5, &v, err,
		    sizeof(err)), 0);
		assert_int_equal(v.len, 5);
		assert_int_equal(v.p[4], pattern(14));
		spool_view_end(&v);
		/* View after view: every byte once, in order. */
		for (off = 0;;) {
			assert_int_equal(spool_view(sp[k], off, (size_t)-1,
			    &v, err, sizeof(err)), 0);
			if (v.len == 0)
				break;
			assert_int_equal(v.p[0], pattern(off));
			assert_int_equal(v.p[v.len - 1],
			    pattern(off + v.len - 1));
			off += v.len;
			spool_view_end(&v);
		}
		spool_view_end(&v);
		assert_true(off == total);
		spool_free(sp[k]);
	}
	free(buf);
}

static void
test_unusable_directory(void **state)
{
	struct spool *sp = spool_new("/nonexistent/spool", 4);
	char err[256];

	(void)state;
	assert_int_equal(spool_append(sp, "abc", 3, err, sizeof(err)), 0);
	assert_int_equal(spool_append(sp, "defg", 4, err, sizeof(err)), -1);
	assert_string_equal(err, "cannot create spool file in "
	    "/nonexistent/spool: No such file or directory");
	/* Once failed, the spool refuses further data. */
	assert_int_equal(spool_append(sp, "h", 1, err, sizeof(err)), -1);
	assert_string_equal(err, "spool unusable after earlier error");
	spool_free(sp);
}

/* A full disk, simulated with a file size limit. */
static void
test_write_error_is_reported(void **state)
{
	struct rlimit old, small = { 64 * 1024, 64 * 1024 };
	unsigned char buf[32768] = { 0 };
	struct spool *sp = spool_new(spool_dir, 1024);
	char err[256];
	int i, rc = 0;

	(void)state;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small.rlim_max = old.rlim_max;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	for (i = 0; i < 4 && rc == 0; i++)
		rc = spool_append(sp, buf, sizeof(buf), err, sizeof(err));
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_int_equal(rc, -1);
	assert_non_null(strstr(err, "spool write failed: File too large"));
	spool_free(sp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stays_in_memory_below_threshold),
		cmocka_unit_test(test_crossing_threshold_moves_to_disk),
		cmocka_unit_test(test_zero_threshold_goes_straight_to_disk),
		cmocka_unit_test(test_read_past_end_and_partial),
		cmocka_unit_test(test_50mb_body_bounded_memory),
		cmocka_unit_test(test_views),
		cmocka_unit_test(test_unusable_directory),
		cmocka_unit_test(test_write_error_is_reported),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
