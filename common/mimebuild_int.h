/*
 * mimebuild_int.h -- what the files of the content builder share
 * (mimebuild.c, mimebuild_io.c, mimebuild_hdr.c, mimebuild_leaf.c): the
 * walk's context, the part and line types, and the functions one file
 * calls in another, all prefixed mb_.  Not an interface for other
 * modules: use mime_build_content() in mime.h.
 */
#ifndef SMIME_MIMEBUILD_INT_H
#define SMIME_MIMEBUILD_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mime.h"
#include "sink.h"

struct header;
struct spool;

#define RD_BUF (64 * 1024)	/* line reader window: longest piece */
#define CHUNK (64 * 1024)	/* body pass reads */
#define OUT_BUF (16 * 1024)	/* output batch */
#define MAX_LINE 998		/* RFC 5322 line limit, CRLF excluded */

enum cte {
	CTE_NONE = 0,		/* absent: 7bit */
	CTE_7BIT,
	CTE_8BIT,
	CTE_BINARY,
	CTE_QP,
	CTE_BASE64,
	CTE_OTHER,		/* x-uuencode and the like */
};

enum leaf_mode {
	LEAF_NORMAL,
	LEAF_OPAQUE,		/* multipart without a usable boundary */
	LEAF_GLOBAL,		/* message/rfc822 with an 8-bit header block */
	LEAF_VERBATIM,		/* multipart/signed: any change breaks it */
};

/* A line, or a piece of a line longer than the reader window. */
struct seg {
	const unsigned char *p;	/* valid until the next mb_lr_next() */
	size_t len;		/* line break excluded */
	uint64_t off;		/* spool offset of p[0] */
	uint64_t next;		/* offset after the piece and its line break */
	unsigned eol;		/* 0 none, 1 LF, 2 CRLF */
	bool cont;		/* continues the previous piece's line */
	bool partial;		/* the line goes on in the next piece */
};

struct lreader {
	unsigned char *buf;	/* RD_BUF bytes */
	uint64_t bufoff;	/* spool offset of buf[0] */
	size_t pos, len;	/* next byte, bytes held */
	bool midline;
};

/* How an entity ended: which delimiter, or the end of the body. */
struct bres {
	int idx;		/* boundary stack index, -1 for the end */
	bool close;		/* "--boundary--" */
};

/* A header block read from the body. */
struct hblock {
	struct header *h;
	size_t n, cap;
	size_t bytes;
	size_t lastlen, lastcap;	/* the last field's value */
};

struct part {
	const struct header *h;	/* the caller's (root) or own.h */
	size_t nh;
	struct hblock own;
	bool root;
	unsigned depth;
	struct mime_ctype ct;	/* parsed, or the default */
	bool ct_ok;		/* Content-Type absent or parsed */
	bool ct_synth;		/* write a Content-Type that was not there */
	bool ct_dirty;		/* write ct instead of the raw field */
	const struct header *cth, *cteh;
	enum cte cte;
};

struct ctx {
	const struct spool *sp;
	struct lreader rd;
	unsigned char *chunk;
	unsigned char *obuf;
	size_t olen;
	int lastc;		/* last byte written, -1 for none */
	const struct sink *out;
	struct sink osink;	/* into obuf: for encoders and field writers */
	const struct mime_options *opt;
	struct mime_info *info;
	struct mime_ctype *scratch;	/* Content-Disposition rewriting */
	const char *bnd[MIME_MAX_DEPTH + 1];
	size_t bndlen[MIME_MAX_DEPTH + 1];
	size_t nbnd;
	char *err;
	size_t errlen;
};

/* Space or tab: folding and delimiter-line whitespace. */
static inline bool
mb_is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

/* ---- mimebuild_io.c: output, line reader ---------------------------- */

/* Put what into c->err; returns -1 so that callers can return it. */
int mb_fail(struct ctx *c, const char *what);

/* Write the output batch through c->out and empty it. */
int mb_out_flush(struct ctx *c);

/* Append n bytes to the output batch (flushed when full). */
int mb_out_write(struct ctx *c, const void *p, size_t n);

/* mb_out_write() of a NUL-terminated string. */
int mb_out_puts(struct ctx *c, const char *s);

/* The write function of c->osink (arg is the struct ctx). */
int mb_osink_write(void *arg, const void *buf, size_t len, char *err,
    size_t errlen);

/* Position the line reader at spool offset off. */
void mb_lr_seek(struct ctx *c, uint64_t off);

/* The spool offset of the line reader's next byte. */
uint64_t mb_lr_tell(const struct ctx *c);

/* The next line or piece: 1, 0 at the end of the body, -1 on error. */
int mb_lr_next(struct ctx *c, struct seg *s);

/* Boundary stack index of the delimiter s is, or -1; *close for "--". */
int mb_match_boundary(const struct ctx *c, const struct seg *s, bool *close);

/* ---- mimebuild_hdr.c: header blocks in, header fields out ------------ */

/* Free the fields of hb and zero it. */
void mb_hb_free(struct hblock *hb);

/* Read the header block at start into hb; *body: where the body starts. */
int mb_read_headers(struct ctx *c, uint64_t start, struct hblock *hb,
    uint64_t *body);

/* Write p's header fields and the empty line (newcte: new CTE or NULL). */
int mb_write_headers(struct ctx *c, struct part *p, const char *newcte);

/* ---- mimebuild_leaf.c: leaves ------------------------------------------ */

/* Write a leaf entity (fields, then body in a 7-bit encoding). */
int mb_leaf(struct ctx *c, struct part *p, uint64_t start, struct bres *res,
    enum leaf_mode mode);

/* ---- mimebuild.c: parts, containers ------------------------------------ */

/* True for a CTE that leaves the bytes as they are (7bit, 8bit, binary). */
bool mb_identity_cte(enum cte cte);

#endif
