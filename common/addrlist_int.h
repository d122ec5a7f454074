/*
 * addrlist_int.h -- shared by addrlist.c and addrlist_parse.c.
 * Not an interface for other modules: use addrlist.h.
 */
#ifndef SMIME_ADDRLIST_INT_H
#define SMIME_ADDRLIST_INT_H

#include <stddef.h>

struct addrlist;

/*
 * Add addr, which must already be a canonical form (address.h), unless
 * the list holds it.  Returns 0, or -1 with a reason in err when the list
 * would exceed ADDRLIST_MAX_ADDRS or memory ran out (the list is then
 * unchanged).
 */
int addrlist_add_canonical(struct addrlist *l, const char *addr, char *err,
    size_t errlen);

#endif
