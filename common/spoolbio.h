/*
 * spoolbio.h -- OpenSSL BIOs over our own byte stores, so that CMS
 * signing and encryption can stream a spooled body (memory or unlinked
 * temporary file) without a second copy in memory.
 */
#ifndef SMIME_SPOOLBIO_H
#define SMIME_SPOOLBIO_H

#include <openssl/bio.h>

struct spool;
struct sink;

/*
 * A read-only BIO over sp, from its first byte.  sp must outlive the BIO
 * (not owned).  Free with BIO_free().  NULL when out of memory.
 */
BIO *spool_bio_reader(const struct spool *sp);

/*
 * A write-only BIO that passes everything to out (not owned; must outlive
 * the BIO).  A failing sink makes BIO_write fail; the sink's reason is
 * kept and returned by sink_bio_error().  Free with BIO_free().
 */
BIO *sink_bio_writer(const struct sink *out);
const char *sink_bio_error(BIO *bio);

#endif
