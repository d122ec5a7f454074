#!/bin/bash
# t_smimectl_engine.sh -- "smimectl process", "verify" and "decrypt" as
# a user runs them: a signed and encrypted round trip, the exit statuses
# of verify (0 good, 1 altered or untrusted), decrypt refusing the wrong
# key, process resolving a group member by address through the
# configuration, and clear errors for bad arguments.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
CTL=${SMIMECTL:-$TOP/build/smimectl}
TMP=$(mktemp -d /tmp/t_smimectl_engine.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

fail() {
	echo "FAIL t_smimectl_engine: $*"
	exit 1
}

PKI=${SMIME_TEST_PKI:-}
if [ -z "$PKI" ]; then
	PKI=$TMP/pki
	"$TOP/tests/pki/mkpki" "$PKI" >/dev/null || fail "mkpki"
fi
printf 'From: sender@example.test\r\nTo: alice@example.test\r\nSubject: hi\r\n\r\nHello Alice\r\n' >"$TMP/msg"
sign=(--sign clear --sign-key "$PKI/keys/sender-rsa.key"
    --sign-cert "$PKI/certs/sender-rsa.pem" --sign-chain "$PKI/ca/intermediate.pem")

# Round trip: process -> decrypt -> verify.
"$CTL" process "${sign[@]}" --group "$PKI/certs/alice-rsa2048.pem" \
    --out "$TMP/out" <"$TMP/msg" >"$TMP/paths" 2>"$TMP/err" ||
    fail "process: $(cat "$TMP/err")"
[ "$(cat "$TMP/paths")" = "$TMP/out/copy-1.eml" ] || fail "process did not print the copy"
grep -q "1 copy, aes256-cbc" "$TMP/err" || fail "process summary: $(cat "$TMP/err")"
"$CTL" decrypt --key "$PKI/keys/alice-rsa2048.key" --cert "$PKI/certs/alice-rsa2048.pem" \
    <"$TMP/out/copy-1.eml" >"$TMP/dec" || fail "decrypt failed"
"$CTL" verify --anchors "$PKI/ca/anchors.pem" --content "$TMP/content" \
    <"$TMP/dec" >"$TMP/v" || fail "verify failed: $(cat "$TMP/v")"
grep -q "^status: ok" "$TMP/v" || fail "verify status"
grep -q "^signer: /CN=sender@example.test" "$TMP/v" || fail "verify signer"
grep -q "^capabilities: aes256-gcm aes128-gcm aes256-cbc aes128-cbc" "$TMP/v" ||
    fail "our SMIMECapabilities not advertised"
grep -q "Hello Alice" "$TMP/content" || fail "verify --content"

# Wrong key: decrypt refuses and writes nothing.
"$CTL" decrypt --key "$PKI/keys/bob-rsa3072.key" --cert "$PKI/certs/bob-rsa3072.pem" \
    <"$TMP/out/copy-1.eml" >"$TMP/dec2" 2>/dev/null && fail "bob decrypted alice's copy"
[ -s "$TMP/dec2" ] && fail "decrypt with the wrong key wrote output"

# Altered content and untrusted signer: verify exits 1 with the reason.
sed 's/Hello Alice/Hello Mallory/' "$TMP/dec" >"$TMP/altered"
"$CTL" verify --anchors "$PKI/ca/anchors.pem" <"$TMP/altered" >"$TMP/v"
[ $? = 1 ] || fail "altered message verified"
grep -q "^status: content-altered" "$TMP/v" || fail "altered: $(cat "$TMP/v")"
"$CTL" verify --anchors "$PKI/certs/mallory-self.pem" <"$TMP/dec" >"$TMP/v"
[ $? = 1 ] || fail "untrusted signer accepted"
grep -q "^status: untrusted" "$TMP/v" || fail "untrusted: $(cat "$TMP/v")"

# A group member given as an address, looked up through the configuration.
mkdir -p "$TMP/certs" "$TMP/spool"
cp "$PKI/certs/judy-new.pem" "$PKI/certs/ivan-revoked.pem" "$PKI/ca/intermediate.pem" "$TMP/certs/"
cat >"$TMP/conf" <<CONF
SpoolDir $TMP/spool
CertificateSources dir:$TMP/certs
TrustAnchors $PKI/ca/anchors.pem
CRLFile $PKI/ca/intermediate.crl.pem
CONF
"$CTL" process -c "$TMP/conf" --group judy@example.test --out "$TMP/o2" \
    <"$TMP/msg" >/dev/null 2>"$TMP/err" || fail "process by address: $(cat "$TMP/err")"
"$CTL" decrypt --key "$PKI/keys/judy-new.key" --cert "$PKI/certs/judy-new.pem" \
    <"$TMP/o2/copy-1.eml" >/dev/null || fail "judy cannot decrypt"
# A revoked certificate is never used: process fails, writes no copy.
"$CTL" process -c "$TMP/conf" --group ivan@example.test --out "$TMP/o3" \
    <"$TMP/msg" >/dev/null 2>"$TMP/err" && fail "encrypted to a revoked certificate"
grep -q "ivan@example.test: no usable certificate" "$TMP/err" || fail "revoked: $(cat "$TMP/err")"
[ -e "$TMP/o3/copy-1.eml" ] && fail "a copy was written for a revoked recipient"

# Bad arguments: usage, exit 64.
"$CTL" process --group "$PKI/certs/alice-rsa2048.pem" <"$TMP/msg" >/dev/null 2>&1
[ $? = 64 ] || fail "process without --out did not exit 64"
"$CTL" process --cipher des --group x --out "$TMP/o4" <"$TMP/msg" >/dev/null 2>&1
[ $? = 64 ] || fail "unknown cipher did not exit 64"

echo "PASS t_smimectl_engine"
