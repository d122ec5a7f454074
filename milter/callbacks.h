/*
 * callbacks.h -- the libmilter callback table of smime-milter.
 */
#ifndef SMIME_CALLBACKS_H
#define SMIME_CALLBACKS_H

#include <libmilter/mfapi.h>

/* The filter description passed to smfi_register(). */
extern struct smfiDesc smime_filter;

#endif
