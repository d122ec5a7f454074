/*
 * mime.h -- MIME parsing and the "content to protect".
 *
 * Header helpers (find, unfold, Content-Type/-Disposition parameters with
 * RFC 2231), a classifier that tells from the top-level header fields
 * whether a message is already encrypted or signed, and the builder of
 * the MIME entity that the signing and encryption steps consume: the
 * message's MIME header fields and body in canonical form (CRLF line
 * ends) and 7-bit safe, built in one streaming pass over the body spool
 * with memory independent of the body size (RFC 8551 section 3.1).
 *
 * Header field values are taken as the MTA delivers them (struct header
 * in message.h): raw, perhaps with a leading space and folded lines
 * ("\r\n\t..." or "\n\t...").
 */
#ifndef SMIME_MIME_H
#define SMIME_MIME_H

#include <stdbool.h>
#include <stddef.h>

struct header;
struct sink;
struct spool;

/* Limits.  Deeper nesting or longer header fields are errors. */
#define MIME_MAX_DEPTH 32		/* entities inside the root */
#define MIME_MAX_FIELD 65536		/* one header field, name + value */
#define MIME_MAX_PART_HEADER (1024 * 1024)	/* a body part's header block */
#define MIME_MAX_PART_FIELDS 1000	/* fields in one body part */
#define MIME_MAX_BOUNDARY 200		/* longer boundary: part is opaque */

/* Parameters kept per Content-Type and the text they may occupy. */
#define MIME_CT_MAXPARAMS 32
#define MIME_CT_POOL 8192

/* One parameter: offsets of NUL-terminated strings in mime_ctype.pool. */
struct mime_param {
	size_t name;		/* lower case, RFC 2231 suffixes removed */
	size_t value;		/* unquoted; continuations joined, decoded */
	size_t valuelen;	/* a decoded "%00" makes strlen() too short */
	size_t charset;		/* RFC 2231 charset, "" if none */
	bool extended;		/* the value came percent-encoded (RFC 2231) */
};

/*
 * A parsed Content-Type or Content-Disposition.  Self-contained (no
 * pointers), so it may be copied with memcpy; about 9 KiB, so keep it off
 * small stacks.
 */
struct mime_ctype {
	char type[64];		/* lower case: "text", "attachment" */
	char subtype[64];	/* lower case: "plain"; "" for a disposition */
	struct mime_param params[MIME_CT_MAXPARAMS];
	size_t nparams;
	bool truncated;		/* parameters dropped: too many, too long */
	size_t poolused;
	char pool[MIME_CT_POOL];
};

/* The RFC 9788 placeholder for an obscured Subject (hcp_baseline). */
#define MIME_HP_PLACEHOLDER "[...]"

struct mime_options {
	/*
	 * RFC 9788 header protection, "injected header fields": the root
	 * part gets copies of Subject, From, To, Cc, Date, Message-ID and
	 * Reply-To (never Bcc) and hp="cipher"/"clear" on its Content-Type;
	 * with "cipher" also one "HP-Outer:" field per copied field giving
	 * its outer value (mime_hp_outer_fields()).
	 */
	bool protect_headers;
	const char *hp_mode;	/* "cipher" (encrypted; NULL) or "clear" */
};

struct mime_info {
	bool is_mime;		/* Content-Type or MIME-Version present */
	bool is_multipart;	/* top-level multipart/ */
	bool reencoded;		/* some content was re-encoded for 7 bit */
	unsigned parts;		/* entities written, the root included */
	unsigned max_depth;	/* 0: the root is a leaf */
	bool is_smime_encrypted;	/* pkcs7-mime enveloped/authEnveloped */
	bool is_pgp_encrypted;	/* multipart/encrypted */
	bool is_signed;		/* multipart/signed or pkcs7-mime signed-data */
	/*
	 * The entity is not strictly 7-bit: a structured field (an address
	 * list, say) held 8-bit bytes and was copied as is (RFC 6532 mail;
	 * unstructured fields get RFC 2047 words instead), or a
	 * multipart/signed inside held 8-bit, NUL, bare CR or over-long
	 * lines and was kept verbatim, since re-encoding would break its
	 * signature (field lesson 1).
	 */
	bool kept_8bit;
};

/*
 * The first header field called name (case-insensitive), or NULL.  The
 * result points into h.
 */
const struct header *mime_find_header(const struct header *h, size_t n,
    const char *name);

/*
 * Unfold a raw header value into out (outlen bytes, NUL-terminated):
 * line breaks removed, leading and trailing whitespace trimmed.  Returns
 * the length, or -1 when out is too small (out then holds a truncated,
 * still terminated prefix).
 */
int mime_unfold(const char *raw, char *out, size_t outlen);

/*
 * Parse a Content-Type value ("text/plain; charset=utf-8") into ct.
 * Liberal: comments are skipped, unquoted values may hold tspecials
 * ("boundary=----=_Part_1"), malformed parameters are skipped, RFC 2231
 * continuations (name*0, name*1*) are joined in section order and
 * extended values (name*=utf-8''%E2%82%AC) percent-decoded, the first of
 * duplicate names wins.  Returns 0, or -1 when no type/subtype can be
 * read (ct then says text/plain without parameters, the RFC 2045
 * default).
 */
int mime_parse_content_type(const char *value, struct mime_ctype *ct);

/*
 * The same for Content-Disposition ("attachment; filename=x.pdf"): the
 * disposition type goes to ct->type, ct->subtype is "".  -1 when no type
 * can be read.
 */
int mime_parse_content_disposition(const char *value, struct mime_ctype *ct);

/* Value of parameter name (case-insensitive), or NULL.  Points into ct. */
const char *mime_ctype_param(const struct mime_ctype *ct, const char *name);

/* Name and value of the i-th parameter (i < ct->nparams). */
const char *mime_param_name(const struct mime_ctype *ct, size_t i);
const char *mime_param_value(const struct mime_ctype *ct, size_t i);

/*
 * Fill info's is_mime, is_multipart, is_smime_encrypted, is_pgp_encrypted
 * and is_signed from the top-level header fields alone (the rest of info
 * is zeroed).  Encrypted: application/(x-)pkcs7-mime with smime-type
 * enveloped-data or authEnveloped-data, or without smime-type but a name
 * or filename ending ".p7m" (RFC 8551 section 3.2.2); multipart/encrypted
 * (PGP/MIME).  Signed: multipart/signed, pkcs7-mime signed-data.  Always
 * returns 0.
 */
int mime_classify(const struct header *h, size_t n, struct mime_info *info);

/*
 * Write the content to protect to out: the message's MIME header fields
 * (every Content-* field: -Type, -Transfer-Encoding, -Disposition, -ID,
 * -Description, -Language, -Location, -Base, ...; not MIME-Version, From,
 * Subject, ...), an empty line and the body, every line ending in CRLF,
 * 7-bit safe:
 *
 *  - a leaf whose content has 8-bit bytes, NUL, bare CR or lines over
 *    998 octets (whatever its Content-Transfer-Encoding says, unless
 *    base64 or quoted-printable) is re-encoded: text/ and message/ types
 *    (but message/global) to quoted-printable, CRLF kept as hard line
 *    breaks, others to base64 in lines of 76, and its
 *    Content-Transfer-Encoding replaced; "8bit"/"binary" on clean content
 *    become "7bit";
 *  - base64 and quoted-printable parts are copied, only line ends made
 *    CRLF (not decoded: bad base64 stays bad); one that is not 7-bit
 *    clean is normalised (base64: non-alphabet bytes dropped, lines
 *    re-wrapped; quoted-printable: decoded leniently and re-encoded);
 *  - multipart/signed is copied verbatim (line ends made CRLF, nothing
 *    else), since any change would break its signature; info->kept_8bit
 *    tells when that leaves 8-bit content;
 *  - other multiparts are walked (RFC 2046 delimiters, transport padding
 *    allowed, a missing close delimiter is supplied, epilogues are
 *    dropped, preambles kept with 8-bit bytes replaced by '?');
 *    message/rfc822 is walked into; one whose header block is not 7-bit
 *    becomes message/global in base64 (RFC 6532); multipart/ without a
 *    usable boundary is opaque (application/octet-stream in base64 when
 *    not 7-bit);
 *  - of duplicate Content-Type or Content-Transfer-Encoding fields only
 *    the first, which decided how the entity was read, is written;
 *  - a message without Content-Type becomes text/plain with charset
 *    us-ascii, utf-8 (valid UTF-8) or unknown-8bit (RFC 1428), a text/
 *    part without charset that needs re-encoding gets one the same way;
 *  - Content-Type/-Disposition parameters with 8-bit bytes are rewritten
 *    in RFC 2231 form, unstructured fields with 8-bit bytes in RFC 2047
 *    encoded words.
 *
 * Lines of unfoldable header fields may stay over 998 octets; header
 * fields with invalid names are left out.
 *
 * headers: the message's header fields in order; body: the body as
 * received (CRLF or LF line ends); opt may be NULL (no header protection).
 * The body is read in 64 KiB chunks and written as it goes; memory stays
 * under about 0.5 MiB plus at most two body-part header blocks (each at
 * most MIME_MAX_PART_HEADER) whatever the body size.  info (may be NULL) is
 * filled in.  Returns 0, or -1 with a reason in err: nesting deeper than
 * MIME_MAX_DEPTH, a header field over MIME_MAX_FIELD, a part header block
 * over its limits, spool or sink errors, out of memory.  After an error
 * out holds a partial entity that must be discarded.
 */
int mime_build_content(const struct header *headers, size_t nheaders,
    const struct spool *body, const struct mime_options *opt,
    const struct sink *out, struct mime_info *info, char *err,
    size_t errlen);

/*
 * RFC 9788 header protection helpers for the caller that writes the outer
 * message.
 *
 * mime_hp_protected: true for the fields copied into the protected part
 * (Subject, From, To, Cc, Date, Message-ID, Reply-To).
 *
 * mime_hp_outer_value: the value such a field gets on the outer message
 * under hcp_baseline: MIME_HP_PLACEHOLDER for Subject, value (returned
 * as is) otherwise.  The caller replaces the outer Subject accordingly.
 *
 * mime_hp_outer_fields: write "HP-Outer: Name: outer value" CRLF for
 * every protected field of h, in message order (RFC 9788 section 2.2);
 * mime_build_content() writes them into the root part when hp_mode is
 * "cipher".  0, or -1 with a reason in err.
 */
bool mime_hp_protected(const char *name);
const char *mime_hp_outer_value(const char *name, const char *value);
int mime_hp_outer_fields(const struct header *h, size_t n,
    const struct sink *out, char *err, size_t errlen);

#endif
