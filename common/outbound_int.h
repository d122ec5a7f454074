/*
 * outbound_int.h -- shared by the end-of-data files: outbound_build.c
 * (groups and copies), outbound_edit.c (header edits), outbound_submit.c
 * (re-submission).  Not for use elsewhere.
 */
#ifndef SMIME_OUTBOUND_INT_H
#define SMIME_OUTBOUND_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "outbound.h"

struct config;
struct header;

/*
 * Test hook, never set in production: passed to every envelope as
 * cms_options.test_corrupt_group, so that tests can see a copy fail its
 * self-check where the milter writes it.  0 (the default) is off.
 */
extern unsigned outbound_test_corrupt_group;

/* A recipient of a plan under its canonical address (address.h). */
struct mailbox_ref {
	char *canon;
	size_t idx;		/* into plan->r */
};

/*
 * The plan's recipients but lists, sorted by canonical address and then
 * by index: each mailbox is a run, its occurrences in envelope order.
 * 0 with *out (free with outbound_mailboxes_free) and *n, or -1 (OOM).
 */
int outbound_mailboxes(const struct outbound_plan *plan,
    struct mailbox_ref **out, size_t *n);
void outbound_mailboxes_free(struct mailbox_ref *v, size_t n);

/*
 * The journal fingerprint of msg (journal.h), kept in c->journal_fp from
 * the first call on.  NULL when the body cannot be read.
 */
const char *outbound_journal_fp(struct outbound_copy *c,
    const struct message *msg);

/* Free what outbound_build() kept for the extra copies (NULL: none). */
void outbound_state_free(struct outbound_state *st);

/* Append a recipient to delete from the transaction (copied).  0 or -1
 * (OOM). */
int outbound_add_drop(struct outbound_copy *c, const char *addr);

/* Append a header edit (name and value copied).  0 or -1 (OOM). */
int outbound_add_edit(struct outbound_copy *c, int op, const char *name,
    unsigned index, const char *value);

/*
 * The header fields as every copy's content sees them: without the
 * request header and markers, with the subject tag removed; the edits
 * that make the transaction's header so are added to c (with outer: also
 * the outer rules of outer.h for a protected copy).  *out is freed with
 * outbound_free_clean() whatever the result.  0 or -1 (OOM).
 */
int outbound_clean_headers(const struct config *cfg,
    const struct message *msg, struct header **out, size_t *n,
    struct outbound_copy *c, bool outer, bool protect, bool keep_marker);
void outbound_free_clean(const struct message *msg, struct header *h,
    size_t n);

/* Split a protected entity: its header fields become HE_ADD edits
 * (MIME-Version first), the rest c->body.  0 or -1 with a reason. */
int outbound_split_entity(const struct spool *entity,
    struct outbound_copy *c, const struct config *cfg, char *err,
    size_t errlen);

/*
 * The two ways a sender asks for protection (SPEC M4), for the side
 * that honours them (outbound_plan.c) and the side that removes them
 * from every copy (outbound_edit.c): is name the RequestHeader, and
 * does a Subject value carry the SubjectTag (then untagged gets the
 * Subject without it, unfolded)?
 */
bool outbound_is_request_header(const struct config *cfg, const char *name);
bool outbound_subject_untag(const struct config *cfg,
    const struct header *h, char *untagged, size_t len);

/*
 * The Message-ID a copy's marker covers (marker.h), unfolded into buf:
 * "" when too long for it, NULL when msg has none.  The side that makes
 * markers and the side that checks them both take it from here.
 */
const char *outbound_marker_id(const struct message *msg, char *buf,
    size_t len);

#endif
