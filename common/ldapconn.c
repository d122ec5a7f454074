/*
 * ldapconn.c -- the bind password file, the time budget and opening one
 * connection for an LDAPDirectory spec (see ldapconn.h).
 */
#include "ldapconn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define PASSWORD_MAX	1024

int
ldapconn_password_read(const char *path, struct berval *cred, char *err,
    size_t errlen)
{
	char buf[PASSWORD_MAX + 2];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "bind-password-file %s: %s", path,
		    errno == ELOOP ? "is a symbolic link (refused)" :
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "bind-password-file %s: %s", path,
		    strerror(errno));
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "bind-password-file %s: not a regular "
		    "file", path);
		goto cleanup;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		snprintf(err, errlen, "bind-password-file %s: mode %04o lets "
		    "group or others access it (chmod 600)", path,
		    (unsigned)(st.st_mode & 07777));
		goto cleanup;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(err, errlen, "bind-password-file %s: owned by uid "
		    "%lu, neither root nor us", path, (unsigned long)st.st_uid);
		goto cleanup;
	}
	while (len < sizeof(buf) && (n = read(fd, buf + len,
	    sizeof(buf) - len)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "bind-password-file %s: %s",
			    path, strerror(errno));
			goto cleanup;
		}
		len += (size_t)n;
	}
	for (n = 0; (size_t)n < len && buf[n] != '\n'; n++)
		;
	len = (size_t)n;
	if (len > 0 && buf[len - 1] == '\r')
		len--;
	if (len > PASSWORD_MAX) {
		snprintf(err, errlen, "bind-password-file %s: password longer "
		    "than %d bytes", path, PASSWORD_MAX);
		goto cleanup;
	}
	/* An empty simple-bind password is an unauthenticated bind. */
	if (len == 0) {
		snprintf(err, errlen, "bind-password-file %s: empty password",
		    path);
		goto cleanup;
	}
	if ((cred->bv_val = malloc(len + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto cleanup;
	}
	memcpy(cred->bv_val, buf, len);
	cred->bv_val[len] = '\0';
	cred->bv_len = len;
	rc = 0;
cleanup:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

void
ldapconn_password_free(struct berval *cred)
{
	if (cred->bv_val != NULL) {
		explicit_bzero(cred->bv_val, cred->bv_len);
		free(cred->bv_val);
	}
	cred->bv_val = NULL;
	cred->bv_len = 0;
}

void
ldapconn_deadline(struct timespec *deadline, unsigned secs)
{
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += secs;
}

long
ldapconn_remaining_ms(const struct timespec *deadline)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

int
ldapconn_remaining_tv(const struct timespec *deadline, struct timeval *tv)
{
	long ms = ldapconn_remaining_ms(deadline);

	if (ms <= 0)
		return -1;
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
	return 0;
}

bool
ldapconn_broken(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR ||
	    rc == LDAP_TIMEOUT || rc == LDAP_UNAVAILABLE;
}

void
ldapconn_reason(LDAP *ld, int rc, const char *what, char *err,
    size_t errlen)
{
	char *diag = NULL;

	if (ld != NULL)
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	if (diag != NULL && diag[0] != '\0')
		snprintf(err, errlen, "%s: %s (%s)", what, ldap_err2string(rc),
		    diag);
	else
		snprintf(err, errlen, "%s: %s", what, ldap_err2string(rc));
	ldap_memfree(diag);
}

/*
 * libldap tries the URIs of the list in turn, each with the full network
 * timeout: give each an equal share of the budget, so that unreachable
 * servers ahead in the list cannot use it all up.
 */
static int
set_handle_options(LDAP *ld, const struct timeval *tv, unsigned nuris)
{
	struct timeval net;
	long ms = (tv->tv_sec * 1000 + tv->tv_usec / 1000) /
	    (long)(nuris > 0 ? nuris : 1);
	int v3 = LDAP_VERSION3;

	if (ms < 1)
		ms = 1;
	net.tv_sec = ms / 1000;
	net.tv_usec = (ms % 1000) * 1000;
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != 0 ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != 0 ||
	    ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON) != 0 ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &net) != 0 ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, tv) != 0)
		return LDAP_OPERATIONS_ERROR;
	return LDAP_SUCCESS;
}

int
ldapconn_open(const struct ldap_spec *spec, const struct berval *cred,
    const struct timespec *deadline, LDAP **out, char *err, size_t errlen)
{
	struct timeval tv;
	LDAP *ld = NULL;
	const char *what = "connect";
	int rc;

	*out = NULL;
	if (ldapconn_remaining_tv(deadline, &tv) != 0) {
		snprintf(err, errlen, "connect: timed out after %us",
		    spec->timeout);
		return LDAP_TIMEOUT;
	}
	if ((rc = ldap_initialize(&ld, spec->uri)) != LDAP_SUCCESS) {
		ldapconn_reason(NULL, rc, "initialize", err, errlen);
		return rc;
	}
	if ((rc = set_handle_options(ld, &tv, spec->nuris)) != LDAP_SUCCESS) {
		what = "set options";
		goto fail;
	}
	if ((rc = ldap_connect(ld)) != LDAP_SUCCESS)
		goto fail;
	if (spec->starttls && (rc = ldap_start_tls_s(ld, NULL, NULL)) !=
	    LDAP_SUCCESS) {
		what = "starttls";
		goto fail;
	}
	if (spec->bind_dn != NULL && (rc = ldap_sasl_bind_s(ld, spec->bind_dn,
	    LDAP_SASL_SIMPLE, (struct berval *)cred, NULL, NULL, NULL)) !=
	    LDAP_SUCCESS) {
		what = "bind";
		goto fail;
	}
	*out = ld;
	return LDAP_SUCCESS;
fail:
	ldapconn_reason(ld, rc, what, err, errlen);
	if (rc == LDAP_INVALID_CREDENTIALS || rc == LDAP_INAPPROPRIATE_AUTH)
		log_msg(LOG_LVL_ERROR, "ldap=%s bind-dn=\"%s\" bind failed: "
		    "%s", spec->name, spec->bind_dn, err);
	ldap_unbind_ext(ld, NULL, NULL);
	return rc;
}
