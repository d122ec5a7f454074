/*
 * senderkeys.h -- the signing keys of internal senders (SPEC M11), one
 * per address, from the SenderKeys directory:
 *
 *   ADDRESS.p12               PKCS#12: key, certificate and chain
 *   ADDRESS.key + ADDRESS.crt encrypted PKCS#8 PEM key; PEM certificate
 *                             followed by its chain
 *
 * all protected by one passphrase, the first line of
 * SenderKeyPassphraseFile.  The store is loaded completely or not at all:
 * one bad key file fails the load (the daemon refuses to start; a reload
 * keeps the previous store).  Once loaded it is immutable, so any number
 * of threads may call senderkeys_find and the listing functions on it
 * without locking.  Whether a message may be signed with a key is decided
 * elsewhere (signauth.h).
 */
#ifndef SMIME_SENDERKEYS_H
#define SMIME_SENDERKEYS_H

#include <stddef.h>

#include <openssl/x509.h>

#include "smime_sign.h"

struct senderkeys;

/*
 * Load every key of dir.  dir NULL gives an empty store.  A key file is
 * refused, and with it the whole load, if it is a symbolic link or not a
 * regular file, if group or others have any permission on it, if the key
 * is not encrypted, cannot be decrypted with the passphrase or does not
 * match its certificate, or if the certificate does not carry ADDRESS in
 * subjectAltName.  Also refused: a dir writable by group or others, a
 * passphrase file that is not a regular file or grants group or others
 * any permission, key files without a passphrase file, two keys for one
 * address.  Files that are not ADDRESS.p12/.key/.crt (ADDRESS with
 * exactly one '@') are skipped with a debug log line, names starting
 * with '.' silently.
 *
 * Returns a new store owned by the caller (senderkeys_free), or NULL with
 * "file: reason" in err.  Neither key material nor the passphrase is ever
 * logged or put into err; the passphrase is wiped from memory after use.
 */
struct senderkeys *senderkeys_load(const char *dir,
    const char *passphrase_file, char *err, size_t errlen);

/* Free a store and its keys (sk may be NULL). */
void senderkeys_free(struct senderkeys *sk);

/*
 * The signer for address (case-insensitive, angle brackets allowed), or
 * NULL if the store has none.  The signer belongs to the store and lives
 * as long as it.
 */
const struct signer *senderkeys_find(const struct senderkeys *sk,
    const char *address);

/* Number of keys in the store. */
size_t senderkeys_count(const struct senderkeys *sk);

/*
 * Entry i (< senderkeys_count), in address order: the lower-cased
 * address, the certificate and the key file's path, all owned by the
 * store.  Any out pointer may be NULL.
 */
void senderkeys_entry(const struct senderkeys *sk, size_t i,
    const char **address, const X509 **cert, const char **file);

#endif
