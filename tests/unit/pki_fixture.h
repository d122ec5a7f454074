/*
 * pki_fixture.h -- the test PKI of tests/pki/mkpki for unit tests.
 *
 * Uses $SMIME_TEST_PKI when set (tests/run-all generates one PKI for all
 * tests), else generates one in a temporary directory.
 */
#ifndef PKI_FIXTURE_H
#define PKI_FIXTURE_H

#include <openssl/x509.h>

/* Directory of the PKI (generated on first call); NULL on failure. */
const char *pki_dir(void);

/* Load OUTDIR/certs/NAME.pem; fails the test if missing. */
X509 *pki_cert(const char *name);

/* Path of a file in the PKI ("ca/anchors.pem"), in a static buffer. */
const char *pki_path(const char *rel);

/*
 * A real CMS EnvelopedData of a short text for certs/NAME.pem, base64 in
 * CRLF lines of 64: the body of mail that is already encrypted.  Free it
 * with free(); fails the test on error.
 */
char *pki_enveloped_b64(const char *name);

/* Remove a generated PKI (no-op for $SMIME_TEST_PKI). */
void pki_cleanup(void);

#endif
