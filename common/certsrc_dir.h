/*
 * certsrc_dir.h -- certificates in a local directory.
 *
 * Every regular file in the directory is read at load time: PEM (one or
 * more certificates), DER certificates and DER/PEM PKCS#7 bundles.
 * End-entity certificates are indexed by every e-mail address they carry
 * (subjectAltName rfc822Name and the subject's emailAddress), not by file
 * name; CA certificates found in the directory are offered as chain
 * material with every candidate.  Unparseable files and duplicates are
 * logged with their file name and skipped, never fatal for the others.
 * reload() rebuilds the index and swaps it in atomically.
 */
#ifndef SMIME_CERTSRC_DIR_H
#define SMIME_CERTSRC_DIR_H

#include <stdbool.h>
#include <stddef.h>

#include "certsrc.h"

/*
 * Open the directory store at path (must exist).  name is the source name
 * ("dir" or "harvested").  NULL + reason on error.
 */
struct certsrc *certsrc_dir_new(const char *name, const char *path,
    char *err, size_t errlen);

/* Statistics of the current index. */
struct certdir_stats {
	size_t files, certs, addresses, skipped_files, duplicates;
};
void certsrc_dir_stats(struct certsrc *src, struct certdir_stats *out);

/*
 * Write cert into the directory as FINGERPRINT.pem (SHA-256, hex),
 * atomically (temporary file + rename), then reload the index.  note, if
 * not NULL, is stored in a "FINGERPRINT.note" file beside it (where the
 * certificate came from); caps, if known, in "FINGERPRINT.caps" (also
 * for a certificate already present: harvesting a newer signature
 * updates them).  Returns 0, 1 if it was already there, or -1 with a
 * reason.  Certificates of any store may get a NAME.caps file beside
 * NAME.pem to override what is known about the recipient.
 */
int certsrc_dir_add(struct certsrc *src, X509 *cert, const char *note,
    const struct smime_caps *caps, char *err, size_t errlen);

/*
 * Capabilities recorded for cert in this store (FINGERPRINT.caps), by
 * fingerprint, so they apply whichever source supplied the certificate.
 * Returns true and fills caps if known.
 */
bool certsrc_dir_caps_for(struct certsrc *src, X509 *cert,
    struct smime_caps *caps);

/* Call fn for every indexed (address, certificate, file) entry. */
void certsrc_dir_foreach(struct certsrc *src,
    void (*fn)(const char *address, X509 *cert, const char *file,
    void *arg), void *arg);

/* Lower-case hex SHA-256 of the DER certificate (65 bytes with NUL). */
void cert_fingerprint(X509 *cert, char out[65]);

#endif
