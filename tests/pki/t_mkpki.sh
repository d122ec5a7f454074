#!/bin/bash
# t_mkpki.sh -- self-test of tests/pki/mkpki: generate the test PKI into a
# temp dir and check it with the openssl CLI.
# Prints "PASS t_mkpki" or "FAIL t_mkpki: reason" and exits 0/1.
# KEEP_TMP=1 keeps the temp dir.
# "check && check || err ..." is meant: err runs when either check fails.
# shellcheck disable=SC2015
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MKPKI=$HERE/mkpki

TMP=$(mktemp -d /tmp/t_mkpki.XXXXXX) || { echo "FAIL t_mkpki: mktemp"; exit 1; }
# shellcheck disable=SC2317  # invoked via trap
cleanup() {
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "t_mkpki: keeping $TMP" >&2
    else
        rm -rf "$TMP"
    fi
}
trap cleanup EXIT

# Errors are collected (in a file, as some checks run in background
# subshells) so that one run shows all of them.
ERRFILE=$TMP/errors
: >"$ERRFILE"
err() {
    printf '%s\n' "$*" | tr '\n' ' ' | sed 's/ *$//' >>"$ERRFILE"
    echo >>"$ERRFILE"
    echo "t_mkpki: $*" >&2
}
nerrors() { wc -l <"$ERRFILE"; }
first_error() {
    local n
    n=$(nerrors)
    if [ "$n" -gt 1 ]; then
        echo "$(head -n 1 "$ERRFILE") (and $((n - 1)) more)"
    else
        head -n 1 "$ERRFILE"
    fi
}
fail() {
    echo "FAIL t_mkpki: $*"
    exit 1
}

now_ms() { date +%s%3N; }

# The certificates the brief asks for: name address keytype expected.
EXPECTED="\
alice-rsa2048 alice@example.test rsa2048 ok
bob-rsa3072 bob@example.test rsa3072 ok
carol-ec256 carol@example.test ec-p256 ok
carol-ec384 carol384@example.test ec-p384 ok
dave-expired dave@example.test rsa2048 expired
erin-future erin@example.test rsa2048 not-yet-valid
frank-signonly frank@example.test rsa2048 key-usage
grace-noeku grace@example.test rsa2048 ext-key-usage
heidi-wrongsan heidi@example.test rsa2048 address-mismatch
ivan-revoked ivan@example.test rsa2048 revoked
judy-old judy@example.test rsa2048 ok
judy-new judy@example.test rsa2048 ok
mallory-self mallory@example.test rsa2048 untrusted
oscar-weak oscar@example.test rsa1024 weak-key
peggy-anyeku peggy@example.test rsa2048 ok
trent-nosan trent@example.test rsa2048 address-mismatch
victor-multi victor@example.test rsa2048 ok
walter-nokeyusage walter@example.test rsa2048 ok
sender-rsa sender@example.test rsa2048 ok
sender-ec sender-ec@example.test ec-p256 ok"

command -v openssl >/dev/null || fail "openssl not found"

# ------------------------------------------------------------ generate
P=$TMP/pki
t0=$(now_ms)
if ! "$MKPKI" "$P" >"$TMP/mkpki.log" 2>&1; then
    cat "$TMP/mkpki.log" >&2
    fail "mkpki exited non-zero"
fi
t1=$(now_ms)
GEN_MS=$((t1 - t0))
echo "t_mkpki: mkpki took $((GEN_MS / 1000)).$(printf %03d $((GEN_MS % 1000)))s"
[ "$GEN_MS" -lt 15000 ] || err "mkpki took ${GEN_MS}ms (limit 15000)"

# --------------------------------------------------------- file layout
for f in ca/root.pem ca/intermediate.pem ca/anchors.pem ca/chain.pem \
    ca/intermediate.crl.pem ca/intermediate.crl.der ca/root.crl.pem \
    certs/alice-rsa2048.bundle.p7b manifest.tsv; do
    [ -s "$P/$f" ] || err "missing $f"
done
while read -r name _; do
    for f in "certs/$name.pem" "certs/$name.der" "keys/$name.key" \
        "p12/$name.p12" "p12/$name.legacy.p12"; do
        [ -s "$P/$f" ] || err "missing $f"
    done
    for f in "keys/$name.key" "p12/$name.p12" "p12/$name.legacy.p12"; do
        [ -e "$P/$f" ] || continue
        m=$(stat -c %a "$P/$f")
        [ "$m" = 600 ] || err "$f has mode $m, want 600"
    done
done <<<"$EXPECTED"
[ "$(nerrors)" -eq 0 ] || fail "$(first_error)"

# ------------------------------------------------------------ manifest
head -n 1 "$P/manifest.tsv" | grep -qx \
    "$(printf 'name\taddress\tkeytype\texpected\tdescription')" ||
    err "manifest header wrong"
got=$(tail -n +2 "$P/manifest.tsv" | cut -f 1-4 | tr '\t' ' ')
[ "$got" = "$EXPECTED" ] || {
    err "manifest differs from the expected list"
    diff <(echo "$EXPECTED") <(echo "$got") >&2
}
tail -n +2 "$P/manifest.tsv" | awk -F '\t' 'NF != 5 || $5 == "" { exit 1 }' ||
    err "manifest: a line without 5 fields or with an empty description"

# ------------------------------------------------------------ CA certs
CA=$P/ca
root_subj=$(openssl x509 -in "$CA/root.pem" -noout -subject)
[ "$root_subj" = "$(openssl x509 -in "$CA/root.pem" -noout -issuer | sed 's/^issuer=/subject=/')" ] ||
    err "root is not self-signed"
openssl verify -CAfile "$CA/root.pem" "$CA/root.pem" >/dev/null 2>&1 ||
    err "root does not verify against itself"
openssl verify -CAfile "$CA/anchors.pem" "$CA/intermediate.pem" >/dev/null 2>&1 ||
    err "intermediate does not verify against the root"
[ "$(grep -c 'BEGIN CERTIFICATE' "$CA/anchors.pem")" = 1 ] ||
    err "anchors.pem must hold the root only"
cmp -s "$CA/anchors.pem" "$CA/root.pem" || err "anchors.pem differs from root.pem"
[ "$(cat "$CA/intermediate.pem" "$CA/root.pem")" = "$(cat "$CA/chain.pem")" ] ||
    err "chain.pem is not intermediate + root"
ext=$(openssl x509 -in "$CA/root.pem" -noout -ext basicConstraints,keyUsage)
grep -q 'CA:TRUE' <<<"$ext" && grep -q 'Certificate Sign, CRL Sign' <<<"$ext" ||
    err "root extensions: $ext"
openssl x509 -in "$CA/root.pem" -noout -text | grep -q 'Public-Key: (2048 bit)' ||
    err "root is not RSA-2048"
ext=$(openssl x509 -in "$CA/intermediate.pem" -noout -ext basicConstraints,keyUsage)
grep -q 'CA:TRUE, pathlen:0' <<<"$ext" && grep -q 'Certificate Sign, CRL Sign' <<<"$ext" ||
    err "intermediate extensions: $ext"

# ---------------------------------------------------------------- CRLs
openssl crl -in "$CA/intermediate.crl.pem" -noout -CAfile "$CA/chain.pem" 2>&1 |
    grep -q 'verify OK' || err "intermediate CRL signature"
openssl crl -in "$CA/root.crl.pem" -noout -CAfile "$CA/root.pem" 2>&1 |
    grep -q 'verify OK' || err "root CRL signature"
[ "$(openssl crl -in "$CA/intermediate.crl.pem" -outform DER | od -An -tx1)" = \
  "$(od -An -tx1 "$CA/intermediate.crl.der")" ] || err "intermediate.crl.der differs from PEM"
ivan_serial=$(openssl x509 -in "$P/certs/ivan-revoked.pem" -noout -serial | cut -d= -f2)
revoked=$(openssl crl -in "$CA/intermediate.crl.pem" -noout -text |
    sed -n 's/^ *Serial Number: *//p')
[ "$revoked" = "$ivan_serial" ] ||
    err "intermediate CRL revokes '$revoked', want ivan's serial $ivan_serial"
openssl crl -in "$CA/root.crl.pem" -noout -text | grep -q 'No Revoked Certificates' ||
    err "root CRL is not empty"
now=$(date +%s)
for c in intermediate root; do
    nu=$(openssl crl -in "$CA/$c.crl.pem" -noout -nextupdate | cut -d= -f2)
    days=$(( ($(date -d "$nu" +%s) - now) / 86400 ))
    [ "$days" -ge 29 ] && [ "$days" -le 30 ] ||
        err "$c CRL nextUpdate $nu is $days days ahead, want 30"
done

# ------------------------------------------------ per-certificate checks
vfy() { # vfy CERT [openssl verify options...] -> output, status
    local c=$1
    shift
    openssl verify -CAfile "$CA/anchors.pem" -untrusted "$CA/intermediate.pem" \
        "$@" "$c" 2>&1
}

# check_cert NAME ADDRESS KEYTYPE EXPECTED
check_cert() {
    local name=$1 addr=$2 ktype=$3 expected=$4
    local c k text want subj ku eku san want_ku want_eku want_san out st
    local want_err want_certs p12 pem
    c=$P/certs/$name.pem
    k=$P/keys/$name.key

    # DER = PEM
    [ "$(openssl x509 -inform DER -in "$P/certs/$name.der")" = \
      "$(openssl x509 -in "$c")" ] || err "$name: DER and PEM differ"

    # key matches certificate; key is unencrypted PKCS#8
    head -n 1 "$k" | grep -qx -- '-----BEGIN PRIVATE KEY-----' ||
        err "$name: key is not unencrypted PKCS#8 PEM"
    [ "$(openssl pkey -in "$k" -pubout 2>/dev/null)" = \
      "$(openssl x509 -in "$c" -noout -pubkey)" ] ||
        err "$name: key does not match certificate"

    # key type
    text=$(openssl x509 -in "$c" -noout -text)
    case $ktype in
    rsa*) want="Public-Key: (${ktype#rsa} bit)" ;;
    ec-p256) want="NIST CURVE: P-256" ;;
    ec-p384) want="NIST CURVE: P-384" ;;
    esac
    grep -qF "$want" <<<"$text" || err "$name: want '$want'"
    case $ktype in
    rsa*) grep -q 'rsaEncryption' <<<"$text" || err "$name: not RSA" ;;
    ec*) grep -q 'id-ecPublicKey' <<<"$text" || err "$name: not EC" ;;
    esac

    # subject CN and the common extensions
    subj=$(openssl x509 -in "$c" -noout -subject -nameopt RFC2253)
    case $subj in
    "subject=CN=$addr" | "subject=emailAddress=$addr,CN=$addr") ;;
    *) err "$name: subject $subj" ;;
    esac
    grep -A1 'Basic Constraints' <<<"$text" | grep -q 'CA:FALSE' ||
        err "$name: basicConstraints is not CA:FALSE"
    ku=$(openssl x509 -in "$c" -noout -ext keyUsage 2>/dev/null | tail -n +2 | tr -d ' ')
    eku=$(openssl x509 -in "$c" -noout -ext extendedKeyUsage 2>/dev/null | tail -n +2 | tr -d ' ')
    san=$(openssl x509 -in "$c" -noout -ext subjectAltName 2>/dev/null | tail -n +2 | tr -d ' ')
    case $name in
    frank-signonly) want_ku=DigitalSignature ;;
    walter-nokeyusage) want_ku= ;;
    sender-rsa) want_ku=DigitalSignature,NonRepudiation,KeyEncipherment ;;
    *) case $ktype in
       ec*) want_ku=DigitalSignature,KeyAgreement ;;
       *) want_ku=DigitalSignature,KeyEncipherment ;;
       esac ;;
    esac
    [ "$ku" = "$want_ku" ] || err "$name: keyUsage '$ku', want '$want_ku'"
    case $name in
    grace-noeku) want_eku=TLSWebClientAuthentication ;;
    peggy-anyeku) want_eku=AnyExtendedKeyUsage ;;
    *) want_eku=E-mailProtection ;;
    esac
    [ "$eku" = "$want_eku" ] || err "$name: extendedKeyUsage '$eku', want '$want_eku'"
    case $name in
    heidi-wrongsan) want_san=email:someone-else@example.test ;;
    trent-nosan) want_san= ;;
    victor-multi) want_san=email:victor@example.test,email:Victor.Alias@Example.TEST ;;
    *) want_san=email:$addr ;;
    esac
    [ "$san" = "$want_san" ] || err "$name: subjectAltName '$san', want '$want_san'"

    # chain validation with the openssl CLI
    out=$(vfy "$c")
    st=$?
    case $expected in
    expired) want_err='certificate has expired' ;;
    not-yet-valid) want_err='certificate is not yet valid' ;;
    untrusted) want_err='self.signed certificate' ;;
    *) want_err= ;;
    esac
    if [ -z "$want_err" ]; then
        [ $st -eq 0 ] || err "$name: openssl verify failed: $(tr '\n' ' ' <<<"$out")"
        out=$(vfy "$c" -crl_check -CRLfile "$CA/intermediate.crl.pem")
        st=$?
        if [ "$expected" = revoked ]; then
            [ $st -ne 0 ] && grep -q 'certificate revoked' <<<"$out" ||
                err "$name: -crl_check: want 'certificate revoked', got: $(tr '\n' ' ' <<<"$out")"
        else
            [ $st -eq 0 ] || err "$name: -crl_check failed: $(tr '\n' ' ' <<<"$out")"
        fi
    else
        [ $st -ne 0 ] && grep -q "$want_err" <<<"$out" ||
            err "$name: want openssl verify error '$want_err', got: $(tr '\n' ' ' <<<"$out")"
    fi

    # PKCS#12: opens with password "test", holds the key and the chain
    want_certs=3
    [ "$name" = mallory-self ] && want_certs=1
    for p12 in "$P/p12/$name.p12" "$P/p12/$name.legacy.p12"; do
        pem=$(openssl pkcs12 -in "$p12" -passin pass:test -nodes 2>/dev/null) ||
            { err "$name: $(basename "$p12") does not open with password test"; continue; }
        [ "$(grep -c 'BEGIN CERTIFICATE' <<<"$pem")" = "$want_certs" ] ||
            err "$name: $(basename "$p12") does not hold $want_certs certificates"
        [ "$(openssl pkey -pubout <<<"$pem" 2>/dev/null)" = \
          "$(openssl x509 -in "$c" -noout -pubkey)" ] ||
            err "$name: $(basename "$p12") key does not match the certificate"
    done
}

# One background job per certificate (openssl start-up dominates).
pids=()
while read -r name addr ktype expected; do
    check_cert "$name" "$addr" "$ktype" "$expected" &
    pids+=($!)
done <<<"$EXPECTED"
for p in "${pids[@]}"; do
    wait "$p" || err "a certificate check job failed"
done

# ------------------------------------------- specific properties
C=$P/certs
out=$(vfy "$C/alice-rsa2048.pem" -crl_check_all \
    -CRLfile "$CA/intermediate.crl.pem" -CRLfile "$CA/root.crl.pem") ||
    err "alice: -crl_check_all with both CRLs failed: $(tr '\n' ' ' <<<"$out")"
out=$(vfy "$C/oscar-weak.pem" -auth_level 2)
grep -q 'key too weak' <<<"$out" || err "oscar: -auth_level 2 should fail (key too weak): $out"
out=$(vfy "$C/alice-rsa2048.pem" -auth_level 2) || err "alice: -auth_level 2 failed: $out"
out=$(vfy "$C/grace-noeku.pem" -purpose smimesign)
grep -q 'unsuitable certificate purpose' <<<"$out" || err "grace: -purpose smimesign should fail: $out"
out=$(vfy "$C/frank-signonly.pem" -purpose smimeencrypt)
grep -q 'unsuitable certificate purpose' <<<"$out" || err "frank: -purpose smimeencrypt should fail: $out"
for n in alice-rsa2048 bob-rsa3072 walter-nokeyusage sender-rsa; do
    out=$(vfy "$C/$n.pem" -purpose smimeencrypt) || err "$n: -purpose smimeencrypt failed: $out"
done
out=$(vfy "$C/heidi-wrongsan.pem" -verify_email heidi@example.test)
grep -q 'email address mismatch' <<<"$out" || err "heidi: -verify_email should fail: $out"
for a in victor@example.test Victor.Alias@Example.TEST; do
    out=$(vfy "$C/victor-multi.pem" -verify_email "$a") || err "victor: -verify_email $a failed: $out"
done
# openssl falls back to the subject emailAddress when there is no SAN.
out=$(vfy "$C/trent-nosan.pem" -verify_email trent@example.test) ||
    err "trent: -verify_email (subject emailAddress) failed: $out"

# dates
nb() { date -d "$(openssl x509 -in "$C/$1.pem" -noout -startdate | cut -d= -f2)" +%s; }
na() { date -d "$(openssl x509 -in "$C/$1.pem" -noout -enddate | cut -d= -f2)" +%s; }
now=$(date +%s)
d=86400
[ $(( (now - $(nb alice-rsa2048)) / 3600 )) -ge 23 ] && [ $(( (now - $(nb alice-rsa2048)) / 3600 )) -le 25 ] ||
    err "alice: notBefore is not about 1 day ago"
[ $(( ($(na alice-rsa2048) - now) / d )) -ge 364 ] && [ $(( ($(na alice-rsa2048) - now) / d )) -le 365 ] ||
    err "alice: notAfter is not about 365 days ahead"
[ $(( (now - $(na dave-expired)) / d )) -ge 364 ] || err "dave: notAfter is not about 1 year ago"
[ $(( (now - $(nb dave-expired)) / d )) -ge 729 ] || err "dave: notBefore is not about 2 years ago"
[ $(( ($(nb erin-future) - now) / d )) -ge 364 ] || err "erin: notBefore is not about 1 year ahead"
[ $(( (now - $(nb judy-old)) / d )) -eq 30 ] || err "judy-old: notBefore is not 30 days ago"
[ "$(nb judy-new)" -gt "$(nb judy-old)" ] || err "judy-new is not newer than judy-old"

# degenerate PKCS#7 bundle (LDAP userSMIMECertificate)
b=$(openssl pkcs7 -inform DER -in "$C/alice-rsa2048.bundle.p7b" -print_certs 2>/dev/null) ||
    err "alice bundle.p7b does not parse as DER PKCS#7"
[ "$(grep -c 'BEGIN CERTIFICATE' <<<"$b")" = 2 ] &&
    grep -q '^subject=CN = alice@example.test' <<<"$b" &&
    grep -q '^subject=O = smime-milter test, CN = smime-milter Test Intermediate CA' <<<"$b" ||
    err "alice bundle.p7b does not hold alice + intermediate"

# ------------------------------------------------------- regeneration
echo keep >"$P/foreign-file"
old=$(openssl x509 -in "$CA/root.pem" -noout -fingerprint -sha256)
"$MKPKI" "$P" >"$TMP/mkpki2.log" 2>&1 || { cat "$TMP/mkpki2.log" >&2; err "second mkpki run failed"; }
[ -f "$P/foreign-file" ] || err "second run removed a file mkpki did not create"
new=$(openssl x509 -in "$CA/root.pem" -noout -fingerprint -sha256)
[ "$old" != "$new" ] || err "second run did not regenerate the root"
out=$(vfy "$C/alice-rsa2048.pem") || err "after regeneration alice does not verify: $out"
n=$(find "$C" -type f | wc -l)
[ "$n" = 41 ] || err "after regeneration certs/ holds $n files, want 41"

t2=$(now_ms)
TOTAL_MS=$((t2 - t0))
echo "t_mkpki: total run time $((TOTAL_MS / 1000)).$(printf %03d $((TOTAL_MS % 1000)))s"

[ "$(nerrors)" -eq 0 ] || fail "$(first_error)"
echo "PASS t_mkpki"
exit 0
