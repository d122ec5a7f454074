/*
 * authmap.h -- SenderAuthMap: which sender addresses an SMTP AUTH user
 * ({auth_authen}) may use, for signing with sender keys (SPEC M11).
 *
 * File format, one user per line:
 *
 *   # comment (a word starting with '#' comments out the rest of a line)
 *   alice    alice@example.com, a.smith@example.com
 *   helpdesk *@support.example.com help@example.com
 *
 * The user name is the first word, compared exactly (as the MTA passes
 * it); the addresses follow, separated by white space or commas, each an
 * address or *@domain.  Several lines for one user add up.  A user
 * without a line may send as the address equal to the user name.  The map
 * is immutable after loading and may be read by many threads.
 */
#ifndef SMIME_AUTHMAP_H
#define SMIME_AUTHMAP_H

#include <stdbool.h>
#include <stddef.h>

struct authmap;

/*
 * Read the map at path; path NULL gives an empty map.  Returns a new map
 * owned by the caller (authmap_free), or NULL with "path:line: reason"
 * (or "path: reason") in err.
 */
struct authmap *authmap_load(const char *path, char *err, size_t errlen);

/* Free a map (m may be NULL). */
void authmap_free(struct authmap *m);

/*
 * May auth_user send as address?  If the map has lines for auth_user,
 * address must equal one of their entries or lie in one of their *@domain
 * domains; otherwise auth_user must equal address.  Comparisons of
 * addresses and domains ignore case; address may have angle brackets.
 * False for a NULL or empty auth_user and for an unparseable address.
 */
bool authmap_may_send_as(const struct authmap *m, const char *auth_user,
    const char *address);

/* Number of distinct (user, address) entries. */
size_t authmap_count(const struct authmap *m);

#endif
