#!/bin/bash
# t_smimectl_key.sh -- "smimectl key list" as an administrator uses it:
# one line per sender key (PKCS#12 and PEM), expired certificates marked,
# exit status 78 with the reason when the store cannot be loaded.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
CTL=${SMIMECTL:-$TOP/build/smimectl}
PKI=${SMIME_TEST_PKI:-}
TMP=$(mktemp -d /tmp/t_smimectl_key.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

fail() {
	echo "FAIL t_smimectl_key: $*"
	for f in "$TMP/out" "$TMP/err"; do
		[ -f "$f" ] && sed 's/^/    /' "$f"
	done
	exit 1
}

if [ -z "$PKI" ]; then
	PKI=$TMP/pki
	"$TOP/tests/pki/mkpki" "$PKI" >/dev/null || fail "mkpki"
fi
umask 077
mkdir -p "$TMP/keys" "$TMP/spool"
K=$TMP/keys
cp "$PKI/p12/sender-rsa.p12" "$K/Sender@Example.TEST.p12"
cp "$PKI/p12/dave-expired.p12" "$K/dave@example.test.p12"
openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$PKI/keys/sender-ec.key" \
    -passout pass:test -out "$K/sender-ec@example.test.key" || fail "pkcs8"
cat "$PKI/certs/sender-ec.pem" "$PKI/ca/intermediate.pem" \
    >"$K/sender-ec@example.test.crt"
echo "a note" >"$K/README"
echo test >"$TMP/pass"
cat >"$TMP/conf" <<CONF
SpoolDir $TMP/spool
SenderKeys $K
SenderKeyPassphraseFile $TMP/pass
CONF

# Three keys, sorted by address, tab-separated fields.
"$CTL" key list -c "$TMP/conf" >"$TMP/out" 2>"$TMP/err" ||
    fail "list: exit status $?"
[ "$(grep -vc '^#' "$TMP/out")" = 3 ] || fail "want 3 keys"
T=$(printf '\t')
ISO='20[0-9][0-9]-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-5][0-9]Z'
grep -q '^# address' "$TMP/out" || fail "no header line"
[ "$(grep -v '^#' "$TMP/out" | cut -f1 | tr '\n' ' ')" = \
    "dave@example.test sender-ec@example.test sender@example.test " ] ||
    fail "addresses or order"
grep -q "^sender@example.test$T$ISO$T[0-9]* days$T/CN=sender@example.test${T}RSA 2048$T$K/Sender@Example.TEST.p12\$" \
    "$TMP/out" || fail "p12 line"
grep -q "^sender-ec@example.test$T$ISO$T[0-9]* days$T/CN=sender-ec@example.test${T}EC 256$T$K/sender-ec@example.test.key\$" \
    "$TMP/out" || fail "PEM line"
grep -q "^dave@example.test$T$ISO${T}EXPIRED$T" "$TMP/out" || fail "expired"
grep -q "dave@example.test.p12: certificate has expired" "$TMP/err" ||
    fail "no warning about the expired certificate"
! grep -q "PRIVATE" "$TMP/out" "$TMP/err" || fail "key material printed"

# A key readable by others: refused with the reason, exit status 78.
chmod 644 "$K/dave@example.test.p12"
"$CTL" key list -c "$TMP/conf" >"$TMP/out" 2>&1
[ $? = 78 ] || fail "loose mode: exit status not 78"
grep -q "dave@example.test.p12: mode 0644 lets group or others" "$TMP/out" ||
    fail "loose mode: no reason"
chmod 600 "$K/dave@example.test.p12"

# Wrong passphrase.
echo wrong >"$TMP/pass"
"$CTL" key list -c "$TMP/conf" >"$TMP/out" 2>&1
[ $? = 78 ] || fail "wrong passphrase: exit status not 78"
grep -q "wrong passphrase" "$TMP/out" || fail "wrong passphrase: no reason"

# No SenderKeys: nothing can sign, which is not an error.
printf 'SpoolDir %s\n' "$TMP/spool" >"$TMP/conf"
"$CTL" key list -c "$TMP/conf" >"$TMP/out" 2>&1 || fail "unset: exit status"
grep -q "SenderKeys is not set" "$TMP/out" || fail "unset: no note"
[ "$(grep -vc '^#' "$TMP/out")" = 1 ] || fail "unset: keys listed"

echo "PASS t_smimectl_key"
