/*
 * utf8text.h -- untrusted text (header values, envelope addresses, reasons
 * built from certificate fields) made safe to show on one line.
 */
#ifndef SMIME_UTF8TEXT_H
#define SMIME_UTF8TEXT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Clean len bytes of in into out: CR, LF, TAB, U+2028/U+2029 and runs of
 * white space become one space (which also unfolds header continuation
 * lines); other control characters (C0, DEL, C1) are dropped; invalid
 * UTF-8 (also overlong forms and surrogates) becomes U+FFFD; leading and
 * trailing space goes.  At most maxchars characters (code points) are
 * kept, and fewer if out is short (4 * maxchars + 1 bytes always
 * suffice); text that had to be cut ends in "..." within that limit.
 * out is always NUL-terminated valid UTF-8 without control characters
 * (outlen >= 1).  Returns its length.
 */
size_t utf8_clean(const char *in, size_t len, size_t maxchars, char *out,
    size_t outlen);

/* True if the NUL-terminated s has no byte from 0x80 (plain ASCII). */
bool text_is_ascii(const char *s);

#endif
