/*
 * runtime.c -- configuration plus the resources it describes.
 */
#include "runtime.h"

#include "certlookup.h"
#include "config.h"

struct config *
runtime_load(const char *path, struct certlookup **certs, char *err,
    size_t errlen)
{
	struct config *cfg = config_load(path, err, errlen);

	*certs = NULL;
	if (cfg == NULL)
		return NULL;
	if (config_check_system(cfg, err, errlen) != 0 ||
	    (*certs = certlookup_new(cfg, NULL, err, errlen)) == NULL) {
		config_release(cfg);
		return NULL;
	}
	return cfg;
}
