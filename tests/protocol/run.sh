#!/bin/bash
# tests/protocol/run.sh -- milter protocol test of smime-milter with miltertest.
#
# Starts $SMIME_MILTER (default $TOP/build/smime-milter) in the foreground
# with a temporary config on a free 127.0.0.1 port, runs capture.lua through
# miltertest, then checks the milter log, the spool directory and a clean
# SIGTERM shutdown.  Prints "PASS protocol-capture" or "FAIL protocol-capture:
# reason".  KEEP_TMP=1 keeps the temp dir; VERBOSE=1 shows the logs on PASS.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SMIME_MILTER=${SMIME_MILTER:-$TOP/build/smime-milter}
MILTERTEST=${MILTERTEST:-miltertest}
NAME=protocol-capture

# shellcheck source=lib.sh
source "$HERE/lib.sh"

command -v "$MILTERTEST" >/dev/null 2>&1 || fail "miltertest not found"
[ -x "$SMIME_MILTER" ] || fail "milter binary $SMIME_MILTER not found/executable"

TMP=$(mktemp -d /tmp/protocol-capture.XXXXXX) || fail "mktemp"
SPOOL=$TMP/spool
mkdir -p "$SPOOL" "$TMP/certs" || fail "mkdir spool/certs"
PORT=$(free_port) || fail "no free port"
SOCK=inet:$PORT@127.0.0.1
CONF=$TMP/smime-milter.conf
PIDFILE=$TMP/pid

cat >"$CONF" <<EOF
Socket inet:$PORT@127.0.0.1
Syslog no
SpoolDir $SPOOL
SpoolThreshold 1k
LogLevel debug
PidFile $PIDFILE
MaxMessageSize 200k
CertificateSources dir:$TMP/certs
EOF

start_milter "$CONF" "$PORT"
run_lua "$HERE/capture.lua" -D "socket=$SOCK" -D maxsize=204800

# The milter logs asynchronously to the MTA-side replies: give it a moment.
has_accept() {
    grep -Eq "(^|[^A-Za-z0-9])$1: action=accept( |$)" "$TMP/milter.log"
}
for ((i = 0; i < 30; i++)); do
    has_accept QID1 && has_accept QID3 && has_accept QID5 && break
    sleep 0.1
done

for q in QID1 QID3 QID5; do
    has_accept "$q" || fail "no '$q: action=accept' line in milter log"
    n=$(grep -Ec "(^|[^A-Za-z0-9])$q: action=accept( |$)" "$TMP/milter.log")
    [ "$n" = 1 ] || fail "$n accept lines for $q (expected 1)"
done
grep -Eq "QID1: action=accept from=<alice@example\.test> nrcpt=2 size=[0-9]+" "$TMP/milter.log" \
    || fail "QID1 accept line does not match 'from=<alice@example.test> nrcpt=2 size=N' (MTAs pass the envelope sender as <addr>; the brackets must not be doubled): $(grep 'QID1: action=accept' "$TMP/milter.log")"
grep -Eq "QID3: action=accept from=<carol@example\.test> nrcpt=1 size=[0-9]+" "$TMP/milter.log" \
    || fail "QID3 accept line does not match 'from=<carol@example.test> nrcpt=1 size=N' (state left over from aborted QID2?): $(grep 'QID3: action=accept' "$TMP/milter.log")"
grep -Eq "QID5: action=accept from=<bob@example\.test> nrcpt=1 size=[0-9]+" "$TMP/milter.log" \
    || fail "QID5 accept line does not match 'from=<bob@example.test> nrcpt=1 size=N': $(grep 'QID5: action=accept' "$TMP/milter.log")"
for q in QID2 QID4; do
    if grep -Eq "(^|[^A-Za-z0-9])$q: action=accept" "$TMP/milter.log"; then
        fail "$q must not be accepted: $(grep "$q: action=accept" "$TMP/milter.log")"
    fi
done

leftover=$(find "$SPOOL" -mindepth 1 2>/dev/null)
[ -z "$leftover" ] || fail "spool dir not empty after the session: $(echo "$leftover" | tr '\n' ' ')"

kill -0 "$MPID" 2>/dev/null || { wait "$MPID"; rc=$?; MPID=; fail "milter died during the test (status $rc)"; }
[ -s "$PIDFILE" ] || fail "pid file $PIDFILE missing while running"
[ "$(cat "$PIDFILE")" = "$MPID" ] || fail "pid file says '$(cat "$PIDFILE")', milter pid is $MPID"

# clean shutdown
kill -TERM "$MPID"
for ((i = 0; i < 100; i++)); do
    kill -0 "$MPID" 2>/dev/null || break
    # a zombie (exited, not yet reaped) counts as gone
    [ "$(awk '{print $3}' "/proc/$MPID/stat" 2>/dev/null)" = Z ] && break
    sleep 0.1
done
if [ "$(awk '{print $3}' "/proc/$MPID/stat" 2>/dev/null)" != Z ] && kill -0 "$MPID" 2>/dev/null; then
    fail "milter did not exit within 10s of SIGTERM"
fi
wait "$MPID"
rc=$?
MPID=
[ "$rc" = 0 ] || fail "milter exited with status $rc after SIGTERM (expected 0)"
[ -e "$PIDFILE" ] && fail "pid file $PIDFILE not removed on exit"
leftover=$(find "$SPOOL" -mindepth 1 2>/dev/null)
[ -z "$leftover" ] || fail "spool dir not empty after shutdown: $leftover"

if [ "${VERBOSE:-0}" = 1 ]; then
    echo "--- miltertest output" >&2; cat "$TMP/miltertest.out" >&2
    echo "--- milter log" >&2; cat "$TMP/milter.log" >&2
fi
echo "PASS $NAME"
exit 0
