/*
 * encsniff.c -- does a body its header calls encrypted hold encrypted
 * data?  Mail that is already encrypted passes the milter untouched, so
 * the Content-Type field alone must not decide that: a client that
 * writes "application/pkcs7-mime; smime-type=enveloped-data" (or
 * multipart/encrypted) over a clear body would otherwise send clear text
 * to a recipient whose mail must be encrypted.
 *
 * S/MIME: the body must be base64 (or binary) throughout and decode to a
 * CMS ContentInfo of type envelopedData or authEnvelopedData whose
 * length, when definite, is the length decoded.  PGP/MIME: an armored
 * "PGP MESSAGE" block must make up the body but for at most
 * PGP_OUTSIDE_MAX bytes (boundaries, the part headers, "Version: 1", a
 * short preamble).  Subject and other header fields of such mail are in
 * clear anyway; this check is against a client's mistake, not a sender
 * who wants to leak.
 */
#include "encsniff.h"

#include <ctype.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "message.h"
#include "mime.h"
#include "spool.h"

#define PGP_OUTSIDE_MAX	1024
#define HEAD_B64	64	/* base64 characters decoded for the header */

/* DER of the two content types (RFC 5652 6.1, RFC 5083 2.1). */
static const unsigned char oid_enveloped[] = { 0x06, 0x09, 0x2a, 0x86, 0x48,
    0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03 };
static const unsigned char oid_auth_enveloped[] = { 0x06, 0x0b, 0x2a, 0x86,
    0x48, 0x86, 0xf7, 0x0d, 0x01, 0x09, 0x10, 0x01, 0x17 };

/*
 * A ContentInfo header in der[0..n): SEQUENCE, its length, then one of
 * the two OIDs.  *total: the whole encoding's length, 0 if indefinite.
 */
static bool
cms_head_ok(const unsigned char *der, size_t n, uint64_t *total)
{
	size_t i = 2, k, len = 0;

	*total = 0;
	if (n < 2 || der[0] != 0x30)
		return false;
	if (der[1] == 0x80) {
		/* indefinite: BER, as some clients write */
	} else if (der[1] < 0x80) {
		len = der[1];
	} else {
		k = der[1] & 0x7f;
		if (k == 0 || k > 4 || n < 2 + k)
			return false;
		for (i = 2; i < 2 + k; i++)
			len = len << 8 | der[i];
	}
	if (der[1] != 0x80)
		*total = (uint64_t)i + len;
	if (n - i >= sizeof(oid_enveloped) && memcmp(der + i, oid_enveloped,
	    sizeof(oid_enveloped)) == 0)
		return true;
	return n - i >= sizeof(oid_auth_enveloped) && memcmp(der + i,
	    oid_auth_enveloped, sizeof(oid_auth_enveloped)) == 0;
}

static bool
is_b64(unsigned char c)
{
	return isalnum(c) || c == '+' || c == '/' || c == '=';
}

static bool
smime_body_ok(const struct message *msg)
{
	const struct header *cte = mime_find_header(msg->headers,
	    msg->nheaders, "Content-Transfer-Encoding");
	char buf[16384], err[128], head[HEAD_B64 + 1];
	unsigned char der[HEAD_B64];
	uint64_t off = 0, chars = 0, pad = 0, total;
	size_t nhead = 0;
	ssize_t n, i;
	bool base64;

	base64 = cte != NULL && strcasestr(cte->value, "base64") != NULL;
	if (!base64) {		/* binary: the DER itself */
		n = spool_read(msg->body, 0, buf, sizeof(buf), err,
		    sizeof(err));
		return n > 0 && cms_head_ok((unsigned char *)buf, (size_t)n,
		    &total) && (total == 0 || total ==
		    spool_size(msg->body));
	}
	while ((n = spool_read(msg->body, off, buf, sizeof(buf), err,
	    sizeof(err))) > 0) {
		off += (uint64_t)n;
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)buf[i];

			if (c == '\r' || c == '\n' || c == ' ' || c == '\t')
				continue;
			if (!is_b64(c) || (pad > 0 && c != '='))
				return false;	/* text, not base64 */
			if (c == '=')
				pad++;
			chars++;
			if (nhead < HEAD_B64)
				head[nhead++] = (char)c;
		}
	}
	if (n < 0 || nhead < 24 || pad > 2)
		return false;
	nhead -= nhead % 4;
	if (EVP_DecodeBlock(der, (unsigned char *)head, (int)nhead) < 0 ||
	    !cms_head_ok(der, nhead / 4 * 3, &total))
		return false;
	/* The encoding holds exactly the one ContentInfo it announces. */
	return total == 0 || total == chars / 4 * 3 - pad;
}

static bool
pgp_body_ok(const struct message *msg)
{
	static const char begin[] = "-----BEGIN PGP MESSAGE-----";
	static const char end[] = "-----END PGP MESSAGE-----";
	uint64_t size = spool_size(msg->body), off = 0, first = 0, last = 0;
	char buf[16384 + sizeof(begin)], err[128];
	size_t keep = 0;
	ssize_t n;
	bool seen = false;

	/* The armor lines may straddle reads: keep a tail each time. */
	while ((n = spool_read(msg->body, off, buf + keep, sizeof(buf) - keep,
	    err, sizeof(err))) > 0) {
		size_t len = keep + (size_t)n;
		const char *p;

		if (!seen && (p = memmem(buf, len, begin, sizeof(begin) - 1)) !=
		    NULL) {
			first = off - keep + (uint64_t)(p - buf);
			seen = true;
		}
		for (p = buf; seen && (p = memmem(p, len - (size_t)(p - buf),
		    end, sizeof(end) - 1)) != NULL; p++)
			last = off - keep + (uint64_t)(p - buf) + sizeof(end) -
			    1;
		off += (uint64_t)n;
		keep = len < sizeof(begin) ? len : sizeof(begin);
		memmove(buf, buf + len - keep, keep);
	}
	return n == 0 && seen && last > first &&
	    size - (last - first) <= PGP_OUTSIDE_MAX;
}

bool
encsniff_body_encrypted(const struct message *msg,
    const struct mime_info *info)
{
	if (info->is_smime_encrypted)
		return smime_body_ok(msg);
	if (info->is_pgp_encrypted)
		return pgp_body_ok(msg);
	return false;
}
