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
