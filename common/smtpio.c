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

#include "sockspec.h"

#define LINE_MAX_BYTES	2000	/* RFC 5321 says 512; be generous */
#define LINES_MAX	200

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

int
smtpio_write(struct smtpio *io, const void *buf, size_t len, char *err,
    size_t errlen)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = send(io->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			snprintf(err, errlen, "write to the server: %s",
			    strerror(errno));
			return -1;
		}
		if (wait_ready(io->fd, io->deadline, POLLOUT,
		    "writing to the server", err, errlen) < 0)
			return -1;
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
		n = recv(io->fd, io->rbuf + io->rlen,
		    sizeof(io->rbuf) - io->rlen, 0);
		if (n > 0) {
			io->rlen += (size_t)n;
			continue;
		}
		if (n == 0) {
			snprintf(err, errlen, "connection closed by the "
			    "server");
			return -1;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			snprintf(err, errlen, "read from the server: %s",
			    strerror(errno));
			return -1;
		}
		if (wait_ready(io->fd, io->deadline, POLLIN,
		    "waiting for the server's reply", err, errlen) < 0)
			return -1;
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

void
smtpio_close(struct smtpio *io)
{
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
}
