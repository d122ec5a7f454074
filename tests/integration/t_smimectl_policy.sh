#!/bin/bash
# t_smimectl_policy -- "smimectl policy check" and "smimectl policy
# explain" against a real configuration, policy and certificate directory
# from the test PKI (issue 5 item 6).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
CTL=${SMIMECTL:-$TOP/build/smimectl}
PKI=${SMIME_TEST_PKI:-$TOP/build/test-pki}
TMP=$(mktemp -d /tmp/t_smimectl_policy.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL t_smimectl_policy: $*"; exit 1; }

[ -f "$PKI/manifest.tsv" ] || fail "no test PKI in $PKI"
mkdir -p "$TMP/certs"
cat "$PKI/certs/alice-rsa2048.pem" "$PKI/ca/chain.pem" >"$TMP/certs/alice.pem"
cp "$PKI/certs/dave-expired.pem" "$TMP/certs/dave.pem"
cat >"$TMP/policy" <<'EOP'
group board = boss@example.org, cfo@example.org
default sign=none encrypt=opportunistic
from @board to *@example.test encrypt=required missing-cert=notify
to *@example.test encrypt=required missing-cert=reject allow-plain-ok=yes
EOP
cat >"$TMP/c.conf" <<EOC
SpoolDir $TMP
CertificateSources dir:$TMP/certs
TrustAnchors $PKI/ca/anchors.pem
PolicyFile $TMP/policy
InternalNetworks 10.0.0.0/8
EOC

# check: OK, with the counts
out=$("$CTL" policy check -c "$TMP/c.conf" 2>&1) || fail "check refused a good policy: $out"
echo "$out" | grep -q "policy OK: 2 rules, 1 groups" || fail "check output: $out"
echo "$out" | grep -q "group board (file): 2 member patterns" || fail "group line: $out"

# the shipped sample policy is valid
out=$("$CTL" policy check -c "$TMP/c.conf" "$TOP/conf/smime-milter.policy" 2>&1) \
    || fail "sample policy refused: $out"

# check: an error names file:line:col, exit 65
printf 'to *@x.test sign=maybe\n' >"$TMP/bad.policy"
out=$("$CTL" policy check -c "$TMP/c.conf" "$TMP/bad.policy" 2>&1)
rc=$?
[ "$rc" = 65 ] || fail "bad policy: exit $rc, want 65"
echo "$out" | grep -q "bad.policy:1:18: sign: \"maybe\" is not one of none, clear, opaque" \
    || fail "bad policy message: $out"

# explain: rule, settings, certificates, action, and the reply
out=$("$CTL" policy explain -c "$TMP/c.conf" --from boss@example.org \
    --header 'To: alice@example.test, dave@example.test' \
    alice@example.test dave@example.test 2>&1) || fail "explain failed: $out"
echo "$out" | grep -q "rule:     $TMP/policy:3" || fail "explain rule: $out"
echo "$out" | grep -q "settings: sign=none digest=sha256 encrypt=required .*missing-cert=notify" \
    || fail "explain settings: $out"
echo "$out" | grep -q "use /CN=alice@example.test" || fail "explain certificate: $out"
echo "$out" | grep -q "NOT /CN=dave@example.test.*expired" || fail "explain rejected certificate: $out"
echo "$out" | grep -q "action:   encrypt" || fail "explain encrypt action: $out"
echo "$out" | grep -q "action:   notify (no usable certificate" || fail "explain notify action: $out"
echo "$out" | grep -q "result:   accept" || fail "explain result: $out"

# explain: a request from an untrusted client is ignored, from an
# internal one honoured; Bcc recipients are marked
out=$("$CTL" policy explain -c "$TMP/c.conf" --from x@example.org \
    --header 'X-SMIME-Request: plain-ok' nobody@example.test 2>&1)
echo "$out" | grep -q "IGNORED: sender not trusted" || fail "untrusted request: $out"
echo "$out" | grep -q "hidden: not in To/Cc" || fail "hidden marker: $out"
echo "$out" | grep -q "result:   550 5.7.1 .*X-SMIME-Request: plain-ok" || fail "reject reply: $out"
out=$("$CTL" policy explain -c "$TMP/c.conf" --from x@example.org --client 10.1.2.3 \
    --header 'X-SMIME-Request: plain-ok' nobody@example.test 2>&1)
echo "$out" | grep -q "plain-ok  (honoured)" || fail "internal request: $out"
echo "$out" | grep -q "action:   plain" || fail "plain-ok action: $out"
echo "PASS t_smimectl_policy"
