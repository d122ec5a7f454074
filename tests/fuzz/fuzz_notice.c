/*
 * fuzz_notice.c -- libFuzzer target for the missing-certificate notice
 * (notice.h) and what it is made of: cleaning untrusted text, decoding
 * and writing encoded-words.
 *
 * The input is split at NUL bytes into Subject, Message-ID, queue id, an
 * address and a reason (missing parts are NULL).  The notice must build,
 * every line must end in CRLF with no other CR or LF and be at most 998
 * octets, header lines must be printable ASCII, Subject lines with an
 * encoded-word at most 76 characters, and the header must have exactly its
 * 9 fields plus In-Reply-To and References, or without both.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notice.h"
#include "sink.h"

static char *
next_part(const uint8_t **p, const uint8_t *end)
{
	const uint8_t *nul;
	char *s;

	if (*p >= end)
		return NULL;
	nul = memchr(*p, '\0', (size_t)(end - *p));
	if (nul == NULL)
		nul = end;
	s = malloc((size_t)(nul - *p) + 1);
	memcpy(s, *p, (size_t)(nul - *p));
	s[nul - *p] = '\0';
	*p = nul + 1;
	return s;
}

static void
check(const unsigned char *d, size_t len)
{
	size_t i, start = 0, fields = 0;
	int header = 1, irt = 0, subject = 0;

	for (i = 0; i < len; i++) {
		if (d[i] == '\r' && (i + 1 == len || d[i + 1] != '\n'))
			abort();
		if (d[i] == '\n' && (i == 0 || d[i - 1] != '\r'))
			abort();
		if (d[i] != '\n')
			continue;
		if (i - 1 - start > 998)
			abort();
		if (header && i - 1 == start) {
			header = 0;
		} else if (header) {
			const unsigned char *l = d + start;
			size_t n = i - 1 - start, k;

			for (k = 0; k < n; k++)
				if (l[k] < 0x20 || l[k] > 0x7e)
					abort();
			if (l[0] != ' ' && l[0] != '\t') {
				fields++;
				subject = n > 8 && memcmp(l, "Subject:", 8) ==
				    0;
			}
			/* Encoded-words are only in the Subject (a msg-id
			 * may hold "=?" as plain text). */
			if (subject && memmem(l, n, "=?", 2) != NULL && n > 76)
				abort();
			if (n > 12 && memcmp(l, "In-Reply-To:", 12) == 0)
				irt = 1;
		}
		start = i + 1;
	}
	if (start != len || header || fields != (irt ? 11u : 9u))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *p = data, *end = data + size;
	char *subject = next_part(&p, end), *msgid = next_part(&p, end);
	char *qid = next_part(&p, end), *addr = next_part(&p, end);
	char *reason = next_part(&p, end), err[300];
	struct notice_entry e = { addr != NULL ? addr : "x@example.org",
	    reason };
	struct notice_info in = {
		.from = "postmaster@gw.example", .to = "a@example.org",
		.orig_subject = subject, .orig_message_id = msgid,
		.queue_id = qid, .hostname = "gw.example",
		.request_header = "X-SMIME-Request",
		.allow_plain_ok_hint = size % 2 == 0, .date = 1700000000,
	};
	struct membuf mb = { 0 };
	struct sink s = sink_to_membuf(&mb);

	if (notice_build(&in, &e, 1, &s, err, sizeof(err)) != 0)
		abort();
	check(mb.data, mb.len);
	free(mb.data);
	free(subject);
	free(msgid);
	free(qid);
	free(addr);
	free(reason);
	return 0;
}
