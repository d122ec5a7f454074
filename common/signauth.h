/*
 * signauth.h -- may a message be signed with the sender's key (SPEC
 * M11)?  Only if the client proved it may use the sender address:
 *
 *   authenticated (SMTP AUTH)   iff SenderAuthMap lets the user send as
 *                               the sender -- also from an internal
 *                               network: a proven identity is never
 *                               overridden by the client's address;
 *   not authenticated           iff the client is in InternalNetworks;
 *
 * and never otherwise.
 */
#ifndef SMIME_SIGNAUTH_H
#define SMIME_SIGNAUTH_H

#include <stdbool.h>

struct authmap;

/* Refused is 0, so that a zeroed decision never permits signing. */
enum sign_permission { SIGN_REFUSED = 0, SIGN_PERMITTED };

/*
 * sender: the envelope sender; auth_user: {auth_authen}, NULL or empty
 * if the client did not authenticate; internal_client: the client is in
 * InternalNetworks.  *why (if why is not NULL) is set to a fixed
 * explanation for the log, e.g. "not authenticated and not internal";
 * it names neither user nor sender, so log those beside it.
 */
enum sign_permission sender_may_sign(const struct authmap *m,
    const char *sender, const char *auth_user, bool internal_client,
    const char **why);

#endif
