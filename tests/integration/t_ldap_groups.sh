#!/bin/bash
# t_ldap_groups.sh -- LDAP groups resolved to mail addresses
# (common/ldapgroup.c) against a real slapd: groupOfNames/member,
# nisMailAlias/rfc822MailMember, groupOfUniqueNames/uniqueMember with a
# UID, mgrpRFC822MailMember, nesting, a cycle, the depth and member
# bounds, skipped values, a large group, bind with a password file, no
# such group, a stopped slapd and a hung server (the time budget); the
# error paths again under ASan/UBSan.
#
# Prints "PASS t_ldap_groups" or "FAIL t_ldap_groups: reason"; exit 0/1.
# KEEP_TMP=1 keeps the temp dir.  Needs build/tests/ldapgroup_tool and
# build/tests/ldap_stress (its blackhole mode); builds them when missing.
set -u

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
# shellcheck source-path=SCRIPTDIR source=slapd.sh
. "$HERE/slapd.sh"
# shellcheck source=../ports.sh
. "$HERE/../ports.sh"
# shellcheck source-path=SCRIPTDIR source=ldaptest.sh
. "$HERE/ldaptest.sh"

NAME=t_ldap_groups
TOOL=$TOP/build/tests/ldapgroup_tool
TOOL_SAN=$TOP/build-san/tests/ldapgroup_tool
STRESS=$TOP/build/tests/ldap_stress
TIMEOUT=2			# timeout= of the specs
BIG=3000			# members of the large group
LIMIT=100000			# LDAPGROUP_MAX_MEMBERS

ldaptest_init

for bin in "$TOOL" "$STRESS"; do
	if [ ! -x "$bin" ]; then
		make -s -C "$TOP" "build/tests/$(basename "$bin")" \
		    >"$TMP/make.log" 2>&1 ||
			fail "cannot build $bin: $(tail -n 5 "$TMP/make.log")"
	fi
done

# ------------------------------------------------------------ directory

BASE=dc=example,dc=test
PEOPLE=ou=people,$BASE
GRP_OU=ou=groups,$BASE

# person UID MAIL...   (no MAIL: an entry without mail)
person() {
	local uid=$1 m
	shift
	printf '\ndn: uid=%s,%s\nobjectClass: inetOrgPerson\n' "$uid" "$PEOPLE"
	printf 'uid: %s\ncn: %s\nsn: %s\n' "$uid" "$uid" "$uid"
	for m in "$@"; do printf 'mail: %s\n' "$m"; done
}

# group CLASS[,CLASS] CN ATTR=VALUE...
group() {
	local classes=$1 cn=$2 av c
	shift 2
	printf '\ndn: cn=%s,%s\n' "$cn" "$GRP_OU"
	for c in ${classes//,/ }; do printf 'objectClass: %s\n' "$c"; done
	printf 'cn: %s\n' "$cn"
	for av in "$@"; do printf '%s: %s\n' "${av%%=*}" "${av#*=}"; done
}

m() { printf 'member=uid=%s,%s' "$1" "$PEOPLE"; }
g() { printf 'member=cn=%s,%s' "$1" "$GRP_OU"; }

make_ldif() {
	local i
	cat <<EOF
dn: $BASE
objectClass: dcObject
objectClass: organization
dc: example
o: Example Test Org

dn: $PEOPLE
objectClass: organizationalUnit
ou: people

dn: $GRP_OU
objectClass: organizationalUnit
ou: groups

dn: ou=elsewhere,$BASE
objectClass: referral
objectClass: extensibleObject
ou: elsewhere
ref: ldap://ldap.invalid/ou=elsewhere,$BASE
EOF
	person alice alice@example.test
	person bob Bob@Example.TEST
	person carol carol@example.test carol.alias@example.test
	person heidi heidi@example.test
	person nomail
	person badmail 'Bad Mail <badmail@example.test>'

	# member DNs: mail of each; nomail and the missing entry are
	# skipped; alice twice (another spelling), a referral (slapd
	# refuses member values that are not DNs: unit tests cover those)
	group groupOfNames sales "$(m alice)" "$(m bob)" "$(m carol)" \
	    "$(m nomail)" "$(m badmail)" "$(m ghost)" \
	    "member=UID=Alice , OU=People,DC=example,DC=test" \
	    "member=cn=x,ou=elsewhere,$BASE"
	group nisMailAlias ops 'rfc822MailMember=dave@Example.Test' \
	    'rfc822MailMember=<erin@example.test>' \
	    'rfc822MailMember=Not An Address' \
	    'rfc822MailMember=frank@example.test, gina@example.test' \
	    'rfc822MailMember=dave@example.test'
	group groupOfUniqueNames legal \
	    "uniqueMember=uid=alice,$PEOPLE#'0'B" \
	    "uniqueMember=uid=heidi,$PEOPLE#'0101'B" \
	    "uniqueMember=uid=bob,$PEOPLE"
	group groupOfNames all "$(g sales)" "$(g legal)" "$(g ops)" \
	    "$(m heidi)"
	group groupOfNames,extensibleObject mgrp "$(m heidi)" \
	    'mgrpRFC822MailMember=ivan@EXAMPLE.test'
	group groupOfNames cyc-a "$(g cyc-b)" "$(m alice)"
	group groupOfNames cyc-b "$(g cyc-a)" "$(m bob)"
	group groupOfNames self "$(g self)" "$(m carol)"
	# a cycle through other spellings of the same DNs
	group groupOfNames cyc-c "member=CN=Cyc-D,OU=Groups,$BASE" "$(m alice)"
	group groupOfNames cyc-d "member=cn=CYC-C,ou=groups,$BASE" "$(m heidi)"
	# a chain: deep0 -> deep1 -> ... -> deep9 -> alice
	for i in 0 1 2 3 4 5 6 7 8; do
		group groupOfNames "deep$i" "$(g "deep$((i + 1))")"
	done
	group groupOfNames deep9 "$(m alice)"
	# a large group: BIG people, each a member
	for ((i = 0; i < BIG; i++)); do
		person "u$i" "u$i@example.test"
	done
	printf '\ndn: cn=big,%s\nobjectClass: groupOfNames\ncn: big\n' "$GRP_OU"
	for ((i = 0; i < BIG; i++)); do
		printf 'member: uid=u%d,%s\n' "$i" "$PEOPLE"
	done
	# one address more than the limit
	printf '\ndn: cn=huge,%s\nobjectClass: nisMailAlias\ncn: huge\n' "$GRP_OU"
	for ((i = 0; i <= LIMIT; i++)); do
		printf 'rfc822MailMember: h%d@example.test\n' "$i"
	done
}

step "directory"
make_ldif >"$TMP/groups.ldif" || fail "cannot write the LDIF"
export SLAPD_EXTRA_SCHEMAS="$SLAPD_SCHEMA_DIR/misc.ldif $HERE/fixtures/mailgroup.ldif"
PORT=$(port_free) || fail "no free port"
slapd_start "$SDIR" "$PORT" "$TMP/groups.ldif" || fail "slapd_start failed"
URI=$(slapd_uri "$SDIR")
SPEC="corp uri=$URI base=$PEOPLE timeout=$TIMEOUT"

# resolve [SPEC] GROUP-CN: the tool's stdout in $out, stderr in $log,
# exit status in $rc.
resolve() {
	local spec=$SPEC
	if [ $# -eq 2 ]; then spec=$1; shift; fi
	out=$(LDAPGROUP_LOG=4 "$TOOL" "$spec" "cn=$1,$GRP_OU" 2>"$TMP/log")
	rc=$?
	log=$(cat "$TMP/log")
}

# members WANT...: $out lists exactly these members, in this order.
members() {
	local want
	want=$(printf 'ok %d elapsed_ms=\n' $#; printf 'member %s\n' "$@")
	[ "$rc" = 0 ] || fail "want members $*, got (exit $rc): $out"
	[ "$(sed 's/elapsed_ms=[0-9]*/elapsed_ms=/' <<<"$out")" = "$want" ] ||
		fail "want members $*, got:"$'\n'"$out"
}

# error PATTERN: the resolution failed with a reason matching PATTERN.
error() {
	[ "$rc" = 1 ] || fail "want an error ($1), got (exit $rc): $out"
	grep -Eq "^error elapsed_ms=[0-9]+ reason=\".*$1" <<<"$out" ||
		fail "want an error matching '$1', got: $out"
}

# logged PATTERN WHAT: the library's log (stderr) has a matching line.
logged() {
	grep -Eq -- "$1" <<<"$log" || fail "$2; log was:"$'\n'"$log"
}

# ------------------------------------------------------------ groups

step "groupOfNames"
resolve sales
members Bob@example.test alice@example.test carol.alias@example.test \
	carol@example.test
logged 'dn="uid=nomail,[^"]*": member without mail; skipped' "nomail not logged"
logged 'dn="uid=badmail,.*attr=mail value="Bad Mail <badmail@example.test>": skipped: not one address' \
	"badmail not logged"
logged 'dn="uid=ghost,.*member entry not read \(No such object\); skipped' "ghost not logged"
logged 'dn="cn=x,ou=elsewhere,.*member entry not read \(Referral\); skipped' "referral not logged"
logged 'group="cn=sales,ou=groups,dc=example,dc=test" members=4 entries=7 ' \
	"want 7 entries read (the group, alice under two spellings, bob, carol, nomail, badmail)"

step "nisMailAlias"
resolve ops
members dave@example.test erin@example.test
logged 'value="Not An Address": skipped: not one address' "not-an-address not logged"
logged 'value="frank@example.test, gina@example.test": skipped' "a list value not logged"

step "groupOfUniqueNames"
resolve legal
members Bob@example.test alice@example.test heidi@example.test

step "mgrpRFC822MailMember"
resolve mgrp
members heidi@example.test ivan@example.test

step "nested"
resolve all
members Bob@example.test alice@example.test carol.alias@example.test \
	carol@example.test dave@example.test erin@example.test \
	heidi@example.test

step "cycles"
resolve cyc-a
members Bob@example.test alice@example.test
resolve cyc-b
members Bob@example.test alice@example.test
resolve cyc-c
members alice@example.test heidi@example.test
resolve self
members carol.alias@example.test carol@example.test

step "depth bound"
resolve deep1		# deep9 is 8 levels below deep1
members alice@example.test
resolve deep0		# and 9 below deep0
error "groups nested more than 8 deep \(at \"cn=deep9,"

step "large group"
resolve big
[ "$rc" = 0 ] || fail "big: $out"
[ "$(head -n 1 <<<"$out" | cut -d' ' -f2)" = "$BIG" ] || fail "big: $(head -n 1 <<<"$out")"
[ "$(grep -c '^member u[0-9]*@example\.test$' <<<"$out")" = "$BIG" ] ||
	fail "big: want $BIG member lines"
BIG_LINE=$(head -n 1 <<<"$out")

step "member bound"
resolve huge
error "more than $LIMIT members"

step "not a group, no such group, not a DN"
out=$("$TOOL" "$SPEC" "uid=alice,$PEOPLE" 2>/dev/null)
rc=$?
error "is not a group"
resolve nosuchgroup
error "no such group \"cn=nosuchgroup,ou=groups,dc=example,dc=test\""
logged 'group="cn=nosuchgroup,.*status=error' "no warning for the failure"
out=$("$TOOL" "$SPEC" "not a dn" 2>/dev/null)
rc=$?
error "group \"not a dn\" is not a DN"
out=$("$TOOL" "$SPEC" "cn=x,ou=elsewhere,$BASE" 2>/dev/null)
rc=$?
error "is a referral"

# ------------------------------------------------------------ bind

step "bind"
printf '%s\n' "$SLAPD_ROOTPW" >"$TMP/pw"
printf 'wrong\n' >"$TMP/badpw"
chmod 600 "$TMP/pw" "$TMP/badpw"
BIND="bind-dn=$SLAPD_ROOTDN bind-password-file"
resolve "$SPEC $BIND=$TMP/pw" sales
members Bob@example.test alice@example.test carol.alias@example.test \
	carol@example.test
resolve "$SPEC $BIND=$TMP/badpw" sales
error "bind: Invalid credentials"
grep -q wrong <<<"$out$log" && fail "the password appears in the output: $out $log"
chmod 644 "$TMP/pw"
resolve "$SPEC $BIND=$TMP/pw" sales
error "mode 0644 lets group or others access it"

# ------------------------------------------------------------ sanitizers

if [ ! -x "$TOOL_SAN" ]; then
	make -s -C "$TOP" SANITIZE=1 build-san/tests/ldapgroup_tool \
	    >"$TMP/make-san.log" 2>&1 ||
		fail "cannot build $TOOL_SAN: $(tail -n 5 "$TMP/make-san.log")"
fi
step "ASan/UBSan"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
for cn in sales all cyc-a deep0 nosuchgroup big huge; do
	out=$(LDAPGROUP_LOG=4 "$TOOL_SAN" "$SPEC" "cn=$cn,$GRP_OU" 2>&1)
	rc=$?
	{ [ "$rc" = 0 ] || [ "$rc" = 1 ]; } || fail "ASan $cn: exit $rc: $out"
	grep -Eq 'Sanitizer|runtime error' <<<"$out" && fail "ASan $cn: $out"
done
unset ASAN_OPTIONS UBSAN_OPTIONS

# ------------------------------------------------------------ outages

step "slapd stopped"
slapd_stop "$SDIR" || fail "slapd_stop failed"
resolve sales
error "connect: Can't contact LDAP server"
ms=$(sed -n 's/^error elapsed_ms=\([0-9]*\) .*/\1/p' <<<"$out")
[ "$ms" -lt 1000 ] || fail "slapd stopped: the error took $ms ms"
DOWN_MS=$ms

step "hung server"
blackhole_start "$STRESS"
resolve "corp uri=ldap://127.0.0.1:$BHPORT base=$PEOPLE timeout=$TIMEOUT" sales
[ "$rc" = 1 ] || fail "hung server: want an error: $out"
ms=$(sed -n 's/^error elapsed_ms=\([0-9]*\) .*/\1/p' <<<"$out")
[ "$ms" -le $(((TIMEOUT + 1) * 1000)) ] || fail "hung server: error after $ms ms"
[ "$ms" -ge $((TIMEOUT * 1000 - 200)) ] || fail "hung server: error after only $ms ms?"
HUNG_MS=$ms

echo "$NAME: $BIG_LINE; slapd down: error in $DOWN_MS ms; hung server: error in $HUNG_MS ms" >&2
echo "PASS $NAME"
exit 0
