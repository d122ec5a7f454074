# tests/protocol/lib.sh -- shared frame of the miltertest drivers: temp
# dir, the milter started in the foreground and stopped by PID, fail().
# Set NAME before sourcing.
# shellcheck shell=bash

TMP=
MPID=

# shellcheck disable=SC2317  # invoked via trap
cleanup() {
    if [ -n "$MPID" ] && kill -0 "$MPID" 2>/dev/null; then
        kill -TERM "$MPID" 2>/dev/null
        for _ in $(seq 1 50); do
            kill -0 "$MPID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$MPID" 2>/dev/null
        wait "$MPID" 2>/dev/null
    fi
    if [ -n "$TMP" ]; then
        if [ "${KEEP_TMP:-0}" = 1 ]; then
            echo "$NAME: keeping $TMP" >&2
        else
            rm -rf "$TMP"
        fi
    fi
}
trap cleanup EXIT

show_logs() {
    if [ -n "$TMP" ] && [ -f "$TMP/milter.log" ]; then
        echo "--- milter log ($TMP/milter.log)" >&2
        tail -n 60 "$TMP/milter.log" >&2
    fi
    if [ -n "$TMP" ] && [ -f "$TMP/miltertest.out" ]; then
        echo "--- miltertest output" >&2
        cat "$TMP/miltertest.out" >&2
    fi
}

fail() {
    echo "FAIL $NAME: $*"
    show_logs
    exit 1
}

# shellcheck source=../ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/../ports.sh"
free_port() { port_free; }

# Is something listening on 127.0.0.1:$1?  Prefer ss (no connection made, so
# the milter does not see bogus clients); fall back to a connect probe.
listening() {
    if command -v ss >/dev/null 2>&1; then
        ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# start_milter CONF PORT: run the milter, wait until it listens.
start_milter() {
    "$SMIME_MILTER" -f -c "$1" </dev/null >"$TMP/milter.log" 2>&1 &
    MPID=$!
    for ((i = 0; i < 100; i++)); do
        kill -0 "$MPID" 2>/dev/null || break
        listening "$2" && break
        sleep 0.1
    done
    if ! kill -0 "$MPID" 2>/dev/null; then
        wait "$MPID"
        rc=$?
        MPID=
        fail "milter exited during startup (status $rc)"
    fi
    listening "$2" || fail "milter not listening on 127.0.0.1:$2 after 10s"
}

# run_lua SCRIPT ARGS...: miltertest with a 60 s limit; fail with the
# script's own "FAIL:" line.
run_lua() {
    local script=$1 rc why
    shift
    timeout 60 "$MILTERTEST" -s "$script" "$@" >"$TMP/miltertest.out" 2>&1
    rc=$?
    if [ "$rc" != 0 ]; then
        why=$(grep -m1 "FAIL: " "$TMP/miltertest.out" | sed "s/^.*FAIL: //")
        [ -n "$why" ] || why=$(tail -n 3 "$TMP/miltertest.out" | tr "\n" " ")
        [ "$rc" = 124 ] && why="timed out after 60s; $why"
        fail "miltertest exited with status $rc: $why"
    fi
}
