/*
 * runtime.h -- load a configuration and build everything it describes,
 * exactly as the daemon does at start-up and on reload; "smime-milter -n"
 * and "smimectl config check" use the same function, so a file they
 * accept is a file the daemon accepts.
 */
#ifndef SMIME_RUNTIME_H
#define SMIME_RUNTIME_H

#include <stddef.h>

struct certlookup;
struct config;

/*
 * Load path, check it against the system (UserID, SpoolDir) and open the
 * certificate sources.  Returns the configuration (one reference) and
 * sets *certs (free with certlookup_free), or NULL with a reason.
 */
struct config *runtime_load(const char *path, struct certlookup **certs,
    char *err, size_t errlen);

#endif
