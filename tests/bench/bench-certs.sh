#!/bin/bash
# bench-certs.sh -- "make bench-certs": certificate look-ups per second on
# this machine, in one run, against a baseline measured in the same run:
# the ldapsearch CLI asked once per address (what a shell-script gateway
# would do).  Prints rates and ratios; the README quotes its output.
#
#   N=2000 THREADS=4 tests/bench/bench-certs.sh
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
N=${N:-2000}
THREADS=${THREADS:-4}
BASELINE_N=${BASELINE_N:-300}
# shellcheck source=../integration/slapd.sh
source "$TOP/tests/integration/slapd.sh"

TMP=$(mktemp -d /tmp/bench-certs.XXXXXX)
SDIR=$TMP/slapd
cleanup() {
	slapd_stop "$SDIR" >/dev/null 2>&1 || true
	rm -rf "$TMP"
}
trap cleanup EXIT

# shellcheck source=../ports.sh
source "$TOP/tests/ports.sh"
port=$(port_free) || { echo "no free port" >&2; exit 1; }

"$TOP/tests/pki/mkpki" "$TMP/pki" >/dev/null
"$TOP/tests/integration/fixtures/mkldif" -n "$N" "$TMP/pki" >"$TMP/users.ldif"
mkdir -p "$SDIR"
slapd_start "$SDIR" "$port" "$TMP/users.ldif" >/dev/null
uri=ldap://127.0.0.1:$port
base=ou=people,dc=example,dc=test
spec="corp uri=$uri base=$base timeout=5 pool=$THREADS"

for i in $(seq 0 $((N - 1))); do echo "bulk$i@example.test"; done >"$TMP/addrs"
mkdir -p "$TMP/spool"
cat >"$TMP/bench.conf" <<CONF
SpoolDir $TMP/spool
LDAPDirectory $spec
CertificateSources ldap:corp
TrustAnchors $TMP/pki/ca/anchors.pem
CertCacheSize $((N * 2))
CONF

echo "# bench-certs: $N users in slapd on loopback, $THREADS threads, $(nproc) cores"
cold=$("$BUILD/tests/bench_certs" -t "$THREADS" -p 'bulk%d@example.test' \
    -n "$N" "$spec" | awk '$1 == "ldap_cold_lookups_per_s" { print $2 }')
read -r pipeline hits < <("$BUILD/tests/bench_cache" -t "$THREADS" \
    -c "$TMP/bench.conf" "$TMP/addrs" | awk '
	$1 == "pipeline_cold_lookups_per_s" { p = $2 }
	$1 == "cache_hit_lookups_per_s" { h = $2 }
	END { print p, h }')

# Baseline: one ldapsearch process per address, same filter and attributes.
start=$(date +%s%N)
head -n "$BASELINE_N" "$TMP/addrs" | while read -r a; do
	LDAPNOINIT=1 ldapsearch -x -LLL -o ldif-wrap=no -H "$uri" -b "$base" \
	    "(|(mail=$a)(mailAlternateAddress=$a)(otherMailbox=$a))" \
	    userSMIMECertificate 'userCertificate;binary' >/dev/null
done
ns=$(( $(date +%s%N) - start ))
baseline=$(awk -v n="$BASELINE_N" -v ns="$ns" 'BEGIN { printf "%.1f", n / (ns / 1e9) }')

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
printf '%-44s %10s lookups/s\n' "ldapsearch CLI, one process per address" "$baseline"
printf '%-44s %10s lookups/s  %6sx baseline\n' "LDAP source, cold (no cache)" "$cold" "$(ratio "$cold" "$baseline")"
printf '%-44s %10s lookups/s  %6sx baseline\n' "full pipeline, cold (LDAP + validation)" "$pipeline" "$(ratio "$pipeline" "$baseline")"
printf '%-44s %10s lookups/s  %6sx baseline\n' "full pipeline, cache hits" "$hits" "$(ratio "$hits" "$baseline")"
