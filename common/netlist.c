/*
 * netlist.c -- CIDR network lists.
 */
#include "netlist.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NETLIST_MAX 4096

struct net {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	unsigned prefix;
};

struct netlist {
	size_t count;
	struct net nets[];
};

static bool
prefix_matches(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((a[full] ^ b[full]) & (0xffu << (8 - rest))) == 0;
}

static int
parse_one(const char *tok, struct net *net, char *err, size_t errlen)
{
	char buf[80];
	char *slash, *end;
	unsigned maxbits;
	unsigned long bits;

	if (strlen(tok) >= sizeof(buf)) {
		snprintf(err, errlen, "network '%.40s...' too long", tok);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", tok);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	memset(net, 0, sizeof(*net));
	if (inet_pton(AF_INET, buf, net->addr) == 1) {
		net->family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, buf, net->addr) == 1) {
		net->family = AF_INET6;
		maxbits = 128;
	} else {
		snprintf(err, errlen, "'%s' is not an IP address", buf);
		return -1;
	}
	net->prefix = maxbits;
	if (slash != NULL) {
		bits = strtoul(slash + 1, &end, 10);
		if (slash[1] == '\0' || *end != '\0' || bits > maxbits) {
			snprintf(err, errlen, "bad prefix length in '%s'", tok);
			return -1;
		}
		net->prefix = (unsigned)bits;
	}
	return 0;
}

struct netlist *
netlist_parse(const char *text, char *err, size_t errlen)
{
	struct netlist *list, *shrunk;
	char *copy, *tok, *save = NULL;
	size_t n = 0;

	err[0] = '\0';
	list = calloc(1, sizeof(*list) + NETLIST_MAX * sizeof(struct net));
	copy = strdup(text);
	if (list == NULL || copy == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (tok = strtok_r(copy, ", \t", &save); tok != NULL;
	    tok = strtok_r(NULL, ", \t", &save)) {
		if (n == NETLIST_MAX) {
			snprintf(err, errlen, "more than %d networks",
			    NETLIST_MAX);
			goto fail;
		}
		if (parse_one(tok, &list->nets[n], err, errlen) != 0)
			goto fail;
		n++;
	}
	list->count = n;
	free(copy);
	/* Give back the unused tail of the worst-case allocation. */
	shrunk = realloc(list, sizeof(*list) + n * sizeof(struct net));
	return shrunk != NULL ? shrunk : list;
fail:
	free(copy);
	free(list);
	return NULL;
}

void
netlist_free(struct netlist *list)
{
	free(list);
}

size_t
netlist_count(const struct netlist *list)
{
	return list != NULL ? list->count : 0;
}

static bool
contains(const struct netlist *list, int family, const unsigned char *addr)
{
	size_t i;

	for (i = 0; list != NULL && i < list->count; i++) {
		const struct net *net = &list->nets[i];

		if (net->family == family &&
		    prefix_matches(net->addr, addr, net->prefix))
			return true;
	}
	return false;
}

bool
netlist_contains(const struct netlist *list, const struct sockaddr *addr)
{
	if (addr == NULL)
		return false;
	if (addr->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *)addr;

		return contains(list, AF_INET,
		    (const unsigned char *)&sin->sin_addr);
	}
	if (addr->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *)addr;
		const unsigned char *a = sin6->sin6_addr.s6_addr;

		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    contains(list, AF_INET, a + 12))
			return true;
		return contains(list, AF_INET6, a);
	}
	return false;
}

bool
netlist_contains_text(const struct netlist *list, const char *text)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, text, a) == 1)
		return contains(list, AF_INET, a);
	if (inet_pton(AF_INET6, text, a) == 1) {
		if (IN6_IS_ADDR_V4MAPPED((struct in6_addr *)a) &&
		    contains(list, AF_INET, a + 12))
			return true;
		return contains(list, AF_INET6, a);
	}
	return false;
}
