#!/bin/bash
# shellcheck disable=SC2119  # it_* functions called without arguments
# t_notify -- missing-cert notify through a real Postfix (issue 5).
#
# Policy: mail to *@example.test must be encrypted, missing-cert=notify.
# One message to alice@example.test (has a certificate) and
# nocert@example.test (has none):
#   - alice gets the message, encrypted to her only; openssl cms decrypts
#     it with her key; nocert is no longer a recipient of that copy;
#   - the sender gets a notice from postmaster@<host> with the null
#     envelope sender through the milter-free reinjection listener: a
#     proper MIME message (parsed with Python's email package) naming
#     nocert@example.test, quoting the original Subject and referring to
#     its Message-ID;
#   - nocert gets nothing.
. "$(dirname "$0")/lib.sh"

PKI=${SMIME_TEST_PKI:-$TOP/build/test-pki}
FROM=sender@example.org

it_init
[ -f "$PKI/manifest.tsv" ] || it_fail "no test PKI in $PKI"
mkdir -p "$IT_CERT_DIR"
cat "$PKI/certs/alice-rsa2048.pem" "$PKI/ca/chain.pem" \
    >"$IT_CERT_DIR/alice.pem" || it_fail "copy cert"
cat >"$IT_TMP/policy" <<'EOP'
default encrypt=opportunistic
to *@example.test encrypt=required missing-cert=notify
EOP
it_start_sink
it_start_milter "PolicyFile $IT_TMP/policy" \
    "TrustAnchors $PKI/ca/anchors.pem" \
    "ReinjectSocket inet:$IT_REINJECT_PORT@127.0.0.1" \
    "NoticeFrom postmaster"
it_start_postfix

cat >"$IT_TMP/msg.eml" <<'EOM'
From: Sender <sender@example.org>
To: Alice <alice@example.test>, No Cert <nocert@example.test>
Subject: Contract =?UTF-8?Q?f=C3=BCr?= review
Message-ID: <notify-test.1@example.org>
Date: Mon, 23 Nov 2026 10:00:00 +0000

The contract is attached in spirit.
EOM
it_smtp_send "$FROM" "alice@example.test nocert@example.test" \
    "$IT_TMP/msg.eml" >"$IT_TMP/queued" || it_fail "send refused"
it_wait_delivered 2 60 || it_fail "expected 2 delivered messages, have $(it_sink_count)"
sleep 1
[ "$(it_sink_count)" = 2 ] || it_fail "$(it_sink_count) messages in the sink, expected 2"

copy= notice=
for f in $(it_sink_files); do
    env=$(it_sink_envelope "$f")
    case $env in
    "MAIL <>"*) notice=$f ;;
    *) copy=$f ;;
    esac
done
[ -n "$copy" ] || it_fail "no encrypted copy in the sink"
[ -n "$notice" ] || it_fail "no notice with the null sender in the sink"

# The copy: to alice only, encrypted, decryptable by her.
env=$(it_sink_envelope "$copy")
[ "$(echo "$env" | sed 's/> .*/>/')" = "MAIL <$FROM>
RCPT <alice@example.test>" ] || it_fail "copy envelope: $env"
it_sink_message "$copy" >"$IT_TMP/copy.eml"
grep -qi "^Content-Type: application/pkcs7-mime" "$IT_TMP/copy.eml" \
    || it_fail "copy is not S/MIME encrypted"
openssl cms -decrypt -in "$IT_TMP/copy.eml" -inkey "$PKI/keys/alice-rsa2048.key" \
    -recip "$PKI/certs/alice-rsa2048.pem" -out "$IT_TMP/plain.txt" 2>"$IT_TMP/cms.err" \
    || it_fail "openssl cms cannot decrypt alice's copy: $(cat "$IT_TMP/cms.err")"
grep -q "attached in spirit" "$IT_TMP/plain.txt" || it_fail "decrypted text differs"

# The notice: to the sender, a well-formed MIME message.
env=$(it_sink_envelope "$notice")
[ "$(echo "$env" | sed 's/> .*/>/')" = "MAIL <>
RCPT <$FROM>" ] || it_fail "notice envelope: $env"
it_sink_message "$notice" >"$IT_TMP/notice.eml"
python3 - "$IT_TMP/notice.eml" <<'EOPY' || it_fail "notice check failed"
import sys, email, email.policy
raw = open(sys.argv[1], 'rb').read()
m = email.message_from_bytes(raw, policy=email.policy.default)
def need(cond, why):
    if not cond:
        print("notice: " + why); sys.exit(1)
need(m['From'] is not None and 'postmaster@' in str(m['From']), "From is %r" % m['From'])
need(str(m['To']).endswith('sender@example.org') or 'sender@example.org' in str(m['To']), "To is %r" % m['To'])
need(m['Auto-Submitted'] == 'auto-generated', "Auto-Submitted is %r" % m['Auto-Submitted'])
need(m['In-Reply-To'] == '<notify-test.1@example.org>', "In-Reply-To is %r" % m['In-Reply-To'])
need(m['MIME-Version'] == '1.0', "no MIME-Version")
need(m.get_content_type() == 'text/plain', "type %s" % m.get_content_type())
need('für' in str(m['Subject']) or 'Contract' in str(m['Subject']), "Subject is %r" % m['Subject'])
body = m.get_content()
need('nocert@example.test' in body, "body does not name nocert@example.test")
need('alice@example.test' not in body, "body names a recipient that got the mail")
for line in raw.split(b'\n'):
    need(len(line) <= 999, "line over 998 octets")
EOPY
grep -Eq ": action=accept .*encrypt=1 .*notify=1" "$IT_MILTER_LOG" \
    || it_fail "milter log lacks the decision line"
it_pass
