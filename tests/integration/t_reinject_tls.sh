#!/bin/bash
# shellcheck disable=SC2119  # it_* functions called without arguments
# t_reinject_tls -- STARTTLS and SMTP AUTH on the reinjection connection
# against a real Postfix listener: TLS with a certificate made here,
# Cyrus SASL with a sasldb, and restrictions that accept only
# authenticated clients (so a delivered copy proves that AUTH happened).
#
#  0. The listener refuses mail from a client without AUTH.
#  1. ReinjectTLS verify (the listener's own certificate as the CA file)
#     and ReinjectAuthFile: the copies of the delivery scenario arrive;
#     the listener logged a TLS connection and sasl_username for each.
#  2. A wrong password: the original is tempfailed (4xx), nothing is
#     delivered or queued, the password is not in the milter's log; with
#     the right one the client's retry delivers every copy.
#  3. ReinjectTLS verify with another CA: tempfailed, nothing delivered.
#  4. An auth file with mode 0644: the daemon refuses to start.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/delivery_scenario.sh"

USER=reinject@it.example.test
PASS='right pw:1'

command -v saslpasswd2 >/dev/null || it_skip "saslpasswd2 missing (package sasl2-bin)"
"$IT_POSTCONF" -a 2>/dev/null | grep -qx cyrus || it_skip "Postfix without Cyrus SASL"
# have_plugin NAME: a Cyrus SASL plugin library is installed
have_plugin() {
    local f
    for f in /usr/lib/*/sasl2/lib"$1".so* /usr/lib/sasl2/lib"$1".so*; do
        [ -e "$f" ] && return 0
    done
    return 1
}
have_plugin sasldb || it_skip "no Cyrus SASL sasldb plugin (package libsasl2-modules-db)"
have_plugin plain || it_skip "no Cyrus SASL PLAIN plugin (package libsasl2-modules)"

it_init
ds_setup
it_start_sink

# ---- the listener's certificate, and another one as the wrong CA
mkdir -p "$IT_TMP/tls"
mkcert() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$IT_TMP/tls/$1.key" -out "$IT_TMP/tls/$1.pem" -days 2 \
        -subj "/CN=reinject.it.example.test" \
        -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1 ||
        it_fail "openssl req $1"
}
mkcert listener
mkcert other

# ---- Cyrus SASL: a sasldb that smtpd (user postfix) can read, and
# smtpd.conf where Debian's Postfix looks for it, $config_directory/sasl
# (it ignores cyrus_sasl_config_path, which is set as well for others).
SASL=$IT_TMP/sasl
mkdir -p "$SASL" "$IT_PF_DIR/sasl"
printf '%s' "$PASS" | saslpasswd2 -p -c -f "$SASL/sasldb2" -u it.example.test reinject ||
    it_fail "saslpasswd2"
chown postfix "$SASL/sasldb2" && chmod 600 "$SASL/sasldb2"
cat >"$IT_PF_DIR/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $SASL/sasldb2
EOF

it_start_postfix \
    "smtpd_tls_cert_file=$IT_TMP/tls/listener.pem" \
    "smtpd_tls_key_file=$IT_TMP/tls/listener.key" \
    smtpd_tls_loglevel=1 \
    "cyrus_sasl_config_path=$IT_PF_DIR/sasl"
# Only the reinjection listener: TLS offered, AUTH required for mail.
sed -i 's|^  -o syslog_name=postfix-it/reinject$|&\
  -o smtpd_tls_security_level=may\
  -o smtpd_sasl_auth_enable=yes\
  -o smtpd_client_restrictions=permit_sasl_authenticated,reject\
  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject|' \
    "$IT_PF_DIR/master.cf"
grep -q smtpd_sasl_auth_enable "$IT_PF_DIR/master.cf" || it_fail "master.cf edit"
# smtpd's TLS needs tlsmgr (entropy, session cache), which lib.sh omits.
echo "tlsmgr unix - - n 1000? 1 tlsmgr" >>"$IT_PF_DIR/master.cf"
it_postfix_reload

# The listener itself refuses mail without AUTH.
ds_message "$IT_TMP/msg0.eml" 0
IT_PORT=$IT_REINJECT_PORT it_smtp_send "$DS_FROM" alice@example.test \
    "$IT_TMP/msg0.eml" >/dev/null 2>"$IT_TMP/noauth" &&
    it_fail "the reinjection listener accepts mail without AUTH"
grep -q "RCPT TO:<alice@example.test>' -> 554" "$IT_TMP/noauth" ||
    it_fail "unexpected refusal: $(cat "$IT_TMP/noauth")"

# authfile NAME PASSWORD: a private user:password file
authfile() {
    printf '%s:%s\n' "$USER" "$2" >"$IT_TMP/$1"
    chmod 600 "$IT_TMP/$1"
}
authfile auth.right "$PASS"
authfile auth.wrong 'wrong pw:2'

RLOG=postfix-it/reinject/smtpd
# start MILTER-LINES...: the milter with the scenario and the listener
start() {
    it_start_milter "${DS_MILTER_LINES[@]}" \
        "ReinjectSocket inet:$IT_REINJECT_PORT@127.0.0.1" "$@"
}

# refused N: message N is tempfailed, nothing delivered or queued
refused() {
    ds_message "$IT_TMP/msg$1.eml" "$1"
    if it_smtp_send "$DS_FROM" "$DS_RCPTS" "$IT_TMP/msg$1.eml" \
        >/dev/null 2>"$IT_TMP/refused$1"; then
        it_fail "message $1 accepted although its copies could not go"
    fi
    grep -q " 4[0-9][0-9]" "$IT_TMP/refused$1" ||
        it_fail "message $1: not a 4xx: $(cat "$IT_TMP/refused$1")"
    sleep 1
    [ "$(it_sink_count)" = 0 ] || it_fail "message $1: $(it_sink_count) delivered"
    it_postqueue | grep -q "Mail queue is empty" ||
        it_fail "message $1: something queued: $(it_postqueue)"
}

# ---- 1. verify + AUTH: delivered, over TLS, authenticated
start "ReinjectTLS verify" "ReinjectTLSCAFile $IT_TMP/tls/listener.pem" \
    "ReinjectAuthFile $IT_TMP/auth.right"
ds_message "$IT_TMP/msg1.eml" 1
it_smtp_send "$DS_FROM" "$DS_RCPTS" "$IT_TMP/msg1.eml" >/dev/null ||
    it_fail "message 1 refused"
it_wait_delivered 4 30 || it_fail "message 1: $(it_sink_count) copies, expected 4"
grep -q "$RLOG\[[0-9]*\]: Anonymous TLS connection established from" "$IT_PF_LOG" ||
    it_fail "no TLS connection to the reinjection listener"
n=$(grep -c "$RLOG\[[0-9]*\]: [0-9A-F]*: client=.*, sasl_method=PLAIN, sasl_username=$USER\$" "$IT_PF_LOG")
[ "$n" = 3 ] || it_fail "$n authenticated re-submissions, expected 3"
grep "$RLOG\[[0-9]*\]: [0-9A-F]*: client=" "$IT_PF_LOG" | grep -qv sasl_username &&
    it_fail "a re-submission without AUTH"

# ---- 2. wrong password: tempfail, nothing lost; the retry delivers
rm -f "$IT_SINK_DIR"/*
it_stop_milter
start "ReinjectTLS verify" "ReinjectTLSCAFile $IT_TMP/tls/listener.pem" \
    "ReinjectAuthFile $IT_TMP/auth.wrong"
refused 2
grep -q "AUTH PLAIN refused: 535" "$IT_MILTER_LOG" || it_fail "no AUTH refusal logged"
grep -q "authentication failed" "$IT_PF_LOG" || it_fail "Postfix saw no failed AUTH"
grep -q "wrong pw\|$PASS" "$IT_MILTER_LOG" && it_fail "a password in the milter log"
it_stop_milter
start "ReinjectTLS may" "ReinjectAuthFile $IT_TMP/auth.right"
it_smtp_send "$DS_FROM" "$DS_RCPTS" "$IT_TMP/msg2.eml" >/dev/null ||
    it_fail "retry of message 2 refused"
it_wait_delivered 4 30 || it_fail "message 2 retry: $(it_sink_count) copies"

# ---- 3. verify against the wrong CA: tempfail before AUTH
rm -f "$IT_SINK_DIR"/*
it_stop_milter
before=$(grep -c "sasl_username=" "$IT_PF_LOG")
start "ReinjectTLS verify" "ReinjectTLSCAFile $IT_TMP/tls/other.pem" \
    "ReinjectAuthFile $IT_TMP/auth.right"
refused 3
grep -q "certificate verify failed" "$IT_MILTER_LOG" ||
    it_fail "no certificate failure logged"
[ "$(grep -c "sasl_username=" "$IT_PF_LOG")" = "$before" ] ||
    it_fail "authenticated although the certificate did not verify"
it_stop_milter

# ---- 4. an auth file others can read: no start
chmod 644 "$IT_TMP/auth.right"
timeout 10 "$SMIME_MILTER" -f -c "$IT_TMP/milter.conf" >"$IT_TMP/loose.out" 2>&1
rc=$?
[ "$rc" != 0 ] && [ "$rc" != 124 ] || it_fail "started with a 0644 auth file (exit $rc)"
grep -q "ReinjectAuthFile: .*auth.right: mode 0644.*chmod 600" "$IT_TMP/loose.out" ||
    it_fail "unexpected message: $(cat "$IT_TMP/loose.out")"

it_pass
