/*
 * sockspec.c -- parse and normalise milter socket specifications.
 */
#include "sockspec.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Accept host names, IPv4 and IPv6 literals; reject anything else. */
static int
host_is_plausible(const char *host)
{
	if (*host == '\0')
		return 0;
	for (; *host != '\0'; host++) {
		unsigned char c = (unsigned char)*host;

		if (!isalnum(c) && c != '.' && c != '-' && c != ':' &&
		    c != '_' && c != '[' && c != ']' && c != '%')
			return 0;
	}
	return 1;
}

static int
parse_port(const char *s, size_t len, unsigned *port)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

static int
parse_inet(const char *rest, enum sock_family family, struct sockspec *out,
    char *err, size_t errlen)
{
	const char *at = strchr(rest, '@');
	size_t portlen = at != NULL ? (size_t)(at - rest) : strlen(rest);
	const char *host = at != NULL ? at + 1 : "";

	if (parse_port(rest, portlen, &out->port) != 0) {
		snprintf(err, errlen, "bad port in socket spec (want 1-65535)");
		return -1;
	}
	if (at != NULL && !host_is_plausible(host)) {
		snprintf(err, errlen, "bad host in socket spec");
		return -1;
	}
	if (strlen(host) >= sizeof(out->host)) {
		snprintf(err, errlen, "host name too long in socket spec");
		return -1;
	}
	/* "[::1]" is a common way to write an IPv6 literal: strip brackets. */
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		snprintf(out->host, sizeof(out->host), "%.*s",
		    (int)strlen(host) - 2, host + 1);
	} else {
		snprintf(out->host, sizeof(out->host), "%s", host);
	}
	out->family = family;
	if (out->host[0] != '\0')
		snprintf(out->text, sizeof(out->text), "%s:%u@%s",
		    family == SOCK_FAMILY_INET ? "inet" : "inet6", out->port,
		    out->host);
	else
		snprintf(out->text, sizeof(out->text), "%s:%u",
		    family == SOCK_FAMILY_INET ? "inet" : "inet6", out->port);
	return 0;
}

static int
parse_unix(const char *path, struct sockspec *out, char *err, size_t errlen)
{
	if (path[0] != '/') {
		snprintf(err, errlen, "unix socket path must be absolute");
		return -1;
	}
	if (strlen(path) >= sizeof(out->path)) {
		snprintf(err, errlen, "unix socket path longer than %zu bytes",
		    sizeof(out->path) - 1);
		return -1;
	}
	out->family = SOCK_FAMILY_UNIX;
	snprintf(out->path, sizeof(out->path), "%s", path);
	snprintf(out->text, sizeof(out->text), "unix:%s", path);
	return 0;
}

int
sockspec_parse(const char *spec, struct sockspec *out, char *err,
    size_t errlen)
{
	const char *colon;

	memset(out, 0, sizeof(*out));
	err[0] = '\0';
	if (spec == NULL || *spec == '\0') {
		snprintf(err, errlen, "empty socket spec");
		return -1;
	}
	if (spec[0] == '/')
		return parse_unix(spec, out, err, errlen);
	colon = strchr(spec, ':');
	if (colon == NULL) {
		snprintf(err, errlen,
		    "socket spec needs a type: inet:PORT@HOST, inet6:PORT@HOST "
		    "or unix:PATH");
		return -1;
	}
	if ((size_t)(colon - spec) == 4 && strncasecmp(spec, "inet", 4) == 0)
		return parse_inet(colon + 1, SOCK_FAMILY_INET, out, err, errlen);
	if ((size_t)(colon - spec) == 5 && strncasecmp(spec, "inet6", 5) == 0)
		return parse_inet(colon + 1, SOCK_FAMILY_INET6, out, err,
		    errlen);
	if (((size_t)(colon - spec) == 4 && strncasecmp(spec, "unix", 4) == 0) ||
	    ((size_t)(colon - spec) == 5 && strncasecmp(spec, "local", 5) == 0))
		return parse_unix(colon + 1, out, err, errlen);
	snprintf(err, errlen, "unknown socket type '%.*s' (want inet, inet6 "
	    "or unix)", (int)(colon - spec) > 20 ? 20 : (int)(colon - spec),
	    spec);
	return -1;
}
