/*
 * netlist.h -- lists of IPv4/IPv6 networks in CIDR notation, used for
 * InternalNetworks.  IPv4-mapped IPv6 client addresses match IPv4 entries.
 */
#ifndef SMIME_NETLIST_H
#define SMIME_NETLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct netlist;

/*
 * Parse "10.0.0.0/8, 192.168.1.1 ::1/128" (separators: comma and
 * white space; a bare address is a host).  Returns a new list owned by the
 * caller (free with netlist_free) or NULL with a reason in err.
 */
struct netlist *netlist_parse(const char *text, char *err, size_t errlen);

void netlist_free(struct netlist *list);

/* True if addr (AF_INET or AF_INET6) lies in one of the networks. */
bool netlist_contains(const struct netlist *list, const struct sockaddr *addr);

/* Same, for a textual address; false if text is not an address. */
bool netlist_contains_text(const struct netlist *list, const char *text);

/* Number of entries. */
size_t netlist_count(const struct netlist *list);

#endif
