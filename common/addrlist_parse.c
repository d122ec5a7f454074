/*
 * addrlist_parse.c -- RFC 5322 address lists: a tokenizer and a parser
 * for one list element at a time (addrlist_parse() in addrlist.h).
 *
 * The grammar accepted (CFWS allowed between all tokens):
 *
 *   list     = [element] *("," [element])      empty elements: obsolete
 *   element  = mailbox / group
 *   group    = phrase ":" [mailbox] *("," [mailbox]) ";"
 *   mailbox  = [phrase] "<" [route] addrspec ">" / addrspec
 *            / addrspec "<" [route] addrspec ">"   (see parse_element)
 *   route    = *(",") "@" domain *("," *(",") ["@" domain]) ":"
 *   addrspec = local "@" domain
 *   local    = word *("." word)     empty words tolerated: ".a", "a..b"
 *   domain   = atom *("." atom) / literal
 *   phrase   = 1*(atom / quoted / ".")     encoded words are atoms
 *
 * No function calls itself: an element is at most group > mailbox >
 * angle address deep, and comments nest by a counter.
 */
#include "addrlist.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "address.h"
#include "addrlist_int.h"

/* ------------------------------------------------------------------ */
/* Tokens                                                               */

enum tok_type {
	TOK_END,
	TOK_ATOM,	/* atext run; an RFC 2047 encoded word is one too */
	TOK_QUOTED,	/* "..." */
	TOK_LITERAL,	/* [...] */
	TOK_SPECIAL,	/* one of < > @ , : ; . in ch */
	TOK_BAD,	/* anything else, or an unterminated/too deep part */
};

struct token {
	enum tok_type type;
	char ch;
	size_t start, end;	/* raw text, quotes/brackets included */
};

struct lexer {
	const char *s;
	size_t len, pos;
};

static bool
is_wsp(char c)
{
	/* CR and LF: folding, and lenient about bare ones. */
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * Skip white space and comments.  False for an unterminated comment
 * (everything up to the end is skipped) or one nested deeper than
 * ADDRLIST_MAX_COMMENT_DEPTH (skipped up to its end).
 */
static bool
skip_cfws(struct lexer *lx)
{
	size_t depth, deepest;
	char c;

	while (lx->pos < lx->len) {
		if (is_wsp(lx->s[lx->pos])) {
			lx->pos++;
			continue;
		}
		if (lx->s[lx->pos] != '(')
			return true;
		depth = deepest = 0;
		do {
			c = lx->s[lx->pos++];
			if (c == '\\' && lx->pos < lx->len)
				lx->pos++;
			else if (c == '(' && ++depth > deepest)
				deepest = depth;
			else if (c == ')')
				depth--;
		} while (depth > 0 && lx->pos < lx->len);
		if (depth > 0 || deepest > ADDRLIST_MAX_COMMENT_DEPTH)
			return false;
	}
	return true;
}

static struct token
next_token(struct lexer *lx)
{
	struct token t = { TOK_END, '\0', 0, 0 };
	unsigned char c;
	char close;

	if (!skip_cfws(lx)) {
		t.type = TOK_BAD;
		t.start = t.end = lx->pos;
		return t;
	}
	t.start = lx->pos;
	if (lx->pos == lx->len)
		return t;
	c = (unsigned char)lx->s[lx->pos];
	if (c == '"' || c == '[') {
		close = c == '"' ? '"' : ']';
		lx->pos++;
		while (lx->pos < lx->len && lx->s[lx->pos] != close)
			lx->pos += lx->s[lx->pos] == '\\' &&
			    lx->pos + 1 < lx->len ? 2 : 1;
		if (lx->pos == lx->len) {
			t.type = TOK_BAD;	/* unterminated */
		} else {
			lx->pos++;
			t.type = c == '"' ? TOK_QUOTED : TOK_LITERAL;
		}
	} else if (address_atext(c)) {
		while (lx->pos < lx->len &&
		    address_atext((unsigned char)lx->s[lx->pos]))
			lx->pos++;
		t.type = TOK_ATOM;
	} else {
		lx->pos++;
		if (c != '\0' && strchr("<>@,:;.", c) != NULL) {
			t.type = TOK_SPECIAL;
			t.ch = (char)c;
		} else {
			t.type = TOK_BAD;	/* ) ] \ controls NUL */
		}
	}
	t.end = lx->pos;
	return t;
}

static struct token
peek_token(struct lexer *lx)
{
	size_t save = lx->pos;
	struct token t = next_token(lx);

	lx->pos = save;
	return t;
}

static bool
is_special(struct token t, char ch)
{
	return t.type == TOK_SPECIAL && t.ch == ch;
}

/* ------------------------------------------------------------------ */
/* Elements                                                             */

struct parser {
	struct lexer lx;
	struct addrlist *out;
	char *err;
	size_t errlen;
	int bad;		/* unparseable elements */
	bool failed;		/* a hard error, in err */
	bool toolong;		/* local or domain overflowed */
	size_t llen, dlen;
	char local[ADDRESS_MAX + 1];	/* content: unquoted, unfolded */
	char domain[ADDRESS_MAX + 1];
	char addr[ADDRESS_MAX + 1];	/* canonical */
};

static void
put(struct parser *ps, char *buf, size_t *len, char c)
{
	if (*len == ADDRESS_MAX + 1)
		ps->toolong = true;
	else
		buf[(*len)++] = c;
}

/*
 * Append the content of token t: an atom as it is; a quoted string
 * without its quotes, quoted-pairs resolved, folding (CR, LF) removed
 * but its white space kept (RFC 5322 3.2.4); a domain literal with its
 * brackets, quoted-pairs resolved (obs-dtext) and all white space
 * removed (it only separates dtext, 3.4.1).  The lexer has made sure a
 * backslash is never the last byte inside quotes or brackets.
 */
static void
put_token(struct parser *ps, char *buf, size_t *len, struct token t)
{
	const char *s = ps->lx.s;
	size_t i;

	if (t.type == TOK_ATOM || is_special(t, '.')) {
		for (i = t.start; i < t.end; i++)
			put(ps, buf, len, s[i]);
		return;
	}
	if (t.type == TOK_LITERAL)
		put(ps, buf, len, '[');
	for (i = t.start + 1; i < t.end - 1; i++) {
		if (s[i] == '\\')
			put(ps, buf, len, s[++i]);
		else if (s[i] == '\r' || s[i] == '\n' ||
		    (t.type == TOK_LITERAL && is_wsp(s[i])))
			continue;
		else
			put(ps, buf, len, s[i]);
	}
	if (t.type == TOK_LITERAL)
		put(ps, buf, len, ']');
}

/* atom *("." atom) / literal, into ps->domain.  0 or -1. */
static int
parse_domain(struct parser *ps)
{
	struct token t = next_token(&ps->lx);

	ps->dlen = 0;
	if (t.type == TOK_LITERAL) {
		put_token(ps, ps->domain, &ps->dlen, t);
		return 0;
	}
	if (t.type != TOK_ATOM)
		return -1;
	put_token(ps, ps->domain, &ps->dlen, t);
	while (is_special(peek_token(&ps->lx), '.')) {
		put(ps, ps->domain, &ps->dlen, '.');
		(void)next_token(&ps->lx);
		t = next_token(&ps->lx);
		if (t.type != TOK_ATOM)
			return -1;		/* "a@b..c", "a@b." */
		put_token(ps, ps->domain, &ps->dlen, t);
	}
	return 0;
}

/*
 * local "@" domain into ps->local and ps->domain; the lexer is left just
 * after the domain.  0 or -1.  Words must be separated by dots ("john
 * doe@x" is refused), but empty words are tolerated (".a", "a..b": mail
 * systems that hand out such addresses exist; address_canonical() reads
 * them alike).
 */
static int
parse_addr_spec(struct parser *ps)
{
	enum { START, WORD, DOT } prev = START;
	struct token t;

	ps->llen = 0;
	ps->toolong = false;
	for (;;) {
		t = next_token(&ps->lx);
		if (t.type == TOK_ATOM || t.type == TOK_QUOTED) {
			if (prev == WORD)
				return -1;
			prev = WORD;
		} else if (is_special(t, '.')) {
			prev = DOT;
		} else if (is_special(t, '@') && prev != START) {
			break;
		} else {
			return -1;
		}
		put_token(ps, ps->local, &ps->llen, t);
	}
	if (parse_domain(ps) != 0 || ps->toolong)
		return -1;
	return 0;
}

/*
 * After "<": [route] addrspec ">".  The obsolete route's domains are
 * parsed (so that only a well-formed route is skipped) and forgotten.
 */
static int
parse_angle(struct parser *ps)
{
	size_t save = ps->lx.pos;
	struct token t = next_token(&ps->lx);
	bool commas = false;

	while (is_special(t, ',')) {
		commas = true;
		t = next_token(&ps->lx);
	}
	if (is_special(t, '@')) {
		for (;;) {
			if (parse_domain(ps) != 0)
				return -1;
			t = next_token(&ps->lx);
			while (is_special(t, ','))
				t = next_token(&ps->lx);
			if (is_special(t, ':'))
				break;
			if (!is_special(t, '@'))
				return -1;
		}
	} else if (commas) {
		return -1;
	} else {
		ps->lx.pos = save;
	}
	if (parse_addr_spec(ps) != 0)
		return -1;
	return is_special(next_token(&ps->lx), '>') ? 0 : -1;
}

enum element { EL_BAD, EL_MAILBOX, EL_GROUP };

/* The canonical form of the address just parsed into ps->addr. */
static enum element
compose(struct parser *ps)
{
	if (address_canonical_parts(ps->local, ps->llen, ps->domain,
	    ps->dlen, ps->addr, sizeof(ps->addr)) < 0)
		return EL_BAD;
	return EL_MAILBOX;
}

/*
 * One element, told apart by the token after the leading words: "<" a
 * name-addr, ":" the start of a group (consumed; not inside a group),
 * anything else a bare addr-spec.  A mailbox leaves the lexer after it,
 * for the caller to check what ends it.
 *
 * A display name is a phrase, but "john@example.org <john@example.org>"
 * is common enough to accept: a display name holding "@" or a domain
 * literal must be exactly one addr-spec; its address is display text
 * and is not taken (readers may show it, but only the angle address is
 * where the mail goes).
 */
static enum element
parse_element(struct parser *ps, bool in_group)
{
	size_t start = ps->lx.pos;
	bool words = false, odd = false;
	struct token t;

	for (;;) {
		t = next_token(&ps->lx);
		if (t.type == TOK_ATOM || t.type == TOK_QUOTED ||
		    is_special(t, '.'))
			words = true;
		else if (t.type == TOK_LITERAL || is_special(t, '@'))
			odd = true;
		else
			break;
	}
	if (is_special(t, '<')) {
		if (odd) {
			ps->lx.pos = start;
			if (parse_addr_spec(ps) != 0 ||
			    !is_special(next_token(&ps->lx), '<'))
				return EL_BAD;
		}
		return parse_angle(ps) == 0 ? compose(ps) : EL_BAD;
	}
	if (is_special(t, ':') && !in_group && words && !odd)
		return EL_GROUP;
	ps->lx.pos = start;
	return parse_addr_spec(ps) == 0 ? compose(ps) : EL_BAD;
}

/* Skip to the next "," (or ";" in a group) or the end, not past it. */
static void
resync(struct parser *ps, bool in_group)
{
	size_t save;
	struct token t;

	for (;;) {
		save = ps->lx.pos;
		t = next_token(&ps->lx);
		if (t.type == TOK_END || is_special(t, ',') ||
		    (in_group && is_special(t, ';'))) {
			ps->lx.pos = save;
			return;
		}
	}
}

/* True if t may end an element: ",", the end, or ";" in a group. */
static bool
ends_element(struct token t, bool in_group)
{
	return t.type == TOK_END || is_special(t, ',') ||
	    (in_group && is_special(t, ';'));
}

static void
parse_list(struct parser *ps)
{
	bool in_group = false;
	size_t save;
	struct token t;

	for (;;) {
		save = ps->lx.pos;
		t = next_token(&ps->lx);
		if (t.type == TOK_END) {
			if (in_group)
				ps->bad++;	/* "name: a@b" without ";" */
			return;
		}
		if (is_special(t, ','))
			continue;		/* an empty element */
		if (in_group && is_special(t, ';')) {
			in_group = false;
			if (!ends_element(peek_token(&ps->lx), false)) {
				ps->bad++;
				resync(ps, false);
			}
			continue;
		}
		ps->lx.pos = save;
		switch (parse_element(ps, in_group)) {
		case EL_GROUP:
			in_group = true;
			continue;
		case EL_MAILBOX:
			/* Taken only once the element is known to end here:
			 * "a@b junk" gives nothing. */
			if (ends_element(peek_token(&ps->lx), in_group)) {
				if (addrlist_add_canonical(ps->out, ps->addr,
				    ps->err, ps->errlen) != 0) {
					ps->failed = true;
					return;
				}
				continue;
			}
			break;
		case EL_BAD:
			break;
		}
		ps->bad++;
		resync(ps, in_group);
	}
}

int
addrlist_parse(const char *value, size_t len, struct addrlist *out,
    char *err, size_t errlen)
{
	struct parser *ps;
	int bad;

	assert(out != NULL && (value != NULL || len == 0));
	if (len > ADDRLIST_MAX_VALUE) {
		snprintf(err, errlen, "address list longer than %u bytes",
		    ADDRLIST_MAX_VALUE);
		return -1;
	}
	/* About 3 KB of buffers: kept off the callers' stacks. */
	if ((ps = calloc(1, sizeof(*ps))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	ps->lx.s = value;
	ps->lx.len = len;
	ps->out = out;
	ps->err = err;
	ps->errlen = errlen;
	parse_list(ps);
	bad = ps->failed ? -1 : ps->bad;
	free(ps);
	return bad;
}

