#!/bin/bash
# t_daemon.sh -- the daemon as an administrator meets it: -n exit codes and
# file:line errors, privilege drop, pid file and its lock, unix sockets
# (stale socket removed), SIGHUP reload (bad file kept out, good file
# takes effect, restart-only options reported), the CRL refresh timer,
# SIGTERM clean exit.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IT_NAME=t_daemon
# shellcheck source=lib.sh
source "$HERE/lib.sh"

it_init

conf=$IT_TMP/check.conf
mkdir -p "$IT_CERT_DIR" "$IT_TMP/spool"

# -n: a good file, then errors with file:line and exit status 78.
printf 'SpoolDir %s\nCertificateSources dir:%s\n' "$IT_TMP/spool" \
    "$IT_CERT_DIR" >"$conf"
"$SMIME_MILTER" -n -c "$conf" >"$IT_TMP/n.out" 2>&1 ||
    it_fail "-n rejected a good file: $(cat "$IT_TMP/n.out")"
printf 'Bogus yes\n' >>"$conf"
"$SMIME_MILTER" -n -c "$conf" >"$IT_TMP/n.out" 2>&1
rc=$?
[ "$rc" = 78 ] || it_fail "-n with an unknown key exited $rc, want 78"
grep -q "^smime-milter: $conf:3: unknown option 'Bogus'$" "$IT_TMP/n.out" ||
    it_fail "-n error not as file:line: $(cat "$IT_TMP/n.out")"
"$SMIME_MILTER" -n -c "$IT_TMP/missing.conf" >/dev/null 2>&1
[ $? = 78 ] || it_fail "-n with a missing file did not exit 78"

# Start on a unix socket, as nobody, with a pid file in a directory nobody
# owns (so the pid file can be removed at exit).
sock=$IT_TMP/run/milter.sock
mkdir -p "$IT_TMP/run"
chown nobody "$IT_TMP/run" "$IT_TMP/spool"
it_start_milter_unix() {
    "$SMIME_MILTER" -f -c "$IT_TMP/milter.conf" 2>>"$IT_MILTER_LOG" &
    IT_MILTER_PID=$!
    # "starting" is logged after the socket, pid file and privilege drop.
    for _ in $(seq 1 100); do
        grep -q "^smime-milter\[$IT_MILTER_PID\]: .* starting: " \
            "$IT_MILTER_LOG" && break
        kill -0 "$IT_MILTER_PID" 2>/dev/null || break
        sleep 0.05
    done
    [ -S "$sock" ] || it_fail "milter did not create $sock"
}
cat >"$IT_TMP/milter.conf" <<CONF
Socket unix:$sock
Syslog no
LogLevel debug
UserID nobody
PidFile $IT_TMP/run/milter.pid
SpoolDir $IT_TMP/spool
CertificateSources dir:$IT_CERT_DIR
CONF
# A daemon killed hard leaves its socket behind; the next one replaces it.
it_start_milter_unix
kill -KILL "$IT_MILTER_PID"
wait "$IT_MILTER_PID" 2>/dev/null
[ -S "$sock" ] || it_fail "no stale socket after SIGKILL"
# Its pid file is stale too: the lock died with the process.
it_start_milter_unix
pid=$IT_MILTER_PID
uid=$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$pid/status")
nobody=$(id -u nobody)
[ "$uid" = "$nobody $nobody $nobody $nobody" ] ||
    it_fail "not running as nobody: Uid $uid"
gid=$(awk '/^Gid:/ { print $2 }' "/proc/$pid/status")
[ "$gid" = "$(id -g nobody)" ] || it_fail "group not switched: $gid"
[ "$(cat "$IT_TMP/run/milter.pid")" = "$pid" ] || it_fail "pid file wrong"

# A second daemon with the same pid file refuses to start.
sed "s|^Socket .*|Socket unix:$IT_TMP/run/other.sock|" \
    "$IT_TMP/milter.conf" >"$IT_TMP/second.conf"
timeout 10 "$SMIME_MILTER" -f -c "$IT_TMP/second.conf" \
    >"$IT_TMP/second.out" 2>&1 && it_fail "second instance started"
grep -q "already locked by a running smime-milter (pid $pid)" \
    "$IT_TMP/second.out" || it_fail "second instance: $(cat "$IT_TMP/second.out")"

probe() {
    miltertest -s "$HERE/probe.lua" -D "socket=unix:$sock" -D "size=$1" \
        2>&1 | sed -n 's/^REPLY //p'
}
[ "$(probe 3000)" = continue ] || it_fail "probe message not accepted"

wait_log() {
    for _ in $(seq 1 100); do
        grep -q "$1" "$IT_MILTER_LOG" && return 0
        sleep 0.05
    done
    it_fail "log never said: $1"
}

# A bad file on SIGHUP: refused, old configuration kept, still serving.
cp "$IT_TMP/milter.conf" "$IT_TMP/good.conf"
echo "MaxMessageSize lots" >>"$IT_TMP/milter.conf"
kill -HUP "$pid"
wait_log "reload failed, keeping the running configuration: .*milter.conf:8: MaxMessageSize"
kill -0 "$pid" || it_fail "daemon died on a bad reload"
[ "$(probe 3000)" = continue ] || it_fail "old configuration not kept"

# A good file takes effect for new messages; restart-only options are
# named in the log.
{ sed "s|^Socket .*|Socket unix:$IT_TMP/run/new.sock|" "$IT_TMP/good.conf"
  echo "MaxMessageSize 2k"; echo "CRLRefresh 1s"; } >"$IT_TMP/milter.conf"
kill -HUP "$pid"
wait_log "configuration reloaded from"
wait_log "reload: Socket changed; takes effect after a restart"
[ "$(probe 3000)" = reject ] || it_fail "new MaxMessageSize not in effect"
[ "$(probe 1000)" = continue ] || it_fail "small message rejected"
grep -q "action=reject reason=\"message size exceeds 2048 bytes\"" \
    "$IT_MILTER_LOG" || it_fail "reject not logged"
# CRLs are read again on the CRLRefresh timer.
wait_log "CRLs refreshed: 0 trust anchors, 0 CRLs, sources: dir"

# SIGTERM: exit 0 at once, pid file gone.
start=$(date +%s%N)
kill -TERM "$pid"
wait "$pid"
rc=$?
ms=$(( ($(date +%s%N) - start) / 1000000 ))
IT_MILTER_PID=""
[ "$rc" = 0 ] || it_fail "exit status $rc after SIGTERM"
[ ! -e "$IT_TMP/run/milter.pid" ] || it_fail "pid file left behind"
[ "$ms" -lt 2000 ] || it_fail "shutdown took $ms ms"
grep -q "SIGTERM: shutting down" "$IT_MILTER_LOG" || it_fail "no shutdown line"

it_pass "reload, privileges, pid file, unix socket, shutdown in ${ms} ms"
