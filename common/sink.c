/*
 * sink.c -- sinks for spools, files and memory.
 */
#include "sink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "spool.h"

int
sink_write(const struct sink *s, const void *buf, size_t len, char *err,
    size_t errlen)
{
	return len == 0 ? 0 : s->write(s->arg, buf, len, err, errlen);
}

int
sink_puts(const struct sink *s, const char *str, char *err, size_t errlen)
{
	return sink_write(s, str, strlen(str), err, errlen);
}

static int
spool_write(void *arg, const void *buf, size_t len, char *err, size_t errlen)
{
	return spool_append(arg, buf, len, err, errlen);
}

struct sink
sink_to_spool(struct spool *sp)
{
	struct sink s = { spool_write, sp };

	return s;
}

static int
file_write(void *arg, const void *buf, size_t len, char *err, size_t errlen)
{
	if (fwrite(buf, 1, len, arg) != len) {
		snprintf(err, errlen, "write failed: %s", strerror(errno));
		return -1;
	}
	return 0;
}

struct sink
sink_to_file(FILE *f)
{
	struct sink s = { file_write, f };

	return s;
}

static int
membuf_write(void *arg, const void *buf, size_t len, char *err,
    size_t errlen)
{
	struct membuf *mb = arg;

	if (mb->limit != 0 && len > mb->limit - mb->len) {
		snprintf(err, errlen, "output larger than %zu bytes",
		    mb->limit);
		return -1;
	}
	if (mb->len + len > mb->cap) {
		size_t cap = mb->cap ? mb->cap : 4096;
		unsigned char *grown;

		while (cap < mb->len + len)
			cap *= 2;
		if ((grown = realloc(mb->data, cap)) == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		mb->data = grown;
		mb->cap = cap;
	}
	memcpy(mb->data + mb->len, buf, len);
	mb->len += len;
	return 0;
}

struct sink
sink_to_membuf(struct membuf *mb)
{
	struct sink s = { membuf_write, mb };

	return s;
}

int
spool_copy_to_sink(const struct spool *sp, const struct sink *s, char *err,
    size_t errlen)
{
	unsigned char buf[65536];
	uint64_t off = 0;
	ssize_t n;

	while ((n = spool_read(sp, off, buf, sizeof(buf), err, errlen)) > 0) {
		if (sink_write(s, buf, (size_t)n, err, errlen) != 0)
			return -1;
		off += (uint64_t)n;
	}
	return n < 0 ? -1 : 0;
}
