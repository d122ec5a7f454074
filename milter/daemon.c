/*
 * daemon.c -- detach, pid file, privilege drop, owner of the unix socket,
 * TCP_NODELAY.
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

/*
 * Resolve spec ("user" or "user:group") to ids; the group defaults to the
 * user's primary group.  user receives the user name (for initgroups).
 */
static int
lookup_ids(const char *spec, char *user, size_t userlen, uid_t *uid,
    gid_t *gid, char *err, size_t errlen)
{
	struct passwd *pw;
	struct group *gr;
	char *colon;

	snprintf(user, userlen, "%s", spec);
	colon = strchr(user, ':');
	if (colon != NULL)
		*colon++ = '\0';
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "UserID: no such user '%s'", user);
		return -1;
	}
	*uid = pw->pw_uid;
	*gid = pw->pw_gid;
	if (colon != NULL) {
		if ((gr = getgrnam(colon)) == NULL) {
			snprintf(err, errlen, "UserID: no such group '%s'",
			    colon);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

int
drop_privileges(const char *spec, char *err, size_t errlen)
{
	char user[256];
	uid_t uid;
	gid_t gid;

	if (lookup_ids(spec, user, sizeof(user), &uid, &gid, err, errlen) != 0)
		return -1;
	if (geteuid() != 0) {
		if (geteuid() == uid)
			return 0;
		snprintf(err, errlen, "UserID %s: not running as root, cannot "
		    "switch user", spec);
		return -1;
	}
	if (initgroups(user, gid) != 0 ||
	    setresgid(gid, gid, gid) != 0 ||
	    setresuid(uid, uid, uid) != 0) {
		snprintf(err, errlen, "cannot switch to %s: %s", spec,
		    strerror(errno));
		return -1;
	}
	if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0)) {
		snprintf(err, errlen, "privilege drop to %s could be undone",
		    spec);
		return -1;
	}
	return 0;
}

int
socket_give(const char *path, const char *spec, char *err, size_t errlen)
{
	char user[256];
	struct stat st;
	uid_t uid;
	gid_t gid;
	int fd = -1, rc = -1;

	if (geteuid() != 0)
		return 0;
	if (lookup_ids(spec, user, sizeof(user), &uid, &gid, err, errlen) != 0)
		return -1;
	/*
	 * Change the node we check, not whatever the name points to by
	 * then: O_PATH|O_NOFOLLOW pins the directory entry itself (a
	 * symbolic link stays a link and is refused below), and fchownat
	 * with AT_EMPTY_PATH changes exactly that inode.
	 */
	fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto cleanup;
	}
	if (!S_ISSOCK(st.st_mode)) {
		snprintf(err, errlen, "%s: not a socket; not changing its "
		    "owner", path);
		goto cleanup;
	}
	/*
	 * The socket bind() just made is ours and has one name.  A hard
	 * link put there in between (by whoever can write the directory)
	 * to some other socket would fail one of these: root must not
	 * give away a socket it did not make.
	 */
	if (st.st_nlink != 1 || st.st_uid != geteuid()) {
		snprintf(err, errlen, "%s: not the socket just made (owner "
		    "%ld, %ld links); not changing its owner", path,
		    (long)st.st_uid, (long)st.st_nlink);
		goto cleanup;
	}
	if (fchownat(fd, "", uid, gid, AT_EMPTY_PATH) != 0) {
		snprintf(err, errlen, "cannot give %s to %s: %s", path, spec,
		    strerror(errno));
		goto cleanup;
	}
	rc = 0;
cleanup:
	if (fd >= 0)
		close(fd);
	return rc;
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
