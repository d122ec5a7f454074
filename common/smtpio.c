/*
 * smtpio.c -- deadline-bounded socket I/O for the SMTP client.
 */
#include "smtpio.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "sockspec.h"
#include "sslerr.h"

#define LINE_MAX_BYTES	2000	/* RFC 5321 says 512; be generous */
#define LINES_MAX	200

/* What an I/O step returns besides a byte count: wait, or give up. */
#define IO_WAIT		(-2)	/* poll for *events, then try again */
#define IO_FAIL		(-1)	/* reason in err */

static int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
smtpio_deadline_in(unsigned seconds)
{
	return now_ms() + (int64_t)seconds * 1000;
}

/*
 * Wait until fd is ready for events or the deadline passes.  0 when ready
 * (errors and hang-ups count: the next read or write reports them), -1
 * with "timed out <what>" otherwise.
 */
static int
wait_ready(int fd, int64_t deadline, short events, const char *what,
    char *err, size_t errlen)
{
	struct pollfd p = { .fd = fd, .events = events };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - now_ms();
		if (left <= 0)
			break;
		n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR) {
			snprintf(err, errlen, "poll: %s", strerror(errno));
			return -1;
		}
	}
	snprintf(err, errlen, "timed out %s", what);
	return -1;
}

/* Non-blocking connect to one address, finished within the deadline. */
static int
connect_addr(int family, const struct sockaddr *sa, socklen_t salen,
    int64_t deadline, char *err, size_t errlen)
{
	int fd, soerr = 0, one = 1;
	socklen_t len = sizeof(soerr);

	fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	/* We write whole commands and large data blocks ourselves; Nagle
	 * would only hold back the short last segment (".") until the
	 * peer's delayed ACK, tens of milliseconds per message. */
	if (family != AF_UNIX)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if (connect(fd, sa, salen) == 0)
		return fd;
	if (errno != EINPROGRESS && errno != EINTR) {
		snprintf(err, errlen, "%s", strerror(errno));
		goto fail;
	}
	if (wait_ready(fd, deadline, POLLOUT, "connecting", err, errlen) < 0)
		goto fail;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
		soerr = errno;
	if (soerr != 0) {
		snprintf(err, errlen, "%s", strerror(soerr));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return -1;
}

static int
connect_unix(const struct sockspec *to, int64_t deadline, char *err,
    size_t errlen)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	if (strlen(to->path) >= sizeof(sun.sun_path)) {
		snprintf(err, errlen, "socket path too long");
		return -1;
	}
	memcpy(sun.sun_path, to->path, strlen(to->path) + 1);
	return connect_addr(AF_UNIX, (struct sockaddr *)&sun, sizeof(sun),
	    deadline, err, errlen);
}

/* Every address of the host in turn until one accepts. */
static int
connect_inet(const struct sockspec *to, int64_t deadline, char *err,
    size_t errlen)
{
	struct addrinfo hints = { 0 }, *res = NULL, *ai;
	char port[16];
	int fd = -1, rc;

	hints.ai_family = to->family == SOCK_FAMILY_INET6 ? AF_INET6 :
	    AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", to->port);
	/* A NULL node without AI_PASSIVE is the loopback address. */
	rc = getaddrinfo(to->host[0] != '\0' ? to->host : NULL, port, &hints,
	    &res);
	if (rc != 0) {
		snprintf(err, errlen, "%s", gai_strerror(rc));
		return -1;
	}
	snprintf(err, errlen, "no address");
	for (ai = res; ai != NULL && fd < 0; ai = ai->ai_next)
		fd = connect_addr(ai->ai_family, ai->ai_addr, ai->ai_addrlen,
		    deadline, err, errlen);
	freeaddrinfo(res);
	return fd;
}

int
smtpio_connect(struct smtpio *io, const struct sockspec *to,
    int64_t deadline, char *err, size_t errlen)
{
	char why[200] = "";

	assert(io != NULL && to != NULL);
	memset(io, 0, sizeof(*io));
	io->deadline = deadline;
	if (to->family == SOCK_FAMILY_UNIX)
		io->fd = connect_unix(to, deadline, why, sizeof(why));
	else
		io->fd = connect_inet(to, deadline, why, sizeof(why));
	if (io->fd < 0) {
		snprintf(err, errlen, "cannot connect to %s: %s", to->text,
		    why);
		return -1;
	}
	return 0;
}

/*
 * What SSL_get_error says after a TLS call that did not complete:
 * IO_WAIT with the poll events it needs, or IO_FAIL with a reason.
 */
static int
tls_wait_or_fail(struct smtpio *io, int ret, const char *what, short *events,
    char *err, size_t errlen)
{
	char why[200];

	switch (SSL_get_error(io->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		*events = POLLIN;
		return IO_WAIT;
	case SSL_ERROR_WANT_WRITE:
		*events = POLLOUT;
		return IO_WAIT;
	case SSL_ERROR_ZERO_RETURN:
		snprintf(err, errlen, "connection closed by the server");
		return IO_FAIL;
	case SSL_ERROR_SYSCALL:
		if (errno == EINTR) {
			*events = POLLIN | POLLOUT;
			return IO_WAIT;
		}
		snprintf(why, sizeof(why), "TLS %s: %s", what, errno != 0 ?
		    strerror(errno) : "connection closed by the server");
		ssl_error(err, errlen, why);
		return IO_FAIL;
	default:
		snprintf(why, sizeof(why), "TLS %s", what);
		ssl_error(err, errlen, why);
		return IO_FAIL;
	}
}

/* Send some of buf: bytes sent, IO_WAIT (*events) or IO_FAIL. */
static ssize_t
io_send(struct smtpio *io, const char *buf, size_t len, short *events,
    char *err, size_t errlen)
{
	size_t done = 0;
	ssize_t n;
	int ret;

	if (io->ssl != NULL) {
		ERR_clear_error();
		errno = 0;
		/* A retry after IO_WAIT repeats the same buffer and length,
		 * as SSL_write wants. */
		ret = SSL_write_ex(io->ssl, buf, len, &done);
		if (ret == 1)
			return (ssize_t)done;
		return tls_wait_or_fail(io, ret, "write", events, err, errlen);
	}
	n = send(io->fd, buf, len, MSG_NOSIGNAL);
	if (n > 0)
		return n;
	if (n < 0 && errno == EINTR)
		return 0;
	if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
		snprintf(err, errlen, "write to the server: %s",
		    strerror(errno));
		return IO_FAIL;
	}
	*events = POLLOUT;
	return IO_WAIT;
}

/* Receive into buf: bytes read, IO_WAIT (*events) or IO_FAIL (also at
 * the end of the connection). */
static ssize_t
io_recv(struct smtpio *io, char *buf, size_t len, short *events,
    char *err, size_t errlen)
{
	size_t done = 0;
	ssize_t n;
	int ret;

	if (io->ssl != NULL) {
		ERR_clear_error();
		errno = 0;
		ret = SSL_read_ex(io->ssl, buf, len, &done);
		if (ret == 1)
			return (ssize_t)done;
		return tls_wait_or_fail(io, ret, "read", events, err, errlen);
	}
	n = recv(io->fd, buf, len, 0);
	if (n > 0)
		return n;
	if (n == 0) {
		snprintf(err, errlen, "connection closed by the server");
		return IO_FAIL;
	}
	if (errno == EINTR)
		return 0;
	if (errno != EAGAIN && errno != EWOULDBLOCK) {
		snprintf(err, errlen, "read from the server: %s",
		    strerror(errno));
		return IO_FAIL;
	}
	*events = POLLIN;
	return IO_WAIT;
}

int
smtpio_write(struct smtpio *io, const void *buf, size_t len, char *err,
    size_t errlen)
{
	const char *p = buf;
	short events = 0;
	ssize_t n;

	while (len > 0) {
		n = io_send(io, p, len, &events, err, errlen);
		if (n == IO_FAIL)
			return -1;
		if (n == IO_WAIT) {
			if (wait_ready(io->fd, io->deadline, events,
			    "writing to the server", err, errlen) < 0)
				return -1;
			continue;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The next line (without CR LF) as a pointer into rbuf, valid until the
 * next call.  A bare LF also ends a line.  0, or -1 with a reason.
 */
static int
read_line(struct smtpio *io, const char **line, size_t *len, char *err,
    size_t errlen)
{
	short events = 0;
	char *lf;
	ssize_t n;

	for (;;) {
		lf = memchr(io->rbuf + io->rpos, '\n', io->rlen - io->rpos);
		if (lf != NULL)
			break;
		if (io->rlen - io->rpos > LINE_MAX_BYTES) {
			snprintf(err, errlen, "reply line longer than %d "
			    "bytes", LINE_MAX_BYTES);
			return -1;
		}
		if (io->rpos > 0) {	/* room for more at the end */
			memmove(io->rbuf, io->rbuf + io->rpos,
			    io->rlen - io->rpos);
			io->rlen -= io->rpos;
			io->rpos = 0;
		}
		n = io_recv(io, io->rbuf + io->rlen,
		    sizeof(io->rbuf) - io->rlen, &events, err, errlen);
		if (n == IO_FAIL)
			return -1;
		if (n == IO_WAIT && wait_ready(io->fd, io->deadline, events,
		    "waiting for the server's reply", err, errlen) < 0)
			return -1;
		if (n > 0)
			io->rlen += (size_t)n;
	}
	*line = io->rbuf + io->rpos;
	*len = (size_t)(lf - *line);
	io->rpos += *len + 1;
	if (*len > 0 && (*line)[*len - 1] == '\r')
		(*len)--;
	return 0;
}

/* Append text to the reply text as printable ASCII, cut when full. */
static void
add_text(struct smtp_reply *r, const char *text, size_t len)
{
	size_t have = strlen(r->text), i;

	for (i = 0; i < len && have + 1 < sizeof(r->text); i++) {
		unsigned char c = (unsigned char)text[i];

		r->text[have++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
	}
	r->text[have] = '\0';
}

int
smtpio_reply(struct smtpio *io, struct smtp_reply *r,
    smtpio_line_fn *each, void *arg, char *err, size_t errlen)
{
	const char *line;
	size_t len, nlines;
	int code;
	bool last = false;

	r->code = 0;
	r->text[0] = '\0';
	for (nlines = 0; !last; nlines++) {
		if (nlines == LINES_MAX) {
			snprintf(err, errlen, "reply of more than %d lines",
			    LINES_MAX);
			return -1;
		}
		if (read_line(io, &line, &len, err, errlen) < 0)
			return -1;
		if (len < 3 || line[0] < '2' || line[0] > '5' ||
		    line[1] < '0' || line[1] > '9' || line[2] < '0' ||
		    line[2] > '9' || (len > 3 && line[3] != '-' &&
		    line[3] != ' ')) {
			r->text[0] = '\0';
			add_text(r, line, len < 80 ? len : 80);
			snprintf(err, errlen, "malformed reply \"%s\"",
			    r->text);
			return -1;
		}
		code = (line[0] - '0') * 100 + (line[1] - '0') * 10 +
		    (line[2] - '0');
		if (nlines > 0 && code != r->code) {
			snprintf(err, errlen, "reply code changes from %d "
			    "to %d within a reply", r->code, code);
			return -1;
		}
		r->code = code;
		last = len == 3 || line[3] == ' ';
		if (nlines == 0)
			add_text(r, line, len);
		else if (len > 4) {
			add_text(r, " / ", 3);
			add_text(r, line + 4, len - 4);
		}
		if (each != NULL)
			each(arg, len > 4 ? line + 4 : "", len > 4 ? len - 4 :
			    0);
	}
	return 0;
}

/* Is the certificate to be matched against host an IP address? */
static bool
is_ip_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, host, buf) == 1 ||
	    inet_pton(AF_INET6, host, buf) == 1;
}

/* A new SSL on io->fd, with the name or address to check. */
static int
tls_setup(struct smtpio *io, SSL_CTX *ctx, const char *host, char *err,
    size_t errlen)
{
	bool check = host != NULL && host[0] != '\0' &&
	    (SSL_CTX_get_verify_mode(ctx) & SSL_VERIFY_PEER) != 0;

	ERR_clear_error();
	if ((io->ssl = SSL_new(ctx)) == NULL ||
	    SSL_set_fd(io->ssl, io->fd) != 1) {
		ssl_error(err, errlen, "TLS set-up");
		return -1;
	}
	if (check && is_ip_literal(host)) {
		if (X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(io->ssl),
		    host) != 1) {
			ssl_error(err, errlen, "TLS set-up: address");
			return -1;
		}
	} else if (check) {
		/* Partial wildcards ("mx*.example") are not for us. */
		SSL_set_hostflags(io->ssl,
		    X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (SSL_set1_host(io->ssl, host) != 1 ||
		    SSL_set_tlsext_host_name(io->ssl, host) != 1) {
			ssl_error(err, errlen, "TLS set-up: host name");
			return -1;
		}
	}
	SSL_set_connect_state(io->ssl);
	return 0;
}

int
smtpio_starttls(struct smtpio *io, struct ssl_ctx_st *ctx, const char *host,
    char *err, size_t errlen)
{
	short events = 0;
	long verify;
	int ret, rc;

	assert(io != NULL && ctx != NULL && io->fd >= 0 && io->ssl == NULL);
	if (io->rpos != io->rlen) {
		snprintf(err, errlen, "the server sent data after its reply "
		    "to STARTTLS");
		return -1;
	}
	if (tls_setup(io, ctx, host, err, errlen) < 0)
		return -1;
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((ret = SSL_connect(io->ssl)) == 1)
			return 0;
		rc = tls_wait_or_fail(io, ret, "handshake", &events, err,
		    errlen);
		if (rc == IO_FAIL)
			break;
		if (wait_ready(io->fd, io->deadline, events,
		    "in the TLS handshake", err, errlen) < 0)
			return -1;
	}
	/* "certificate verify failed" alone does not say why. */
	verify = SSL_get_verify_result(io->ssl);
	if (verify != X509_V_OK) {
		size_t len = strlen(err);

		snprintf(err + len, errlen - len, " (%s)",
		    X509_verify_cert_error_string(verify));
	}
	return -1;
}

bool
smtpio_tls_active(const struct smtpio *io)
{
	return io->ssl != NULL;
}

bool
smtpio_peer_is_local(const struct smtpio *io)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const struct sockaddr_in6 *sin6;
	const unsigned char *a;

	if (getpeername(io->fd, (struct sockaddr *)&ss, &len) != 0)
		return false;
	switch (ss.ss_family) {
	case AF_UNIX:
		return true;
	case AF_INET:
		a = (const unsigned char *)
		    &((const struct sockaddr_in *)&ss)->sin_addr;
		return a[0] == 127;
	case AF_INET6:
		sin6 = (const struct sockaddr_in6 *)&ss;
		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return true;
		return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) &&
		    sin6->sin6_addr.s6_addr[12] == 127;
	default:
		return false;
	}
}

void
smtpio_close(struct smtpio *io)
{
	if (io->ssl != NULL) {
		/* One try at close_notify (not after a failed handshake);
		 * the socket goes anyway. */
		ERR_clear_error();
		if (SSL_is_init_finished(io->ssl))
			(void)SSL_shutdown(io->ssl);
		SSL_free(io->ssl);
		ERR_clear_error();
		io->ssl = NULL;
	}
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
}
