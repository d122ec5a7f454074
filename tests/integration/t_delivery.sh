#!/bin/bash
# shellcheck disable=SC2119  # it_* functions called without arguments
# t_delivery -- delivery groups end to end through a real Postfix
# (issue 6): the scenario of delivery_scenario.sh (To alice, Cc bob, Bcc
# carol and victor, nocert without certificate; four copies, each opening
# only for its recipients, nothing revealing the Bcc recipients).
# Then the reinjection listener is made unreachable: the client gets a
# 4xx and nothing is delivered; once it is back, the same message is
# delivered exactly once per copy.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../interop/lib.sh"
. "$(dirname "$0")/delivery_scenario.sh"

FROM=$DS_FROM
RCPTS=$DS_RCPTS

it_init
ds_setup
it_start_sink
MILTER_LINES=("${DS_MILTER_LINES[@]}" "ReinjectSocket inet:$IT_REINJECT_PORT@127.0.0.1")
it_start_milter "${MILTER_LINES[@]}"
it_start_postfix

ds_message "$IT_TMP/msg.eml" 1
it_smtp_send "$FROM" "$RCPTS" "$IT_TMP/msg.eml" >"$IT_TMP/queued" \
    || it_fail "send refused"
it_wait_delivered 4 60 || it_fail "expected 4 delivered copies, have $(it_sink_count)"
sleep 1
ds_check_copies

# Reinjection unreachable: 4xx, nothing delivered; back: delivered once.
rm -f "$IT_SINK_DIR"/*
it_stop_milter
port=$(it_free_port)
it_start_milter "PolicyFile $IT_TMP/policy" "TrustAnchors $PKI/ca/anchors.pem" \
    "ReinjectSocket inet:$port@127.0.0.1"
sed -i 's/delivery-test.1/delivery-test.2/' "$IT_TMP/msg.eml"
if it_smtp_send "$FROM" "$RCPTS" "$IT_TMP/msg.eml" >/dev/null 2>"$IT_TMP/refused"; then
    it_fail "accepted although the copies could not be re-submitted"
fi
grep -q " 4[0-9][0-9]" "$IT_TMP/refused" || it_fail "not a 4xx: $(cat "$IT_TMP/refused")"
sleep 2
[ "$(it_sink_count)" = 0 ] || it_fail "$(it_sink_count) copies delivered after a tempfail"
it_stop_milter
it_start_milter "${MILTER_LINES[@]}"
it_smtp_send "$FROM" "$RCPTS" "$IT_TMP/msg.eml" >/dev/null || it_fail "retry refused"
it_wait_delivered 4 60 || it_fail "retry: $(it_sink_count) copies"
sleep 1
[ "$(it_sink_count)" = 4 ] || it_fail "retry: $(it_sink_count) copies, expected 4"

# The journal: a listener that takes two copies and refuses the third of
# five; the retry must send only the three that did not go out.
rm -f "$IT_SINK_DIR"/*
for n in walter-nokeyusage peggy-anyeku; do
    cat "$PKI/certs/$n.pem" "$PKI/ca/chain.pem" >"$IT_CERT_DIR/$n.pem"
done
fport=$(it_free_port)
python3 - "$fport" "$IT_TMP/fake.log" <<'EOPY' &
import socket, sys
port, log = int(sys.argv[1]), open(sys.argv[2], "w")
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", port)); srv.listen(1); srv.settimeout(60)
done = 0
# Connections without MAIL (port probes) do not count.
while done == 0:
    conn, _ = srv.accept(); f = conn.makefile("rb"); mail = False
    def say(t): conn.sendall((t + "\r\n").encode())
    try:  # a port probe closes at once: not an error
        say("220 fake")
        while True:
            line = f.readline()
            if not line: break
            cmd = line.decode("latin-1").strip()
            up = cmd.upper()
            if up.startswith("EHLO") or up.startswith("HELO"): say("250 fake")
            elif up.startswith("MAIL"):
                mail = True
                say("451 4.3.0 try later" if done == 2 else "250 ok")
            elif up.startswith("RCPT"):
                log.write(cmd[8:] + "\n"); log.flush(); say("250 ok")
            elif up == "DATA":
                say("354 go")
                while f.readline().rstrip(b"\r\n") != b".": pass
                done += 1; say("250 ok")
            elif up == "RSET": say("250 ok")
            elif up == "QUIT": say("221 bye"); break
            else: say("250 ok")
    except OSError:
        pass
    conn.close()
    if mail and done == 0: done = -1
EOPY
fpid=$!
it_wait_port "$fport" 10 "$fpid" || it_fail "fake listener"
it_stop_milter
it_start_milter "PolicyFile $IT_TMP/policy" "TrustAnchors $PKI/ca/anchors.pem" \
    "ReinjectSocket inet:$fport@127.0.0.1"
cat >"$IT_TMP/five.eml" <<'EOM'
From: Sender <sender@example.org>
To: alice@example.test
Subject: Five hidden
Message-ID: <delivery-test.3@example.org>

Five Bcc recipients.
EOM
FIVE="bob@example.test carol@example.test victor@example.test walter@example.test peggy@example.test"
if it_smtp_send "$FROM" "alice@example.test $FIVE" "$IT_TMP/five.eml" >/dev/null 2>&1; then
    it_fail "accepted although the third copy was refused"
fi
wait "$fpid"
[ "$(grep -c . "$IT_TMP/fake.log")" = 2 ] || it_fail "fake listener saw: $(cat "$IT_TMP/fake.log")"
it_stop_milter
it_start_milter "${MILTER_LINES[@]}"
it_smtp_send "$FROM" "alice@example.test $FIVE" "$IT_TMP/five.eml" >/dev/null \
    || it_fail "retry refused"
it_wait_delivered 4 60 || it_fail "journal retry: $(it_sink_count) copies"
sleep 1
[ "$(it_sink_count)" = 4 ] || it_fail "journal retry: $(it_sink_count) copies, expected 4 (1 + 3 not sent before)"
# Every recipient exactly once over both attempts.
{
    head -n 2 "$IT_TMP/fake.log" | tr -d '<>'
    for f in $(it_sink_files); do
        it_sink_envelope "$f" | sed -n 's/^RCPT <\([^>]*\)>.*/\1/p'
    done
} | sort >"$IT_TMP/all"
printf '%s\n' alice@example.test $FIVE | sort >"$IT_TMP/want"
diff "$IT_TMP/want" "$IT_TMP/all" >/dev/null || \
    it_fail "deliveries over both attempts: $(tr '\n' ' ' <"$IT_TMP/all")"

# Loop-proof: the re-injection listener runs the milter too.  The copies
# come back with a marker that verifies and pass untouched: still exactly
# one copy per group, each encrypted once.
rm -f "$IT_SINK_DIR"/*
sed -i '/^  -o smtpd_milters=$/d' "$IT_PF_DIR/master.cf"
it_postfix_reload
sleep 1
sed -i 's/delivery-test.3/delivery-test.4/' "$IT_TMP/five.eml"
it_smtp_send "$FROM" "alice@example.test $FIVE" "$IT_TMP/five.eml" >/dev/null \
    || it_fail "loop test refused"
it_wait_delivered 6 60 || it_fail "loop test: $(it_sink_count) copies"
sleep 2
[ "$(it_sink_count)" = 6 ] || it_fail "loop test: $(it_sink_count) copies, expected 6"
n=$(grep -c "reason=\"our re-submitted copy, passed untouched\"" "$IT_MILTER_LOG")
[ "$n" = 5 ] || it_fail "$n copies recognised by their marker, expected 5"
for f in $(it_sink_files); do
    it_sink_message "$f" >"$IT_TMP/l.eml"
    openssl cms -cmsout -print -in "$IT_TMP/l.eml" >"$IT_TMP/lp.txt" 2>&1 ||
        it_fail "copy not a single CMS envelope"
    [ "$(grep -c 'd.ktri\|d.kari' "$IT_TMP/lp.txt")" = 1 ] ||
        it_fail "a copy has more than its recipient's RecipientInfo"
done
it_pass
