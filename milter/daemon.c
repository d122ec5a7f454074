/*
 * daemon.c -- detach, pid file, privilege drop, TCP_NODELAY.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int
daemon_detach(char *err, size_t errlen)
{
	pid_t pid;
	int fd;

	if ((pid = fork()) < 0)
		goto fail;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		goto fail;
	/* Second fork: never reacquire a controlling terminal. */
	if ((pid = fork()) < 0)
		goto fail;
	if (pid > 0)
		_exit(0);
	if (chdir("/") != 0)
		goto fail;
	if ((fd = open("/dev/null", O_RDWR)) < 0)
		goto fail;
	(void)dup2(fd, STDIN_FILENO);
	(void)dup2(fd, STDOUT_FILENO);
	(void)dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
fail:
	snprintf(err, errlen, "cannot detach: %s", strerror(errno));
	return -1;
}

int
pidfile_create(const char *path, char *err, size_t errlen)
{
	char buf[32];
	int fd, len;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		    strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		ssize_t n = read(fd, buf, sizeof(buf) - 1);

		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		snprintf(err, errlen, "%s: already locked by a running "
		    "smime-milter (pid %s)", path, buf[0] ? buf : "?");
		close(fd);
		return -1;
	}
	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || write(fd, buf, (size_t)len) != len) {
		snprintf(err, errlen, "%s: cannot write: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

void
pidfile_remove(const char *path, int fd)
{
	if (fd < 0)
		return;
	(void)unlink(path);
	close(fd);
}

int
drop_privileges(const char *spec, char *err, size_t errlen)
{
	char user[256];
	struct passwd *pw;
	struct group *gr;
	char *colon;
	gid_t gid;

	snprintf(user, sizeof(user), "%s", spec);
	colon = strchr(user, ':');
	if (colon != NULL)
		*colon++ = '\0';
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "UserID: no such user '%s'", user);
		return -1;
	}
	gid = pw->pw_gid;
	if (colon != NULL) {
		if ((gr = getgrnam(colon)) == NULL) {
			snprintf(err, errlen, "UserID: no such group '%s'",
			    colon);
			return -1;
		}
		gid = gr->gr_gid;
	}
	if (geteuid() != 0) {
		if (geteuid() == pw->pw_uid)
			return 0;
		snprintf(err, errlen, "UserID %s: not running as root, cannot "
		    "switch user", spec);
		return -1;
	}
	if (initgroups(pw->pw_name, gid) != 0 ||
	    setresgid(gid, gid, gid) != 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) != 0) {
		snprintf(err, errlen, "cannot switch to %s: %s", spec,
		    strerror(errno));
		return -1;
	}
	if (pw->pw_uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "privilege drop to %s could be undone",
		    spec);
		return -1;
	}
	return 0;
}

/* Is fd a TCP socket listening on port? */
static bool
listens_on(int fd, unsigned port)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(int);
	int on = 0, type = 0;

	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) != 0 ||
	    !on)
		return false;
	len = sizeof(type);
	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
	    type != SOCK_STREAM)
		return false;
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		return false;
	if (ss.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&ss)->sin_port) == port;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port) == port;
	return false;
}

int
listener_nodelay(unsigned port, char *err, size_t errlen)
{
	struct rlimit rl;
	int fd, maxfd = 1024, one = 1;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		maxfd = rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 65536;
	for (fd = 0; fd < maxfd; fd++) {
		if (!listens_on(fd, port))
			continue;
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one)) != 0) {
			snprintf(err, errlen, "TCP_NODELAY on the milter "
			    "socket: %s", strerror(errno));
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "no socket listening on port %u to set "
	    "TCP_NODELAY on", port);
	return -1;
}
