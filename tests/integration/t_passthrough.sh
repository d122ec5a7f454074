#!/bin/bash
# shellcheck disable=SC2119  # it_* functions called without arguments
# t_passthrough -- 20 messages through Postfix -> smime-milter -> smtp-sink.
#
# The milter (no policy yet) must pass every message unchanged: all 20 are
# delivered, each body byte-identical to what was sent (dot lines, a
# 998-octet line, 8-bit bytes), each header we sent is still there, and
# the milter logs one "QUEUEID: action=accept" per message whose queue id
# is one Postfix assigned.
. "$(dirname "$0")/lib.sh"

N=20           # messages
SESSIONS=4     # concurrent SMTP sessions, N/SESSIONS messages each
FROM=sender@example.org
RCPT=rcpt@example.net

# Write message number $1 to stdout.
make_message() {
    local i=$1 k long
    long=$(printf "%0998d" 0 | tr 0 "$((i % 10))")
    printf 'From: Sender <%s>\n' "$FROM"
    printf 'To: <%s>\n' "$RCPT"
    printf 'Subject: passthrough %02d\n' "$i"
    printf 'Message-ID: <pt-%02d.%s@example.org>\n' "$i" "$$"
    printf 'Date: Thu, 01 Jan 2026 00:00:%02d +0000\n' "$i"
    printf 'MIME-Version: 1.0\n'
    printf 'Content-Type: text/plain; charset=ISO-8859-1\n'
    printf 'Content-Transfer-Encoding: 8bit\n'
    printf '\n'
    printf 'Message %02d of %d.\n' "$i" "$N"
    printf '.leading dot\n..two leading dots\n.\n'
    printf '%s\n' "$long"
    printf '8-bit: \xe4\xf6\xfc\xdf \xc3\xa9 \x80\xfe\xff\n'
    printf 'trailing blanks \t \n\n\n'
    printf 'From the start of a line\n'
    for k in $(seq 1 $((i * 7))); do
        printf 'filler line %d of message %d\n' "$k" "$i"
    done
    printf 'last line\n'
}

# Send all messages in $SESSIONS parallel sessions; "QUEUEID FILE" lines go
# to $IT_TMP/queued.
send_all() {
    local s i files pids=() rc=0 pid
    mkdir -p "$IT_TMP/out"
    for i in $(seq 1 $N); do
        make_message "$i" >"$IT_TMP/out/$(printf 'm%02d' "$i").eml"
    done
    for s in $(seq 0 $((SESSIONS - 1))); do
        files=()
        for i in $(seq $((s + 1)) "$SESSIONS" $N); do
            files+=("$IT_TMP/out/$(printf 'm%02d' "$i").eml")
        done
        it_smtp_send "$FROM" "$RCPT" "${files[@]}" >"$IT_TMP/queued.$s" &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
    cat "$IT_TMP"/queued.* >"$IT_TMP/queued"
    return $rc
}

# Every delivered message must match the sent one it names in Subject:
# body byte for byte (smtp-sink stores LF line ends, as our files have),
# every header line we sent, and the envelope.
check_delivered() {
    local f num orig got=$IT_TMP/got seen=" "
    for f in $(it_sink_files); do
        it_sink_message "$f" >"$got.msg"
        sed '1,/^$/d' "$got.msg" >"$got.body"
        num=$(sed -n '/^$/q; s/^Subject: passthrough \([0-9]*\)$/\1/p' "$got.msg")
        [ -n "$num" ] || it_fail "no Subject in ${f##*/}"
        case $seen in *" $num "*) it_fail "message $num delivered twice" ;; esac
        seen="$seen$num "
        orig=$IT_TMP/out/m$num.eml
        sed '1,/^$/d' "$orig" | cmp -s - "$got.body" ||
            it_fail "body of message $num changed (${f##*/}):" \
                "$(sed '1,/^$/d' "$orig" | diff - "$got.body" | head -10 | cut -c1-100)"
        check_headers "$got.msg" "$orig" "$num"
        it_sink_envelope "$f" >"$got.env"
        grep -q "^MAIL <$FROM>" "$got.env" || it_fail "message $num: envelope sender changed"
        grep -q "^RCPT <$RCPT>" "$got.env" || it_fail "message $num: envelope recipient changed"
    done
}

# Every header line of the sent message $2 appears in the header of $1.
check_headers() {
    local got=$1 orig=$2 num=$3 h
    sed '/^$/q' "$got" >"$got.hdr"
    while IFS= read -r h; do
        [ -n "$h" ] || break
        grep -qxF -- "$h" "$got.hdr" || it_fail "message $num lost header: $h"
    done <"$orig"
}

# One action=accept line per message, each with a queue id Postfix assigned
# (smtpd log line and "queued as" reply).
check_milter_log() {
    local n qid
    n=$(grep -c 'action=accept' "$IT_MILTER_LOG")
    [ "$n" = "$N" ] || it_fail "milter logged $n action=accept lines, want $N"
    sed -n 's/.*[: ]\([0-9A-F]\{6,\}\): action=accept .*/\1/p' "$IT_MILTER_LOG" |
        sort -u >"$IT_TMP/milter.qids"
    n=$(grep -c . "$IT_TMP/milter.qids")
    [ "$n" = "$N" ] || it_fail "milter logged $n distinct queue ids, want $N"
    while read -r qid; do
        grep -q "\]: $qid: client=" "$IT_PF_LOG" ||
            it_fail "milter queue id $qid not in the Postfix log"
        grep -q "^$qid " "$IT_TMP/queued" ||
            it_fail "milter queue id $qid not in any 'queued as' reply"
        grep "[: ]$qid: action=accept " "$IT_MILTER_LOG" |
            grep -q "from=<$FROM> nrcpt=1 size=[0-9]" ||
            it_fail "milter line for $qid lacks from=<$FROM> nrcpt=1 size=N"
    done <"$IT_TMP/milter.qids"
}

it_init
it_start_sink
it_start_milter
it_start_postfix

send_all || it_fail "sending failed"
n=$(grep -c '^[0-9A-F]\{6,\} ' "$IT_TMP/queued")
[ "$n" = "$N" ] || it_fail "$n of $N messages queued"
it_wait_delivered "$N" 30 || it_fail "not all messages delivered"
[ "$(it_sink_count)" = "$N" ] || it_fail "$(it_sink_count) messages delivered, want $N"
check_delivered
check_milter_log
it_pass
