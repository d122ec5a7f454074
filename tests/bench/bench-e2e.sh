#!/bin/bash
# shellcheck disable=SC2119  # it_* functions called without arguments
# bench-e2e.sh -- "make bench-e2e": smime-milter end to end through a
# private Postfix, against a pass-through milter in the same run.
#
#   N=2000 N1=200 SIZE=10240 SESSIONS=10 ROUNDS=3 FANOUT=1000 \
#   FANOUT_SIZE=102400 FANOUT_ROUNDS=5 FANOUT_KEY=ec \
#       bash tests/bench/bench-e2e.sh
#
# Throughput: Postfix's smtp-source sends N messages of SIZE bytes in
# SESSIONS parallel sessions (one message per connection) to a private
# Postfix (tests/integration/lib.sh), whose smtpd hands them to a milter;
# Postfix relays everything to smtp-sink.  Every message goes To u@, Cc 2u@
# and Bcc 3u@example.test (smtp-source names the recipients 3u@, 2u@, u@
# with -r 3 -t u@example.test; it writes To: u@ itself, and the Cc field
# rides in after its Subject line, so 3u@ is in no header field).  All
# three have RSA-2048 certificates from the test PKI (tests/pki/mkpki),
# so smime-milter makes two copies: one encrypted for u@ and 2u@ that stays
# in the transaction, and one for 3u@ re-submitted through the reinjection
# listener; one such message is checked first.  Each configuration has
# its own smtpd port of the one Postfix instance: no milter,
# tests/bench/passmilter and smime-milter, each on a unix socket and on TCP
# loopback, and passmilter -D (SMFIP_NODATA: the ~40 ms stall per message
# over TCP that milter/smime-milter.c explains).  Rounds go through the
# configurations in turn, each run waiting for Postfix's queue to empty;
# figures are medians over ROUNDS, ratios the median of the rounds'
# ratios.  "accepted" is N over smtp-source's run time, "delivered" runs
# until the queue is empty again; then N1 messages in one session, where
# a stall shows undiluted; CPU time per message of the whole machine and
# of the milter process.
#
# Fan-out: one message of FANOUT_SIZE bytes To u@ with FANOUT Bcc
# recipients (FANOUT_KEY: ec, P-256, or rsa; certificates made here), sent
# by a small SMTP client that times the end of DATA: from "." to Postfix's
# reply, which comes after the milter's end-of-data work, i.e. after the
# last copy was accepted by the reinjection listener.  Against FANOUT
# messages of the copies' size (calibrated on Postfix's size=) sent over
# one connection to the same listener, as the milter sends them: by the
# same client (TCP_NODELAY, like the milter's), and by smtp-source -d
# (which Nagle sometimes holds up: see the README).  Medians over
# FANOUT_ROUNDS.
#
# Needs root (Postfix), postfix, smtp-source/smtp-sink, openssl, python3.
# KEEP_TMP=1 keeps the temp dir with all logs; IT_VERBOSE=1 shows rounds.
IT_NAME=bench-e2e
# shellcheck source=../integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"

N=${N:-2000}
N1=${N1:-200}		# messages of the one-session runs
SIZE=${SIZE:-10240}
SESSIONS=${SESSIONS:-10}
ROUNDS=${ROUNDS:-3}
FANOUT=${FANOUT:-1000}
FANOUT_SIZE=${FANOUT_SIZE:-102400}
FANOUT_ROUNDS=${FANOUT_ROUNDS:-5}
FANOUT_KEY=${FANOUT_KEY:-ec}	# or rsa (RSA-2048: slower to make)
PASSMILTER=${PASSMILTER:-$TOP/build/tests/passmilter}
SENDER=s@example.org
SUBJECT=$'bench\r\nCc: <2u@example.test>'

[ -x "$PASSMILTER" ] || { echo "bench-e2e: build $PASSMILTER first (make unit)" >&2; exit 1; }
it_init
PKI=$IT_TMP/pki
QUEUE_TIMEOUT=600	# seconds Postfix may take to empty its queue

# ------------------------------------------------------------ certificates

# mkcert NAME ADDRESS rsa|ec: a certificate from the test PKI's
# intermediate CA, written with the chain to the milter's certificate dir.
mkcert() {
	local ext=ee_rsa key=(-newkey rsa:2048)
	[ "$3" = ec ] && ext=ee_ec key=(-newkey ec -pkeyopt ec_paramgen_curve:P-256)
	MKPKI_SAN="email:$2" openssl req -x509 -new -config "$PKI/openssl.cnf" \
	    -extensions "$ext" "${key[@]}" -nodes -keyout "$PKI/bench/$1.key" \
	    -subj "/CN=$1" -CA "$PKI/ca/intermediate.pem" \
	    -CAkey "$PKI/ca/intermediate.key" -days 30 \
	    -out "$PKI/bench/$1.crt" 2>/dev/null &&
	    cat "$PKI/bench/$1.crt" "$PKI/ca/chain.pem" >"$IT_CERT_DIR/$1.pem"
}
export -f mkcert
export PKI IT_CERT_DIR

"$TOP/tests/pki/mkpki" "$PKI" >/dev/null || it_fail "mkpki"
mkdir -p "$PKI/bench" "$IT_CERT_DIR"
for u in u 2u 3u; do mkcert "$u" "$u@example.test" rsa || it_fail "certificate $u"; done
t0=$(date +%s%N)
seq 1 "$FANOUT" | xargs -P "$(nproc)" -I{} bash -c 'mkcert "m$1" "m$1@example.test" "$2"' _ {} "$FANOUT_KEY" ||
	it_fail "fan-out certificates"
cert_s=$(( ($(date +%s%N) - t0) / 1000000 ))

# ------------------------------------------------------------ processes

# smtp-sink without dump files for the measurements; lib.sh's dumping
# sink for the one message whose copies are checked first.
it_start_sink
it_alloc_port COUNT_SINK_PORT
"$IT_SMTP_SINK" -4 -u "$IT_SINK_USER" "127.0.0.1:$COUNT_SINK_PORT" 256 \
    >>"$IT_TMP/sink.log" 2>&1 &
it_wait_port "$COUNT_SINK_PORT" 10 $! || it_fail "counting smtp-sink"

# wait_socket PATH PID
wait_socket() {
	for _ in $(seq 1 100); do
		[ -S "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# The milters.  Unix sockets get mode 0777 (umask 0; UMask 000 for
# smime-milter, which sets its own): Postfix's smtpd runs as postfix and
# must be able to connect.
it_alloc_port PASS_TCP; it_alloc_port PASS_NODATA
"$PASSMILTER" -p "inet:$PASS_TCP@127.0.0.1" 2>>"$IT_TMP/pass.log" &
PID_PASS_TCP=$!
"$PASSMILTER" -D -p "inet:$PASS_NODATA@127.0.0.1" 2>>"$IT_TMP/pass.log" &
PID_PASS_NODATA=$!
(umask 0; exec "$PASSMILTER" -p "unix:$IT_TMP/pass.sock" 2>>"$IT_TMP/pass.log") &
PID_PASS_UNIX=$!
it_wait_port "$PASS_TCP" 10 "$PID_PASS_TCP" || it_fail "passmilter tcp"
it_wait_port "$PASS_NODATA" 10 "$PID_PASS_NODATA" || it_fail "passmilter -D"
wait_socket "$IT_TMP/pass.sock" "$PID_PASS_UNIX" || it_fail "passmilter unix"

cat >"$IT_TMP/policy" <<'EOP'
default encrypt=required missing-cert=reject
EOP
# The shipped LogLevel (info: a line per message) rather than lib.sh's debug.
SMIME_LINES=("PolicyFile $IT_TMP/policy" "TrustAnchors $PKI/ca/anchors.pem"
    "ReinjectSocket inet:$IT_REINJECT_PORT@127.0.0.1" "LogLevel info")
it_start_milter "${SMIME_LINES[@]}"
PID_SMIME_TCP=$IT_MILTER_PID
# A second instance on a unix socket: its own spool and journal.
mkdir -p "$IT_TMP/unix/spool"
sed -e "s|^Socket .*|Socket unix:$IT_TMP/smime.sock|" \
    -e "s|^PidFile .*|PidFile $IT_TMP/unix/milter.pid|" \
    -e "s|^SpoolDir .*|SpoolDir $IT_TMP/unix/spool|" \
    -e "s|^JournalDir .*|JournalDir $IT_TMP/unix/journal|" \
    -e '$a UMask 000' \
    "$IT_TMP/milter.conf" >"$IT_TMP/unix/milter.conf"
"$SMIME_MILTER" -f -c "$IT_TMP/unix/milter.conf" \
    2>>"$IT_TMP/unix/milter.log" &
PID_SMIME_UNIX=$!
wait_socket "$IT_TMP/smime.sock" "$PID_SMIME_UNIX" || it_fail "smime-milter unix"
rss_start=$(awk '/^VmRSS/ { print $2 }' "/proc/$PID_SMIME_TCP/status")

# Postfix: the main smtpd (IT_SMTP_PORT) has smime-milter on TCP; one more
# smtpd per configuration.  1,000 Bcc recipients plus a visible one are
# more than smtpd_recipient_limit's default 1000.
it_start_postfix "relayhost=[127.0.0.1]:$COUNT_SINK_PORT" \
    smtpd_recipient_limit=2000 milter_content_timeout=300s
declare -A PORT MILTER_OF
CONFIGS=(none pass-unix smime-unix pass-tcp smime-tcp pass-tcp-nodata)
MILTER_OF=([none]="" [pass-unix]="unix:$IT_TMP/pass.sock"
    [smime-unix]="unix:$IT_TMP/smime.sock"
    [pass-tcp]="inet:127.0.0.1:$PASS_TCP"
    [pass-tcp-nodata]="inet:127.0.0.1:$PASS_NODATA")
PORT[smime-tcp]=$IT_SMTP_PORT
for c in "${CONFIGS[@]}"; do
	[ "$c" = smime-tcp ] && continue
	it_alloc_port "PORT_${c//-/_}"
	p=PORT_${c//-/_}
	PORT[$c]=${!p}
	printf '127.0.0.1:%s inet n - n - - smtpd\n  -o smtpd_milters=%s\n  -o syslog_name=postfix-it/%s\n' \
	    "${PORT[$c]}" "${MILTER_OF[$c]}" "$c" >>"$IT_PF_DIR/master.cf"
done
_it_pf_backdate
it_postfix_reload
for c in "${CONFIGS[@]}"; do
	it_wait_port "${PORT[$c]}" 10 || it_fail "smtpd for $c"
done

# ------------------------------------------------------------ helpers

queue_empty() {
	[ -z "$(find "$IT_PF_QUEUE"/{maildrop,incoming,active,deferred,hold} \
	    -type f -print -quit 2>/dev/null)" ]
}

# Wait until the queue is empty; print the time (ns) it was seen empty.
wait_queue() {
	local end=$(( $(date +%s) + QUEUE_TIMEOUT ))
	until queue_empty; do
		[ "$(date +%s)" -lt "$end" ] || it_fail "queue not empty after ${QUEUE_TIMEOUT}s: $(it_postqueue | tail -1)"
		sleep 0.05
	done
	date +%s%N
}

log_count() { grep -c -- "$1" "$IT_PF_LOG"; }
# Log lines of the messages the reinjection smtpd took.
REINJECTED="postfix-it/reinject/smtpd\[[0-9]*\]: [0-9A-F]*: client="

# Busy and idle jiffies of all CPUs.
cpu_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat; }

# CPU time (jiffies) process PID has used; 0 without PID.
proc_ticks() {
	if [ -n "$1" ]; then awk '{ print $14 + $15 }' "/proc/$1/stat"; else echo 0; fi
}
HZ=$(getconf CLK_TCK)

# source PORT [smtp-source options]: the load; fails on any refusal.
source_load() {
	local port=$1
	shift
	"$IT_SMTP_SOURCE" -4 -l "$SIZE" -s "$SESSIONS" -r 3 -S "$SUBJECT" \
	    -f "$SENDER" -t u@example.test "$@" "127.0.0.1:$port" \
	    >>"$IT_TMP/smtp-source.log" 2>&1
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# ratio "A1 A2 ..." "B1 B2 ...": the median of Ai / Bi (pairs measured
# one after the other, so slow drifts of the machine's load cancel out).
ratio() {
	paste <(tr ' ' '\n' <<<"$1" | grep .) <(tr ' ' '\n' <<<"$2" | grep .) |
	    awk '{ printf "%.3f\n", $1 / $2 }' | median
}

# ------------------------------------------------------------ check first

# One message through smime-milter, delivered to the dumping sink: two
# copies, {u, 2u} and {3u}, both encrypted, 3u@ in neither header but its
# own copy's envelope, each opening only for its recipients.
it_postconf "relayhost=[127.0.0.1]:$IT_SINK_PORT"
it_postfix_reload
source_load "${PORT[smime-tcp]}" -m 1 -s 1 || it_fail "check message refused"
it_wait_delivered 2 60 || it_fail "check message: $(it_sink_count) copies"
declare -A copy
for f in $(it_sink_files); do
	r=$(it_sink_envelope "$f" | sed -n 's/^RCPT <\([^>]*\)>.*/\1/p' | sort | tr '\n' ' ')
	copy["$r"]=$f
done
check_copy() { # RCPTS OPENERS...
	local f=${copy[$1]:-} m=$IT_TMP/check.eml who
	[ -n "$f" ] || it_fail "no copy for exactly {$1}: ${!copy[*]}"
	shift
	it_sink_message "$f" >"$m"
	grep -qi '^Content-Type: application/pkcs7-mime' "$m" || it_fail "$f not encrypted"
	for who in u 2u 3u; do
		if openssl cms -decrypt -in "$m" -inkey "$PKI/bench/$who.key" \
		    -recip "$PKI/bench/$who.crt" -out /dev/null 2>/dev/null; then
			[[ " $* " == *" $who "* ]] || it_fail "$f opens for $who"
		else
			[[ " $* " == *" $who "* ]] && it_fail "$f does not open for $who"
		fi
	done
	return 0
}
check_copy "2u@example.test u@example.test " u 2u
check_copy "3u@example.test " 3u
it_sink_message "${copy[2u@example.test u@example.test ]}" >"$IT_TMP/check.eml"
grep -q '^To: <u@example.test>' "$IT_TMP/check.eml" &&
    grep -q '^Cc: <2u@example.test>' "$IT_TMP/check.eml" ||
    it_fail "the visible copy lacks To u@ or Cc 2u@"
grep -q '3u@' "$IT_TMP/check.eml" && it_fail "the visible copy names the Bcc recipient"
it_postconf "relayhost=[127.0.0.1]:$COUNT_SINK_PORT"
it_postfix_reload
sleep 1

# ------------------------------------------------------------ throughput

echo "# bench-e2e: Postfix $("$IT_POSTCONF" -c "$IT_PF_DIR" -h mail_version), $(openssl version | cut -d' ' -f1-2), $(nproc) cores"
echo "# $N messages of $SIZE bytes, $SESSIONS sessions, To+Cc+Bcc; medians of $ROUNDS rounds"
declare -A ACC DEL ONE IDLE ALL MCPU PID_OF
PID_OF=([none]="" [pass-unix]=$PID_PASS_UNIX [smime-unix]=$PID_SMIME_UNIX
    [pass-tcp]=$PID_PASS_TCP [smime-tcp]=$PID_SMIME_TCP
    [pass-tcp-nodata]=$PID_PASS_NODATA)
# load CONFIG COUNT SESSIONS: run smtp-source, wait for the queue to
# empty, check the deliveries; sets T0 T1 T2 (ns: start, smtp-source done,
# queue empty), B0 I0 B1 I1 B2 (busy/idle CPU ticks then) and M0 M1 (the
# milter's CPU ticks).
load() {
	local c=$1 n=$2 sent0 re0 sent re
	wait_queue >/dev/null
	sent0=$(log_count "status=sent")
	re0=$(log_count "$REINJECTED")
	read -r B0 I0 < <(cpu_ticks)
	M0=$(proc_ticks "${PID_OF[$c]}")
	T0=$(date +%s%N)
	source_load "${PORT[$c]}" -m "$n" -s "$3" ||
	    it_fail "$c: smtp-source failed: $(tail -1 "$IT_TMP/smtp-source.log")"
	T1=$(date +%s%N)
	read -r B1 I1 < <(cpu_ticks)
	M1=$(proc_ticks "${PID_OF[$c]}")
	T2=$(wait_queue) || it_fail "$c: ${T2:-queue}"
	read -r B2 _ < <(cpu_ticks)
	sent=$(( $(log_count "status=sent") - sent0 ))
	re=$(( $(log_count "$REINJECTED") - re0 ))
	[ "$sent" = $((3 * n)) ] || it_fail "$c: $sent recipients delivered, expected $((3 * n))"
	case $c in
	smime-*) [ "$re" = "$n" ] || it_fail "$c: $re copies re-submitted, expected $n" ;;
	*) [ "$re" = 0 ] || it_fail "$c: $re messages re-submitted" ;;
	esac
}

# rate COUNT NS: messages per second
rate() { awk -v n="$1" -v ns="$2" 'BEGIN { printf "%.1f", n / (ns / 1e9) }'; }

for r in $(seq 1 "$ROUNDS"); do
	for c in "${CONFIGS[@]}"; do
		load "$c" "$N" "$SESSIONS"
		ACC[$c]+="$(rate "$N" $((T1 - T0))) "
		DEL[$c]+="$(rate "$N" $((T2 - T0))) "
		ALL[$c]+="$(awk -v t=$((B2 - B0)) -v hz="$HZ" -v n="$N" 'BEGIN { printf "%.2f", t / hz * 1000 / n }') "
		MCPU[$c]+="$(awk -v t=$((M1 - M0)) -v hz="$HZ" -v n="$N" 'BEGIN { printf "%.2f", t / hz * 1000 / n }') "
		IDLE[$c]+="$(awk -v b=$((B1 - B0)) -v i=$((I1 - I0)) 'BEGIN { printf "%.0f", 100 * i / (b + i) }') "
		# One session: a stall shows undiluted (~40 ms per message).
		load "$c" "$N1" 1
		ONE[$c]+="$(rate "$N1" $((T1 - T0))) "
		it_log "round $r $c: accepted ${ACC[$c]}, delivered ${DEL[$c]}, one session ${ONE[$c]}"
	done
done
rss() { awk '/^VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }
rss_tcp=$(rss "$PID_SMIME_TCP")
rss_unix=$(rss "$PID_SMIME_UNIX")

declare -A MED
label() {
	case $1 in
	none) echo "no milter" ;;
	pass-unix) echo "pass-through, unix socket" ;;
	smime-unix) echo "smime-milter, unix socket" ;;
	pass-tcp) echo "pass-through, TCP" ;;
	smime-tcp) echo "smime-milter, TCP" ;;
	pass-tcp-nodata) echo "pass-through, TCP, SMFIP_NODATA" ;;
	esac
}
printf '%-32s %-24s %5s %10s  %s\n' "" "$SESSIONS sessions, msg/s:" "" "1 session" "CPU ms/msg:"
printf '%-32s %8s %9s %5s %10s %6s %6s\n' "" accepted delivered idle "msg/s" all milter
med() { tr ' ' '\n' <<<"$1" | grep . | median; }	# of "R1 R2 ..."
for c in "${CONFIGS[@]}"; do
	MED[$c]=$(med "${ACC[$c]}")
	extra=""
	case $c in
	smime-unix) extra="$(ratio "${ACC[$c]}" "${ACC[pass-unix]}")x pass-through (goal >= 0.8x)" ;;
	smime-tcp) extra="$(ratio "${ACC[$c]}" "${ACC[pass-tcp]}")x pass-through (goal >= 0.8x)" ;;
	pass-tcp-nodata) extra="$(ratio "${ACC[$c]}" "${ACC[pass-tcp]}")x pass-through" ;;
	esac
	printf '%-32s %8s %9s %4s%% %10s %6s %6s  %s\n' "$(label "$c")" "${MED[$c]}" \
	    "$(med "${DEL[$c]}")" "$(med "${IDLE[$c]}")" "$(med "${ONE[$c]}")" \
	    "$(med "${ALL[$c]}")" "$(med "${MCPU[$c]}")" "$extra"
done
# The machine is CPU-bound here (idle ~0), so msg/s goes as 1 / CPU per
# message.  What Postfix (and smtp-source, smtp-sink) spend per message
# with smime-milter, less the same with the pass-through, is the price of
# the second copy in Postfix; the ratio smime-milter could reach if it
# cost no more CPU than the pass-through:
for t in unix tcp; do
	awk -v pa="$(med "${ALL[pass-$t]}")" -v pm="$(med "${MCPU[pass-$t]}")" \
	    -v sa="$(med "${ALL[smime-$t]}")" -v sm="$(med "${MCPU[smime-$t]}")" -v t="$t" 'BEGIN {
		printf "%s: the rest of the machine spends %.2f ms/msg more with smime-milter; with the milter as cheap as the pass-through: at most %.2fx\n",
		    t, (sa - sm) - (pa - pm), pa / (sa - sm + pm) }'
done
echo "(ratios: medians of the rounds' ratios; rounds, msg/s accepted:"
for c in "${CONFIGS[@]}"; do echo "   $c: ${ACC[$c]}"; done
echo ")"
echo "peak RSS of smime-milter: ${rss_tcp} MB (TCP instance), ${rss_unix} MB (unix); $(awk -v k="$rss_start" 'BEGIN { printf "%.1f", k / 1024 }') MB after start"

# ------------------------------------------------------------ fan-out

# The message: FANOUT_SIZE bytes of text lines, To u@, every m*@ in Bcc.
mkmsg() { # MESSAGE-ID
	printf 'From: <%s>\nTo: <u@example.test>\nSubject: fan-out\nMessage-ID: <%s>\nDate: %s\n\n' \
	    "$SENDER" "$1" "$(date -R)"
	awk -v n="$FANOUT_SIZE" 'BEGIN { l = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcd";
	    for (s = 0; s + 77 <= n; s += 77) print l }'
}
{ echo u@example.test; seq 1 "$FANOUT" | sed 's/.*/m&@example.test/'; } >"$IT_TMP/fanout.rcpts"

# A small SMTP client (TCP_NODELAY, like smime-milter's own):
#   fanout PORT FROM RCPTFILE MSG   one transaction to every address in
#                                   RCPTFILE; prints the seconds from "."
#                                   to the (250) reply
#   repeat PORT FROM RCPT N MSG     N transactions on one connection;
#                                   prints the seconds for all of them
cat >"$IT_TMP/smtpclient.py" <<'EOPY'
import socket, sys, time
mode, port, sender = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
f = s.makefile("rb")
def reply(want):
    while True:
        line = f.readline().decode("latin-1")
        if line[3:4] != "-":
            break
    if not line.startswith(want):
        sys.exit("smtpclient: expected %s, got %r" % (want, line))
def cmd(c, want):
    s.sendall((c + "\r\n").encode()); reply(want)
def data(path):
    return b"".join((b"." + l if l.startswith(b".") else l).rstrip(b"\n") +
                    b"\r\n" for l in open(path, "rb"))
reply("220"); cmd("EHLO bench.example.test", "250")
if mode == "fanout":
    msg = data(sys.argv[5])
    cmd("MAIL FROM:<%s>" % sender, "250")
    for r in open(sys.argv[4]).read().split():
        cmd("RCPT TO:<%s>" % r, "250")
    cmd("DATA", "354")
    s.sendall(msg)
    t0 = time.monotonic()
    s.sendall(b".\r\n")
    reply("250")
else:
    rcpt, n, msg = sys.argv[4], int(sys.argv[5]), data(sys.argv[6]) + b".\r\n"
    t0 = time.monotonic()
    for _ in range(n):
        cmd("MAIL FROM:<%s>" % sender, "250")
        cmd("RCPT TO:<%s>" % rcpt, "250")
        cmd("DATA", "354")
        s.sendall(msg); reply("250")
print("%.3f" % (time.monotonic() - t0))
cmd("QUIT", "221")
EOPY

# Postfix's size= of the messages the reinjection smtpd queued after log
# line $1, median.
reinjected_size() {
	tail -n +"$1" "$IT_PF_LOG" | awk '
	    /postfix-it\/reinject\/smtpd\[[0-9]*\]: [0-9A-F]+: client=/ {
		id = $6; sub(/:$/, "", id); want[id] = 1 }
	    /\/qmgr\[[0-9]*\]: [0-9A-F]+: from=.*size=/ {
		id = $6; sub(/:$/, "", id)
		if (id in want) { s = $0; sub(/.*size=/, "", s); sub(/,.*/, "", s); print s } }' |
	    median
}

# calibrate FILE SIZE: make FILE a message whose Postfix size= through the
# reinjection listener is SIZE to a line (77 bytes); print that size=.
calibrate() {
	local line n=$2 got
	for _ in 1 2 3; do
		{ printf 'From: <%s>\nTo: <x@example.test>\nSubject: baseline\n\n' "$SENDER"
		  awk -v n="$n" 'BEGIN { l = sprintf("%76s", ""); gsub(/ /, "Q", l)
		      for (s = 0; s + 77 <= n; s += 77) print l }'; } >"$1"
		line=$(( $(wc -l <"$IT_PF_LOG") + 1 ))
		python3 "$IT_TMP/smtpclient.py" repeat "$IT_REINJECT_PORT" "$SENDER" \
		    x@example.test 1 "$1" >/dev/null || return 1
		wait_queue >/dev/null
		got=$(reinjected_size "$line")
		[ $(( got > $2 ? got - $2 : $2 - got )) -lt 77 ] && break
		n=$(( n + $2 - got ))
	done
	echo "$got"
}

echo "# fan-out: $FANOUT_SIZE-byte message, To u@ (RSA) + $FANOUT Bcc ($FANOUT_KEY keys, $cert_s ms to make the certificates); medians of $FANOUT_ROUNDS"
FAN=() BASE=() SRC=()
for r in $(seq 1 "$FANOUT_ROUNDS"); do
	wait_queue >/dev/null
	mkmsg "fanout.$r.$$@example.org" >"$IT_TMP/fanout.eml"
	line=$(( $(wc -l <"$IT_PF_LOG") + 1 ))
	re0=$(log_count "$REINJECTED")
	s=$(python3 "$IT_TMP/smtpclient.py" fanout "${PORT[smime-tcp]}" "$SENDER" \
	    "$IT_TMP/fanout.rcpts" "$IT_TMP/fanout.eml") || it_fail "fan-out message refused"
	FAN+=("$s")
	re=$(( $(log_count "$REINJECTED") - re0 ))
	[ "$re" = "$FANOUT" ] || it_fail "fan-out: $re copies re-submitted, expected $FANOUT"
	wait_queue >/dev/null
	size=$(reinjected_size "$line")
	[ -n "$size" ] || it_fail "fan-out: no size= of the copies in the log"
	if [ "$r" = 1 ]; then
		base_size=$(calibrate "$IT_TMP/base.eml" "$size") ||
		    it_fail "calibration message refused"
	fi
	# The same bytes, FANOUT messages on one connection, as smime-milter
	# sends its copies: our client, then smtp-source (-l calibrated so
	# that Postfix's size= is the same).
	s=$(python3 "$IT_TMP/smtpclient.py" repeat "$IT_REINJECT_PORT" "$SENDER" \
	    x@example.test "$FANOUT" "$IT_TMP/base.eml") || it_fail "baseline refused"
	BASE+=("$s")
	wait_queue >/dev/null
	if [ "$r" = 1 ]; then
		line=$(( $(wc -l <"$IT_PF_LOG") + 1 ))
		"$IT_SMTP_SOURCE" -4 -l "$size" -m 1 -f "$SENDER" -t x@example.test \
		    "127.0.0.1:$IT_REINJECT_PORT" >>"$IT_TMP/smtp-source.log" 2>&1 ||
		    it_fail "calibration message refused"
		wait_queue >/dev/null
		len=$(( 2 * size - $(reinjected_size "$line") ))
	fi
	t0=$(date +%s%N)
	"$IT_SMTP_SOURCE" -4 -d -s 1 -l "$len" -m "$FANOUT" -f "$SENDER" \
	    -t x@example.test "127.0.0.1:$IT_REINJECT_PORT" \
	    >>"$IT_TMP/smtp-source.log" 2>&1 || it_fail "smtp-source refused"
	SRC+=("$(awk -v ns=$(( $(date +%s%N) - t0 )) 'BEGIN { printf "%.3f", ns / 1e9 }')")
	it_log "fan-out round $r: ${FAN[-1]} s, client ${BASE[-1]} s, smtp-source ${SRC[-1]} s, copy size $size, milter RSS $(awk '/^VmRSS/ { print $2 }' "/proc/$PID_SMIME_TCP/status") kB"
done
printf '%-46s %7.3f s  (rounds: %s)\n' "end of data to the last copy accepted" \
    "$(printf '%s\n' "${FAN[@]}" | median)" "${FAN[*]}"
printf '%-46s %7.3f s  (rounds: %s)  %.2fx (goal <= 1.5x)\n' \
    "$FANOUT x $base_size bytes, one connection" "$(printf '%s\n' "${BASE[@]}" | median)" \
    "${BASE[*]}" "$(ratio "${FAN[*]}" "${BASE[*]}")"
printf '%-46s %7.3f s  (rounds: %s)  %.2fx\n' \
    "the same with smtp-source -d" "$(printf '%s\n' "${SRC[@]}" | median)" \
    "${SRC[*]}" "$(ratio "${FAN[*]}" "${SRC[*]}")"
echo "peak RSS of smime-milter after the fan-out: $(rss "$PID_SMIME_TCP") MB"
it_pass
