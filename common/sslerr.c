/*
 * sslerr.c -- OpenSSL error queue to text.
 */
#include "sslerr.h"

#include <stdio.h>
#include <string.h>

#include <openssl/err.h>

void
ssl_append_errors(char *err, size_t errlen)
{
	unsigned long e;
	size_t len;

	while ((e = ERR_get_error()) != 0) {
		len = strlen(err);
		if (len + 3 >= errlen)
			continue;	/* keep draining */
		snprintf(err + len, errlen - len, ": ");
		ERR_error_string_n(e, err + len + 2, errlen - len - 2);
	}
}

void
ssl_error(char *err, size_t errlen, const char *what)
{
	snprintf(err, errlen, "%s", what);
	ssl_append_errors(err, errlen);
}
