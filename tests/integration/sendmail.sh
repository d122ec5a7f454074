# shellcheck shell=bash
# tests/integration/sendmail.sh -- a private Sendmail for integration tests
#
# Debian's sendmail packages conflict with postfix, so they are never
# installed: "apt-get download" fetches sendmail-bin, sendmail-cf and m4
# (cached in build/sendmail-debs), "dpkg -x" unpacks them into the test's
# temp dir, and Sendmail runs from there as root with a sendmail.cf made
# by m4 from sendmail-cf's cf/m4/cf.m4.  Nothing under /etc or /var is
# read for configuration or written.
#
# Source after lib.sh; call after it_init:
#   sm_prepare              unpack Sendmail into $SM_ROOT (downloads the
#                           .debs once); it_skip if that is impossible
#   sm_write_cf [MC-LINE...]  $SM_DIR/sendmail.cf: the shipped
#                           contrib/sendmail/smime-milter.mc with the test's
#                           ports, plus the test settings and MC-LINEs
#   sm_start / sm_stop      daemon (-bD) on IT_SMTP_PORT (with the milter,
#                           F=T) and IT_REINJECT_PORT (InputMailFilters=
#                           empty), relaying everything to smtp-sink
#   sm_queue_count          messages in Sendmail's queue
#   sm_wait_delivered N [SECS]  N files in the sink and the queue empty
#
# Variables: SM_ROOT (unpacked packages), SM_DIR (config, queue, pid),
# SM_BIN, SM_PID.  Environment: SM_DEB_DIR (the .deb cache, default
# $TOP/build/sendmail-debs), SM_DEBUG (sendmail -d flags, default 64.5:
# milter events; e.g. "64.5,11.1" adds deliveries; output in
# $SM_DIR/debug.log, shown on failure, SM_DEBUG= turns it off).
#
# Sendmail insists on a fully qualified host name: with an unqualified
# one (e.g. "vm" in /etc/hosts) it sleeps 60 s at every start ("My
# unqualified host name ... unknown; sleeping for retry") before it even
# reads sendmail.cf.  So it runs in its own UTS namespace (unshare --uts)
# with the host name sendmail.it.example.test, or, where namespaces are
# not allowed, with a gethostname() shim in LD_PRELOAD.
#
# Sendmail logs only to syslog; the test has no syslog daemon, so its log
# is lost.  Its debug output (SM_DEBUG) goes to $SM_DIR/debug.log instead.

: "${SM_DEB_DIR:=$TOP/build/sendmail-debs}"
: "${SM_DEBUG=64.5}"
SM_PACKAGES="sendmail-bin sendmail-cf m4"
SM_HOSTNAME=sendmail.it.example.test
SM_PID=""

# Newest cached .deb of package $1, if any.
_sm_cached_deb() {
    # shellcheck disable=SC2012  # Debian file names, no blanks
    ls -1 "$SM_DEB_DIR/$1"_*.deb 2>/dev/null | sort -V | tail -n 1
}

# Download the packages not yet in the cache.  Into a temp dir first, so
# that an interrupted or concurrent download leaves no partial .deb.
_sm_fetch_debs() {
    local p missing="" tmp opts=()
    for p in $SM_PACKAGES; do
        [ -n "$(_sm_cached_deb "$p")" ] || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    command -v apt-get >/dev/null || it_skip "no apt-get to download$missing"
    mkdir -p "$SM_DEB_DIR" || it_fail "mkdir $SM_DEB_DIR"
    tmp=$(mktemp -d "$SM_DEB_DIR/.download.XXXXXX") || it_fail "mktemp"
    # As root, apt would drop to user _apt, which cannot write here.
    [ "$(id -u)" = 0 ] && opts=(-o APT::Sandbox::User=root)
    # shellcheck disable=SC2086
    if ! (cd "$tmp" && timeout 120 apt-get -q "${opts[@]}" download $missing) \
            >"$IT_TMP/apt-download.log" 2>&1; then
        rm -rf "$tmp"
        it_skip "cannot download$missing from the Debian mirror" \
            "(apt-get download: $(tail -n 1 "$IT_TMP/apt-download.log"));" \
            "with network access (and fresh lists: apt-get update) it runs"
    fi
    mv "$tmp"/*.deb "$SM_DEB_DIR"/ || it_fail "mv .debs"
    rm -rf "$tmp"
}

# A gethostname() returning $SM_HOSTNAME, for LD_PRELOAD.
_sm_build_shim() {
    command -v cc >/dev/null || return 1
    cat >"$SM_DIR/hostname.c" <<EOF
#include <string.h>
#include <errno.h>
int gethostname(char *name, size_t len)
{
	static const char h[] = "$SM_HOSTNAME";
	if (len < sizeof(h)) { errno = ENAMETOOLONG; return -1; }
	memcpy(name, h, sizeof(h));
	return 0;
}
EOF
    cc -shared -fPIC -o "$SM_DIR/hostname.so" "$SM_DIR/hostname.c" 2>>"$IT_TMP/sendmail.out"
}

# How to start Sendmail with a qualified host name: SM_WRAP (command
# prefix) and SM_ENV (environment).  SM_NO_UNSHARE=1 tests the shim.
_sm_choose_hostname() {
    SM_WRAP=()
    SM_ENV=()
    if [ "${SM_NO_UNSHARE:-0}" != 1 ] &&
        unshare --uts sh -c "hostname $SM_HOSTNAME" 2>/dev/null; then
        # shellcheck disable=SC2016  # expanded by that sh
        SM_WRAP=(unshare --uts sh -c 'hostname "$0" && exec "$@"' "$SM_HOSTNAME")
    elif _sm_build_shim; then
        SM_ENV=("LD_PRELOAD=$SM_DIR/hostname.so")
    else
        it_log "neither unshare nor cc: Sendmail will sleep 60 s at start"
    fi
}

sm_prepare() {
    local p deb missing
    [ "$(id -u)" = 0 ] || it_skip "needs root (Sendmail runs as root)"
    command -v dpkg >/dev/null || it_skip "no dpkg"
    _sm_fetch_debs
    # dpkg -x gives SM_ROOT the archive's mode 755; the 700 parent keeps
    # other users away from the set-uid binary until its bit is cleared.
    SM_ROOT=$IT_TMP/sm/root
    SM_DIR=$IT_TMP/sendmail
    mkdir -p -m 700 "$IT_TMP/sm"
    mkdir -p "$SM_ROOT" "$SM_DIR/queue"
    chmod 700 "$SM_DIR/queue"
    for p in $SM_PACKAGES; do
        deb=$(_sm_cached_deb "$p")
        dpkg -x "$deb" "$SM_ROOT" || it_fail "dpkg -x $deb"
    done
    SM_BIN=$SM_ROOT/usr/libexec/sendmail/sendmail
    [ -x "$SM_BIN" ] || it_fail "no $SM_BIN in sendmail-bin"
    # The package's set-id bits are of no use here (it runs as root) and
    # would make the loader ignore LD_PRELOAD: clear them.
    find "$SM_ROOT" -type f -perm /6000 -exec chmod ug-s {} +
    # Libraries of the (never installed) package must already be there.
    missing=$(ldd "$SM_BIN" 2>&1 | sed -n 's/^[[:space:]]*\([^ ]*\) => not found.*/\1/p' |
        tr '\n' ' ')
    [ -z "$missing" ] || it_skip "Sendmail needs libraries that are not installed: $missing"
    IT_EXTRA_LOGS+=("$IT_TMP/sendmail.out" "$SM_DIR/debug.log")
    it_on_shutdown sm_stop
    _sm_choose_hostname
    it_log "sendmail $(basename "$(_sm_cached_deb sendmail-bin)") in $SM_ROOT"
}

# sm_write_cf [MC-LINE...]: the test's sendmail.mc, m4 -> sendmail.cf.
# The shipped contrib/sendmail/smime-milter.mc is included with its
# example ports (8895, 10026) replaced by the test's.
sm_write_cf() {
    local cfdir=$SM_ROOT/usr/share/sendmail/cf line
    sed -e "s/inet:8895@127\.0\.0\.1/inet:$IT_MILTER_PORT@127.0.0.1/" \
        -e "s/Port=10026,/Port=$IT_REINJECT_PORT,/" \
        "$TOP/contrib/sendmail/smime-milter.mc" >"$SM_DIR/smime-milter.mc"
    if ! grep -q "inet:$IT_MILTER_PORT@" "$SM_DIR/smime-milter.mc" ||
        ! grep -q "Port=$IT_REINJECT_PORT," "$SM_DIR/smime-milter.mc"; then
        it_fail "contrib/sendmail/smime-milter.mc: example ports 8895/10026 not found"
    fi
    : >"$SM_DIR/aliases"
    # Host names from /etc/hosts only: no DNS, no NIS.
    printf 'hosts\tfiles\naliases\tfiles\n' >"$SM_DIR/service.switch"
    {
        echo "divert(-1)"
        echo "# $IT_NAME: private Sendmail, generated by tests/integration/sendmail.sh"
        echo "divert(0)dnl"
        echo "include(\`$cfdir/m4/cf.m4')dnl"
        echo "VERSIONID(\`smime-milter $IT_NAME')dnl"
        echo "OSTYPE(\`linux')dnl"
        echo "define(\`confDOMAIN_NAME', \`$SM_HOSTNAME')dnl"
        echo "define(\`QUEUE_DIR', \`$SM_DIR/queue')dnl"
        echo "define(\`ALIAS_FILE', \`$SM_DIR/aliases')dnl"
        echo "define(\`confPID_FILE', \`$SM_DIR/sendmail.pid')dnl"
        echo "define(\`STATUS_FILE', \`$SM_DIR/statistics')dnl"
        echo "define(\`HELP_FILE', \`$SM_ROOT/etc/mail/helpfile')dnl"
        echo "define(\`confCR_FILE', \`-o $SM_DIR/relay-domains')dnl"
        echo "define(\`confSERVICE_SWITCH_FILE', \`$SM_DIR/service.switch')dnl"
        echo "define(\`confDONT_PROBE_INTERFACES', \`true')dnl"
        # No RFC 1413 ident query back to the client.
        echo "define(\`confTO_IDENT', \`0s')dnl"
        # A busy test machine must not make Sendmail queue or refuse.
        echo "define(\`confQUEUE_LA', \`1000')dnl"
        echo "define(\`confREFUSE_LA', \`1000')dnl"
        # Everything goes to smtp-sink.
        echo "define(\`SMART_HOST', \`relay:[127.0.0.1]')dnl"
        echo "define(\`RELAY_MAILER_ARGS', \`TCP \$h $IT_SINK_PORT')dnl"
        echo "FEATURE(\`no_default_msa')dnl"
        echo "FEATURE(\`nocanonify')dnl"
        echo "FEATURE(\`accept_unresolvable_domains')dnl"
        # Any DAEMON_OPTIONS replaces the default listener (all
        # addresses, port 25): name the filtered port explicitly.
        echo "DAEMON_OPTIONS(\`Port=$IT_SMTP_PORT, Addr=127.0.0.1, Name=MTA')dnl"
        echo "include(\`$SM_DIR/smime-milter.mc')dnl"
        for line in "$@"; do echo "$line"; done
        echo "MAILER(\`smtp')dnl"
    } >"$SM_DIR/sendmail.mc"
    if ! "$SM_ROOT/usr/bin/m4" "-D_CF_DIR_=$cfdir/" "$SM_DIR/sendmail.mc" \
            >"$SM_DIR/sendmail.cf" 2>"$SM_DIR/m4.err" || [ -s "$SM_DIR/m4.err" ]; then
        it_fail "m4 sendmail.mc: $(cat "$SM_DIR/m4.err")"
    fi
}

# Start "sendmail -bD" (daemon in the foreground) in its own session, so
# that it and its per-connection children can be stopped as a group.
sm_start() {
    local dbg=()
    [ -n "${SM_DEBUG:-}" ] && dbg=(-D "$SM_DIR/debug.log" "-d$SM_DEBUG")
    env "${SM_ENV[@]}" setsid "${SM_WRAP[@]}" "$SM_BIN" -bD -C "$SM_DIR/sendmail.cf" \
        "${dbg[@]}" </dev/null >>"$IT_TMP/sendmail.out" 2>&1 &
    SM_PID=$!
    it_wait_port "$IT_SMTP_PORT" 20 "$SM_PID" ||
        it_fail "sendmail does not listen on $IT_SMTP_PORT"
    it_wait_port "$IT_REINJECT_PORT" 5 "$SM_PID" ||
        it_fail "sendmail does not listen on $IT_REINJECT_PORT"
    it_log "sendmail pid $SM_PID"
}

# SIGTERM to the daemon (it passes it on to its children), then SIGKILL
# to whatever is left of its session after 5 s.
sm_stop() {
    [ -n "$SM_PID" ] || return 0
    kill "$SM_PID" 2>/dev/null
    for _ in $(seq 1 50); do
        _it_pgrp_alive "$SM_PID" || break
        sleep 0.1
    done
    _it_pgrp_alive "$SM_PID" && kill -9 -- "-$SM_PID" 2>/dev/null
    wait "$SM_PID" 2>/dev/null
    SM_PID=""
    it_log "sendmail stopped"
}

# Messages in Sendmail's queue (one qf file each).
sm_queue_count() {
    find "$SM_DIR/queue" -name 'qf*' | grep -c .
}

# sm_wait_delivered N [SECS]: at least N dump files in the sink and
# nothing left in Sendmail's queue.  Sendmail removes a queue file only
# after smtp-sink has accepted the message, so the files are complete.
sm_wait_delivered() {
    local n=$1 secs=${2:-30} files=0 queued=0
    for _ in $(seq 1 $((secs * 10))); do
        files=$(it_sink_count)
        queued=$(sm_queue_count)
        [ "$files" -ge "$n" ] && [ "$queued" = 0 ] && return 0
        sleep 0.1
    done
    echo "sm_wait_delivered: $files files in the sink, $queued queued, want $n" >&2
    return 1
}
