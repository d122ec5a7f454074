/*
 * sockspec.h -- milter socket specifications, as libmilter and the MTAs
 * write them: "inet:PORT@HOST", "inet:PORT" (all IPv4 addresses),
 * "inet6:PORT@HOST", "unix:PATH", "local:PATH" or a bare absolute PATH.
 */
#ifndef SMIME_SOCKSPEC_H
#define SMIME_SOCKSPEC_H

#include <stddef.h>

enum sock_family { SOCK_FAMILY_INET, SOCK_FAMILY_INET6, SOCK_FAMILY_UNIX };

struct sockspec {
	enum sock_family family;
	unsigned port;		/* inet, inet6 */
	char host[256];		/* inet, inet6; empty = any address */
	char path[108];		/* unix: fits sockaddr_un.sun_path */
	char text[400];		/* normalised form, for smfi_setconn */
};

/*
 * Parse spec into *out.  Returns 0, or -1 with a reason in err (always
 * NUL-terminated, errlen > 0).
 */
int sockspec_parse(const char *spec, struct sockspec *out, char *err,
    size_t errlen);

#endif
