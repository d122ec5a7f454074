#!/bin/bash
# shellcheck disable=SC2119  # it_* functions called without arguments
# t_notice -- missing-certificate notices checked by an independent MIME
# parser (Python's email package, tests/interop/noticecheck.py), and the
# SMTP client against a real server (Postfix's smtp-sink).
#
# Notices with hostile Subject and Message-ID values (CR/LF injection,
# 8-bit, encoded-words, 20 KB) must parse without defects, with exactly
# the expected fields and the expected decoded Subject.  One of them and
# an awkward raw message (dot lines, bare LF and CR, no final newline)
# are submitted to smtp-sink, which must receive them intact with the
# right envelope; a refused recipient and a closed port must fail.
. "$(dirname "$0")/lib.sh"

TOOL=${SMTPSUBMIT_TOOL:-$TOP/build/tests/smtpsubmit_tool}
CHECK=$TOP/tests/interop/noticecheck.py
PFX='Undelivered (no certificate): '
FROM=postmaster@gw.example
TO=alice@example.org

command -v python3 >/dev/null || it_fail "python3 is needed"
[ -x "$TOOL" ] || it_fail "$TOOL not built (make unit)"
it_init

# notice NAME SUBJECT MSGID: the notice in $IT_TMP/NAME.eml
notice() {
    "$TOOL" notice --hint X-SMIME-Request "$FROM" "$TO" "$2" "$3" 4ABCD \
        gw.example 'bob@example.net=no certificate found' \
        "$(printf 'j\xc3\xbcrgen@example.net=expired\r\nBcc: x@y')" \
        >"$IT_TMP/$1.eml" || it_fail "notice $1"
}

# check NAME WANTED-SUBJECT IN-REPLY-TO [noticecheck options]
check() {
    local name=$1 subject=$2 irt=$3
    shift 3
    python3 "$CHECK" "$IT_TMP/$name.eml" --from "$FROM" --to "$TO" \
        --subject "$PFX$subject" --in-reply-to "$irt" \
        --contains 'bob@example.net: no certificate found' \
        --contains "$(printf 'j\xc3\xbcrgen@example.net: expired Bcc: x@y')" \
        --contains 'X-SMIME-Request: plain-ok' "$@" || it_fail "check $name"
}

notice plain 'Quarterly report' '<q.1@example.org>'
check plain 'Quarterly report' '<q.1@example.org>'

notice crlf "$(printf 'hi\r\nBcc: evil@example.org\r\n\r\nfake body')" \
    "$(printf '<a@b>\r\nBcc: evil@example.org')"
check crlf 'hi Bcc: evil@example.org fake body' -

notice lf "$(printf 'hi\nTo: evil@example.org\rCc: x')" '<a@b> <c@d>'
check lf 'hi To: evil@example.org Cc: x' -

notice utf8 "$(printf 'Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80')" '<u@example.org>'
check utf8 "$(printf 'Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80')" '<u@example.org>' \
    --contains "$(printf 'Subject:    Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln')"

notice ew "$(printf 'Re: =?iso-8859-1?q?caf=e9?=\r\n =?ISO-2022-JP?B?GyRCJEckORsoQg==?= =?x-unknown?q?zz?= =?UTF-8?Q?a=0D=0ABcc:_x?=')" '<e@example.org>'
check ew "$(printf 'Re: caf\xc3\xa9\xe3\x81\xa7\xe3\x81\x99 =?x-unknown?q?zz?= a Bcc: x')" '<e@example.org>'

notice latin1 "$(printf 'caf\xe9')" '<l@example.org>'
check latin1 "$(printf 'caf\xef\xbf\xbd')" '<l@example.org>'

long=$(printf 'word%.0s ' $(seq 1 4000))
notice long "$long" '<long@example.org>'
check long "$(printf 'word %.0s' $(seq 1 39))wo..." '<long@example.org>'

longu=$(printf '\xc3\xa4%.0s' $(seq 1 5000))
notice longu "$longu" '<longu@example.org>'
check longu "$(printf '\xc3\xa4%.0s' $(seq 1 197))..." '<longu@example.org>'

# The checker itself must notice a broken notice.
sed 's/^Subject:/X-Other: x\r\nSubject:/' "$IT_TMP/plain.eml" >"$IT_TMP/bad.eml"
python3 "$CHECK" "$IT_TMP/bad.eml" --from "$FROM" --to "$TO" \
    --subject "${PFX}Quarterly report" --in-reply-to '<q.1@example.org>' \
    >/dev/null && it_fail "noticecheck accepted an extra field"

# ---- a real SMTP server
it_start_sink
SPEC="inet:$IT_SINK_PORT@127.0.0.1"

# wait_files N: N complete dump files in the sink.
wait_files() {
    for _ in $(seq 1 50); do
        [ "$(it_sink_count)" -ge "$1" ] && sleep 0.2 && return 0
        sleep 0.1
    done
    it_fail "smtp-sink has $(it_sink_count) messages, want $1"
}

out=$("$TOOL" submit "$SPEC" gw.example "" "$TO" <"$IT_TMP/utf8.eml") ||
    it_fail "submit notice: $out"
wait_files 1
f=$(it_sink_files | tail -n 1)
[ "$(it_sink_envelope "$f")" = "MAIL <>
RCPT <$TO>" ] || it_fail "envelope: $(it_sink_envelope "$f")"
it_sink_message "$f" >"$IT_TMP/got-notice.eml"
cmp -s "$IT_TMP/got-notice.eml" <(tr -d '\r' <"$IT_TMP/utf8.eml") ||
    it_fail "notice changed in transit"
cp "$IT_TMP/got-notice.eml" "$IT_TMP/utf8-lf.eml"
check utf8-lf "$(printf 'Gr\xc3\xbc\xc3\x9fe aus K\xc3\xb6ln \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80')" '<u@example.org>' --lf

# Dot lines, bare LF and CR, no final newline; two recipients.
printf 'Subject: dots\n\n.one\r\n..two\n.\n\r\n.\r\nbare\rcr\nend' >"$IT_TMP/raw.eml"
out=$("$TOOL" submit "$SPEC" gw.example s@example.org a@example.net b@example.net \
    <"$IT_TMP/raw.eml") || it_fail "submit raw: $out"
wait_files 2
f=$(it_sink_files | tail -n 1)
[ "$(it_sink_envelope "$f")" = "MAIL <s@example.org>
RCPT <a@example.net>
RCPT <b@example.net>" ] || it_fail "envelope: $(it_sink_envelope "$f")"
[ "$(it_sink_message "$f")" = "$(printf 'Subject: dots\n\n.one\n..two\n.\n\n.\nbare\ncr\nend')" ] ||
    it_fail "raw message changed: $(it_sink_message "$f" | od -c | head)"

# Unsafe address: refused before connecting; closed port: tempfail.
out=$("$TOOL" submit "$SPEC" gw.example "" "$(printf 'a@b\r\nRCPT TO:<c@d>')" <"$IT_TMP/raw.eml")
[ $? = 2 ] || it_fail "unsafe recipient: $out"
it_alloc_port closed
out=$("$TOOL" submit "inet:$closed@127.0.0.1" gw.example "" a@b <"$IT_TMP/raw.eml")
[ $? = 1 ] && [[ $out == tempfail:*refused* ]] || it_fail "closed port: $out"
[ "$(it_sink_count)" = 2 ] || it_fail "unexpected messages in the sink"

it_pass
