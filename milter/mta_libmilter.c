/*
 * mta_libmilter.c -- the real implementation of the mta.h seam.
 */
#include "mta.h"

char *
mta_getsymval(SMFICTX *ctx, const char *name)
{
	return smfi_getsymval(ctx, (char *)name);
}

void *
mta_getpriv(SMFICTX *ctx)
{
	return smfi_getpriv(ctx);
}

int
mta_setpriv(SMFICTX *ctx, void *priv)
{
	return smfi_setpriv(ctx, priv);
}

int
mta_setreply(SMFICTX *ctx, const char *rcode, const char *xcode,
    const char *text)
{
	return smfi_setreply(ctx, (char *)rcode, (char *)xcode, (char *)text);
}

int
mta_setsymlist(SMFICTX *ctx, int stage, const char *macros)
{
	return smfi_setsymlist(ctx, stage, (char *)macros);
}

int
mta_chgheader(SMFICTX *ctx, const char *name, int index, const char *value)
{
	return smfi_chgheader(ctx, (char *)name, index, (char *)value);
}

int
mta_addheader(SMFICTX *ctx, const char *name, const char *value)
{
	return smfi_addheader(ctx, (char *)name, (char *)value);
}

int
mta_delrcpt(SMFICTX *ctx, const char *rcpt)
{
	return smfi_delrcpt(ctx, (char *)rcpt);
}

int
mta_replacebody(SMFICTX *ctx, const unsigned char *buf, int len)
{
	return smfi_replacebody(ctx, (unsigned char *)buf, len);
}

int
mta_progress(SMFICTX *ctx)
{
	return smfi_progress(ctx);
}
