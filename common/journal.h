/*
 * journal.h -- which copies of a message were already re-submitted.
 *
 * When re-submitting the copies of a message fails half-way, the message
 * is tempfailed and the client sends it again later; without a record,
 * the copies that did go out would be sent twice.  The journal is one
 * small file per message fingerprint in JournalDir, holding one line per
 * copy handed over (a hash of its recipient list), written and synced
 * before the next copy is sent.
 *
 * The notice to the sender is recorded the same way.  The record is
 * dropped when the original is accepted (outbound_delivered).
 *
 * Guarantee: no copy is lost (the original is only accepted after every
 * copy and the notice were accepted by the MTA), and none is sent twice
 * after a failure on the milter's side unless the journal itself is lost
 * between the failure and the retry, or the retry comes after
 * JOURNAL_MAX_AGE.  Not covered: the original failing after the last
 * hand-over (the milter killed before its reply, the reply lost, the
 * MTA's own write error); the last part is not recorded when no notice
 * follows it (nothing of ours can fail after it), and the record is gone
 * once the original is accepted, so such a retry sends the copies again.
 * Keeping records after acceptance would make an identical later message
 * lose its copies, and a duplicate is the lesser harm.
 */
#ifndef SMIME_JOURNAL_H
#define SMIME_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct message;

#define JOURNAL_MAX_AGE (5 * 86400)	/* Postfix's maximal_queue_lifetime */
#define JOURNAL_KEY_LEN 64		/* hex SHA-256 */

/*
 * The fingerprint of msg, stable across retries of the same message:
 * envelope sender and sorted recipients, Message-ID, Date, From,
 * Subject, and the body; not Received (the MTA adds a new one each
 * time).  out gets JOURNAL_KEY_LEN hex digits.  0, or -1 (read error).
 */
int journal_fingerprint(const struct message *msg, char *out,
    size_t outlen);

/* The key of one copy: its recipients, in any order. */
void journal_copy_key(const char *const *rcpts, size_t n, char *out,
    size_t outlen);

/* Was this copy of that message already handed over? */
bool journal_has(const char *dir, const char *fingerprint,
    const char *copy_key);

/* Record it (appended and synced).  0, or -1 with a reason. */
int journal_add(const char *dir, const char *fingerprint,
    const char *copy_key, char *err, size_t errlen);

/* Every copy was handed over and the original accepted: forget it. */
void journal_forget(const char *dir, const char *fingerprint);

/* Remove records older than JOURNAL_MAX_AGE. */
void journal_expire(const char *dir, time_t now);

#endif
