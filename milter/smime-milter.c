/*
 * smime-milter -- S/MIME signing and encryption gateway for Postfix and
 * Sendmail.  This file is process plumbing only: options, configuration,
 * socket, privileges, signals.  The filter lives in callbacks.c and the
 * library in common/.
 *
 * Signals: libmilter's own signal thread treats SIGHUP as "stop", which is
 * not what a mail administrator expects.  So smfi_main() runs in a thread
 * of its own while the main thread waits in sigwait() for HUP, USR1, TERM
 * and INT, which are blocked everywhere else.  Linux delivers a signal
 * sent to the process to its main thread when that thread is waiting for
 * it, so libmilter's thread does not see them; the main thread hands a
 * reload to a separate thread so it is back in sigwait() at once.
 * SIGUSR1 also reloads and is never touched by libmilter.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "callbacks.h"
#include "certlookup.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "journal.h"
#include "policy.h"
#include "runtime.h"
#include "version.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc/smime-milter"
#endif
#define DEFAULT_CONFIG SYSCONFDIR "/smime-milter.conf"

struct options {
	const char *config_path;
	bool foreground;
	bool check_only;
};

static atomic_bool stopping;

static bool reload_wanted;
static bool reload_quit;
static pthread_mutex_t reload_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reload_cond = PTHREAD_COND_INITIALIZER;

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: smime-milter [-f] [-n] [-c config]\n"
	    "       smime-milter -V | -h\n"
	    "  -c FILE  configuration file (default %s)\n"
	    "  -f       stay in the foreground and log to stderr too\n"
	    "  -n       check the configuration and exit\n"
	    "  -V       print the version and exit\n"
	    "  -h       print this help and exit\n", DEFAULT_CONFIG);
}

static int
parse_args(int argc, char **argv, struct options *opt)
{
	int ch;

	opt->config_path = DEFAULT_CONFIG;
	while ((ch = getopt(argc, argv, "c:fnVh")) != -1) {
		switch (ch) {
		case 'c':
			opt->config_path = optarg;
			break;
		case 'f':
			opt->foreground = true;
			break;
		case 'n':
			opt->check_only = true;
			break;
		case 'V':
			printf("smime-milter %s\n", SMIME_MILTER_VERSION);
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "smime-milter: unexpected argument '%s'\n",
		    argv[optind]);
		usage(stderr);
		return -1;
	}
	return 0;
}

static void
apply_logging(const struct config *cfg, bool foreground)
{
	log_setup("smime-milter", cfg->syslog, cfg->syslog_facility,
	    foreground, (enum log_level)cfg->log_level);
}

/* Options that need a restart: say so instead of pretending. */
static void
note_restart_only(const struct config *old, const struct config *new)
{
	if (strcmp(old->socket.text, new->socket.text) != 0)
		log_msg(LOG_LVL_WARNING, "reload: Socket changed; takes effect "
		    "after a restart");
	if ((old->user == NULL) != (new->user == NULL) ||
	    (old->user != NULL && strcmp(old->user, new->user) != 0))
		log_msg(LOG_LVL_WARNING, "reload: UserID changed; takes effect "
		    "after a restart");
	if ((old->pid_file == NULL) != (new->pid_file == NULL) ||
	    (old->pid_file != NULL &&
	    strcmp(old->pid_file, new->pid_file) != 0))
		log_msg(LOG_LVL_WARNING, "reload: PidFile changed; takes "
		    "effect after a restart");
	if (old->milter_timeout != new->milter_timeout)
		log_msg(LOG_LVL_WARNING, "reload: MilterTimeout changed; takes "
		    "effect after a restart");
	if (old->file_umask != new->file_umask)
		log_msg(LOG_LVL_WARNING, "reload: UMask changed; takes effect "
		    "after a restart");
}

static void
log_runtime(struct runtime *rt)
{
	struct policy *p = runtime_policy(rt);
	char desc[512];

	certlookup_describe(rt->certs, desc, sizeof(desc));
	log_msg(LOG_LVL_INFO, "certificates: %s", desc);
	log_msg(LOG_LVL_INFO, "policy: %s: %zu rules, %zu groups (%zu not "
	    "readable)", rt->cfg->policy_file != NULL ? rt->cfg->policy_file :
	    "built-in", policy_rule_count(p), policy_group_count(p),
	    policy_unresolved_count(p));
	policy_release(p);
}

static void
reload_config(const char *path, bool foreground)
{
	struct runtime *old = runtime_current(), *rt;
	char err[512];

	rt = runtime_load(path, old, err, sizeof(err));
	if (rt == NULL) {
		log_msg(LOG_LVL_ERROR, "reload failed, keeping the running "
		    "configuration: %s", err);
		runtime_release(old);
		return;
	}
	if (old != NULL)
		note_restart_only(old->cfg, rt->cfg);
	runtime_release(old);
	apply_logging(rt->cfg, foreground);
	log_runtime(rt);
	runtime_install(rt);
	log_msg(LOG_LVL_NOTICE, "configuration reloaded from %s", path);
}

struct reload_args {
	const char *path;
	bool foreground;
};

/* Timed work: CRLs expire and new revocations appear; LDAP groups
 * named in the policy change.  Each has its own interval (0 = never). */
struct timers {
	time_t next_crl, next_policy;
};

static void
schedule(struct timers *t, time_t now, bool crl, bool policy)
{
	struct runtime *rt = runtime_current();
	unsigned crl_s = rt != NULL ? rt->cfg->crl_refresh : 0;
	unsigned pol_s = rt != NULL ? rt->cfg->policy_refresh : 0;

	if (crl)
		t->next_crl = crl_s ? now + (time_t)crl_s : 0;
	if (policy)
		t->next_policy = pol_s ? now + (time_t)pol_s : 0;
	runtime_release(rt);
}

/* The earlier of the two deadlines; 0 when neither is set. */
static time_t
next_deadline(const struct timers *t)
{
	if (t->next_crl == 0)
		return t->next_policy;
	if (t->next_policy == 0)
		return t->next_crl;
	return t->next_crl < t->next_policy ? t->next_crl : t->next_policy;
}

static void
refresh_crls(void)
{
	struct runtime *rt = runtime_current();
	char err[512], desc[512];

	if (rt == NULL)
		return;
	journal_expire(rt->journal_dir, time(NULL));	/* hourly is plenty */
	if (certlookup_refresh_crls(rt->certs, err, sizeof(err)) != 0)
		log_msg(LOG_LVL_ERROR, "CRL refresh failed, keeping the "
		    "previous CRLs: %s", err);
	else {
		certlookup_describe(rt->certs, desc, sizeof(desc));
		log_msg(LOG_LVL_INFO, "CRLs refreshed: %s", desc);
	}
	runtime_release(rt);
}

static void
refresh_policy(void)
{
	struct runtime *rt = runtime_current();
	char err[512];

	if (rt == NULL)
		return;
	if (runtime_refresh_policy(rt, err, sizeof(err)) != 0)
		log_msg(LOG_LVL_ERROR, "policy refresh failed, keeping the "
		    "running policy: %s", err);
	else
		log_msg(LOG_LVL_DEBUG, "policy refreshed");
	runtime_release(rt);
}

/*
 * The one thread that changes the running configuration: reloads on
 * request, and refreshes CRLs and policy groups on their timers.
 */
static void *
reload_thread(void *arg)
{
	const struct reload_args *ra = arg;
	struct timers t = { 0, 0 };

	schedule(&t, time(NULL), true, true);
	pthread_mutex_lock(&reload_lock);
	for (;;) {
		bool do_reload;
		int rc = 0;
		time_t now, deadline = next_deadline(&t);

		while (!reload_wanted && !reload_quit && rc != ETIMEDOUT) {
			struct timespec ts = { deadline, 0 };

			if (deadline == 0)
				pthread_cond_wait(&reload_cond, &reload_lock);
			else
				rc = pthread_cond_timedwait(&reload_cond,
				    &reload_lock, &ts);
		}
		if (reload_quit)
			break;
		do_reload = reload_wanted;	/* read and reset under the lock */
		reload_wanted = false;
		pthread_mutex_unlock(&reload_lock);
		now = time(NULL);
		if (do_reload) {
			reload_config(ra->path, ra->foreground);
			schedule(&t, now, true, true);
		} else {
			if (t.next_crl != 0 && now >= t.next_crl) {
				refresh_crls();
				schedule(&t, now, true, false);
			}
			if (t.next_policy != 0 && now >= t.next_policy) {
				refresh_policy();
				schedule(&t, now, false, true);
			}
		}
		pthread_mutex_lock(&reload_lock);
	}
	pthread_mutex_unlock(&reload_lock);
	return NULL;
}

static void
reload_signal(bool quit)
{
	pthread_mutex_lock(&reload_lock);
	if (quit)
		reload_quit = true;
	else
		reload_wanted = true;
	pthread_cond_signal(&reload_cond);
	pthread_mutex_unlock(&reload_lock);
}

static void
wake_handler(int sig)
{
	(void)sig;
}

static void *
smfi_stop_thread(void *arg)
{
	(void)arg;
	smfi_stop();
	return NULL;
}

/*
 * libmilter's listener re-checks its stop flag only when its poll() times
 * out (every few seconds), and smfi_stop() waits for the listener's lock,
 * which poll() holds.  So smfi_stop() runs in a helper thread while this
 * one interrupts the poll with a no-op signal sent to the listener thread
 * alone (smfi_main() runs in milter_tid), repeated in case one lands
 * before the poll starts.  Shutdown then takes milliseconds.
 */
static void
stop_milter_thread(pthread_t milter_tid)
{
	struct sigaction sa = { .sa_handler = wake_handler };
	struct timespec deadline;
	pthread_t stopper;
	bool have_stopper;

	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0;	/* no SA_RESTART: poll() must see EINTR */
	sigaction(SIGUSR2, &sa, NULL);
	atomic_store(&stopping, true);
	have_stopper = pthread_create(&stopper, NULL, smfi_stop_thread,
	    NULL) == 0;
	if (!have_stopper)
		smfi_stop();
	for (;;) {
		pthread_kill(milter_tid, SIGUSR2);
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += 100 * 1000 * 1000;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		if (pthread_timedjoin_np(milter_tid, NULL, &deadline) == 0)
			break;
	}
	if (have_stopper)
		pthread_join(stopper, NULL);
}

static void *
milter_thread(void *arg)
{
	int *result = arg;

	*result = smfi_main();
	/* If libmilter stopped on its own, wake the main thread. */
	if (!atomic_load(&stopping))
		kill(getpid(), SIGTERM);
	return NULL;
}

/*
 * libmilter reports a failed bind without its cause.  The usual cause
 * of a unix socket that cannot be created is a directory that does not
 * exist (yet): /run is empty after a reboot, and the daemon does not
 * create directories itself (RuntimeDirectory= in the systemd unit does).
 */
static void
explain_open_failure(const struct sockspec *sock, char *err, size_t errlen)
{
	char dir[sizeof(sock->path)];
	char *slash;
	struct stat st;

	if (sock->family == SOCK_FAMILY_UNIX) {
		snprintf(dir, sizeof(dir), "%s", sock->path);
		slash = strrchr(dir, '/');
		if (slash != NULL && slash != dir)
			*slash = '\0';
		if (slash != NULL && stat(dir, &st) != 0 && errno == ENOENT) {
			snprintf(err, errlen, "cannot create socket %s: "
			    "directory %s does not exist", sock->path, dir);
			return;
		}
	}
	snprintf(err, errlen, "cannot open socket %s (in use, or a file "
	    "that is not a socket is in the way)", sock->text);
}

static int
open_milter_socket(const struct config *cfg, char *err, size_t errlen)
{
	if (smfi_register(smime_filter) == MI_FAILURE) {
		snprintf(err, errlen, "smfi_register failed");
		return -1;
	}
	if (smfi_setconn((char *)cfg->socket.text) == MI_FAILURE ||
	    smfi_settimeout((int)cfg->milter_timeout) == MI_FAILURE) {
		snprintf(err, errlen, "cannot use socket %s", cfg->socket.text);
		return -1;
	}
	/* Remove a stale unix socket left by a crash before binding. */
	if (smfi_opensocket(true) == MI_FAILURE) {
		explain_open_failure(&cfg->socket, err, errlen);
		return -1;
	}
	if (cfg->socket.family == SOCK_FAMILY_UNIX) {
		/*
		 * Bound as root, the socket belongs to root: give it to
		 * UserID now, while we still may, so that UMask's group
		 * bits admit the MTA (a member of that group).
		 */
		if (cfg->user != NULL && socket_give(cfg->socket.path,
		    cfg->user, err, errlen) != 0)
			return -1;
		if ((cfg->file_umask & 002) == 0)
			log_msg(LOG_LVL_WARNING, "UMask %03o leaves %s "
			    "writable by every local user", cfg->file_umask,
			    cfg->socket.path);
		return 0;
	}
	/*
	 * At end of message libmilter writes each change and the verdict
	 * in a write of its own; Postfix answers none of them, so without
	 * TCP_NODELAY all but the first wait (Nagle) for an ACK Postfix
	 * delays by 40 ms.  (The other stall of this kind, at DATA, is
	 * avoided in cb_negotiate.)
	 */
	if (listener_nodelay(cfg->socket.port, err, errlen) != 0)
		log_msg(LOG_LVL_WARNING, "%s; expect ~40 ms more per message",
		    err);
	return 0;
}

/* Wait for signals until told to stop.  Runs in the main thread. */
static void
signal_loop(const sigset_t *set)
{
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		switch (sig) {
		case SIGHUP:
		case SIGUSR1:
			log_msg(LOG_LVL_INFO, "SIG%s: reloading "
			    "configuration", sigabbrev_np(sig));
			reload_signal(false);
			break;
		case SIGTERM:
		case SIGINT:
			log_msg(LOG_LVL_NOTICE, "SIG%s: shutting down",
			    sigabbrev_np(sig));
			return;
		default:
			break;
		}
	}
}

static int
run_daemon(const struct options *opt, struct runtime *rt)
{
	const struct config *cfg = rt->cfg;
	struct reload_args ra = { opt->config_path, opt->foreground };
	pthread_t milter_tid, reload_tid;
	int milter_result = MI_SUCCESS, pid_fd = -1;
	char *pid_path = NULL;
	char err[512];
	sigset_t set;

	/*
	 * Process-wide and for good, as admins know it from other milters:
	 * it shapes the socket and the pid file; the files that must stay
	 * private (spool, journal) are created 0600 whatever it says.
	 */
	umask((mode_t)cfg->file_umask);
	if (open_milter_socket(cfg, err, sizeof(err)) != 0)
		goto fail;
	if (!opt->foreground && daemon_detach(err, sizeof(err)) != 0)
		goto fail;
	if (cfg->pid_file != NULL) {
		pid_path = strdup(cfg->pid_file);
		if (pid_path == NULL || (pid_fd = pidfile_create(pid_path, err,
		    sizeof(err))) < 0)
			goto fail;
	}
	if (cfg->user != NULL) {
		if (drop_privileges(cfg->user, err, sizeof(err)) != 0)
			goto fail;
	} else if (geteuid() == 0) {
		log_msg(LOG_LVL_WARNING, "running as root: set UserID");
	}

	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	runtime_install(rt);	/* takes the reference: cfg stays valid below
				 * only until a reload, so copy what is logged */
	cfg = NULL;
	rt = runtime_current();
	log_msg(LOG_LVL_NOTICE, "smime-milter %s starting: socket %s, mode %s",
	    SMIME_MILTER_VERSION, rt->cfg->socket.text,
	    config_mode_name(rt->cfg->mode));
	runtime_release(rt);
	rt = NULL;
	if (pthread_create(&reload_tid, NULL, reload_thread, &ra) != 0 ||
	    pthread_create(&milter_tid, NULL, milter_thread,
	    &milter_result) != 0) {
		snprintf(err, sizeof(err), "cannot start threads");
		goto fail;
	}
	signal_loop(&set);
	stop_milter_thread(milter_tid);
	reload_signal(true);
	pthread_join(reload_tid, NULL);
	runtime_install(NULL);
	pidfile_remove(pid_path, pid_fd);
	free(pid_path);
	log_msg(LOG_LVL_NOTICE, "stopped");
	return milter_result == MI_SUCCESS ? 0 : EX_SOFTWARE;
fail:
	log_msg(LOG_LVL_ERROR, "%s", err);
	if (pid_path != NULL)
		pidfile_remove(pid_path, pid_fd);
	free(pid_path);
	runtime_release(rt);
	return EX_OSERR;
}

/*
 * Each message in progress holds a few files (its spool, the milter and
 * re-submission connections, spooled parts of its content), whatever its
 * number of copies; hundreds of concurrent SMTP sessions can still pass
 * systemd's default soft limit of 1,024: raise the soft limit on open
 * files to the hard one (the unit in contrib/ raises the hard one).
 */
static void
raise_file_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int
main(int argc, char **argv)
{
	struct options opt = { 0 };
	struct runtime *rt;
	char err[512];
	int rc;

	if (parse_args(argc, argv, &opt) != 0)
		return EX_USAGE;
	log_setup("smime-milter", false, 0, true, LOG_LVL_WARNING);
	raise_file_limit();
	rt = runtime_load(opt.config_path, NULL, err, sizeof(err));
	if (rt == NULL) {
		fprintf(stderr, "smime-milter: %s\n", err);
		return EX_CONFIG;
	}
	if (opt.check_only) {
		struct policy *p = runtime_policy(rt);
		char desc[512];

		certlookup_describe(rt->certs, desc, sizeof(desc));
		printf("smime-milter: %s: configuration OK (certificates: "
		    "%s; policy: %zu rules, %zu groups)\n", opt.config_path,
		    desc, policy_rule_count(p), policy_group_count(p));
		policy_release(p);
		runtime_release(rt);
		return 0;
	}
	apply_logging(rt->cfg, opt.foreground);
	log_runtime(rt);
	rc = run_daemon(&opt, rt);
	return rc;
}
