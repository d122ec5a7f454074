/*
 * sink.h -- where produced bytes go.  The MIME, signing and encryption
 * steps write through a sink so the same code can fill a spool (bounded
 * memory, for the milter), a file (smimectl) or a memory buffer (tests).
 */
#ifndef SMIME_SINK_H
#define SMIME_SINK_H

#include <stddef.h>
#include <stdio.h>

struct spool;

struct sink {
	/* Write all len bytes; 0, or -1 with a reason in err. */
	int (*write)(void *arg, const void *buf, size_t len, char *err,
	    size_t errlen);
	void *arg;
};

/* Write through s; a convenience for s->write(s->arg, ...). */
int sink_write(const struct sink *s, const void *buf, size_t len, char *err,
    size_t errlen);

/* Write a NUL-terminated string. */
int sink_puts(const struct sink *s, const char *str, char *err,
    size_t errlen);

/* A sink that appends to a spool (which the caller owns). */
struct sink sink_to_spool(struct spool *sp);

/* A sink that writes to a stdio stream (which the caller owns). */
struct sink sink_to_file(FILE *f);

/* A growing memory buffer; free data with free(). */
struct membuf {
	unsigned char *data;
	size_t len, cap;
	size_t limit;		/* 0 = none; writes past it fail */
};

struct sink sink_to_membuf(struct membuf *mb);

/* Copy every byte of a spool into a sink, in chunks. */
int spool_copy_to_sink(const struct spool *sp, const struct sink *s,
    char *err, size_t errlen);

#endif
