/*
 * mta.h -- the seam between the filter callbacks and libmilter.
 *
 * Every smfi_* call the callbacks make goes through these wrappers, so the
 * unit tests can link the callbacks against stubs (tests/unit/stub_mta.c)
 * and drive them without an MTA.  The daemon links mta_libmilter.c.
 */
#ifndef SMIME_MTA_H
#define SMIME_MTA_H

#include <libmilter/mfapi.h>

char *mta_getsymval(SMFICTX *ctx, const char *name);
void *mta_getpriv(SMFICTX *ctx);
int mta_setpriv(SMFICTX *ctx, void *priv);
int mta_setreply(SMFICTX *ctx, const char *rcode, const char *xcode,
    const char *text);
int mta_setsymlist(SMFICTX *ctx, int stage, const char *macros);

/* End-of-message changes (SMFIF_* negotiated in callbacks.c). */
int mta_chgheader(SMFICTX *ctx, const char *name, int index,
    const char *value);
int mta_addheader(SMFICTX *ctx, const char *name, const char *value);
int mta_delrcpt(SMFICTX *ctx, const char *rcpt);
int mta_replacebody(SMFICTX *ctx, const unsigned char *buf, int len);
/* Long end-of-data work: restart the MTA's timeout. */
int mta_progress(SMFICTX *ctx);

#endif
