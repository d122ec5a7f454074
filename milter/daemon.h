/*
 * daemon.h -- process plumbing for smime-milter: detaching, the pid file,
 * dropping privileges, the milter socket's owner and TCP options.  Each
 * step reports a reason on failure.
 */
#ifndef SMIME_DAEMON_H
#define SMIME_DAEMON_H

#include <stddef.h>

/* Fork into the background and detach from the terminal.  0 or -1. */
int daemon_detach(char *err, size_t errlen);

/*
 * Create and lock the pid file, write our pid.  Refuses when another live
 * process holds the lock.  Returns the open descriptor (keep it open: it
 * holds the lock) or -1 with a reason.
 */
int pidfile_create(const char *path, char *err, size_t errlen);

/* Remove the pid file and close its descriptor. */
void pidfile_remove(const char *path, int fd);

/*
 * Switch to spec ("user" or "user:group"): supplementary groups, gid,
 * uid, in one checked step; verifies root cannot be regained.  A no-op
 * returning 0 when not running as root and spec names the current user.
 */
int drop_privileges(const char *spec, char *err, size_t errlen);

/*
 * Give the unix socket at path to spec ("user" or "user:group", the group
 * defaulting to the user's primary group), so that its mode (from UMask)
 * admits that group once drop_privileges() has run.  Call it as root,
 * before drop_privileges(); a no-op returning 0 when not running as root
 * (the socket already belongs to the invoking user).  Refuses a path that
 * is not a socket and never follows a symbolic link.  0, or -1 with a
 * reason.
 */
int socket_give(const char *path, const char *spec, char *err,
    size_t errlen);

/*
 * Set TCP_NODELAY on our TCP socket listening on port: libmilter's, which
 * it does not hand out.  Connections it accepts inherit the option (Linux
 * and FreeBSD copy it from the listener).  Returns 0, or -1 with a reason
 * (no such socket, or setsockopt failed).
 */
int listener_nodelay(unsigned port, char *err, size_t errlen);

#endif
