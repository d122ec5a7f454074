/*
 * ldapgroup.c -- resolve an LDAP group to its mail addresses (see
 * ldapgroup.h): a breadth-first walk over member DNs on one connection.
 *
 * Why pipelined: a group of thousands of members means thousands of
 * entries to read, one base search each (reading an entry by its DN is
 * the one way every directory supports).  One after another they would
 * cost a round trip each; instead up to WINDOW searches are kept in
 * flight on the connection and their answers taken as they come.
 *
 * Why fail closed: a policy rule for @sales that sees only part of sales
 * treats the others as outsiders (perhaps sending them mail in clear), so
 * any doubt about the membership is an error, never a shorter list.  Only
 * entries that certainly give no address (gone, not a DN, no mail) are
 * skipped.
 *
 * Cycles: every DN is remembered in normalised form (ldap_dn_normalize:
 * syntax, not case) when it is queued and is never queued again, so a
 * walk ends after at most one read per distinct member value in the
 * directory.  An entry named under two spellings ("cn=A" and "CN=a") is
 * read twice, which costs a search and adds nothing: its own member
 * values are the same strings both times, so they are not queued again.
 */
#include "ldapgroup.h"

#include <assert.h>
#include <search.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldap.h>

#include "ldapconn.h"
#include "ldapspec.h"
#include "log.h"
#include "memberlist.h"

#define WINDOW		32	/* base searches in flight */
#define LOG_VALUE_MAX	200	/* bytes of a skipped value in the log */

/* The attributes read from every entry, and their slots. */
enum attr_slot {
	A_CLASS, A_MAIL, A_MEMBER, A_UNIQUE, A_RFC822, A_MGRP, A_COUNT
};

static char *read_attrs[A_COUNT + 1] = {
	"objectClass", "mail", "member", "uniqueMember", "rfc822MailMember",
	"mgrpRFC822MailMember", NULL
};

static const char *const group_classes[] = {
	"groupOfNames", "groupOfUniqueNames", "nisMailAlias",
};

struct pending {
	const char *dn;		/* normalised; owned by walk.seen */
	unsigned depth;		/* 0: the group itself */
	int msgid;		/* while in flight */
};

struct walk {
	const struct ldap_spec *spec;
	LDAP *ld;
	struct timespec deadline;
	void *seen;		/* tsearch tree of normalised DNs (owned) */
	struct pending *queue;	/* DNs to read, in the order found */
	size_t qhead, qlen, qcap;
	struct pending flight[WINDOW];
	size_t nflight;
	size_t entries;		/* entries read */
	struct member_list found;
	char *err;
	size_t errlen;
};

static int walk_fail(struct walk *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* err = the formatted reason; returns -1. */
static int
walk_fail(struct walk *w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(w->err, w->errlen, fmt, ap);
	va_end(ap);
	return -1;
}

static int
cmp_dn(const void *a, const void *b)
{
	return strcmp(a, b);
}

/*
 * Remember dn.  Returns 1 if it is new (*stored: the tree's copy), 0 if
 * it was seen before, -1 when out of memory.
 */
static int
seen_add(struct walk *w, const char *dn, const char **stored)
{
	char *copy, **node;

	if ((copy = strdup(dn)) == NULL)
		return -1;
	if ((node = tsearch(copy, &w->seen, cmp_dn)) == NULL) {
		free(copy);
		return -1;
	}
	if (*node != copy) {
		free(copy);
		return 0;
	}
	*stored = copy;
	return 1;
}

/*
 * value (len bytes, not NUL-terminated) as a normalised DN in *out (free
 * with ldap_memfree).  Returns -1 if it is not a DN, is empty (the root
 * DSE is nobody's member) or is longer than MEMBER_VALUE_MAX.
 */
static int
normalise_dn(const char *value, size_t len, char **out)
{
	char buf[MEMBER_VALUE_MAX + 1];

	*out = NULL;
	if (len == 0 || len > MEMBER_VALUE_MAX ||
	    memchr(value, '\0', len) != NULL)
		return -1;
	memcpy(buf, value, len);
	buf[len] = '\0';
	if (ldap_dn_normalize(buf, LDAP_DN_FORMAT_LDAPV3, out,
	    LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || *out == NULL)
		return -1;
	if ((*out)[0] == '\0') {
		ldap_memfree(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* Queue dn (normalised) for reading at depth, unless seen before. */
static int
enqueue(struct walk *w, const char *dn, unsigned depth)
{
	struct pending *nq;
	const char *stored;
	size_t ncap;
	int rc;

	if ((rc = seen_add(w, dn, &stored)) < 0)
		return walk_fail(w, "out of memory");
	if (rc == 0)
		return 0;
	/* The group itself is queue[0]; the rest are member DNs. */
	if (w->qlen > LDAPGROUP_MAX_MEMBERS)
		return walk_fail(w, "more than %d member entries",
		    LDAPGROUP_MAX_MEMBERS);
	if (w->qlen == w->qcap) {
		ncap = w->qcap < 64 ? 64 : w->qcap * 2;
		if ((nq = realloc(w->queue, ncap * sizeof(*nq))) == NULL)
			return walk_fail(w, "out of memory");
		w->queue = nq;
		w->qcap = ncap;
	}
	w->queue[w->qlen].dn = stored;
	w->queue[w->qlen].depth = depth;
	w->queue[w->qlen].msgid = -1;
	w->qlen++;
	return 0;
}

static void
log_skip(const struct walk *w, enum log_level lvl, const char *dn,
    const char *attr, const struct berval *v, const char *why)
{
	log_msg(lvl, "ldap=%s dn=\"%s\" attr=%s value=\"%.*s\": skipped: %s",
	    w->spec->name, dn, attr, (int)(v->bv_len > LOG_VALUE_MAX ?
	    LOG_VALUE_MAX : v->bv_len), v->bv_val, why);
}

/* Values of attr that are addresses go into the list. */
static int
take_addresses(struct walk *w, struct berval **vals, const char *dn,
    const char *attr)
{
	char addr[MEMBER_VALUE_MAX + 1];
	size_t i;

	for (i = 0; vals != NULL && vals[i] != NULL; i++) {
		if (member_address(vals[i]->bv_val, vals[i]->bv_len, addr,
		    sizeof(addr)) != 0) {
			log_skip(w, LOG_LVL_DEBUG, dn, attr, vals[i],
			    "not one address");
			continue;
		}
		switch (member_list_add(&w->found, addr)) {
		case 0:
			break;
		case 1:
			return walk_fail(w, "more than %d members",
			    LDAPGROUP_MAX_MEMBERS);
		default:
			return walk_fail(w, "out of memory");
		}
	}
	return 0;
}

/* Values of attr that are DNs are queued at depth. */
static int
take_member_dns(struct walk *w, struct berval **vals, bool unique,
    unsigned depth, const char *dn, const char *attr)
{
	char *norm;
	size_t i, len;
	int rc;

	for (i = 0; vals != NULL && vals[i] != NULL; i++) {
		len = vals[i]->bv_len;
		if (unique && len <= MEMBER_VALUE_MAX)
			len = member_dn_length(vals[i]->bv_val, len);
		if (normalise_dn(vals[i]->bv_val, len, &norm) != 0) {
			log_skip(w, LOG_LVL_DEBUG, dn, attr, vals[i],
			    "not a DN");
			continue;
		}
		rc = enqueue(w, norm, depth);
		ldap_memfree(norm);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static bool
is_group(struct berval **vals[A_COUNT])
{
	size_t i, j;

	if (vals[A_MEMBER] != NULL || vals[A_UNIQUE] != NULL ||
	    vals[A_RFC822] != NULL || vals[A_MGRP] != NULL)
		return true;
	for (i = 0; vals[A_CLASS] != NULL && vals[A_CLASS][i] != NULL; i++)
		for (j = 0; j < sizeof(group_classes) /
		    sizeof(group_classes[0]); j++)
			if (vals[A_CLASS][i]->bv_len ==
			    strlen(group_classes[j]) &&
			    strncasecmp(vals[A_CLASS][i]->bv_val,
			    group_classes[j], vals[A_CLASS][i]->bv_len) == 0)
				return true;
	return false;
}

/* A group: its address values and member DNs.  Else: its mail. */
static int
take_values(struct walk *w, const struct pending *p, const char *dn,
    struct berval **vals[A_COUNT])
{
	if (!is_group(vals)) {
		if (p->depth == 0)
			return walk_fail(w, "\"%s\" is not a group (no "
			    "member attributes)", p->dn);
		if (vals[A_MAIL] == NULL)
			log_msg(LOG_LVL_DEBUG, "ldap=%s dn=\"%s\": member "
			    "without mail; skipped", w->spec->name, dn);
		return take_addresses(w, vals[A_MAIL], dn, "mail");
	}
	if (p->depth > LDAPGROUP_MAX_DEPTH)
		return walk_fail(w, "groups nested more than %d deep (at "
		    "\"%s\")", LDAPGROUP_MAX_DEPTH, dn);
	if (take_addresses(w, vals[A_RFC822], dn, read_attrs[A_RFC822]) != 0 ||
	    take_addresses(w, vals[A_MGRP], dn, read_attrs[A_MGRP]) != 0 ||
	    take_member_dns(w, vals[A_MEMBER], false, p->depth + 1, dn,
	    read_attrs[A_MEMBER]) != 0 ||
	    take_member_dns(w, vals[A_UNIQUE], true, p->depth + 1, dn,
	    read_attrs[A_UNIQUE]) != 0)
		return -1;
	return 0;
}

/* The entry read for p. */
static int
take_entry(struct walk *w, const struct pending *p, LDAPMessage *entry)
{
	struct berval **vals[A_COUNT] = { NULL };
	char *dn;
	size_t i;
	int rc;

	if ((dn = ldap_get_dn(w->ld, entry)) == NULL)
		return walk_fail(w, "out of memory");
	w->entries++;
	for (i = 0; i < A_COUNT; i++)
		vals[i] = ldap_get_values_len(w->ld, entry, read_attrs[i]);
	rc = take_values(w, p, dn, vals);
	for (i = 0; i < A_COUNT; i++)
		ldap_value_free_len(vals[i]);
	ldap_memfree(dn);
	return rc;
}

static int
timed_out(struct walk *w)
{
	return walk_fail(w, "timed out after %us (%zu entries read)",
	    w->spec->timeout, w->entries);
}

/* Send the search for the next queued DN. */
static int
send_next(struct walk *w)
{
	struct pending *p = &w->queue[w->qhead];
	struct timeval tv;
	int rc;

	if (ldapconn_remaining_tv(&w->deadline, &tv) != 0)
		return timed_out(w);
	rc = ldap_search_ext(w->ld, p->dn, LDAP_SCOPE_BASE, "(objectClass=*)",
	    read_attrs, 0, NULL, NULL, &tv, 1, &p->msgid);
	if (rc != LDAP_SUCCESS) {
		ldapconn_reason(w->ld, rc, "search", w->err, w->errlen);
		return -1;
	}
	w->flight[w->nflight++] = *p;
	w->qhead++;
	return 0;
}

/* What a search for p ended with, when it gave no entry. */
static int
no_entry(struct walk *w, const struct pending *p, int code,
    const char *diag)
{
	const char *why = ldap_err2string(code);

	if (p->depth == 0) {
		if (code == LDAP_NO_SUCH_OBJECT || code == LDAP_SUCCESS)
			return walk_fail(w, "no such group \"%s\"", p->dn);
		if (code == LDAP_REFERRAL)
			return walk_fail(w, "group \"%s\" is a referral (not "
			    "followed)", p->dn);
	} else if (code == LDAP_NO_SUCH_OBJECT || code == LDAP_SUCCESS ||
	    code == LDAP_REFERRAL || code == LDAP_INVALID_DN_SYNTAX) {
		log_msg(LOG_LVL_NOTICE, "ldap=%s dn=\"%s\": member entry not "
		    "read (%s); skipped", w->spec->name, p->dn,
		    code == LDAP_SUCCESS ? "no entry" : why);
		return 0;
	}
	if (diag != NULL && diag[0] != '\0')
		return walk_fail(w, "read \"%s\": %s (%s)", p->dn, why, diag);
	return walk_fail(w, "read \"%s\": %s", p->dn, why);
}

/* Wait for one complete answer and take it. */
static int
receive_one(struct walk *w)
{
	LDAPMessage *res = NULL, *msg, *entry = NULL;
	struct pending p;
	struct timeval tv;
	char *diag = NULL;
	size_t i;
	int rc, code = LDAP_OTHER;

	if (ldapconn_remaining_tv(&w->deadline, &tv) != 0)
		return timed_out(w);
	rc = ldap_result(w->ld, LDAP_RES_ANY, LDAP_MSG_ALL, &tv, &res);
	if (rc == 0) {
		rc = timed_out(w);
		goto cleanup;
	}
	if (rc < 0) {
		ldap_get_option(w->ld, LDAP_OPT_RESULT_CODE, &code);
		ldapconn_reason(w->ld, code, "search", w->err, w->errlen);
		rc = -1;
		goto cleanup;
	}
	for (i = 0; i < w->nflight; i++)
		if (w->flight[i].msgid == ldap_msgid(res))
			break;
	rc = 0;
	if (i == w->nflight)
		goto cleanup;	/* not ours (cannot happen): ignore */
	p = w->flight[i];
	w->flight[i] = w->flight[--w->nflight];
	for (msg = ldap_first_message(w->ld, res); msg != NULL;
	    msg = ldap_next_message(w->ld, msg)) {
		if (ldap_msgtype(msg) == LDAP_RES_SEARCH_ENTRY && entry == NULL)
			entry = msg;
		else if (ldap_msgtype(msg) == LDAP_RES_SEARCH_RESULT &&
		    ldap_parse_result(w->ld, msg, &code, NULL, &diag, NULL,
		    NULL, 0) != LDAP_SUCCESS)
			code = LDAP_OTHER;
	}
	if (code == LDAP_SUCCESS && entry != NULL)
		rc = take_entry(w, &p, entry);
	else
		rc = no_entry(w, &p, code, diag);
cleanup:
	ldap_memfree(diag);
	ldap_msgfree(res);
	return rc;
}

/*
 * Level by level: the searches of one depth are all answered before the
 * next depth is sent.  Answers come in any order, so otherwise a DN
 * reachable at depths 2 and 3 could be queued at 3 first, and the depth
 * bound would depend on timing.  The queue stays sorted by depth.
 */
static int
walk_run(struct walk *w)
{
	unsigned level = 0;

	while (w->qhead < w->qlen || w->nflight > 0) {
		while (w->nflight < WINDOW && w->qhead < w->qlen &&
		    (w->nflight == 0 || w->queue[w->qhead].depth == level)) {
			level = w->queue[w->qhead].depth;
			if (send_next(w) != 0)
				return -1;
		}
		if (receive_one(w) != 0)
			return -1;
	}
	return 0;
}

int
ldapgroup_members(const char *ldap_spec, const char *group_dn,
    char ***members, size_t *nmembers, char *err, size_t errlen)
{
	struct ldap_spec spec;
	struct berval cred = { 0, NULL };
	struct walk w;
	char *norm = NULL;
	long t0;
	int rc = -1;

	assert(ldap_spec != NULL && group_dn != NULL && members != NULL &&
	    nmembers != NULL && err != NULL && errlen > 0);
	*members = NULL;
	*nmembers = 0;
	if (spec_parse(ldap_spec, &spec, err, errlen) != 0)
		return -1;
	memset(&w, 0, sizeof(w));
	w.spec = &spec;
	w.found = (struct member_list)MEMBER_LIST_INIT(LDAPGROUP_MAX_MEMBERS);
	w.err = err;
	w.errlen = errlen;
	ldapconn_deadline(&w.deadline, spec.timeout);
	t0 = ldapconn_remaining_ms(&w.deadline);
	if (normalise_dn(group_dn, strlen(group_dn), &norm) != 0) {
		walk_fail(&w, "group \"%s\" is not a DN", group_dn);
		goto cleanup;
	}
	if (enqueue(&w, norm, 0) != 0)
		goto cleanup;
	if (spec.password_file != NULL && ldapconn_password_read(
	    spec.password_file, &cred, err, errlen) != 0)
		goto cleanup;
	if (ldapconn_open(&spec, &cred, &w.deadline, &w.ld, err, errlen) !=
	    LDAP_SUCCESS || walk_run(&w) != 0)
		goto cleanup;
	switch (member_list_finish(&w.found, members, nmembers)) {
	case 0:
		rc = 0;
		break;
	case 1:
		walk_fail(&w, "more than %d members", LDAPGROUP_MAX_MEMBERS);
		break;
	default:
		walk_fail(&w, "out of memory");
		break;
	}
cleanup:
	if (rc == 0)
		log_msg(LOG_LVL_INFO, "ldap=%s group=\"%s\" members=%zu "
		    "entries=%zu ms=%ld", spec.name, group_dn, *nmembers,
		    w.entries, t0 - ldapconn_remaining_ms(&w.deadline));
	else
		log_msg(LOG_LVL_WARNING, "ldap=%s group=\"%s\" status=error "
		    "reason=\"%s\"", spec.name, group_dn, err);
	if (w.ld != NULL)
		ldap_unbind_ext(w.ld, NULL, NULL);
	ldapconn_password_free(&cred);
	member_list_free(&w.found);
	free(w.queue);
	tdestroy(w.seen, free);
	ldap_memfree(norm);
	spec_free(&spec);
	return rc;
}

void
ldapgroup_free_members(char **members)
{
	member_array_free(members);
}
