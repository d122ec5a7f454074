/*
 * stub_mta.h -- a fake MTA side for the mta.h seam: macros to hand out,
 * private pointer storage, and the last reply set.
 */
#ifndef STUB_MTA_H
#define STUB_MTA_H

#include <stddef.h>

struct stub_ctx {
	void *priv;
	const char *macros[16][2];	/* name, value; NULL-terminated */
	char rcode[8], xcode[16], text[256];
	int replies;
	int symlists;
	int chgheaders, addheaders, delrcpts;
	size_t body_bytes;	/* replacebody total */
	char last_header[256];	/* "Name: value" of the last edit */
};

/* Set or replace a macro (value not copied; NULL removes it). */
void stub_set_macro(struct stub_ctx *ctx, const char *name,
    const char *value);

#endif
