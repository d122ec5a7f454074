/*
 * sslerr.h -- turn OpenSSL's error queue into our "reason" strings.
 */
#ifndef SMIME_SSLERR_H
#define SMIME_SSLERR_H

#include <stddef.h>

/*
 * Append ": <error>" for every entry of this thread's OpenSSL error queue
 * to the NUL-terminated text already in err, emptying the queue (also
 * when err is full).
 */
void ssl_append_errors(char *err, size_t errlen);

/* Write "what" followed by the queued OpenSSL errors into err. */
void ssl_error(char *err, size_t errlen, const char *what);

#endif
