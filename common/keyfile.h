/*
 * keyfile.h -- reading private keys and their passphrase from files that
 * must be private: regular files (key files: not symbolic links) without
 * any permission for group or others.  Used for the SenderKeys store.
 * Nothing read here is ever logged or copied into an error message.
 */
#ifndef SMIME_KEYFILE_H
#define SMIME_KEYFILE_H

#include <stddef.h>

#include "smime_sign.h"

#define KEYFILE_PASS_MAX 1024	/* passphrase bytes, NUL included */

/*
 * The first line of path, without its CR/LF, into pass (NUL-terminated;
 * the caller wipes it with OPENSSL_cleanse after use).  Symbolic links
 * are followed; the file they lead to must be private.  Refuses an empty
 * or over-long passphrase.  0, or -1 with "path: reason" in err.
 */
int keyfile_read_passphrase(const char *path, char pass[KEYFILE_PASS_MAX],
    char *err, size_t errlen);

/*
 * A PKCS#12 file: its key, the certificate that goes with it, the other
 * certificates as chain.  A failed MAC check is reported as a wrong
 * passphrase.  Fills *s (free with signer_free) and returns 0, or -1
 * with "path: reason" in err.
 */
int keyfile_load_p12(struct signer *s, const char *path, const char *pass,
    char *err, size_t errlen);

/*
 * An encrypted PKCS#8 PEM key (unencrypted and traditional-format keys
 * are refused) and crt_path, a PEM certificate followed by its chain, via
 * signer_load (so the key must match the certificate).  A passphrase that
 * does not decrypt the key is reported as such.  The chain does not
 * repeat the certificate.  Fills *s and returns 0, or -1 with
 * "key_path: reason" in err.
 */
int keyfile_load_pem(struct signer *s, const char *key_path,
    const char *crt_path, const char *pass, char *err, size_t errlen);

#endif
