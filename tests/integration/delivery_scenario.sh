# shellcheck shell=bash
# tests/integration/delivery_scenario.sh -- the core delivery scenario of
# issue 6, shared by t_delivery.sh (Postfix) and t_sendmail.sh (Sendmail).
#
# One message To alice, Cc bob, Bcc carol (EC key) and victor, and to
# nocert (no certificate, policy: plain).  Source after lib.sh and it_init:
#   ds_setup                 certificates in $IT_CERT_DIR, policy file;
#                            sets DS_MILTER_LINES (add ReinjectSocket)
#   ds_message FILE N        the message, Message-ID <delivery-test.N@...>
#   DS_FROM, DS_RCPTS        envelope sender and recipients
#   ds_check_copies          from the files smtp-sink wrote:
#     - exactly four copies with the envelope recipients {alice, bob} (stays
#       in the transaction), {carol}, {victor}, {nocert}, each from DS_FROM;
#     - each encrypted copy has exactly its recipients' RecipientInfos
#       (openssl cms -cmsout -print) and decrypts with openssl cms for each
#       of them and for nobody else; the RSA copies also with gpgsm;
#     - no copy's header or CMS names carol or victor but their own, no Bcc
#       field anywhere, the request header is gone;
#     - the re-submitted copies carry the marker;
#     - the milter logged one decision: 4 encrypted, 1 plain, 3 copies
#       re-submitted.
# Needs tests/interop/lib.sh (gpgsm) sourced as well.

# shellcheck disable=SC2034  # used by the test that sources this file
PKI=${SMIME_TEST_PKI:-$TOP/build/test-pki}
DS_FROM=sender@example.org
# shellcheck disable=SC2034
DS_RCPTS="alice@example.test bob@example.test carol@example.test victor@example.test nocert@example.test"
DS_MILTER_LINES=()

ds_setup() {
    local n
    [ -f "$PKI/manifest.tsv" ] || it_fail "no test PKI in $PKI"
    mkdir -p "$IT_CERT_DIR"
    for n in alice-rsa2048 bob-rsa3072 carol-ec256 victor-multi; do
        cat "$PKI/certs/$n.pem" "$PKI/ca/chain.pem" >"$IT_CERT_DIR/$n.pem"
    done
    cat >"$IT_TMP/policy" <<'EOP'
default encrypt=required missing-cert=reject
to nocert@example.test encrypt=required missing-cert=plain
EOP
    # shellcheck disable=SC2034
    DS_MILTER_LINES=("PolicyFile $IT_TMP/policy" "TrustAnchors $PKI/ca/anchors.pem")
}

ds_message() {
    cat >"$1" <<EOM
From: Sender <sender@example.org>
To: Alice <alice@example.test>, nocert@example.test
Cc: bob@example.test
Bcc: carol@example.test, victor@example.test
Subject: Quarterly numbers
Message-ID: <delivery-test.$2@example.org>
Date: Mon, 23 Nov 2026 10:00:00 +0000
X-SMIME-Request: sign

The numbers are fine.
EOM
}

_ds_serial() { openssl x509 -in "$PKI/certs/$1.pem" -noout -serial | cut -d= -f2; }

# _ds_check_copy FILE OPENERS... : RecipientInfo count, who can and cannot
# open it, no trace of the hidden recipients who are not OPENERS.
_ds_check_copy() {
    local f=$1 m=$IT_TMP/c.eml n who
    shift
    it_sink_message "$f" >"$m"
    grep -qi "^Content-Type: application/pkcs7-mime" "$m" || it_fail "$f not encrypted"
    grep -qi "^Bcc:" "$m" && it_fail "$f has a Bcc field"
    grep -qi "^X-SMIME-Request:" "$m" && it_fail "$f still has the request header"
    openssl cms -cmsout -print -in "$m" >"$IT_TMP/print.txt" 2>&1 || it_fail "$f: cms print"
    n=$(grep -c "d.ktri\|d.kari" "$IT_TMP/print.txt")
    [ "$n" = $# ] || it_fail "$f: $n RecipientInfos, expected $#"
    for who in alice-rsa2048 bob-rsa3072 carol-ec256 victor-multi; do
        if openssl cms -decrypt -in "$m" -inkey "$PKI/keys/$who.key" \
            -recip "$PKI/certs/$who.pem" -out "$IT_TMP/p.txt" 2>/dev/null; then
            [[ " $* " == *" $who "* ]] || it_fail "$f opens for $who"
            grep -q "The numbers are fine" "$IT_TMP/p.txt" || it_fail "$f: content"
        else
            [[ " $* " == *" $who "* ]] && it_fail "$f does not open for $who"
        fi
    done
    # Hidden recipients' serials appear only in their own copy.
    for who in carol-ec256 victor-multi; do
        [[ " $* " == *" $who "* ]] && continue
        if grep -qi "$(_ds_serial "$who")" "$IT_TMP/print.txt" ||
            grep -qi "${who%%-*}@" "$m"; then
            it_fail "$f mentions hidden recipient $who"
        fi
    done
    return 0
}

ds_check_copies() {
    local f r w
    local -A copy
    [ "$(it_sink_count)" = 4 ] || it_fail "$(it_sink_count) copies, expected 4"
    # Envelope recipients of each copy -> file.
    for f in $(it_sink_files); do
        r=$(it_sink_envelope "$f" | sed -n 's/^RCPT <\([^>]*\)>.*/\1/p' | sort | tr '\n' ' ')
        copy["$r"]=$f
        it_sink_envelope "$f" | grep -q "^MAIL <$DS_FROM>" ||
            it_fail "copy for {$r}: envelope sender $(it_sink_envelope "$f" | grep '^MAIL')"
    done
    for w in "alice@example.test bob@example.test " "carol@example.test " \
        "victor@example.test " "nocert@example.test "; do
        [ -n "${copy[$w]:-}" ] || it_fail "no copy for exactly {$w}; have: ${!copy[*]}"
    done

    _ds_check_copy "${copy[alice@example.test bob@example.test ]}" alice-rsa2048 bob-rsa3072
    _ds_check_copy "${copy[carol@example.test ]}" carol-ec256
    _ds_check_copy "${copy[victor@example.test ]}" victor-multi
    for w in "carol@example.test " "victor@example.test "; do
        it_sink_message "${copy[$w]}" | grep -q "^X-SMIME-Milter-Copy: v1; t=" \
            || it_fail "re-submitted copy for $w lacks the marker"
    done
    # The plain copy: no Bcc, no hidden recipient, no request header.
    it_sink_message "${copy[nocert@example.test ]}" >"$IT_TMP/plain.eml"
    grep -qi "^Bcc:\|carol@\|victor@\|^X-SMIME-Request" "$IT_TMP/plain.eml" \
        && it_fail "the plain copy leaks: $(grep -i 'bcc\|carol\|victor\|request' "$IT_TMP/plain.eml")"
    grep -q "The numbers are fine" "$IT_TMP/plain.eml" || it_fail "plain copy body"

    # gpgsm reads the RSA copies (CBC, PKCS#1 v1.5).
    if command -v gpgsm >/dev/null 2>&1; then
        gpgsm_setup "$IT_TMP/gnupg" "$PKI" alice-rsa2048 bob-rsa3072 victor-multi \
            >/dev/null 2>&1 || it_fail "gpgsm setup"
        for w in "alice@example.test bob@example.test " "victor@example.test "; do
            it_sink_message "${copy[$w]}" >"$IT_TMP/g.eml"
            gpgsm_decrypt_mime "$IT_TMP/g.eml" "$IT_TMP/g.out" >/dev/null 2>&1 \
                || it_fail "gpgsm cannot decrypt the copy for $w"
            grep -q "The numbers are fine" "$IT_TMP/g.out" || it_fail "gpgsm content for $w"
        done
        gpgsm_teardown "$IT_TMP/gnupg"
    fi
    grep -Eq ": action=accept .*encrypt=4 plain=1 .*3 more copies re-submitted" \
        "$IT_MILTER_LOG" || it_fail "milter decision line: $(grep 'action=' "$IT_MILTER_LOG" | tail -1)"
}
