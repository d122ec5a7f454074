/*
 * certsrc.h -- the certificate source interface.
 *
 * A source answers "which certificates does it hold for this address?".
 * It does not judge them: validation is certcheck's job.  Sources are
 * tried in the order of CertificateSources; see certlookup.h.
 *
 * Thread safety: lookup() may be called from many milter threads at once.
 */
#ifndef SMIME_CERTSRC_H
#define SMIME_CERTSRC_H

#include <stddef.h>

#include "address.h"
#include "certlist.h"

enum lookup_status {
	LOOKUP_FOUND = 0,	/* one or more candidates appended */
	LOOKUP_NONE,		/* the source answered: nothing for it */
	LOOKUP_ERROR,		/* could not look (directory down, timeout);
				 * never to be taken as "no certificate" */
};

const char *lookup_status_name(enum lookup_status st);

struct certsrc {
	char name[64];		/* "dir", "ldap:corp", "harvested" */

	/*
	 * Append the candidates for address (already normalised: see
	 * address_normalise) to out.  On LOOKUP_ERROR err holds a reason
	 * and out is unchanged.
	 */
	enum lookup_status (*lookup)(struct certsrc *src, const char *address,
	    struct cert_list *out, char *err, size_t errlen);

	/* Re-read the backing store (SIGHUP); NULL if not applicable. */
	int (*reload)(struct certsrc *src, char *err, size_t errlen);

	/* Free the source and everything it owns. */
	void (*free)(struct certsrc *src);

	void *impl;
};


#endif
