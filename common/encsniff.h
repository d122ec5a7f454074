/*
 * encsniff.h -- check that mail whose header says "encrypted" has an
 * encrypted body before it is passed untouched (see encsniff.c).
 */
#ifndef SMIME_ENCSNIFF_H
#define SMIME_ENCSNIFF_H

#include <stdbool.h>

struct message;
struct mime_info;

/*
 * info: mime_classify() of msg's header.  True when info says S/MIME
 * enveloped (or authEnveloped) data or PGP/MIME and the body holds it;
 * false otherwise, also on a read error (the mail is then handled like
 * any other, which fails safe).
 */
bool encsniff_body_encrypted(const struct message *msg,
    const struct mime_info *info);

#endif
