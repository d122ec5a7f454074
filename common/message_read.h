/*
 * message_read.h -- fill a struct message from a whole RFC 5322 message
 * (header section, empty line, body) read from a stream: smimectl
 * process, tests, and later the copies read back for reinjection.
 *
 * Header fields are split as the MTA passes them to a milter: name, and
 * the raw value after the colon (leading space and folding kept; folded
 * lines joined with CRLF).  The body goes to the message's spool as it
 * is, so the same size limits and bounded memory apply.
 */
#ifndef SMIME_MESSAGE_READ_H
#define SMIME_MESSAGE_READ_H

#include <stddef.h>
#include <stdio.h>

#include "message.h"

/* Longest header line accepted (a folded field may have many lines). */
#define MESSAGE_READ_MAX_LINE (1024 * 1024)

/*
 * Read from in into msg (made with message_new).  A header section
 * without an empty line after it (end of input) is a message without a
 * body.  Lines that are not fields in the header section (no colon) end
 * it and start the body, as Postfix treats them.  Returns MSG_OK, or
 * MSG_TOO_BIG / MSG_TEMPFAIL with msg->reason set.
 */
enum msg_status message_read(struct message *msg, FILE *in);

#endif
