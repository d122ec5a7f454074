# shellcheck shell=bash
# tests/integration/ldaptest.sh -- the frame of a test against a private
# slapd (t_ldap_*.sh).  Source it after slapd.sh, with NAME set.
#
#   ldaptest_init        TMP (a temp dir /tmp/$NAME.XXXXXX), SDIR
#                        ($TMP/slapd, for slapd_start) and a trap that at
#                        exit stops the background processes, slapd and
#                        removes TMP (kept with KEEP_TMP=1)
#   fail MSG...          "FAIL $NAME: MSG" and the tail of slapd.log; exit 1
#   step MSG...          progress on stderr
#   bg_add PID           stop PID at exit unless bg_forget'd before
#   bg_forget PID        no longer ours (reaped, or to be waited for)
#   blackhole_start STRESS   a hung server: "STRESS blackhole" on a free
#                        port, in BHPORT (pid in BPID, stopped at exit)

ldaptest_init() {
	TMP=$(mktemp -d "/tmp/$NAME.XXXXXX") ||
		{ echo "FAIL $NAME: mktemp"; exit 1; }
	SDIR=$TMP/slapd
	BG_PIDS=""
	trap _ldaptest_cleanup EXIT
}

# shellcheck disable=SC2317  # invoked via trap
_ldaptest_cleanup() {
	local pid
	for pid in $BG_PIDS; do
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	slapd_stop "$SDIR" >/dev/null 2>&1
	if [ "${KEEP_TMP:-0}" = 1 ]; then
		echo "$NAME: keeping $TMP" >&2
	else
		rm -rf "$TMP"
	fi
}

fail() {
	echo "FAIL $NAME: $*"
	if [ -f "$SDIR/slapd.log" ]; then
		echo "--- slapd.log (tail)" >&2
		tail -n 20 "$SDIR/slapd.log" >&2
	fi
	exit 1
}

step() { echo "$NAME: $* ($SECONDS s)" >&2; }

bg_add() { BG_PIDS="$BG_PIDS $1"; }

bg_forget() { BG_PIDS=${BG_PIDS/ $1/}; }

blackhole_start() {
	BHPORT=$(port_free) || fail "no free port"
	"$1" blackhole "$BHPORT" 30 >"$TMP/bh.out" 2>&1 &
	BPID=$!
	bg_add "$BPID"
	for _ in $(seq 1 100); do
		grep -q ready "$TMP/bh.out" && return 0
		sleep 0.05
	done
	fail "blackhole did not start: $(cat "$TMP/bh.out")"
}
