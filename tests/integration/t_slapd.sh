#!/bin/bash
# t_slapd.sh -- self-test of tests/integration/slapd.sh:
# start a throwaway slapd, query it, stop it (outage), restart it.
# Prints "PASS t_slapd" or "FAIL t_slapd: reason".  KEEP_TMP=1 keeps the
# temp dir.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=slapd.sh
. "$HERE/slapd.sh"

NAME=t_slapd
# shellcheck source=../ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/../ports.sh"
# shellcheck source-path=SCRIPTDIR source=ldaptest.sh
. "$HERE/ldaptest.sh"
ldaptest_init
free_port() { port_free; }

PORT=$(free_port) || fail "no free port found"
URI=ldap://127.0.0.1:$PORT

check_alice() {
    local out
    out=$(LDAPNOINIT=1 ldapsearch -x -LLL -o nettimeout=2 -l 5 -H "$URI" \
        -b dc=example,dc=test '(mail=alice@example.test)' mail uid 2>&1) \
        || fail "$1: ldapsearch failed: $out"
    grep -qx 'dn: uid=alice,ou=people,dc=example,dc=test' <<<"$out" \
        || fail "$1: alice dn missing in: $out"
    grep -qx 'mail: alice@example.test' <<<"$out" \
        || fail "$1: alice mail missing in: $out"
    [ "$(grep -c '^dn:' <<<"$out")" = 1 ] || fail "$1: expected exactly 1 entry: $out"
}

slapd_start "$SDIR" "$PORT" "$HERE/fixtures/base.ldif" || fail "slapd_start failed"
PID1=$(slapd_pid "$SDIR")
check_alice "first start"

# bob and the subtree are there too
out=$(slapd_search "$SDIR" '(objectClass=inetOrgPerson)' mail 2>&1) || fail "search people: $out"
grep -qx 'mail: bob@example.test' <<<"$out" || fail "bob missing: $out"

# the schema knows the certificate attributes later issues will need
out=$(LDAPNOINIT=1 ldapsearch -x -LLL -o nettimeout=2 -H "$URI" \
    -b dc=example,dc=test '(|(userSMIMECertificate=*)(userCertificate=*))' dn 2>&1) \
    || fail "search on certificate attributes failed (schema?): $out"

# listens on 127.0.0.1 only
if command -v ss >/dev/null 2>&1; then
    l=$(ss -Hltn "sport = :$PORT" 2>/dev/null | awk '{print $4}' | sort -u)
    [ "$l" = "127.0.0.1:$PORT" ] || fail "unexpected listeners on port $PORT: $l"
fi

slapd_stop "$SDIR" || fail "slapd_stop failed"
kill -0 "$PID1" 2>/dev/null && fail "slapd pid $PID1 still alive after slapd_stop"

# outage: a search must fail, and quickly
t0=$SECONDS
if LDAPNOINIT=1 ldapsearch -x -LLL -o nettimeout=2 -l 3 -H "$URI" \
        -b dc=example,dc=test '(mail=alice@example.test)' >/dev/null 2>&1; then
    fail "ldapsearch succeeded while slapd is stopped"
fi
((SECONDS - t0 <= 5)) || fail "ldapsearch during outage took $((SECONDS - t0))s"

# restart on same DIR and port (PORT may be omitted: recorded one is reused)
slapd_start "$SDIR" "" || fail "slapd restart failed"
PID2=$(slapd_pid "$SDIR")
if [ -z "$PID2" ] || [ "$PID2" = "$PID1" ]; then fail "restart: bad pid '$PID2' (old $PID1)"; fi
check_alice "restart"

slapd_stop "$SDIR" || fail "final slapd_stop failed"
kill -0 "$PID2" 2>/dev/null && fail "slapd pid $PID2 still alive after final stop"

echo "PASS t_slapd"
exit 0
