#!/bin/bash
# shellcheck disable=SC2119  # it_* functions called without arguments
# t_alias -- aliases expanded by the MTA after the milter never turn into
# a plaintext leak (issue 6, field lesson 6).  Postfix maps
# team@example.test to outside@partner.example (virtual_alias_maps).
#   1. The policy requires encryption for *@example.test and team has no
#      certificate: the message is refused (5xx); nothing reaches
#      outside@partner.example.
#   2. team@example.test declared a confidential list in the policy
#      (the documented remedy): the milter expands it itself, alice gets
#      her own encrypted copy, the MTA's alias never fires.
. "$(dirname "$0")/lib.sh"

PKI=${SMIME_TEST_PKI:-$TOP/build/test-pki}
FROM=sender@example.org

it_init
[ -f "$PKI/manifest.tsv" ] || it_fail "no test PKI in $PKI"
mkdir -p "$IT_CERT_DIR"
cat "$PKI/certs/alice-rsa2048.pem" "$PKI/ca/chain.pem" >"$IT_CERT_DIR/alice.pem"
cat >"$IT_TMP/policy" <<'EOP'
to *@example.test encrypt=required missing-cert=reject
EOP
it_start_sink
it_start_milter "PolicyFile $IT_TMP/policy" "TrustAnchors $PKI/ca/anchors.pem" \
    "ReinjectSocket inet:$IT_REINJECT_PORT@127.0.0.1"
it_start_postfix "virtual_alias_maps=inline:{team@example.test=outside@partner.example}"

cat >"$IT_TMP/msg.eml" <<'EOM'
From: Sender <sender@example.org>
To: team@example.test
Subject: For the team
Message-ID: <alias-test.1@example.org>

Secret plans.
EOM
if it_smtp_send "$FROM" "team@example.test" "$IT_TMP/msg.eml" >/dev/null 2>"$IT_TMP/refused"; then
    it_fail "accepted mail to an alias without a certificate"
fi
grep -q "550 5.7.1" "$IT_TMP/refused" || it_fail "not a 550 5.7.1: $(cat "$IT_TMP/refused")"
sleep 2
[ "$(it_sink_count)" = 0 ] || it_fail "$(it_sink_count) messages delivered"

# The remedy: the alias as a confidential list of the policy.
cat >"$IT_TMP/policy" <<'EOP'
list team@example.test = alice@example.test
to *@example.test encrypt=required missing-cert=reject
EOP
it_stop_milter
it_start_milter "PolicyFile $IT_TMP/policy" "TrustAnchors $PKI/ca/anchors.pem" \
    "ReinjectSocket inet:$IT_REINJECT_PORT@127.0.0.1"
sed -i 's/alias-test.1/alias-test.2/' "$IT_TMP/msg.eml"
it_smtp_send "$FROM" "team@example.test" "$IT_TMP/msg.eml" >/dev/null \
    || it_fail "list mail refused"
it_wait_delivered 1 60 || it_fail "no copy delivered"
sleep 1
[ "$(it_sink_count)" = 1 ] || it_fail "$(it_sink_count) copies, expected 1"
f=$(it_sink_files)
env=$(it_sink_envelope "$f" | sed 's/> .*/>/')
[ "$env" = "MAIL <$FROM>
RCPT <alice@example.test>" ] || it_fail "envelope: $env"
it_sink_message "$f" >"$IT_TMP/copy.eml"
grep -q "^To: team@example.test" "$IT_TMP/copy.eml" || it_fail "list not visible in To"
openssl cms -decrypt -in "$IT_TMP/copy.eml" -inkey "$PKI/keys/alice-rsa2048.key" \
    -recip "$PKI/certs/alice-rsa2048.pem" 2>/dev/null | grep -q "Secret plans" \
    || it_fail "alice cannot read her copy"
grep -q "Secret plans" "$IT_TMP/copy.eml" && it_fail "plaintext in the copy"
grep -Eq ": action=discard .*encrypt=1 list=1" "$IT_MILTER_LOG" \
    || it_fail "decision line: $(grep 'action=' "$IT_MILTER_LOG" | tail -1)"
it_pass
