#!/bin/bash
# t_ldap_certs.sh -- the LDAP certificate source against a real slapd
# (SPEC M6): look-ups, RFC 4515 escaping, garbage values, CRLs, referrals,
# bind, an outage and restart with one source object, a hung server, and
# a threaded stress run (also under ASan/UBSan when that build exists).
#
# Prints "PASS t_ldap_certs" or "FAIL t_ldap_certs: reason"; exit 0/1.
# KEEP_TMP=1 keeps the temp dir.  Needs build/tests/ldap_stress (and
# build-san/tests/ldap_stress for the sanitizer part); builds them when
# missing ("make unit" and "make SANITIZE=1 unit" build them too).
#   LDAP_STRESS_N      look-ups per thread, normal build (default 10000)
#   LDAP_STRESS_SAN_N  the same under ASan (default 2000)
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=slapd.sh
. "$HERE/slapd.sh"

NAME=t_ldap_certs
STRESS=$TOP/build/tests/ldap_stress
STRESS_SAN=$TOP/build-san/tests/ldap_stress
N_NORMAL=${LDAP_STRESS_N:-10000}
N_SAN=${LDAP_STRESS_SAN_N:-2000}
TIMEOUT=2			# timeout= of the specs; limits are TIMEOUT+2 s

# shellcheck source=../ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/../ports.sh"
# shellcheck source-path=SCRIPTDIR source=ldaptest.sh
. "$HERE/ldaptest.sh"
ldaptest_init
free_port() { port_free; }

# wait_for FILE SECS: until FILE exists.
wait_for() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.05
	done
	return 1
}

# ------------------------------------------------------------ set-up

if [ ! -x "$STRESS" ]; then
	make -s -C "$TOP" build/tests/ldap_stress >"$TMP/make.log" 2>&1 ||
		fail "cannot build $STRESS: $(tail -n 5 "$TMP/make.log")"
fi
[ -x "$STRESS" ] || fail "$STRESS not built"

step "PKI and LDIF"
"$TOP/tests/pki/mkpki" "$TMP/pki" >"$TMP/mkpki.log" 2>&1 ||
	fail "mkpki: $(tail -n 5 "$TMP/mkpki.log")"
"$HERE/fixtures/mkldif" -n 70 "$TMP/pki" >"$TMP/users.ldif" 2>"$TMP/mkldif.log" ||
	fail "mkldif: $(cat "$TMP/mkldif.log")"

PORT=$(free_port) || fail "no free port"
slapd_start "$SDIR" "$PORT" "$TMP/users.ldif" || fail "slapd_start failed"
URI=$(slapd_uri "$SDIR")
PEOPLE=ou=people,dc=example,dc=test
CA_DN="cn=Test Intermediate CA,dc=example,dc=test"
SPEC="corp uri=$URI base=$PEOPLE timeout=$TIMEOUT crl-dn=\"$CA_DN\""

# expect OUT PATTERN WHAT: OUT must contain a line matching PATTERN (ERE).
expect() {
	grep -Eq -- "$2" <<<"$1" || fail "$3; output was:"$'\n'"$1"
}

# ------------------------------------------------------------ look-ups

step "look-ups"
out=$("$STRESS" lookup "$SPEC" alice@example.test bob@example.test \
	judy@example.test carol@example.test victor.alias@example.test \
	peggy@example.test 'st*r@example.test' nobody@example.test \
	nocert@example.test '*@example.test' '*' 'st*@example.test' \
	'a(b@example.test' 'x)(mail=*' 'back\slash@example.test' \
	'*)(|(mail=*' 2>"$TMP/lookup.err") || fail "ldap_stress lookup: $(cat "$TMP/lookup.err")"
expect "$out" '^lookup alice@example\.test found [2-9]$' "alice: want 2+ candidates"
expect "$out" 'origin="uid=alice,ou=people,dc=example,dc=test" source=ldap:corp extra=1$' \
	"alice: no candidate from the PKCS#7 bundle (with the CA as extra)"
expect "$out" 'subject="[^"]*alice@example\.test" origin="uid=alice,[^"]*" source=ldap:corp extra=0$' \
	"alice: no candidate from userCertificate;binary"
expect "$out" '^lookup bob@example\.test found 1$' "bob: want 1 candidate"
expect "$out" '^lookup judy@example\.test found 2$' "judy: want 2 candidates"
expect "$out" '^lookup carol@example\.test found 1$' "carol (EC): want 1 candidate"
expect "$out" '^lookup victor\.alias@example\.test found 1$' "victor's second mail value"
expect "$out" 'origin="uid=victor,' "victor.alias: wrong entry"
expect "$out" '^lookup peggy@example\.test found 1$' \
	"peggy: garbage values must be skipped, the valid cert found"
expect "$out" '^lookup st\*r@example\.test found 1$' "literal '*' in an address"
expect "$out" 'origin="uid=star,' "st*r: wrong entry"
for a in 'nobody@example\.test' 'nocert@example\.test' '\*@example\.test' '\*' \
	'st\*@example\.test' 'a\(b@example\.test' 'x\)\(mail=\*' \
	'back\\slash@example\.test' '\*\)\(\|\(mail=\*'; do
	expect "$out" "^lookup $a none 0\$" "$a: want none (not an error, no wildcard)"
done
expect "$out" '^counters lookups=16 errors=0 timeouts=0 reconnects=0 referrals=0$' "counters"
n=$(grep -c 'dn="uid=peggy,.*skipped value' "$TMP/lookup.err")
[ "$n" = 3 ] || fail "want 3 notices for peggy's bad values, got $n: $(cat "$TMP/lookup.err")"
grep -q 'secret' "$TMP/lookup.err" && fail "a password in the log"

# max-value-bytes: carol's certificate (685 bytes) passes, bob's (1012) not
out=$("$STRESS" lookup "corp uri=$URI base=$PEOPLE max-value-bytes=800" \
	carol@example.test bob@example.test 2>/dev/null)
expect "$out" '^lookup carol@example\.test found 1$' "max-value-bytes=800: carol"
expect "$out" '^lookup bob@example\.test none 0$' "max-value-bytes=800: bob must be skipped"

# a custom filter and attribute list
out=$("$STRESS" lookup "corp uri=$URI base=$PEOPLE filter=(&(objectClass=inetOrgPerson)(mail=%s)) attrs=userSMIMECertificate" \
	alice@example.test bob@example.test 2>/dev/null)
expect "$out" '^lookup alice@example\.test found 1$' "attrs=userSMIMECertificate: alice's bundle only"
expect "$out" '^lookup bob@example\.test none 0$' "attrs=userSMIMECertificate: bob has none"

# max-entries: more entries than allowed still gives the first ones
out=$("$STRESS" lookup "corp uri=$URI base=$PEOPLE filter=(|(mail=%s)(mail=*@example.test)) max-entries=2" \
	x@example.test 2>"$TMP/sizelimit.err")
expect "$out" '^lookup x@example\.test (found|none) [0-9]+$' "max-entries=2"
grep -q 'more than 2 entries' "$TMP/sizelimit.err" || fail "no size limit notice"

# failover: the first URI refuses connections, the second answers
DEAD=$(free_port) || fail "no free port"
out=$("$STRESS" lookup "corp uri=ldap://127.0.0.1:$DEAD,$URI base=$PEOPLE timeout=$TIMEOUT" \
	bob@example.test 2>/dev/null)
expect "$out" '^lookup bob@example\.test found 1$' "failover to the second URI"

# starttls=yes against a server without TLS fails closed (no plaintext)
out=$("$STRESS" lookup "corp uri=$URI base=$PEOPLE starttls=yes" bob@example.test 2>/dev/null)
expect "$out" '^lookup bob@example\.test error reason="starttls: ' "starttls=yes without TLS"

# at most CERT_LIST_MAX_PER_SOURCE (64) candidates from 70 matching entries
out=$("$STRESS" lookup "corp uri=$URI base=$PEOPLE filter=(|(mail=%s)(mail=bulk*)) max-entries=100" \
	x@example.test 2>"$TMP/cap.err")
expect "$out" '^lookup x@example\.test found 64$' "want 64 candidates at most"
grep -q 'more than 64 certificates' "$TMP/cap.err" || fail "no notice about the 64 limit"

# ------------------------------------------------------------ CRLs

step "CRLs"
out=$("$STRESS" crl "$SPEC" 2>&1)
expect "$out" '^crl found 1$' "want 1 CRL"
expect "$out" 'crl issuer=".*Intermediate CA"' "CRL issuer"
out=$("$STRESS" crl "corp uri=$URI base=$PEOPLE" 2>&1)
expect "$out" '^crl none 0$' "no crl-dn: want none"
out=$("$STRESS" crl "corp uri=$URI base=$PEOPLE crl-dn=\"cn=nothing,dc=example,dc=test;$CA_DN\"" 2>&1)
expect "$out" '^crl found 1$' "a missing crl-dn entry besides a good one"
expect "$out" 'crl-dn="cn=nothing,dc=example,dc=test" does not exist' "missing crl-dn warning"

# ------------------------------------------------------------ referrals

step "referrals"
out=$("$STRESS" lookup "corp uri=$URI base=ou=elsewhere,dc=example,dc=test" \
	alice@example.test 2>&1)
expect "$out" '^lookup alice@example\.test none 0$' "referral base: want none"
expect "$out" 'referrals=1$' "referral base: counted"
expect "$out" 'referral not followed' "referral base: notice"
out=$("$STRESS" lookup "corp uri=$URI base=dc=example,dc=test" alice@example.test 2>&1)
expect "$out" '^lookup alice@example\.test found 2$' "search reference next to entries"
expect "$out" 'referrals=1$' "search reference: counted"

# ------------------------------------------------------------ bind

step "bind"
printf '%s\n' "$SLAPD_ROOTPW" >"$TMP/pw"
chmod 600 "$TMP/pw"
printf 'wrong\n' >"$TMP/badpw"
chmod 600 "$TMP/badpw"
out=$("$STRESS" lookup "corp uri=$URI base=$PEOPLE bind-dn=$SLAPD_ROOTDN bind-password-file=$TMP/pw" \
	bob@example.test 2>&1)
expect "$out" '^lookup bob@example\.test found 1$' "bind as rootdn"
out=$("$STRESS" lookup "corp uri=$URI base=$PEOPLE bind-dn=$SLAPD_ROOTDN bind-password-file=$TMP/badpw" \
	bob@example.test 2>&1)
expect "$out" '^lookup bob@example\.test error reason="bind: Invalid credentials' "wrong password"
grep -q wrong <<<"$out" && fail "the password appears in the output: $out"
chmod 644 "$TMP/pw"
out=$("$STRESS" lookup "corp uri=$URI base=$PEOPLE bind-dn=$SLAPD_ROOTDN bind-password-file=$TMP/pw" \
	bob@example.test 2>&1) && fail "a world-readable password file was accepted: $out"
expect "$out" 'mode 0644 lets group or others access it' "loose password file"

# ------------------------------------------------------------ outage

step "outage and restart, one source"
CTL=$TMP/ctl
mkdir -p "$CTL"
"$STRESS" outage "$SPEC" alice@example.test "$CTL" >"$TMP/outage.out" 2>"$TMP/outage.err" &
OPID=$!
bg_add "$OPID"
wait_for "$CTL/up1" 20 || fail "outage: no first look-up: $(cat "$TMP/outage.out" "$TMP/outage.err")"
slapd_stop "$SDIR" || fail "slapd_stop failed"
touch "$CTL/stopped"
wait_for "$CTL/down" 20 || fail "outage: no look-up while down: $(cat "$TMP/outage.out")"
slapd_start "$SDIR" "" || fail "slapd restart failed"
touch "$CTL/started"
# a restart behind an idle pooled connection: the next look-up must
# succeed on a fresh connection, not fail
wait_for "$CTL/up2" 20 || fail "outage: no look-up after restart: $(cat "$TMP/outage.out")"
slapd_stop "$SDIR" || fail "slapd_stop (2) failed"
slapd_start "$SDIR" "" || fail "slapd restart (2) failed"
touch "$CTL/restarted"
wait "$OPID"
rc=$?
bg_forget "$OPID"
out=$(cat "$TMP/outage.out")
[ "$rc" = 0 ] || fail "outage: exit $rc: $out $(cat "$TMP/outage.err")"
ms=$(sed -n 's/^outage phase=down elapsed_ms=\([0-9]*\)$/\1/p' <<<"$out")
if [ -z "$ms" ] || [ "$ms" -gt $(((TIMEOUT + 2) * 1000)) ]; then
	fail "outage: error took ${ms:-?} ms (limit $(((TIMEOUT + 2) * 1000))): $out"
fi
expect "$out" '^outage phase=restarted ' "outage: no look-up after the second restart"
expect "$out" 'errors=1 timeouts=0 reconnects=2 ' "outage: want 1 error and 2 reconnects"
OUTAGE_MS=$ms

# ------------------------------------------------------------ hung server

step "hung server"
blackhole_start "$STRESS"
out=$("$STRESS" timeout "corp uri=ldap://127.0.0.1:$BHPORT base=$PEOPLE timeout=$TIMEOUT" \
	alice@example.test 2>/dev/null)
kill "$BPID" 2>/dev/null
wait "$BPID" 2>/dev/null
bg_forget "$BPID"
ms=$(sed -n 's/^timeout error elapsed_ms=\([0-9]*\) .*/\1/p' <<<"$out")
[ -n "$ms" ] || fail "hung server: want error: $out"
[ "$ms" -le $(((TIMEOUT + 2) * 1000)) ] || fail "hung server: error after $ms ms"
[ "$ms" -ge $((TIMEOUT * 1000 - 200)) ] || fail "hung server: error after only $ms ms?"
expect "$out" 'timeouts=1' "hung server: timeout not counted"
HUNG_MS=$ms

# ------------------------------------------------------------ stress

ADDRS=(alice@example.test=found bob@example.test=found nobody@example.test=none)
step "stress 8x$N_NORMAL"
t0=$SECONDS
out=$("$STRESS" stress "$SPEC" 8 "$N_NORMAL" "${ADDRS[@]}" 2>&1) ||
	fail "stress: $out"
expect "$out" "^stress threads=8 lookups=$((8 * N_NORMAL)) .* errors=0 unexpected=0 " "stress totals"
STRESS_LINE=$(grep '^stress ' <<<"$out")
echo "$NAME: $STRESS_LINE ($((SECONDS - t0)) s)" >&2

if [ ! -x "$STRESS_SAN" ]; then
	make -s -C "$TOP" SANITIZE=1 build-san/tests/ldap_stress \
	    >"$TMP/make-san.log" 2>&1 ||
		fail "cannot build $STRESS_SAN: $(tail -n 5 "$TMP/make-san.log")"
fi
step "ASan/UBSan: look-ups, CRLs and stress 8x$N_SAN"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
out=$("$STRESS_SAN" lookup "$SPEC" alice@example.test peggy@example.test \
	judy@example.test '*)(|(mail=*' 2>&1) || fail "ASan lookup: $out"
grep -Eq 'Sanitizer|runtime error' <<<"$out" && fail "ASan lookup: $out"
expect "$out" '^lookup peggy@example\.test found 1$' "ASan: peggy"
out=$("$STRESS_SAN" crl "$SPEC" 2>&1) || fail "ASan crl: $out"
grep -Eq 'Sanitizer|runtime error' <<<"$out" && fail "ASan crl: $out"
t0=$SECONDS
out=$("$STRESS_SAN" stress "$SPEC" 8 "$N_SAN" "${ADDRS[@]}" 2>&1) ||
	fail "ASan stress (exit $?): $out"
grep -Eq 'Sanitizer|runtime error' <<<"$out" && fail "ASan stress: $out"
expect "$out" "^stress threads=8 lookups=$((8 * N_SAN)) .* errors=0 unexpected=0 " "ASan stress totals"
echo "$NAME: ASan $(grep '^stress ' <<<"$out") ($((SECONDS - t0)) s)" >&2

slapd_stop "$SDIR" || fail "final slapd_stop failed"
echo "$NAME: outage error in ${OUTAGE_MS} ms, hung server error in ${HUNG_MS} ms" >&2
echo "PASS $NAME"
exit 0
