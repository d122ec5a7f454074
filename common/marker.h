/*
 * marker.h -- the header field that marks a copy smime-milter has
 * re-submitted itself (SPEC M8), so that the milter passes it untouched
 * when it comes round again.
 *
 *   X-SMIME-Milter-Copy: v1; t=1732345678; h=<base64 HMAC-SHA256>
 *
 * The HMAC (key from ReinjectSecretFile) covers the version, the
 * timestamp, the Message-ID and the sorted, lower-cased recipient list of
 * that copy, so a marker cannot be moved to another message or another
 * set of recipients, and is refused once older than MARKER_MAX_AGE.
 * Anyone can write the header; only the holder of the secret can make it
 * verify.
 */
#ifndef SMIME_MARKER_H
#define SMIME_MARKER_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define MARKER_FIELD "X-SMIME-Milter-Copy"
#define MARKER_MAX_AGE (7 * 86400)	/* a queue lifetime, generously */
#define MARKER_SECRET_MIN 16		/* bytes */

struct marker_secret {
	unsigned char key[64];
	size_t len;
};

/*
 * Read the secret (its bytes, at least MARKER_SECRET_MIN of them, first
 * line) from path, which must not be readable by group or others.  0, or
 * -1 with a reason.
 */
int marker_secret_load(const char *path, struct marker_secret *s, char *err,
    size_t errlen);

/*
 * The field value for a copy with this Message-ID (raw header value, may
 * be NULL) and these recipients, made at time now.  Returns 0, or -1 if
 * out does not hold it (outlen 128 always does).
 */
int marker_make(const struct marker_secret *s, const char *message_id,
    const char *const *rcpts, size_t nrcpts, time_t now, char *out,
    size_t outlen);

/* True when value is a marker made with s for exactly this Message-ID
 * and recipient set, not older than MARKER_MAX_AGE at now (nor more than
 * an hour in the future). */
bool marker_verify(const struct marker_secret *s, const char *value,
    const char *message_id, const char *const *rcpts, size_t nrcpts,
    time_t now);

#endif
