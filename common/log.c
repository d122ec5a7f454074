/*
 * log.c -- syslog/stderr sinks with a level threshold.
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *log_ident = "smime-milter";
static bool log_to_syslog;
static bool log_to_stderr = true;
static enum log_level log_threshold = LOG_LVL_INFO;

static const int syslog_priority[] = {
	[LOG_LVL_ERROR] = LOG_ERR,
	[LOG_LVL_WARNING] = LOG_WARNING,
	[LOG_LVL_NOTICE] = LOG_NOTICE,
	[LOG_LVL_INFO] = LOG_INFO,
	[LOG_LVL_DEBUG] = LOG_DEBUG,
};

void
log_setup(const char *ident, bool use_syslog, int facility, bool use_stderr,
    enum log_level level)
{
	pthread_mutex_lock(&log_lock);
	if (log_to_syslog)
		closelog();
	log_ident = ident;
	log_to_syslog = use_syslog;
	log_to_stderr = use_stderr;
	log_threshold = level;
	if (use_syslog)
		openlog(ident, LOG_PID | LOG_NDELAY, facility);
	pthread_mutex_unlock(&log_lock);
}

void
log_set_level(enum log_level level)
{
	pthread_mutex_lock(&log_lock);
	log_threshold = level;
	pthread_mutex_unlock(&log_lock);
}

bool
log_enabled(enum log_level level)
{
	bool on;

	pthread_mutex_lock(&log_lock);
	on = level <= log_threshold && (log_to_syslog || log_to_stderr);
	pthread_mutex_unlock(&log_lock);
	return on;
}

/*
 * Replace control characters so that untrusted text (addresses, header
 * values) can never forge a second log line.
 */
static void
sanitize_line(char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			*s = '?';
	}
}

static void
log_emit(enum log_level level, const char *qid, bool with_qid,
    const char *fmt, va_list ap)
{
	char line[2048];
	int off = 0;

	if (!log_enabled(level))
		return;
	if (with_qid)
		off = snprintf(line, sizeof(line), "%s: ",
		    qid != NULL ? qid : "NOQUEUE");
	if (off < 0 || (size_t)off >= sizeof(line))
		off = 0;
	vsnprintf(line + off, sizeof(line) - (size_t)off, fmt, ap);
	sanitize_line(line);

	pthread_mutex_lock(&log_lock);
	if (log_to_syslog)
		syslog(syslog_priority[level], "%s", line);
	if (log_to_stderr)
		fprintf(stderr, "%s[%ld]: %s\n", log_ident, (long)getpid(),
		    line);
	pthread_mutex_unlock(&log_lock);
}

void
log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(level, NULL, false, fmt, ap);
	va_end(ap);
}

void
log_qid(enum log_level level, const char *qid, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(level, qid, true, fmt, ap);
	va_end(ap);
}
