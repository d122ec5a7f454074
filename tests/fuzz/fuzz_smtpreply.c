/*
 * fuzz_smtpreply.c -- libFuzzer target for the SMTP client's reply
 * reader (smtpio.h).  The input is what a server sends; it is read reply
 * after reply until an error.  Every reply must have a code 200..599 and
 * a printable ASCII text; nothing may crash, hang or read out of bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "smtpio.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtpio io;
	struct smtp_reply r;
	char err[300];
	int sv[2];
	size_t i;

	if (size > 60000 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return 0;
	if (write(sv[1], data, size) != (ssize_t)size)
		abort();
	close(sv[1]);
	memset(&io, 0, sizeof(io));
	io.fd = sv[0];
	io.deadline = smtpio_deadline_in(5);
	while (smtpio_reply(&io, &r, NULL, NULL, err, sizeof(err)) == 0) {
		if (r.code < 200 || r.code > 599)
			abort();
		for (i = 0; r.text[i] != '\0'; i++)
			if (r.text[i] < 0x20 || r.text[i] > 0x7e)
				abort();
	}
	smtpio_close(&io);
	return 0;
}
