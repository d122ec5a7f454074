/*
 * signauth.c -- the sender-key signing permission of signauth.h.
 */
#include "signauth.h"

#include <assert.h>
#include <stddef.h>

#include "authmap.h"

enum sign_permission
sender_may_sign(const struct authmap *m, const char *sender,
    const char *auth_user, bool internal_client, const char **why)
{
	const char *reason;
	enum sign_permission p = SIGN_REFUSED;

	assert(m != NULL && sender != NULL);
	if (auth_user != NULL && *auth_user != '\0') {
		if (authmap_may_send_as(m, auth_user, sender)) {
			p = SIGN_PERMITTED;
			reason = "authenticated as a user allowed to send as "
			    "the sender";
		} else
			reason = "authenticated as a user not allowed to send "
			    "as the sender";
	} else if (internal_client) {
		p = SIGN_PERMITTED;
		reason = "internal network";
	} else
		reason = "not authenticated and not internal";
	if (why != NULL)
		*why = reason;
	return p;
}
