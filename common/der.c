/*
 * der.c -- minimal DER headers: read and write.
 */
#include "der.h"

int
der_peek(const unsigned char *p, size_t avail, struct der_elem *e)
{
	uint64_t len;
	size_t n, i;

	if (avail < 2 || (p[0] & 0x1f) == 0x1f)
		return -1;
	e->tag = p[0];
	e->start = p;
	if (p[1] < 0x80) {
		len = p[1];
		e->hdrlen = 2;
	} else {
		n = p[1] & 0x7f;
		/* 0x80 is the indefinite form; more than 8 octets overflow. */
		if (n == 0 || n > 8 || avail < 2 + n || p[2] == 0)
			return -1;
		len = 0;
		for (i = 0; i < n; i++)
			len = len << 8 | p[2 + i];
		if (len < 0x80)
			return -1;	/* should have used the short form */
		e->hdrlen = 2 + n;
	}
	e->len = len;
	e->val = p + e->hdrlen;
	return 0;
}

struct der_cur
der_cursor(const void *p, size_t len)
{
	struct der_cur c = { p, len };

	return c;
}

struct der_cur
der_inside(const struct der_elem *e)
{
	return der_cursor(e->val, (size_t)e->len);
}

int
der_next(struct der_cur *c, unsigned char tag, struct der_elem *e)
{
	struct der_elem t;

	if (der_peek(c->p, c->left, &t) != 0)
		return -1;
	if (t.len > c->left - t.hdrlen)
		return -1;
	if (tag != 0 && t.tag != tag)
		return -1;
	*e = t;
	c->p += t.hdrlen + (size_t)t.len;
	c->left -= t.hdrlen + (size_t)t.len;
	return 0;
}

bool
der_at_end(const struct der_cur *c)
{
	return c->left == 0;
}

uint64_t
der_total(const struct der_elem *e)
{
	return e->hdrlen + e->len;
}

size_t
der_hdr_len(uint64_t len)
{
	size_t n = 0;

	if (len < 0x80)
		return 2;
	while (len != 0) {
		n++;
		len >>= 8;
	}
	return 2 + n;
}

size_t
der_put_hdr(unsigned char *out, unsigned char tag, uint64_t len)
{
	size_t hl = der_hdr_len(len), n, i;

	out[0] = tag;
	if (hl == 2) {
		out[1] = (unsigned char)len;
		return 2;
	}
	n = hl - 2;
	out[1] = (unsigned char)(0x80 | n);
	for (i = 0; i < n; i++)
		out[2 + i] = (unsigned char)(len >> (8 * (n - 1 - i)));
	return hl;
}
