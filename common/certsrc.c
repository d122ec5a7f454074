/*
 * certsrc.c -- helpers shared by all certificate sources.
 */
#include "certsrc.h"

#include <string.h>

const char *
lookup_status_name(enum lookup_status st)
{
	switch (st) {
	case LOOKUP_FOUND: return "found";
	case LOOKUP_NONE: return "none";
	case LOOKUP_ERROR: return "error";
	}
	return "?";
}
