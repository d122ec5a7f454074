/*
 * addrlist.h -- the addresses in To, Cc and Resent-To/Resent-Cc header
 * fields (RFC 5322 section 3.4 address-list, obsolete syntax of section
 * 4.4 tolerated, UTF-8 of RFC 6532 allowed), to tell visible recipients
 * from hidden (Bcc) ones (SPEC M2).
 *
 * Safety rule.  An envelope recipient wrongly taken for visible has its
 * RecipientInfo put into the copy every visible recipient gets: a Bcc
 * leak.  One wrongly taken for hidden only gets a copy of its own.  So
 * every doubt resolves to "not visible":
 *   - a list element (a mailbox, or a group member) that does not parse
 *     completely -- up to the "," or ";" that ends it -- contributes no
 *     address at all, not even one that seems to be in it; it is counted
 *     as unparseable instead;
 *   - display names (words, quoted strings, RFC 2047 encoded words) and
 *     comments are display text: an address inside them is never taken;
 *   - addresses compare by their canonical form (address.h): the domain
 *     case-insensitively, the local part by content ("john"@Example.ORG
 *     is john@example.org) but case-sensitively, so "Bob@x" in the
 *     envelope is hidden when the header shows "bob@x";
 *   - of repeated To or Cc fields only the first counts, and a resent
 *     block narrows the visible set (addrlist_visible_from_headers()).
 *
 * Cost: time linear in the length of a value (each element is read at
 * most a few times), no recursion (group and mailbox nesting is fixed by
 * the grammar; comments nest by a counter).  Bounds: a value longer than ADDRLIST_MAX_VALUE and a list
 * that would exceed ADDRLIST_MAX_ADDRS are errors (the caller tempfails);
 * an address whose canonical form exceeds ADDRESS_MAX is unparseable.
 */
#ifndef SMIME_ADDRLIST_H
#define SMIME_ADDRLIST_H

#include <stdbool.h>
#include <stddef.h>

struct header;

#define ADDRLIST_MAX_VALUE (1024u * 1024u)	/* bytes in one value */
#define ADDRLIST_MAX_ADDRS 10000	/* distinct addresses in a list */
#define ADDRLIST_MAX_COMMENT_DEPTH 64	/* deeper: element unparseable */

/*
 * Distinct canonical addresses (address.h) in the order first seen.  The
 * list owns the strings; read items[0..count) directly, change the list
 * only through these functions.  Start from ADDRLIST_INIT (or zeroes);
 * addrlist_free() releases everything and leaves an empty list.
 */
struct addrlist {
	char **items;
	size_t count;
	/* private: items sorted with strcmp(), for look-ups */
	char **sorted;
	size_t cap;
};

#define ADDRLIST_INIT { NULL, 0, NULL, 0 }

void addrlist_free(struct addrlist *l);

/*
 * Append to out every address of the header field value value[0..len):
 * raw as the MTA passes it (leading white space, folding with CRLF or LF
 * plus white space, NUL bytes and 8-bit bytes are all possible).  Handles
 * display names, angle addresses, comments, groups (empty ones too),
 * quoted local parts, domain literals, obsolete routes ("<@a,@b:u@c>"),
 * obsolete local parts and domains with white space and comments between
 * their dots, and empty list elements ("a@b,,c@d").  Addresses already in
 * out are not added again.
 *
 * Returns the number of list elements that could not be parsed (0 for a
 * clean value; "a@b, garbage" gives 1 and appends a@b), or -1 with a
 * reason in err if the value is longer than ADDRLIST_MAX_VALUE, out would
 * hold more than ADDRLIST_MAX_ADDRS addresses, or memory ran out.  After
 * -1, out holds what was appended before the error; free it as usual.
 */
int addrlist_parse(const char *value, size_t len, struct addrlist *out,
    char *err, size_t errlen);

/*
 * True if the list holds the address addr, an envelope address in any
 * form address_canonical() reads ("<Bob@Example.ORG>", bare, already
 * canonical): it is made canonical here, so the domain compares
 * case-insensitively and the local part exactly (see the safety rule
 * above: a local part that differs in case only is a different, hence
 * hidden, recipient).  False, too, if addr is not an address at all.
 */
bool addrlist_contains(const struct addrlist *l, const char *addr);

/*
 * The visible recipients of a message, appended to out, from its header
 * fields h[0..n) in message order (struct header, message.h): the
 * addresses of the first To field and the first Cc field (RFC 5322
 * allows one of each; readers disagree about showing repeated ones, so
 * repeated ones do not count) -- but if the message has a resent block,
 * only those of them that are also in the Resent-To or Resent-Cc field
 * of its topmost block.
 *
 * Why the intersection: a message with a resent block (RFC 5322 3.6.6)
 * is either being resent, and then its envelope holds the recipients of
 * the resending, named in the topmost block (someone in the original To
 * may receive it now as Resent-Bcc: visible in To, hidden in this
 * transmission), or it merely carries an old block along, and then To
 * and Cc name its recipients (someone in the old Resent-To may be a Bcc
 * now).  Nothing in the message tells the two apart reliably, so an
 * address is visible only if it is visible under both readings.  The
 * cost is an individual copy for resent-to recipients who are not also
 * in To or Cc; resending is rare and usually to one recipient.
 *
 * The topmost block is the first run of adjacent fields named
 * Resent-Date, -From, -Sender, -To, -Cc, -Bcc or -Message-ID; any other
 * field, or a name seen before in the run, ends it (RFC 5322 allows each
 * once per block; fields after it belong to older resendings).  A block
 * without Resent-To and Resent-Cc makes nobody visible.
 *
 * Field names compare case-insensitively.  Returns the number of
 * unparseable elements summed over the fields read, or -1 with a reason
 * in err as for addrlist_parse().
 */
int addrlist_visible_from_headers(const struct header *h, size_t n,
    struct addrlist *out, char *err, size_t errlen);

#endif
