#!/bin/bash
# shellcheck disable=SC2119  # it_* functions called without arguments
# t_delivery_faults -- nothing lost, nothing sent in clear, when parts
# fail (issue 6): certificates come from a real slapd, the policy
# requires encryption.
#   1. slapd up: alice's copy arrives encrypted;
#   2. slapd stopped: 4xx, nothing delivered; started again: delivered;
#   3. the milter killed (SIGKILL) while a large message is being
#      received: Postfix (milter_default_action = tempfail) answers 4xx,
#      nothing is delivered; after a restart the message goes out once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slapd.sh"

PKI=${SMIME_TEST_PKI:-$TOP/build/test-pki}
FROM=sender@example.org

it_init
[ -f "$PKI/manifest.tsv" ] || it_fail "no test PKI in $PKI"
it_alloc_port LPORT
"$(dirname "$0")/fixtures/mkldif" "$PKI" >"$IT_TMP/users.ldif" 2>/dev/null ||
    it_fail "mkldif"
slapd_start "$IT_TMP/slapd" "$LPORT" "$IT_TMP/users.ldif" >/dev/null 2>&1 ||
    it_fail "slapd_start"
cat >"$IT_TMP/policy" <<'EOP'
to *@example.test encrypt=required missing-cert=reject
EOP
MILTER=("PolicyFile $IT_TMP/policy" "TrustAnchors $PKI/ca/anchors.pem"
    "ReinjectSocket inet:$IT_REINJECT_PORT@127.0.0.1"
    "LDAPDirectory corp uri=ldap://127.0.0.1:$LPORT base=ou=people,dc=example,dc=test timeout=2"
    "CertificateSources ldap:corp" "CertCacheSize 0")
it_start_sink
it_start_milter "${MILTER[@]}"
it_start_postfix

mkmsg() {
    printf 'From: sender@example.org\nTo: alice@example.test\nSubject: %s\nMessage-ID: <%s@example.org>\n\n' "$1" "$1"
    printf 'Confidential %s.\n' "$1"
    [ -z "${2:-}" ] || head -c "$2" /dev/zero | tr '\0' 'x' | fold -w 76
}
copies() { it_sink_count; }

# 1. all up
mkmsg one >"$IT_TMP/one.eml"
it_smtp_send "$FROM" alice@example.test "$IT_TMP/one.eml" >/dev/null || it_fail "1: refused"
it_wait_delivered 1 60 || it_fail "1: not delivered"
f=$(it_sink_files)
it_sink_message "$f" | grep -qi "^Content-Type: application/pkcs7-mime" || it_fail "1: not encrypted"

# 2. the directory down: 4xx, nothing delivered, in clear or otherwise
rm -f "$IT_SINK_DIR"/*
slapd_stop "$IT_TMP/slapd" >/dev/null 2>&1
mkmsg two >"$IT_TMP/two.eml"
if it_smtp_send "$FROM" alice@example.test "$IT_TMP/two.eml" >/dev/null 2>"$IT_TMP/r2"; then
    it_fail "2: accepted with the directory down"
fi
grep -q " 451 4.7.1\|^451\| 4[0-9][0-9] " "$IT_TMP/r2" || it_fail "2: not a 4xx: $(cat "$IT_TMP/r2")"
sleep 2
[ "$(copies)" = 0 ] || it_fail "2: $(copies) delivered with the directory down"
slapd_start "$IT_TMP/slapd" "$LPORT" >/dev/null 2>&1 || it_fail "slapd restart"
it_smtp_send "$FROM" alice@example.test "$IT_TMP/two.eml" >/dev/null || it_fail "2: retry refused"
it_wait_delivered 1 60 || it_fail "2: retry not delivered"
f=$(it_sink_files)
it_sink_message "$f" | grep -q "Confidential two" && it_fail "2: delivered in clear"

# 3. the milter killed mid-message
rm -f "$IT_SINK_DIR"/*
mkmsg three 20000000 >"$IT_TMP/three.eml"
it_smtp_send "$FROM" alice@example.test "$IT_TMP/three.eml" >/dev/null 2>"$IT_TMP/r3" &
spid=$!
# Freeze it while the message streams in, then kill it: it dies with
# the message half received.
sleep 0.1
kill -STOP "$IT_MILTER_PID"
sleep 1
kill -KILL "$IT_MILTER_PID"
wait "$IT_MILTER_PID" 2>/dev/null
IT_MILTER_PID=
if wait "$spid"; then
    it_fail "3: accepted although the milter died"
fi
grep -q " 4[0-9][0-9]\|^4[0-9][0-9]" "$IT_TMP/r3" || it_fail "3: not a 4xx: $(cat "$IT_TMP/r3")"
sleep 2
[ "$(copies)" = 0 ] || it_fail "3: $(copies) delivered after the milter died"
it_start_milter "${MILTER[@]}"
it_smtp_send "$FROM" alice@example.test "$IT_TMP/three.eml" >/dev/null || it_fail "3: retry refused"
it_wait_delivered 1 120 || it_fail "3: retry not delivered"
sleep 1
[ "$(copies)" = 1 ] || it_fail "3: $(copies) copies after the retry"
f=$(it_sink_files)
it_sink_message "$f" | grep -q "Confidential three" && it_fail "3: delivered in clear"
slapd_stop "$IT_TMP/slapd" >/dev/null 2>&1
it_pass
