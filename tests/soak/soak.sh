#!/bin/bash
# shellcheck disable=SC2119  # it_* functions called without arguments
# soak.sh -- "make soak": sustained mixed traffic through a private Postfix
# and smime-milter, looking for what only time shows: memory or file
# descriptors that grow, copies lost or sent twice, a recipient who must
# get ciphertext getting clear text, leaks at exit.
#
# Phase 1 (SOAK_SECONDS, default 600): the release build.  SOAK_SESSIONS
# clients (default 6) send, for the whole time, one kind of message after
# another, each with a unique Message-ID and a unique canary word in its
# body:
#   group    To alice, Cc bob, Bcc carol and victor, plain to nocert
#            (4 copies: the delivery scenario of t_delivery.sh)
#   list     To the confidential list team@ (3 members: 3 copies)
#   big      To alice, Bcc bob, a 300 KB body (2 copies; spooled), in
#            every tenth round only
# (SOAK_PAUSE, default 0.1 s, between a client's messages keeps the
# sink's files to a few hundred MB).
#   reject   To alice and nocert2 (missing-cert reject: 5xx, nothing sent)
# Every 5 s the milter's RSS and open descriptors are sampled.  Checks:
#   - every accepted message has exactly its copies, no copy twice, and a
#     rejected one has none;
#   - the canary is in no copy but the plain one to nocert;
#   - after the first quarter (caches warm), RSS grows by at most
#     SOAK_RSS_SLACK_MB (default 8) and descriptors by at most
#     2 x SOAK_SESSIONS + 8 from the first quarter's largest sample to the
#     last quarter's.
# Phase 2 (SOAK_SAN_SECONDS, default 120): the same traffic with the
# AddressSanitizer build (build-san/); on SIGTERM LeakSanitizer must
# report nothing and ASan no error.
#
# Needs root (Postfix), postfix, smtp-sink, openssl, python3; about
# SOAK_SECONDS + SOAK_SAN_SECONDS + 1 minute.  KEEP_TMP=1 keeps the temp
# dir (samples in rss.tsv, the clients' tallies in sent.*).
IT_NAME=soak
# shellcheck source=../integration/lib.sh
. "$(dirname "$0")/../integration/lib.sh"

SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_SAN_SECONDS=${SOAK_SAN_SECONDS:-120}
SOAK_SESSIONS=${SOAK_SESSIONS:-6}
SOAK_RSS_SLACK_MB=${SOAK_RSS_SLACK_MB:-8}
SOAK_PAUSE=${SOAK_PAUSE:-0.1}	# seconds between a client's messages
PKI=${SMIME_TEST_PKI:-$TOP/build/test-pki}
SAN_MILTER=$TOP/build-san/smime-milter

[ "$(id -u)" = 0 ] || it_skip "needs root (private Postfix)"
[ -x "$SAN_MILTER" ] || it_fail "$SAN_MILTER missing (make SANITIZE=1)"
if [ ! -f "$PKI/manifest.tsv" ]; then
	"$TOP/tests/pki/mkpki" "$PKI" >/dev/null 2>&1 || it_fail "mkpki"
fi

it_init
# Copies of what the milter reads from the PKI: a test run elsewhere may
# make a new PKI in the same place while this one runs for minutes.
mkdir -p "$IT_CERT_DIR"
for n in alice-rsa2048 bob-rsa3072 carol-ec256 victor-multi; do
	cat "$PKI/certs/$n.pem" "$PKI/ca/chain.pem" >"$IT_CERT_DIR/$n.pem"
done
cp "$PKI/ca/anchors.pem" "$IT_TMP/anchors.pem"
cat >"$IT_TMP/policy" <<'EOP'
default encrypt=required missing-cert=reject
to nocert@example.test encrypt=required missing-cert=plain
list team@example.test = alice@example.test bob@example.test carol@example.test
EOP
MILTER_LINES=("PolicyFile $IT_TMP/policy" "TrustAnchors $IT_TMP/anchors.pem"
    "ReinjectSocket inet:$IT_REINJECT_PORT@127.0.0.1" "LogLevel info")

# The clients: each runs until DEADLINE and writes one line per message
# to sent.N: "KIND MESSAGE-ID CANARY REPLY-CODE".
cat >"$IT_TMP/client.py" <<'EOPY'
import socket, sys, time
port, deadline, worker, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3], open(sys.argv[4], "w")
KINDS = {
    "group":  (["alice", "bob", "carol", "victor", "nocert"],
               "To: Alice <alice@example.test>, nocert@example.test\r\nCc: bob@example.test\r\n"
               "Bcc: carol@example.test, victor@example.test\r\n", 1),
    "list":   (["team"], "To: Team <team@example.test>\r\n", 1),
    "big":    (["alice", "bob"], "To: alice@example.test\r\nBcc: bob@example.test\r\n", 4000),
    "reject": (["alice", "nocert2"], "To: alice@example.test, nocert2@example.test\r\n", 1),
}
def reply(f):
    while True:
        line = f.readline().decode("latin-1")
        if not line:
            return "000"
        if line[3:4] != "-":
            return line[:3]
n = rounds = 0
pause = float(sys.argv[5])
while time.time() < deadline:
    rounds += 1
    for kind, (rcpts, head, lines) in KINDS.items():
        if kind == "big" and rounds % 10 != 1:
            continue        # a big one every tenth round: disk, not time
        time.sleep(pause)
        n += 1
        mid = "soak.%s.%d.%s@example.org" % (worker, n, kind)
        canary = "canary%s%dx%s" % (worker, n, kind)
        body = "Soak %s: %s\r\n" % (kind, canary) + "".join(
            "%05d The quick brown fox jumps over the lazy dog, %s.\r\n" % (i, kind) for i in range(lines))
        msg = ("From: <sender@example.org>\r\n%sSubject: soak %s\r\nMessage-ID: <%s>\r\n"
               "Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n%s" % (head, kind, mid, body)).encode()
        s = socket.create_connection(("127.0.0.1", port))
        f = s.makefile("rb")
        code = reply(f)
        def cmd(c):
            s.sendall((c + "\r\n").encode())
            return reply(f)
        if code == "220" and cmd("EHLO soak.example.test") == "250" and \
           cmd("MAIL FROM:<sender@example.org>") == "250":
            for r in rcpts:
                cmd("RCPT TO:<%s@example.test>" % r)
            if cmd("DATA") == "354":
                s.sendall(msg + b".\r\n")
                code = reply(f)
            else:
                code = "554"
            cmd("QUIT")
        s.close()
        out.write("%s %s %s %s\n" % (kind, mid, canary, code))
        out.flush()
EOPY

# sample PID FILE: every 5 s "seconds rss-kB fds" until PID is gone.
sample() {
	local t0=$SECONDS
	while kill -0 "$1" 2>/dev/null; do
		printf '%s %s %s\n' $((SECONDS - t0)) \
		    "$(awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null)" \
		    "$(find "/proc/$1/fd" -mindepth 1 2>/dev/null | wc -l)" >>"$2"
		sleep 5
	done
}

# traffic SECONDS TAG: run the clients; print "accepted rejected other".
traffic() {
	local deadline pids=() w
	deadline=$(( $(date +%s) + $1 ))
	for w in $(seq 1 "$SOAK_SESSIONS"); do
		python3 "$IT_TMP/client.py" "$IT_SMTP_PORT" "$deadline" "$2$w" \
		    "$IT_TMP/sent.$2$w" "$SOAK_PAUSE" &
		pids+=($!)
	done
	for w in "${pids[@]}"; do wait "$w" || it_fail "client $w failed"; done
}

# wait_quiet: the queue is empty and the sink has stopped growing.
wait_quiet() {
	local last=-1 now i
	for i in $(seq 1 120); do
		now=$(it_sink_count)
		if [ "$now" = "$last" ] && [ -z "$(it_postqueue | grep -v '^Mail queue is empty')" ]; then
			return 0
		fi
		last=$now
		sleep 2
	done
	return 1
}

# check TAG: every message of the clients TAG* against what the sink got.
check() {
	python3 - "$IT_SINK_DIR" "$IT_TMP"/sent."$1"* <<'EOPY' || it_fail "copies of phase $1 wrong (see above)"
import email, glob, os, re, sys
sink, tallies = sys.argv[1], sys.argv[2:]
want = {"group": 4, "list": 3, "big": 2}
sent = {}
for t in tallies:
    for line in open(t):
        kind, mid, canary, code = line.split()
        sent[mid] = (kind, canary, code)
got, bad = {}, []
for path in glob.glob(os.path.join(sink, "msg.*")):
    raw = open(path, "rb").read()
    rcpts = re.findall(rb"^X-Rcpt-Args: <([^>]*)>", raw, re.M)
    m = re.search(rb"^Message-ID: <([^>]*)>", raw, re.M | re.I)
    if not m:
        bad.append("%s: no Message-ID" % path); continue
    mid = m.group(1).decode()
    got.setdefault(mid, []).append(path)
    kind, canary, code = sent.get(mid, ("?", None, None))
    plain = b"application/pkcs7-mime" not in raw
    if canary and canary.encode() in raw:
        # Only the plain copy of "group" to nocert may show it.
        if not (kind == "group" and plain and rcpts == [b"nocert@example.test"]):
            bad.append("%s: canary of %s in clear to %s" % (path, mid, rcpts))
ok = rej = 0
for mid, (kind, canary, code) in sent.items():
    n = len(got.get(mid, []))
    if kind == "reject":
        if code[0] != "5" or n:
            bad.append("%s: reply %s and %d copies (want 5xx, none)" % (mid, code, n))
        rej += 1
    elif code != "250":
        bad.append("%s: reply %s" % (mid, code))
    elif n != want[kind]:
        bad.append("%s: %d copies, want %d" % (mid, n, want[kind]))
    else:
        ok += 1
for mid in got:
    if mid not in sent:
        bad.append("%s: delivered but never sent" % mid)
for b in bad[:20]:
    print("soak: " + b)
print("soak: %d messages accepted with all their copies, %d rejected as they must be, %d problems" % (ok, rej, len(bad)))
sys.exit(1 if bad else 0)
EOPY
}

# growth FILE: RSS (kB) and descriptors, largest of the first quarter
# against largest of the last; prints "rss-growth-kB fd-growth".
growth() {
	awk 'NF == 3 && $2 != "" { t[NR] = $1; r[NR] = $2; f[NR] = $3; n = NR }
	    END { q = int(n / 4); if (q < 1) q = 1
		for (i = 1; i <= q; i++) { if (r[i] > r0) r0 = r[i]; if (f[i] > f0) f0 = f[i] }
		for (i = n - q + 1; i <= n; i++) { if (r[i] > r1) r1 = r[i]; if (f[i] > f1) f1 = f[i] }
		print r1 - r0, f1 - f0, r0, r1, f0, f1, n }' "$1"
}

it_start_sink
it_start_milter "${MILTER_LINES[@]}"
it_start_postfix
echo "# soak: $SOAK_SECONDS s release build, $SOAK_SAN_SECONDS s ASan build, $SOAK_SESSIONS sessions"

# Phase 1: release build.
sample "$IT_MILTER_PID" "$IT_TMP/rss.tsv" &
traffic "$SOAK_SECONDS" a
wait_quiet || it_fail "phase 1: the queue did not drain"
check a
read -r drss dfd r0 r1 f0 f1 n < <(growth "$IT_TMP/rss.tsv")
echo "soak: RSS ${r0} -> ${r1} kB (+${drss}), descriptors ${f0} -> ${f1} (+${dfd}) over $n samples"
[ "$drss" -le $((SOAK_RSS_SLACK_MB * 1024)) ] ||
	it_fail "RSS grew by $drss kB (limit $SOAK_RSS_SLACK_MB MB)"
[ "$dfd" -le $((2 * SOAK_SESSIONS + 8)) ] || it_fail "descriptors grew by $dfd"
it_stop_milter
[ "$IT_MILTER_STATUS" = 0 ] || it_fail "release milter exit status $IT_MILTER_STATUS"

# Phase 2: the same with AddressSanitizer and LeakSanitizer.
find "$IT_SINK_DIR" -name 'msg.*' -delete	# too many for rm's arguments
SMIME_MILTER=$SAN_MILTER
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:log_path=$IT_TMP/asan"
export UBSAN_OPTIONS="print_stacktrace=1:log_path=$IT_TMP/ubsan"
it_start_milter "${MILTER_LINES[@]}"
traffic "$SOAK_SAN_SECONDS" b
wait_quiet || it_fail "phase 2: the queue did not drain"
check b
it_stop_milter
if ls "$IT_TMP"/asan.* "$IT_TMP"/ubsan.* >/dev/null 2>&1; then
	cat "$IT_TMP"/asan.* "$IT_TMP"/ubsan.* 2>/dev/null | head -40
	it_fail "sanitizer reports (above)"
fi
[ "$IT_MILTER_STATUS" = 0 ] || it_fail "ASan milter exit status $IT_MILTER_STATUS"
it_pass "no growth, no loss, no leak"
