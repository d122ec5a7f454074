/*
 * smtpsec.h -- the TLS and AUTH settings of the reinjection client
 * (ReinjectTLS, ReinjectTLSCAFile, ReinjectAuthFile), built once per
 * configuration load: one client SSL_CTX that every connection shares,
 * and the credentials read from their private file.  The runtime
 * (runtime.h) holds the result; smtp_open and smtp_submit use it.
 */
#ifndef SMIME_SMTPSEC_H
#define SMIME_SMTPSEC_H

#include <stddef.h>

#include "smtpsubmit.h"

struct config;

/*
 * Build the settings of cfg.  The auth file must be a regular file
 * without any permission for group or others (keyfile.h); its first line
 * is "user:password" (split at the first colon, so the password may hold
 * colons; each part 1 to 255 bytes).  ReinjectTLS verify needs
 * ReinjectTLSCAFile, which must hold at least one PEM certificate.
 * Returns a new struct (free with smtpsec_free; with neither TLS nor
 * AUTH configured it says so, it is not NULL), or NULL with the reason
 * in err, which never holds the password.
 */
struct smtp_security *smtpsec_new(const struct config *cfg, char *err,
    size_t errlen);

/* Free sec, the password wiped first.  NULL is ignored.  The SSL_CTX
 * lives on while a connection still uses it (OpenSSL counts them). */
void smtpsec_free(struct smtp_security *sec);

#endif
