#!/bin/bash
# t_smimectl_cert.sh -- "smimectl cert lookup|import|list" as an
# administrator uses them: what is printed for accepted and rejected
# certificates, the exit statuses (0 found, 1 none, 75 could not look),
# importing into the directory store, listing it.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
CTL=${SMIMECTL:-$TOP/build/smimectl}
PKI=${SMIME_TEST_PKI:-}
TMP=$(mktemp -d /tmp/t_smimectl_cert.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

fail() {
	echo "FAIL t_smimectl_cert: $*"
	[ -f "$TMP/out" ] && sed 's/^/    /' "$TMP/out"
	exit 1
}

if [ -z "$PKI" ]; then
	PKI=$TMP/pki
	"$TOP/tests/pki/mkpki" "$PKI" >/dev/null || fail "mkpki"
fi
mkdir -p "$TMP/certs" "$TMP/spool"
cp "$PKI/certs/judy-old.pem" "$PKI/certs/judy-new.pem" \
    "$PKI/certs/ivan-revoked.pem" "$PKI/ca/intermediate.pem" "$TMP/certs/"
cat >"$TMP/conf" <<CONF
SpoolDir $TMP/spool
CertificateSources dir:$TMP/certs
TrustAnchors $PKI/ca/anchors.pem
CRLFile $PKI/ca/intermediate.crl.pem
CONF

# Found: both of judy's certificates accepted, the newest chosen.
"$CTL" cert lookup -c "$TMP/conf" Judy@Example.TEST >"$TMP/out" 2>&1
[ $? = 0 ] || fail "lookup judy: exit status not 0"
[ "$(grep -c '^      ACCEPTED$' "$TMP/out")" = 2 ] || fail "judy: want 2 ACCEPTED"
new=$(openssl x509 -in "$PKI/certs/judy-new.pem" -noout -fingerprint -sha256 |
    sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
grep -q "^  => encrypt to $new (dir)$" "$TMP/out" || fail "judy: newest not chosen"

# None: the revoked certificate is shown with its reason; exit 1.
"$CTL" cert lookup -c "$TMP/conf" ivan@example.test >"$TMP/out" 2>&1
[ $? = 1 ] || fail "lookup ivan: exit status not 1"
grep -q "REJECTED revoked: certificate revoked" "$TMP/out" || fail "ivan: no reason"
grep -q "=> no usable certificate" "$TMP/out" || fail "ivan: no decision"

# Could not look: an LDAP directory that is down; exit 75, never "none".
cat >>"$TMP/conf" <<CONF
LDAPDirectory down uri=ldap://127.0.0.1:1 base=dc=example,dc=test timeout=2
CONF
sed -i "s|^CertificateSources .*|CertificateSources dir:$TMP/certs ldap:down|" "$TMP/conf"
"$CTL" cert lookup -c "$TMP/conf" nobody@example.test >"$TMP/out" 2>&1
[ $? = 75 ] || fail "lookup with LDAP down: exit status not 75"
grep -q "ldap:down: could not look" "$TMP/out" || fail "down: source not named"
grep -q "=> could not look: ldap:down" "$TMP/out" || fail "down: decision"
# ... but a certificate in an earlier source still answers.
"$CTL" cert lookup -c "$TMP/conf" judy@example.test >"$TMP/out" 2>&1
[ $? = 0 ] || fail "judy with LDAP down: not found"
sed -i "s|^CertificateSources .*|CertificateSources dir:$TMP/certs|" "$TMP/conf"

# Import: end-entity certificates only, by fingerprint, then found.
"$CTL" cert import -c "$TMP/conf" "$PKI/certs/bob-rsa3072.pem" \
    "$PKI/ca/chain.pem" >"$TMP/out" 2>&1 || fail "import failed"
grep -q "^imported [0-9a-f]\{64\}: bob@example.test$" "$TMP/out" || fail "import output"
grep -q "^skipped CA certificate" "$TMP/out" || fail "CA not skipped"
"$CTL" cert import -c "$TMP/conf" "$PKI/certs/bob-rsa3072.der" >"$TMP/out" 2>&1
grep -q "^present " "$TMP/out" || fail "second import not 'present'"
"$CTL" cert lookup -c "$TMP/conf" bob@example.test >"$TMP/out" 2>&1 ||
    fail "imported certificate not found"
"$CTL" cert import -c "$TMP/conf" "$PKI/manifest.tsv" >"$TMP/out" 2>&1
[ $? = 65 ] || fail "import of a non-certificate did not fail with 65"

# List: one line per address and certificate.
"$CTL" cert list -c "$TMP/conf" >"$TMP/out" 2>&1 || fail "list failed"
[ "$(grep -c '^judy@example.test' "$TMP/out")" = 2 ] || fail "list: judy"
grep -q "^bob@example.test	[0-9a-f]\{64\}	" "$TMP/out" || fail "list: bob"

echo "PASS t_smimectl_cert"
