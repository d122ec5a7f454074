/*
 * stub_mta.c -- test implementation of the mta.h seam.
 */
#include "stub_mta.h"

#include <stdio.h>
#include <string.h>

#include "mta.h"

void
stub_set_macro(struct stub_ctx *ctx, const char *name, const char *value)
{
	size_t i;

	for (i = 0; i < 15 && ctx->macros[i][0] != NULL; i++)
		if (strcmp(ctx->macros[i][0], name) == 0)
			break;
	ctx->macros[i][0] = name;
	ctx->macros[i][1] = value;
}

char *
mta_getsymval(SMFICTX *ctx, const char *name)
{
	struct stub_ctx *s = (struct stub_ctx *)ctx;
	size_t i;

	for (i = 0; i < 16 && s->macros[i][0] != NULL; i++)
		if (strcmp(s->macros[i][0], name) == 0)
			return (char *)s->macros[i][1];
	return NULL;
}

void *
mta_getpriv(SMFICTX *ctx)
{
	return ((struct stub_ctx *)ctx)->priv;
}

int
mta_setpriv(SMFICTX *ctx, void *priv)
{
	((struct stub_ctx *)ctx)->priv = priv;
	return MI_SUCCESS;
}

int
mta_setreply(SMFICTX *ctx, const char *rcode, const char *xcode,
    const char *text)
{
	struct stub_ctx *s = (struct stub_ctx *)ctx;

	snprintf(s->rcode, sizeof(s->rcode), "%s", rcode);
	snprintf(s->xcode, sizeof(s->xcode), "%s", xcode ? xcode : "");
	snprintf(s->text, sizeof(s->text), "%s", text ? text : "");
	s->replies++;
	return MI_SUCCESS;
}

int
mta_setsymlist(SMFICTX *ctx, int stage, const char *macros)
{
	(void)stage;
	(void)macros;
	((struct stub_ctx *)ctx)->symlists++;
	return MI_SUCCESS;
}

int
mta_chgheader(SMFICTX *ctx, const char *name, int index, const char *value)
{
	struct stub_ctx *s = (struct stub_ctx *)ctx;

	(void)index;
	snprintf(s->last_header, sizeof(s->last_header), "%s: %s", name,
	    value != NULL ? value : "(deleted)");
	s->chgheaders++;
	return MI_SUCCESS;
}

int
mta_addheader(SMFICTX *ctx, const char *name, const char *value)
{
	struct stub_ctx *s = (struct stub_ctx *)ctx;

	snprintf(s->last_header, sizeof(s->last_header), "%s: %s", name,
	    value);
	s->addheaders++;
	return MI_SUCCESS;
}

int
mta_delrcpt(SMFICTX *ctx, const char *rcpt)
{
	(void)rcpt;
	((struct stub_ctx *)ctx)->delrcpts++;
	return MI_SUCCESS;
}

int
mta_replacebody(SMFICTX *ctx, const unsigned char *buf, int len)
{
	(void)buf;
	((struct stub_ctx *)ctx)->body_bytes += (size_t)len;
	return MI_SUCCESS;
}

int
mta_progress(SMFICTX *ctx)
{
	(void)ctx;
	return MI_SUCCESS;
}
