/*
 * spool.h -- a message body store with bounded memory.
 *
 * Bytes are kept in memory up to a threshold; past it everything moves to
 * a temporary file in the spool directory.  The file is unlinked as soon
 * as it is created, so nothing is left behind when the process dies or a
 * message is aborted: the open descriptor is the only reference.
 */
#ifndef SMIME_SPOOL_H
#define SMIME_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct spool;

/*
 * Create an empty spool.  dir: where temporary files go (copied).
 * threshold: bytes kept in memory before spilling to disk.  Returns NULL
 * only when out of memory.  Free with spool_free().
 */
struct spool *spool_new(const char *dir, uint64_t threshold);

/*
 * Append len bytes.  Returns 0, or -1 with a reason in err (spool
 * directory not writable, disk full, ...); after an error the spool is
 * unusable and the message must be tempfailed.
 */
int spool_append(struct spool *sp, const void *buf, size_t len, char *err,
    size_t errlen);

/* Total bytes appended. */
uint64_t spool_size(const struct spool *sp);

/* True once the content lives in a file. */
bool spool_on_disk(const struct spool *sp);

/*
 * Read up to len bytes at offset into buf.  Returns the number of bytes
 * read (0 at the end) or -1 with a reason in err.  Does not change the
 * spool, so many readers may read concurrently.
 */
ssize_t spool_read(const struct spool *sp, uint64_t offset, void *buf,
    size_t len, char *err, size_t errlen);

/*
 * A read-only look at a spool's bytes without copying them: a pointer
 * into its memory, or into a read-only mapping of its file.
 */
struct spool_view {
	const unsigned char *p;	/* the byte at the offset asked for */
	size_t len;		/* bytes at p (0: offset at or past the end) */
	void *map;		/* the mapping, released by spool_view_end */
	size_t maplen;
};

/* Most bytes one view of a spool on disk maps (bounds the resident set). */
#define SPOOL_VIEW_MAX	(1u << 20)

/*
 * View up to len bytes at offset (fewer at the end, and at most
 * SPOOL_VIEW_MAX for a spool on disk).  0 with v filled, or -1 with a
 * reason in err.  Every view must be ended with spool_view_end() (also
 * one of length 0) before the spool is freed; the spool must not be
 * appended to while a view is open.  Like spool_read, it does not change
 * the spool: concurrent readers may each hold views.
 */
int spool_view(const struct spool *sp, uint64_t offset, size_t len,
    struct spool_view *v, char *err, size_t errlen);

/* Release a view (unmap its window); v is emptied. */
void spool_view_end(struct spool_view *v);

/* Release memory and close (and so delete) the temporary file. */
void spool_free(struct spool *sp);

#endif
