#!/bin/bash
# tests/protocol/policy.sh -- the policy through the milter protocol
# (miltertest): RCPT-time reject, end-of-data reject text, defer, request
# header removal, unauthenticated senders never signed.  Cases are in
# policy.lua.  Needs the test PKI ($SMIME_TEST_PKI, made by tests/run-all).
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SMIME_MILTER=${SMIME_MILTER:-$TOP/build/smime-milter}
MILTERTEST=${MILTERTEST:-miltertest}
PKI=${SMIME_TEST_PKI:-$TOP/build/test-pki}
NAME=protocol-policy

# shellcheck source=lib.sh
source "$HERE/lib.sh"

command -v "$MILTERTEST" >/dev/null 2>&1 || fail "miltertest not found"
[ -f "$PKI/manifest.tsv" ] || fail "no test PKI in $PKI"

TMP=$(mktemp -d /tmp/protocol-policy.XXXXXX) || fail "mktemp"
mkdir -p "$TMP/spool" "$TMP/certs" "$TMP/keys" || fail "mkdir"
chmod 700 "$TMP/keys"
PORT=$(free_port) || fail "no free port"

# The sender's key, encrypted at rest as SenderKeys wants it.
printf 'test passphrase\n' >"$TMP/pass"
chmod 600 "$TMP/pass"
openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$PKI/keys/sender-rsa.key" \
    -passout "file:$TMP/pass" -out "$TMP/keys/sender@example.test.key" \
    2>/dev/null || fail "cannot encrypt the sender key"
chmod 600 "$TMP/keys/sender@example.test.key"
cat "$PKI/certs/sender-rsa.pem" "$PKI/ca/chain.pem" \
    >"$TMP/keys/sender@example.test.crt" 2>/dev/null \
    || fail "no sender certificate"

cat >"$TMP/policy" <<'EOF2'
default sign=clear encrypt=opportunistic
to *@secure.test   encrypt=required missing-cert=reject
to *@plainok.test  encrypt=required missing-cert=reject allow-plain-ok=yes
to *@defer.test    encrypt=required missing-cert=defer
EOF2

cat >"$TMP/smime-milter.conf" <<EOF2
Socket inet:$PORT@127.0.0.1
Syslog no
LogLevel debug
SpoolDir $TMP/spool
CertificateSources dir:$TMP/certs
TrustAnchors $PKI/ca/anchors.pem
InternalNetworks 127.0.0.0/8
PolicyFile $TMP/policy
SenderKeys $TMP/keys
SenderKeyPassphraseFile $TMP/pass
# miltertest overflows on body chunks of more than about 1000 bytes
ReplaceBodyChunk 512
EOF2

# R8's body: a real EnvelopedData (already encrypted mail passes only
# when its body is what its header says), base64 in CRLF lines.
printf 'Content-Type: text/plain\r\n\r\nSecret.\r\n' |
    openssl cms -encrypt -binary -aes256 -outform DER \
    "$PKI/certs/alice-rsa2048.pem" 2>/dev/null | base64 -w 64 |
    sed 's/$/\r/' >"$TMP/enveloped.b64" || fail "cannot make the R8 body"
[ -s "$TMP/enveloped.b64" ] || fail "cannot make the R8 body"

start_milter "$TMP/smime-milter.conf" "$PORT"
run_lua "$HERE/policy.lua" -D "socket=inet:$PORT@127.0.0.1" \
    -D "p7m=$TMP/enveloped.b64"

# One decision line per message, with the queue id and the rule used.
sleep 0.3
log=$TMP/milter.log
grep -q "R1: action=reject rcpt=<nobody@secure.test>" "$log" \
    || fail "no RCPT-time reject line for R1"
grep -Eq "R2: action=reject .*policy=reject .*reject=1 .*rules=.*policy:3" \
    "$log" || fail "R2 log line lacks verdict, counts or rule: $(grep 'R2:' "$log")"
grep -Eq "R3: action=tempfail .*defer=1" "$log" \
    || fail "R3 log line: $(grep 'R3:' "$log")"
grep -Eq "R4: action=accept .*request=sign trusted=no signer=not authenticated" \
    "$log" || fail "R4 log line: $(grep 'R4:' "$log")"
grep -Eq "R5: action=accept .*sign=1 .*request=sign trusted=yes signer=yes" \
    "$log" || fail "R5 log line: $(grep 'R5:' "$log")"
grep -Eq "R6: action=accept .*request=encrypt,plain-ok trusted=yes" "$log" \
    || fail "R6 log line: $(grep 'R6:' "$log")"
grep -Eq "R7: action=reject .*request=encrypt trusted=yes" "$log" \
    || fail "R7 log line: $(grep 'R7:' "$log")"
grep -Eq "R8: action=accept .*reason=\"already encrypted" "$log" \
    || fail "R8 log line: $(grep 'R8:' "$log")"
if grep -qi "passphrase\|BEGIN .*PRIVATE" "$log"; then
    fail "key material or passphrase in the log"
fi

# A broken policy on reload is refused and the running one stays: the
# defer rule still applies afterwards.
echo "to *@defer.test encrypt=sometimes" >>"$TMP/policy"
kill -HUP "$MPID"
for ((i = 0; i < 50; i++)); do
    grep -q "reload failed" "$log" && break
    sleep 0.1
done
grep -q "reload failed, keeping the running configuration: .*policy:5:25: encrypt" \
    "$log" || fail "bad policy on reload not refused with file:line:col: $(grep reload "$log")"
run_lua "$HERE/policy.lua" -D "socket=inet:$PORT@127.0.0.1" -D only=R3
sleep 0.2
grep -Eq "R3b: action=tempfail .*defer=1" "$log" \
    || fail "after the refused reload the old policy is not in force"
echo "PASS $NAME"
