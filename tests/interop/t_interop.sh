#!/bin/bash
# t_interop.sh -- what smime-milter's engine writes, independent S/MIME
# implementations read: every copy made by "smimectl process" is
# decrypted and verified with the openssl CLI and, where gpgsm 2.2 can
# (RSA with PKCS#1 v1.5 and AES-CBC), with gpgsm; the content recovered
# is compared part by part with the original by Python's email package.
#
# Matrix: recipients RSA-2048, RSA-3072, EC P-256 x ciphers AES-128/256
# GCM/CBC x key transport PKCS#1 v1.5 / OAEP (RSA) x clear/opaque
# signature x with/without header protection, on a message with 8bit text
# and a binary attachment; plus a 7-bit text message and a 10 MB
# attachment.  Each copy must decrypt for its group only, and
# "openssl cms -cmsout -print" must show only its group's recipients.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
CTL=${SMIMECTL:-$TOP/build/smimectl}
# shellcheck source=lib.sh
source "$HERE/lib.sh"
TMP=$(mktemp -d /tmp/t_interop.XXXXXX)
cleanup() { gpgsm_teardown; rm -rf "$TMP"; }
trap cleanup EXIT
checks=0

fail() {
	echo "FAIL t_interop: $*"
	exit 1
}

PKI=${SMIME_TEST_PKI:-}
if [ -z "$PKI" ]; then
	PKI=$TMP/pki
	"$TOP/tests/pki/mkpki" "$PKI" >/dev/null || fail "mkpki"
fi
key() { echo "$PKI/keys/$1.key"; }
crt() { echo "$PKI/certs/$1.pem"; }

# --- test messages -----------------------------------------------------
crlf() { sed 's/$/\r/'; }
{
	printf 'From: Sender <sender@example.test>\nTo: Alice <alice@example.test>\n'
	printf 'Subject: plain ascii\nMessage-ID: <7bit@example.test>\n\n'
	printf 'Hello,\n\nthis is 7-bit text.\n.\nA line with a dot.\n'
} | crlf >"$TMP/m7bit.eml"
head -c 4000 /dev/urandom >"$TMP/blob.bin"
printf 'Hello,\n\nthis is 7-bit text.\n.\nA line with a dot.\n' >"$TMP/m7bit.txt"
# (A part followed by a delimiter ends before the CRLF that belongs to the
# delimiter, RFC 2046: the expected text has no final line end.)
printf 'Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln,\nthe numbers are attached.' >"$TMP/m8bit.txt"
{
	{
		printf 'From: Sender <sender@example.test>\nTo: Alice <alice@example.test>\n'
		printf 'Subject: Quarterly numbers\nMessage-ID: <8bit@example.test>\n'
		printf 'Date: Mon, 23 Nov 2026 10:00:00 +0000\nMIME-Version: 1.0\n'
		printf 'Content-Type: multipart/mixed; boundary="b1"\n\n'
		printf -- '--b1\nContent-Type: text/plain; charset=utf-8\n'
		printf 'Content-Transfer-Encoding: 8bit\n\nGr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln,\nthe numbers are attached.\n'
		printf -- '--b1\nContent-Type: application/octet-stream\n'
		printf 'Content-Disposition: attachment; filename="blob.bin"\n'
		printf 'Content-Transfer-Encoding: binary\n\n'
	} | crlf
	cat "$TMP/blob.bin"
	printf '\r\n--b1--\r\n'
} >"$TMP/m8bit.eml"

# --- one case ----------------------------------------------------------
# case RCPT OTHER CIPHER KT SIGN HP MESSAGE TYPE=FILE...
run_case() {
	local rcpt=$1 other=$2 cipher=$3 kt=$4 sign=$5 hp=$6 msg=$7
	shift 7
	local out=$TMP/out dec=$TMP/dec.eml content=$TMP/content.eml what
	what="$rcpt $cipher $kt $sign ${hp:-nohp} $(basename "$msg")"
	rm -rf "$out"
	# shellcheck disable=SC2086
	"$CTL" process --sign "$sign" --sign-key "$(key sender-rsa)" \
	    --sign-cert "$(crt sender-rsa)" --sign-chain "$PKI/ca/intermediate.pem" \
	    --cipher "$cipher" --key-transport "$kt" $hp \
	    --group "$(crt "$rcpt")" --group "$(crt "$other")" \
	    --out "$out" <"$msg" >/dev/null 2>"$TMP/err" ||
	    fail "$what: process: $(cat "$TMP/err")"
	# The copy for rcpt: openssl decrypts, verifies, content matches.
	openssl cms -decrypt -inkey "$(key "$rcpt")" -recip "$(crt "$rcpt")" \
	    -in "$out/copy-1.eml" -out "$dec" 2>"$TMP/err" ||
	    fail "$what: openssl cannot decrypt: $(head -2 "$TMP/err")"
	openssl cms -verify -CAfile "$PKI/ca/anchors.pem" -in "$dec" \
	    -out "$content" 2>"$TMP/err" >/dev/null ||
	    fail "$what: openssl cannot verify: $(head -2 "$TMP/err")"
	python3 "$HERE/mimecmp.py" "$content" "$@" >"$TMP/err" ||
	    fail "$what: content differs: $(cat "$TMP/err")"
	# Only rcpt's identifier in its copy; the other group cannot read it.
	openssl cms -cmsout -print -in "$out/copy-1.eml" >"$TMP/print" ||
	    fail "$what: cmsout"
	[ "$(grep -c 'serialNumber:' "$TMP/print")" = 1 ] ||
	    fail "$what: copy 1 does not have exactly one recipient"
	serial=$(openssl x509 -in "$(crt "$rcpt")" -noout -serial | sed 's/.*=//')
	grep -qi "serialNumber: .*$serial\|serialNumber: 0x$serial" "$TMP/print" ||
	    grep -q "serialNumber: $((16#$serial))" "$TMP/print" ||
	    fail "$what: copy 1 is not for $rcpt"
	openssl cms -decrypt -inkey "$(key "$other")" -recip "$(crt "$other")" \
	    -in "$out/copy-1.eml" -out /dev/null 2>/dev/null &&
	    fail "$what: $other decrypted a copy not addressed to them"
	if [ -n "$hp" ]; then
		grep -q '^Subject: \[\.\.\.\]' "$out/copy-1.eml" ||
		    fail "$what: outer Subject not replaced"
		grep -q '^Subject: Quarterly numbers\|^Subject: plain ascii' \
		    "$content" || fail "$what: Subject not inside"
		grep -q 'hp="cipher"' "$content" || fail "$what: no hp=\"cipher\""
	fi
	grep -qi '^Bcc:' "$out/copy-1.eml" && fail "$what: Bcc on the copy"
	# gpgsm where it can: RSA, PKCS#1 v1.5, CBC.
	if [ "$kt" = rsa-pkcs1 ] && [ "${cipher#*-}" = cbc ] &&
	    [ "$rcpt" != carol-ec256 ]; then
		gpgsm_decrypt_mime "$out/copy-1.eml" "$TMP/g.eml" ||
		    fail "$what: gpgsm cannot decrypt"
		cmp -s "$TMP/g.eml" "$dec" || fail "$what: gpgsm decrypted other bytes"
		gpgsm_verify_mime "$TMP/g.eml" >"$TMP/gv" 2>&1 ||
		    fail "$what: gpgsm cannot verify: $(tail -3 "$TMP/gv")"
		grep -q "Good signature" "$TMP/gv" || fail "$what: gpgsm: no good signature"
		gpgsm_checks=$((gpgsm_checks + 1))
	fi
	checks=$((checks + 1))
}

gpgsm_setup "$TMP/gnupg" "$PKI" alice-rsa2048 bob-rsa3072 ||
    fail "gpgsm setup"
gpgsm_checks=0
start=$(date +%s)
for rcpt in alice-rsa2048 bob-rsa3072 carol-ec256; do
	other=bob-rsa3072
	[ "$rcpt" = bob-rsa3072 ] && other=alice-rsa2048
	kts="rsa-pkcs1 rsa-oaep"
	[ "$rcpt" = carol-ec256 ] && kts=auto
	for cipher in aes128-gcm aes256-gcm aes128-cbc aes256-cbc; do
		for kt in $kts; do
			for sign in clear opaque; do
				for hp in "" --protect-headers; do
					run_case "$rcpt" "$other" "$cipher" "$kt" \
					    "$sign" "$hp" "$TMP/m8bit.eml" \
					    "text/plain=$TMP/m8bit.txt" \
					    "application/octet-stream=$TMP/blob.bin"
				done
			done
		done
	done
done
run_case alice-rsa2048 bob-rsa3072 aes256-cbc rsa-pkcs1 clear "" \
    "$TMP/m7bit.eml" "text/plain=$TMP/m7bit.txt"

# 10 MB binary attachment, once, through both implementations.
head -c $((10 * 1024 * 1024)) /dev/urandom >"$TMP/big.bin"
{
	{
		printf 'From: sender@example.test\nTo: alice@example.test\n'
		printf 'Subject: big\nMIME-Version: 1.0\n'
		printf 'Content-Type: multipart/mixed; boundary="b2"\n\n--b2\n'
		printf 'Content-Type: text/plain\n\nsee attachment\n--b2\n'
		printf 'Content-Type: application/octet-stream\n'
		printf 'Content-Transfer-Encoding: binary\n\n'
	} | crlf
	cat "$TMP/big.bin"
	printf '\r\n--b2--\r\n'
} >"$TMP/mbig.eml"
printf 'see attachment' >"$TMP/mbig.txt"
run_case alice-rsa2048 bob-rsa3072 aes256-cbc rsa-pkcs1 opaque "" \
    "$TMP/mbig.eml" "text/plain=$TMP/mbig.txt" \
    "application/octet-stream=$TMP/big.bin"

echo "PASS t_interop ($checks cases, $gpgsm_checks also with gpgsm, $(( $(date +%s) - start ))s)"
