# shellcheck shell=bash
# tests/integration/lib.sh -- end-to-end harness: Postfix -> smime-milter -> smtp-sink
#
# Source this file from a test script (do not execute it).  Typical use:
#
#   . "$(dirname "$0")/lib.sh"
#   it_init; it_start_sink; it_start_milter; it_start_postfix
#   it_smtp_send from@example.org "to@example.net" msg.eml || it_fail "send"
#   it_wait_delivered 1 || it_fail "not delivered"
#   ... inspect $(it_sink_files), $IT_MILTER_LOG, $IT_PF_LOG ...
#   it_pass
#
# Set-up and tear-down
#   it_init                    temp dir, four free ports, EXIT/INT/TERM traps
#   it_start_sink              smtp-sink on IT_SINK_PORT, a file per message
#   it_start_milter [LINE...]  smime-milter; config LINEs override defaults
#   it_stop_milter             SIGTERM it, exit status -> IT_MILTER_STATUS
#   it_milter_alive            it_fail unless the milter still runs
#   it_start_postfix [P=V...]  private Postfix (smtpd on IT_SMTP_PORT with the
#                              milter, IT_REINJECT_PORT without); extra main.cf
#   it_postconf P=V...         change main.cf (then it_postfix_reload)
#   it_postfix_reload          postfix reload
#   it_stop_postfix            stop master(8) and all its children
#   it_pass [MSG] / it_fail MSG  verdict and exit; it_fail dumps log tails
#   it_skip REASON             cannot run here (exit 77, see tests/run-all)
#   it_on_shutdown FUNC        call FUNC when the test stops its daemons
#   IT_EXTRA_LOGS+=(FILE)      more logs for it_dump_logs
# Ports
#   it_free_port               print a free, reserved port
#   it_alloc_port VAR          VAR=free reserved port (e.g. for slapd)
#   it_wait_port PORT [SECS [PID]]  wait for a listener
# Sending
#   it_smtp_send FROM "RCPT..." FILE...  own SMTP client, exact bytes; prints
#                              "QUEUEID FILE" per accepted message
#   it_send N [SIZE [SESSIONS]]  N generated messages via smtp-source
# Delivered mail and logs
#   it_wait_delivered N [SECS] wait for N complete messages in the sink
#   it_sink_files / it_sink_count       dump files, oldest first / number
#   it_sink_message FILE / it_sink_body FILE / it_sink_envelope FILE
#   it_sink_delivered_count    queue ids Postfix logged as sent to the sink
#   it_postfix_queue_ids       queue ids the milter smtpd assigned, log order
#   it_postfix_pid / it_postqueue       master pid / postqueue -p
#   it_dump_logs / it_log MSG  log tails / progress line (IT_VERBOSE=1)
#
# Everything listens on 127.0.0.1 only and lives in one temp dir ($IT_TMP).
# Every process is stopped by PID when the test exits (normally, on failure
# or on ^C), and $IT_TMP is removed unless KEEP_TMP=1.  Nothing under /etc is
# written; see _it_write_main_cf for how the private Postfix avoids it.
#
# Variables after it_init:
#   IT_TMP              temp dir          IT_NAME   test name (script basename)
#   IT_SMTP_PORT        Postfix smtpd (with milter)
#   IT_REINJECT_PORT    Postfix smtpd without milter (reinjection, SPEC M8)
#   IT_SINK_PORT        smtp-sink         IT_MILTER_PORT  smime-milter
#   IT_PF_DIR           Postfix config_directory   IT_PF_LOG  Postfix log file
#   IT_PF_QUEUE         Postfix queue_directory
#   IT_MILTER_LOG       milter stderr     IT_SINK_DIR  sink dump files
#   IT_CERT_DIR         the milter's certificate directory (dir: source)
#
# Environment: SMIME_MILTER (milter binary, default $TOP/build/smime-milter),
# KEEP_TMP=1 (keep the temp dir), IT_VERBOSE=1 (progress on stderr),
# IT_SINK_USER (user smtp-sink drops to, default nobody), IT_LOG_TAIL
# (lines per log on failure, default 40), IT_SMTP_TIMEOUT (per SMTP reply,
# default 20 s).  Needs bash >= 4.3, coreutils, Postfix's smtp-sink; no
# python, no ps.

IT_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TOP=${TOP:-$(cd "$IT_LIB_DIR/../.." && pwd)}
: "${SMIME_MILTER:=$TOP/build/smime-milter}"
: "${IT_SINK_USER:=nobody}"
: "${IT_POSTFIX:=/usr/sbin/postfix}"
: "${IT_POSTCONF:=/usr/sbin/postconf}"
: "${IT_SMTP_SINK:=/usr/sbin/smtp-sink}"
: "${IT_SMTP_SOURCE:=/usr/sbin/smtp-source}"
: "${IT_SMTP_TIMEOUT:=20}"           # per SMTP reply, seconds
: "${IT_NAME:=$(basename "$0" .sh)}"

# 8-bit message bytes must pass through sed/read untouched.
export LC_ALL=C

IT_TMP=""
IT_MILTER_PID=""
IT_MILTER_STATUS=""
IT_MILTER_EXTRA=()
IT_SINK_PID=""
IT_PF_STARTED=""
IT_USED_PORTS=""
IT_SHUTDOWN_HOOKS=()
IT_EXTRA_LOGS=()

# ---------------------------------------------------------------- messages

it_log() { [ "${IT_VERBOSE:-0}" = 1 ] && echo "[$IT_NAME $(date +%T.%3N)] $*" >&2; return 0; }

# Success, if the milter also survived the test and exits cleanly on
# SIGTERM (status 0, or 143 = default SIGTERM action).
it_pass() {
    [ -n "$IT_MILTER_PID" ] && it_milter_alive
    _it_shutdown
    case ${IT_MILTER_STATUS:-0} in
        0|143) ;;
        *) it_fail "milter exit status on SIGTERM: $IT_MILTER_STATUS" ;;
    esac
    echo "PASS $IT_NAME${1:+ ($1)}"
    exit 0
}

it_fail() {
    echo "FAIL $IT_NAME: $*"
    it_dump_logs >&2
    exit 1
}

# The test cannot run on this machine (a tool or a download is missing):
# not a failure.  tests/run-all reports exit status 77 as SKIP.
it_skip() {
    echo "SKIP $IT_NAME: $*"
    exit 77
}

# it_on_shutdown FUNC: run FUNC first when the test's daemons are stopped
# (for daemons that lib.sh does not know, e.g. Sendmail).
it_on_shutdown() { IT_SHUTDOWN_HOOKS+=("$1"); }

# Tail of every log we know of (for debugging failures).
it_dump_logs() {
    local f
    [ -n "$IT_TMP" ] || return 0
    for f in "$IT_TMP/postfix-start.log" "$IT_PF_LOG" "$IT_MILTER_LOG" \
            "$IT_TMP/sink.log" "$IT_TMP/smtp-source.log" "${IT_EXTRA_LOGS[@]}"; do
        [ -s "$f" ] || continue
        echo "----- tail ${f#"$IT_TMP"/} -----"
        tail -n "${IT_LOG_TAIL:-40}" "$f"
    done
    if [ "${KEEP_TMP:-0}" = 1 ]; then
        echo "----- everything is in $IT_TMP -----"
    else
        echo "----- (KEEP_TMP=1 keeps the temp dir with all logs) -----"
    fi
}

# ---------------------------------------------------------------- ports

# shellcheck source=../ports.sh
source "$(dirname "${BASH_SOURCE[0]}")/../ports.sh"

it_free_port() { port_free; }
_it_release_ports() { port_release $IT_USED_PORTS; }

# it_alloc_port VAR: set VAR to a free, reserved port (released at exit).
# For extra listeners of a test, e.g. slapd.
it_alloc_port() {
    local p
    p=$(it_free_port) || it_fail "no free port"
    IT_USED_PORTS="$IT_USED_PORTS $p"
    printf -v "$1" '%s' "$p"
}

# it_wait_port PORT [SECS [PID]]: wait until something accepts connections
# on 127.0.0.1:PORT; give up early if process PID exits.
it_wait_port() {
    local port=$1 secs=${2:-10} pid=${3:-}
    for _ in $(seq 1 $((secs * 10))); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && return 1
        sleep 0.1
    done
    return 1
}

# ---------------------------------------------------------------- lifecycle

it_init() {
    IT_TMP=$(mktemp -d "${TMPDIR:-/tmp}/smime-it.$IT_NAME.XXXXXX") ||
        { echo "FAIL $IT_NAME: mktemp"; exit 1; }
    # Daemons that drop privileges (smtp-sink, Postfix) must traverse it.
    chmod 755 "$IT_TMP"
    trap _it_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM HUP
    IT_PF_DIR=$IT_TMP/postfix
    IT_PF_QUEUE=$IT_TMP/postfix-queue
    IT_PF_LOG=$IT_TMP/postfix.log
    IT_MILTER_LOG=$IT_TMP/milter.log
    IT_SINK_DIR=$IT_TMP/sink
    IT_CERT_DIR=$IT_TMP/certs
    it_alloc_port IT_SMTP_PORT
    it_alloc_port IT_REINJECT_PORT
    it_alloc_port IT_SINK_PORT
    it_alloc_port IT_MILTER_PORT
    it_log "tmp=$IT_TMP ports: smtp=$IT_SMTP_PORT reinject=$IT_REINJECT_PORT" \
        "sink=$IT_SINK_PORT milter=$IT_MILTER_PORT"
}

# SIGTERM to PID, if any.
_it_signal() { [ -n "$1" ] && kill "$1" 2>/dev/null; return 0; }

# Wait up to SECS for our child PID to exit, SIGKILL it after that.  Sets
# IT_REAP_STATUS to its exit status (128+N: killed by signal N), or to
# "hung" if it had to be killed.  (bash reaps background children itself,
# so kill -0 fails as soon as the process is gone; "wait" then still
# returns its status.)
_it_reap() {
    local pid=$1 secs=$2
    for _ in $(seq 1 $((secs * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        IT_REAP_STATUS=hung
    else
        wait "$pid" 2>/dev/null
        IT_REAP_STATUS=$?
    fi
}

# Stop everything started so far; safe to call more than once.  Milter and
# sink get SIGTERM first, so their shutdown overlaps Postfix's (libmilter
# notices a stop request only every 5 s or so).
_it_shutdown() {
    local pid hook
    for hook in "${IT_SHUTDOWN_HOOKS[@]}"; do "$hook"; done
    _it_signal "$IT_MILTER_PID"
    _it_signal "$IT_SINK_PID"
    it_stop_postfix
    it_stop_milter
    if [ -n "$IT_SINK_PID" ]; then
        _it_reap "$IT_SINK_PID" 5
        IT_SINK_PID=""
    fi
    # Anything else the test put in the background (e.g. SMTP clients).
    for pid in $(jobs -p); do kill "$pid" 2>/dev/null; done
}

# EXIT trap: stop everything, remove the temp dir, keep the exit status.
_it_cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    _it_shutdown
    _it_release_ports
    it_log "all stopped"
    if [ -n "$IT_TMP" ] && [ -d "$IT_TMP" ]; then
        if [ "${KEEP_TMP:-0}" = 1 ]; then
            echo "$IT_NAME: kept $IT_TMP" >&2
        else
            rm -rf "$IT_TMP"
        fi
    fi
    exit "$rc"
}

# ---------------------------------------------------------------- milter

# Print "KEY VALUE" unless one of the extra config lines sets KEY (keys are
# case-insensitive; the milter refuses an option given twice).
_it_milter_default() {
    local key=$1 value=$2 line
    for line in "${IT_MILTER_EXTRA[@]}"; do
        read -r line _ <<<"$line"
        [ "${line,,}" = "${key,,}" ] && return 0
    done
    echo "$key $value"
}

# it_start_milter [CONFIG-LINE...]: write $IT_TMP/milter.conf and start the
# milter in the foreground mode, stderr to $IT_MILTER_LOG.  Defaults keep
# everything in $IT_TMP (certificate store: $IT_CERT_DIR, empty); a LINE
# with the same key replaces a default.
it_start_milter() {
    local line
    [ -x "$SMIME_MILTER" ] || it_fail "milter binary $SMIME_MILTER missing (run make)"
    IT_MILTER_EXTRA=("$@")
    mkdir -p "$IT_TMP/spool" "$IT_CERT_DIR"
    {
        _it_milter_default Socket "inet:$IT_MILTER_PORT@127.0.0.1"
        _it_milter_default Syslog no
        _it_milter_default PidFile "$IT_TMP/milter.pid"
        _it_milter_default SpoolDir "$IT_TMP/spool"
        _it_milter_default LogLevel debug
        _it_milter_default CertificateSources "dir:$IT_CERT_DIR"
        _it_milter_default JournalDir "$IT_TMP/journal"
        for line in "$@"; do echo "$line"; done
    } >"$IT_TMP/milter.conf"
    "$SMIME_MILTER" -f -c "$IT_TMP/milter.conf" 2>>"$IT_MILTER_LOG" &
    IT_MILTER_PID=$!
    it_wait_port "$IT_MILTER_PORT" 10 "$IT_MILTER_PID" ||
        it_fail "milter does not listen on $IT_MILTER_PORT"
    it_log "milter pid $IT_MILTER_PID"
}

# Stop the milter (SIGTERM, SIGKILL after 10 s); its exit status goes to
# IT_MILTER_STATUS ("hung" if it ignored SIGTERM).
it_stop_milter() {
    [ -n "$IT_MILTER_PID" ] || return 0
    _it_signal "$IT_MILTER_PID"
    # libmilter's accept loop checks for a stop request only when poll()
    # returns, i.e. every 5 s or on a new connection: knock once.
    sleep 0.05
    (exec 3<>"/dev/tcp/127.0.0.1/$IT_MILTER_PORT") 2>/dev/null
    _it_reap "$IT_MILTER_PID" 10
    IT_MILTER_STATUS=$IT_REAP_STATUS
    IT_MILTER_PID=""
    it_log "milter stopped, exit status $IT_MILTER_STATUS"
}

# Fail unless the milter is still running.
it_milter_alive() {
    if [ -z "$IT_MILTER_PID" ] || ! kill -0 "$IT_MILTER_PID" 2>/dev/null; then
        it_fail "milter is not running (died during the test?)"
    fi
}

# ---------------------------------------------------------------- sink

# smtp-sink writes each transaction to its own file $IT_SINK_DIR/msg.RANDOM
# (-d; the name is a strftime template plus a random suffix).  It must drop
# root privileges (-u), so the dump dir belongs to that user.
it_start_sink() {
    mkdir -p "$IT_SINK_DIR"
    chown "$IT_SINK_USER" "$IT_SINK_DIR" || it_fail "chown $IT_SINK_USER"
    "$IT_SMTP_SINK" -4 -u "$IT_SINK_USER" -d "$IT_SINK_DIR/msg." \
        "127.0.0.1:$IT_SINK_PORT" 128 >>"$IT_TMP/sink.log" 2>&1 &
    IT_SINK_PID=$!
    it_wait_port "$IT_SINK_PORT" 10 "$IT_SINK_PID" || it_fail "smtp-sink does not listen on $IT_SINK_PORT"
    it_log "smtp-sink pid $IT_SINK_PID"
}

# Dump files of delivered messages, one per line, oldest first.
it_sink_files() {
    # shellcheck disable=SC2012  # names are ours: msg.HEX
    ls -1tr "$IT_SINK_DIR" 2>/dev/null | sed "s|^|$IT_SINK_DIR/|"
}

it_sink_count() { it_sink_files | grep -c . ; }

# Print the message in dump file FILE as Postfix delivered it (header and
# body, LF line ends), without smtp-sink's own X-* and Received lines at the
# top and the empty line it appends.
it_sink_message() {
    awk 'top && /^X-(Client-Addr|Client-Proto|Helo-Args|Mail-Args|Rcpt-Args): / { next }
         top && /^Received: / { top = 0; skip = 2; next }
         skip > 0 { skip--; next }
         { if (have) print prev; prev = $0; have = 1 }' top=1 "$1"
}

# Print only the body (after the first empty line) of dump file FILE.
it_sink_body() { it_sink_message "$1" | sed '1,/^$/d'; }

# Print the envelope of dump file FILE: "MAIL <from> ..." and "RCPT <to> ...".
it_sink_envelope() {
    sed -n 's/^X-Mail-Args: /MAIL /p; s/^X-Rcpt-Args: /RCPT /p' "$1"
}

# Number of distinct queue ids Postfix has logged as delivered to the sink.
it_sink_delivered_count() {
    sed -n "s/.* \([0-9A-F]\{6,\}\): to=.* relay=127\.0\.0\.1\[127\.0\.0\.1\]:$IT_SINK_PORT,.* status=sent .*/\1/p" \
        "$IT_PF_LOG" 2>/dev/null | sort -u | grep -c .
}

# it_wait_delivered N [SECS]: wait until N messages sit in the sink.
# smtp-sink creates a dump file at MAIL FROM already, so also wait until
# Postfix has logged N queue ids as sent to the sink: its status=sent comes
# after smtp-sink's reply to ".", i.e. after the file is complete.
it_wait_delivered() {
    local n=$1 secs=${2:-30} files=0 sent=0
    for _ in $(seq 1 $((secs * 10))); do
        files=$(it_sink_count)
        sent=$(it_sink_delivered_count)
        [ "$files" -ge "$n" ] && [ "$sent" -ge "$n" ] && return 0
        sleep 0.1
    done
    echo "it_wait_delivered: $files files, $sent sent of $n after ${secs}s" >&2
    return 1
}

# ---------------------------------------------------------------- postfix

_it_pf_conf() { "$IT_POSTCONF" -c "$IT_PF_DIR" "$@"; }

# Every Postfix program that reads a main.cf younger than ~2 s re-reads it
# in 0.3 s steps until it is "stable" (protection against half-edited
# files): 2 s per program start.  Backdate our freshly written files.
_it_pf_backdate() {
    touch -d '-1 minute' "$IT_PF_DIR/main.cf" "$IT_PF_DIR/master.cf"
}

# Set main.cf parameters of the private instance: it_postconf P=V ...
# (Running daemons see the change after it_postfix_reload.)
it_postconf() {
    _it_pf_conf -e "$@" || it_fail "postconf -e $*"
    _it_pf_backdate
}

it_postfix_reload() {
    "$IT_POSTFIX" -c "$IT_PF_DIR" reload >>"$IT_TMP/postfix-start.log" 2>&1 ||
        it_fail "postfix reload failed"
}

# main.cf of the private instance.
#
# How this stays off /etc: every postfix(1)/postconf(1) call gets
# "-c $IT_PF_DIR", which postfix exports to its children as MAIL_CONFIG.
# Postfix only insists that a non-default config directory be listed in
# alternate_config_directories of /etc/postfix/main.cf when the caller is
# NOT root (set-gid postdrop/postqueue), so as root no /etc change is needed.
# meta_directory (postfix-files, dynamicmaps.cf) and daemon_directory stay
# at the packaged, read-only locations; queue_directory and data_directory
# (the only directories "postfix start" creates or writes) are in $IT_TMP.
_it_write_main_cf() {
    cat >"$IT_PF_DIR/main.cf" <<EOF
# Private Postfix instance for $IT_NAME -- generated by tests/integration/lib.sh
compatibility_level = 3.6
queue_directory = $IT_PF_QUEUE
data_directory = $IT_TMP/postfix-data
mail_owner = postfix
setgid_group = postdrop
syslog_name = postfix-it
# Log to a file via postlogd (service "postlog" in master.cf), not syslog.
maillog_file = $IT_PF_LOG
# maillog_file must start with one of these (default: /var, /dev/stdout).
maillog_file_prefixes = $IT_TMP

myhostname = mx.it.example.test
mydomain = it.example.test
myorigin = \$myhostname
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
# Nothing is local: every recipient is relayed to smtp-sink.
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
local_transport = error:5.1.1 local delivery disabled in tests
relay_domains =
relayhost = [127.0.0.1]:$IT_SINK_PORT
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_recipient_restrictions =
# Do not add Message-ID/Date/From or rewrite addresses for 127.0.0.1
# clients (default permit_inet_interfaces would): headers stay as sent.
local_header_rewrite_clients =
append_dot_mydomain = no

# No DNS at all (loopback-only network): the relayhost is an IP literal,
# and smtpd must not do reverse lookups of the client address.
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtpd_peername_lookup = no
smtp_helo_name = \$myhostname

# The milter.  tempfail: if it is down or misbehaves, mail stays queued
# upstream (SPEC: never lose mail), and the test sees 4xx replies.
smtpd_milters = inet:127.0.0.1:$IT_MILTER_PORT
non_smtpd_milters =
milter_default_action = tempfail
milter_protocol = 6
milter_connect_timeout = 5s
milter_command_timeout = 10s
milter_content_timeout = 30s

# Fast retries so deferred mail is retried within a test's lifetime.
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 5s
maximal_queue_lifetime = 1h
bounce_queue_lifetime = 1h
in_flow_delay = 0s
smtp_connect_timeout = 5s
# Postfix would otherwise skip a "dead" sink for minutes after a failure.
smtp_destination_concurrency_failed_cohort_limit = 100
default_destination_concurrency_limit = 20
# Keep Postfix from throttling our rapid test clients.
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
smtpd_error_sleep_time = 0s
smtpd_soft_error_limit = 100
smtpd_hard_error_limit = 200
message_size_limit = 52428800
biff = no
smtputf8_enable = no
EOF
}

# master.cf of the private instance: chroot off everywhere ($IT_TMP has no
# chroot jail), smtpd only on 127.0.0.1 ports, postlogd for maillog_file.
_it_write_master_cf() {
    cat >"$IT_PF_DIR/master.cf" <<EOF
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$IT_SMTP_PORT inet n - n - - smtpd
127.0.0.1:$IT_REINJECT_PORT inet n - n - - smtpd
  -o smtpd_milters=
  -o syslog_name=postfix-it/reinject
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

# it_start_postfix [PARAM=VALUE...]: configure and start the private
# instance; PARAM=VALUE pairs override main.cf.
it_start_postfix() {
    # postfix(1) chdir()s to queue_directory before anything else; the
    # subdirectories are then created by "postfix start" itself.
    # (Not below config_directory: "postfix check" wants everything there
    # owned by root, while queue subdirectories belong to mail_owner.)
    mkdir -p "$IT_PF_DIR" "$IT_PF_QUEUE"
    _it_write_main_cf
    _it_write_master_cf
    _it_pf_backdate
    [ $# -gt 0 ] && it_postconf "$@"
    # Typos in extra parameters show up as "unused parameter" warnings.
    _it_pf_conf -n >/dev/null 2>"$IT_TMP/postconf.err"
    grep -q 'postconf: ' "$IT_TMP/postconf.err" &&
        it_fail "main.cf: $(grep 'postconf: ' "$IT_TMP/postconf.err")"
    # "postfix start" creates the queue tree (post-install create-missing),
    # checks it, and returns once master(8) has initialized ("master -w").
    # IT_PF_STARTED first: an interrupt during the start must stop it too.
    IT_PF_STARTED=1
    if ! "$IT_POSTFIX" -c "$IT_PF_DIR" start >"$IT_TMP/postfix-start.log" 2>&1; then
        cat "$IT_TMP/postfix-start.log" >&2
        it_fail "postfix start failed"
    fi
    it_wait_port "$IT_SMTP_PORT" 10 || it_fail "postfix smtpd does not listen on $IT_SMTP_PORT"
    it_log "postfix master pid $(it_postfix_pid)"
}

it_postfix_pid() {
    local f=$IT_PF_QUEUE/pid/master.pid pid
    [ -r "$f" ] && read -r pid <"$f" && echo "$pid"
}

# Is any live process in process group PGID?  Reads /proc, so it works
# without ps(1).  Zombies do not count: exited Postfix daemons are
# reparented to the container's init, which may reap them a second later.
_it_pgrp_alive() {
    local pgid=$1 f line state pgrp
    for f in /proc/[0-9]*/stat; do
        read -r line 2>/dev/null <"$f" || continue
        # "PID (COMM) STATE PPID PGRP ...", COMM may contain blanks.
        read -r state _ pgrp _ <<<"${line##*) }"
        [ "$pgrp" = "$pgid" ] && [ "$state" != Z ] && return 0
    done
    return 1
}

# Stop the private instance the way "postfix stop" does, SIGTERM to
# master(8) (which then terminates its children and exits), but poll every
# 0.1 s instead of postfix-script's 1 s.  master runs setsid(), so its
# process group id is its pid: anything still alive in that group after
# 5 s is killed by group id, never by name.  Without a pid file (start
# failed half-way) fall back to "postfix stop".
it_stop_postfix() {
    [ -n "$IT_PF_STARTED" ] || return 0
    local pid
    pid=$(it_postfix_pid)
    if [ -z "$pid" ] || ! kill "$pid" 2>/dev/null; then
        "$IT_POSTFIX" -c "$IT_PF_DIR" stop >>"$IT_TMP/postfix-start.log" 2>&1
    fi
    if [ -n "$pid" ]; then
        for _ in $(seq 1 50); do
            _it_pgrp_alive "$pid" || break
            sleep 0.1
        done
        _it_pgrp_alive "$pid" && kill -9 -- "-$pid" 2>/dev/null
    fi
    IT_PF_STARTED=""
    it_log "postfix stopped"
}

# Queue ids the milter-enabled smtpd assigned, in log order, one per line
# (the reinjection smtpd logs as postfix-it/reinject/smtpd).
it_postfix_queue_ids() {
    sed -n 's/.* postfix-it\/smtpd\[[0-9]*\]: \([0-9A-F]\{6,\}\): client=.*/\1/p' "$IT_PF_LOG"
}

# Print the queue (postqueue -p of the private instance).
it_postqueue() { /usr/sbin/postqueue -c "$IT_PF_DIR" -p; }

# ---------------------------------------------------------------- clients

# it_send N [SIZE [SESSIONS]]: N generated messages via smtp-source to the
# milter-enabled smtpd; sender from@example.org, recipient to@example.net.
it_send() {
    local n=$1 size=${2:-2048} sessions=${3:-4}
    timeout 60 "$IT_SMTP_SOURCE" -4 -c -l "$size" -m "$n" -s "$sessions" \
        -f from@example.org -t to@example.net \
        "127.0.0.1:$IT_SMTP_PORT" >>"$IT_TMP/smtp-source.log" 2>&1
}

# Read one (possibly multi-line) SMTP reply from fd $IT_FD into IT_REPLY
# (all lines, CR stripped); return 0 if its code starts with $1 (e.g. 2, 354).
_it_smtp_reply() {
    local want=$1 line
    IT_REPLY=""
    while IFS= read -r -t "$IT_SMTP_TIMEOUT" -u "$IT_FD" line; do
        line=${line%$'\r'}
        IT_REPLY+="$line"$'\n'
        case $line in [0-9][0-9][0-9]-*) continue ;; esac
        case $line in "$want"*) return 0 ;; *) return 1 ;; esac
    done
    IT_REPLY+="(timeout or connection closed)"
    return 1
}

# Send command $2 and expect a reply starting with $1.
_it_smtp_cmd() {
    printf '%s\r\n' "$2" >&"$IT_FD"
    _it_smtp_reply "$1" || { echo "it_smtp_send: '$2' -> $IT_REPLY" >&2; return 1; }
}

# Message file -> DATA payload: LF or CRLF line ends become CRLF, lines
# starting with "." get a second dot (RFC 5321 4.5.2), a missing final
# newline is added.  Bytes are otherwise passed through untouched.
_it_smtp_data() {
    { cat "$1"; [ -n "$(tail -c 1 "$1")" ] && echo; } |
        sed -e 's/\r$//' -e 's/^\./../' -e 's/$/\r/'
}

# it_smtp_send FROM "RCPT..." FILE...  [env: IT_PORT, IT_EHLO]
# One SMTP session to 127.0.0.1:$IT_PORT (default $IT_SMTP_PORT), one mail
# transaction per FILE (its exact bytes are the message).  Prints
# "QUEUEID FILE" per accepted message.  Returns non-zero at the first
# rejected command (its reply is on stderr).
it_smtp_send() {
    local from=$1 rcpts=$2 port=${IT_PORT:-$IT_SMTP_PORT} f r rc=0 IT_FD IT_REPLY
    shift 2
    exec {IT_FD}<>"/dev/tcp/127.0.0.1/$port" ||
        { echo "it_smtp_send: cannot connect to $port" >&2; return 1; }
    if _it_smtp_reply 220 && _it_smtp_cmd 250 "EHLO ${IT_EHLO:-client.it.example.test}"; then
        for f in "$@"; do
            _it_smtp_cmd 250 "MAIL FROM:<$from> BODY=8BITMIME" || { rc=1; break; }
            for r in $rcpts; do
                _it_smtp_cmd 250 "RCPT TO:<$r>" || { rc=1; break 2; }
            done
            _it_smtp_cmd 354 DATA || { rc=1; break; }
            { _it_smtp_data "$f"; printf '.\r\n'; } >&"$IT_FD"
            _it_smtp_reply 250 || { echo "it_smtp_send: $f: $IT_REPLY" >&2; rc=1; break; }
            echo "$(sed -n 's/.*queued as \([0-9A-Za-z]*\).*/\1/p' <<<"$IT_REPLY") $f"
        done
        [ $rc = 0 ] && _it_smtp_cmd 221 QUIT
    else
        echo "it_smtp_send: session start: $IT_REPLY" >&2
        rc=1
    fi
    exec {IT_FD}>&-
    return $rc
}
