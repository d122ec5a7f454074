#!/bin/bash
# shellcheck disable=SC2119  # it_* functions called without arguments
# t_sendmail -- the core delivery scenario through a real Sendmail (issue 6
# item 7): Debian's sendmail-bin unpacked into the temp dir (sendmail.sh),
# sendmail.cf made by m4 from sendmail-cf and the shipped
# contrib/sendmail/smime-milter.mc, every recipient relayed to smtp-sink.
#
#   1. The scenario of delivery_scenario.sh (To alice, Cc bob, Bcc carol
#      and victor, nocert without certificate): four copies with the right
#      envelopes, each opening only for its recipients, nothing revealing
#      the Bcc recipients, markers on the re-submitted copies.  The copies
#      came back through the InputMailFilters= port without passing the
#      milter again: it saw one message, only from daemon MTA.
#   2. F=T: with the milter stopped, Sendmail answers 4xx and queues
#      nothing; the milter-free port still accepts and delivers.
#   3. Re-submission impossible (ReinjectSocket points at a closed port):
#      the milter tempfails at end-of-data, Sendmail answers 4xx and
#      queues nothing; with the listener back, the retry delivers the four
#      copies once each.
#
# Skips (exit 77) if the packages cannot be downloaded or their libraries
# are missing.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../interop/lib.sh"
. "$(dirname "$0")/delivery_scenario.sh"
. "$(dirname "$0")/sendmail.sh"

it_init
sm_prepare
ds_setup
it_start_sink
it_start_milter "${DS_MILTER_LINES[@]}" "ReinjectSocket inet:$IT_REINJECT_PORT@127.0.0.1"
sm_write_cf
sm_start

# 1. The scenario.
ds_message "$IT_TMP/msg.eml" 1
it_smtp_send "$DS_FROM" "$DS_RCPTS" "$IT_TMP/msg.eml" >/dev/null || it_fail "send refused"
sm_wait_delivered 4 60 || it_fail "expected 4 delivered copies, have $(it_sink_count)"
sleep 1
ds_check_copies
# Sendmail's {daemon_name} reaches the milter, and the copies re-submitted
# through the milter-free port were not filtered again.
n=$(grep -c ": action=" "$IT_MILTER_LOG")
[ "$n" = 1 ] || it_fail "the milter saw $n messages, expected 1 (copies filtered again?)"
grep -q "connect from .* daemon=MTA$" "$IT_MILTER_LOG" || it_fail "no connect from daemon MTA"
grep -q "daemon=MTA-reinject" "$IT_MILTER_LOG" && it_fail "the milter saw the reinjection port"

# 2. F=T: milter down -> 4xx, nothing queued or delivered.
rm -f "$IT_SINK_DIR"/*
it_stop_milter
ds_message "$IT_TMP/msg2.eml" 2
if it_smtp_send "$DS_FROM" "$DS_RCPTS" "$IT_TMP/msg2.eml" >/dev/null 2>"$IT_TMP/refused"; then
    it_fail "accepted with the milter down (F=T missing?)"
fi
reply=$(sed -n 's/.* -> \(4[0-9][0-9][ -].*\)/\1/p' "$IT_TMP/refused" | head -n 1)
[ -n "$reply" ] || it_fail "not a 4xx: $(cat "$IT_TMP/refused")"
sleep 1
[ "$(it_sink_count)" = 0 ] || it_fail "$(it_sink_count) copies delivered with the milter down"
[ "$(sm_queue_count)" = 0 ] || it_fail "$(sm_queue_count) messages queued with the milter down"
# The milter-free port does not depend on the milter at all.
IT_PORT=$IT_REINJECT_PORT it_smtp_send "$DS_FROM" nocert@example.test "$IT_TMP/msg2.eml" \
    >/dev/null || it_fail "the reinjection port refused mail with the milter down"
sm_wait_delivered 1 30 || it_fail "nothing delivered from the reinjection port"

# 3. Re-submission impossible: 4xx, nothing delivered or queued; then the
# retry delivers every copy once.
rm -f "$IT_SINK_DIR"/*
it_start_milter "${DS_MILTER_LINES[@]}" "ReinjectSocket inet:$(it_free_port)@127.0.0.1"
ds_message "$IT_TMP/msg3.eml" 3
if it_smtp_send "$DS_FROM" "$DS_RCPTS" "$IT_TMP/msg3.eml" >/dev/null 2>"$IT_TMP/refused3"; then
    it_fail "accepted although the copies could not be re-submitted"
fi
grep -Eq "(-> |: )4[0-9][0-9][ -]" "$IT_TMP/refused3" || it_fail "not a 4xx: $(cat "$IT_TMP/refused3")"
sleep 1
[ "$(it_sink_count)" = 0 ] || it_fail "$(it_sink_count) copies delivered after a tempfail"
[ "$(sm_queue_count)" = 0 ] || it_fail "$(sm_queue_count) messages queued after a tempfail"
it_stop_milter
it_start_milter "${DS_MILTER_LINES[@]}" "ReinjectSocket inet:$IT_REINJECT_PORT@127.0.0.1"
it_smtp_send "$DS_FROM" "$DS_RCPTS" "$IT_TMP/msg3.eml" >/dev/null || it_fail "retry refused"
sm_wait_delivered 4 60 || it_fail "retry: $(it_sink_count) copies, expected 4"
sleep 1
[ "$(it_sink_count)" = 4 ] || it_fail "retry: $(it_sink_count) copies, expected 4"
for r in alice bob carol victor nocert; do
    n=0
    for f in $(it_sink_files); do
        it_sink_envelope "$f" | grep -q "^RCPT <$r@" && n=$((n + 1))
    done
    [ "$n" = 1 ] || it_fail "retry: $r got $n copies"
done
it_pass "milter down: $reply; re-submission down: 4xx, then every copy once"
