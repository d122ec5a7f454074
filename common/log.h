/*
 * log.h -- one logging front end for the daemon, smimectl and the tests.
 *
 * Lines go to syslog (when enabled) and/or to stderr (foreground runs,
 * tests).  Every line about a message starts with the MTA queue id, then
 * key=value fields: "QID: action=accept from=<a@b> ...".  Never pass key
 * material or passwords to these functions.
 */
#ifndef SMIME_LOG_H
#define SMIME_LOG_H

#include <stdbool.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARNING,
	LOG_LVL_NOTICE,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

/*
 * Configure the sinks.  ident: program name for syslog and stderr prefix
 * (not copied: must outlive logging).  facility: a LOG_* syslog facility.
 * Safe to call again on reload; thread-safe with respect to log_msg().
 */
void log_setup(const char *ident, bool use_syslog, int facility,
    bool use_stderr, enum log_level level);

/* Change only the threshold (config reload). */
void log_set_level(enum log_level level);

/* True when a line of this level would be written anywhere. */
bool log_enabled(enum log_level level);

/* printf-style; a trailing newline is added. */
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Like log_msg, prefixed with "QID: " ("NOQUEUE: " when qid is NULL). */
void log_qid(enum log_level level, const char *qid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
