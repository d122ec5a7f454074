# shellcheck shell=bash
# tests/integration/slapd.sh -- throwaway OpenLDAP slapd for integration tests.
#
# Source this file (do not execute it).  It provides:
#
#   slapd_start DIR PORT LDIF
#       First call for DIR: generates a cn=config LDIF (mdb backend, suffix
#       dc=example,dc=test, rootdn cn=admin,dc=example,dc=test / password
#       $SLAPD_ROOTPW, schemas core+cosine+inetorgperson from /etc/ldap/schema,
#       modules from /usr/lib/ldap), slapadd's it into DIR/slapd.d, then
#       slapadd's LDIF into the database (DIR/db).
#       Later calls for the same DIR (after slapd_stop) reuse that config and
#       database, so data added meanwhile survives an outage/restart cycle;
#       PORT may then be given as "" to reuse the previous port, LDIF is
#       ignored.  Set SLAPD_FRESH=1 to wipe DIR's config and data and rebuild.
#       Starts `slapd -h ldap://127.0.0.1:PORT/ -F DIR/slapd.d` in the
#       foreground mode (-d 0) in the background, output to DIR/slapd.log,
#       records its PID in DIR/slapd.run.pid and waits (SLAPD_START_TIMEOUT,
#       default 10 s) until an anonymous ldapsearch of the base DN answers.
#       Returns non-zero (with the log on stderr) on failure.
#
#   slapd_stop DIR
#       SIGTERM to the recorded PID, waits (up to 10 s, then SIGKILL) for the
#       process to be gone.  Returns 0 if nothing is running.
#
#   slapd_running DIR        -> 0 if the recorded slapd process is alive
#   slapd_pid DIR            -> prints the recorded PID
#   slapd_uri DIR            -> prints ldap://127.0.0.1:PORT
#   slapd_search DIR ARGS... -> anonymous ldapsearch -LLL on the base DN,
#                               ARGS are extra ldapsearch args (filter, attrs)
#   slapd_modify DIR FILE    -> ldapmodify as rootdn (FILE in ldapmodify
#                               syntax, "changetype: add" etc.)
#   slapd_add DIR FILE       -> ldapadd as rootdn
#
# Variables (override before calling slapd_start the first time):
#   SLAPD_SUFFIX  (dc=example,dc=test)   SLAPD_ROOTDN (cn=admin,$SLAPD_SUFFIX)
#   SLAPD_ROOTPW  (secret)
#   SLAPD_EXTRA_SCHEMAS  absolute paths of further schema LDIFs (cn=config
#                 form, e.g. $SLAPD_SCHEMA_DIR/misc.ldif), included after
#                 inetorgperson (default none)
#
# Everything lives under DIR; nothing under /etc is read or written (client
# tools run with LDAPNOINIT=1 so /etc/ldap/ldap.conf and ~/.ldaprc are ignored).
# slapd runs as the invoking user (root in the test container is fine; the
# port must be unprivileged).

: "${SLAPD_SUFFIX:=dc=example,dc=test}"
: "${SLAPD_ROOTDN:=cn=admin,$SLAPD_SUFFIX}"
: "${SLAPD_ROOTPW:=secret}"
: "${SLAPD_BIN:=/usr/sbin/slapd}"
: "${SLAPADD_BIN:=/usr/sbin/slapadd}"
: "${SLAPD_SCHEMA_DIR:=/etc/ldap/schema}"
: "${SLAPD_MODULE_DIR:=/usr/lib/ldap}"

_slapd_err() { echo "slapd.sh: $*" >&2; }

# Generate DIR/config.ldif
_slapd_gen_config() {
    local dir=$1 s
    for s in core cosine inetorgperson; do
        if [ ! -r "$SLAPD_SCHEMA_DIR/$s.ldif" ]; then
            _slapd_err "missing schema $SLAPD_SCHEMA_DIR/$s.ldif"
            return 1
        fi
    done
    for s in ${SLAPD_EXTRA_SCHEMAS:-}; do
        if [ ! -r "$s" ]; then
            _slapd_err "missing schema $s"
            return 1
        fi
    done
    cat >"$dir/config.ldif" <<EOF
dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: $dir/slapd.pid
olcArgsFile: $dir/slapd.args
olcLogLevel: none

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: $SLAPD_MODULE_DIR
olcModuleLoad: back_mdb

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file://$SLAPD_SCHEMA_DIR/core.ldif

include: file://$SLAPD_SCHEMA_DIR/cosine.ldif

include: file://$SLAPD_SCHEMA_DIR/inetorgperson.ldif
$(for s in ${SLAPD_EXTRA_SCHEMAS:-}; do printf '\ninclude: file://%s\n' "$s"; done)

dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcDbDirectory: $dir/db
olcSuffix: $SLAPD_SUFFIX
olcRootDN: $SLAPD_ROOTDN
olcRootPW: $SLAPD_ROOTPW
olcDbMaxSize: 67108864
olcDbNoSync: TRUE
olcDbIndex: objectClass eq
olcDbIndex: mail eq
olcDbIndex: uid eq
olcAccess: {0}to attrs=userPassword by self write by anonymous auth by * none
olcAccess: {1}to * by * read
EOF
}

# Build DIR/slapd.d and DIR/db from scratch and load LDIF.
_slapd_build() {
    local dir=$1 ldif=${2:-}
    if [ -z "$ldif" ] || [ ! -r "$ldif" ]; then
        _slapd_err "LDIF '$ldif' not readable"
        return 1
    fi
    rm -rf "$dir/slapd.d" "$dir/db"
    mkdir -p "$dir/slapd.d" "$dir/db" || return 1
    _slapd_gen_config "$dir" || return 1
    if ! "$SLAPADD_BIN" -n0 -F "$dir/slapd.d" -l "$dir/config.ldif" \
            >"$dir/slapadd-config.log" 2>&1; then
        _slapd_err "slapadd -n0 (config) failed:"
        cat "$dir/slapadd-config.log" >&2
        return 1
    fi
    if ! "$SLAPADD_BIN" -q -F "$dir/slapd.d" -b "$SLAPD_SUFFIX" -l "$ldif" \
            >"$dir/slapadd-data.log" 2>&1; then
        _slapd_err "slapadd (data from $ldif) failed:"
        cat "$dir/slapadd-data.log" >&2
        return 1
    fi
}

slapd_pid() {
    local f="${1:-}/slapd.run.pid"
    if [ -s "$f" ]; then cat "$f"; fi
    return 0
}

# Alive and not a zombie.
_slapd_pid_alive() {
    local pid=$1 state
    [ -n "$pid" ] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}

slapd_running() {
    _slapd_pid_alive "$(slapd_pid "$1")"
}

slapd_uri() {
    local port
    port=$(cat "$1/slapd.port" 2>/dev/null) || return 1
    echo "ldap://127.0.0.1:$port"
}

slapd_search() {
    local dir=$1; shift
    LDAPNOINIT=1 ldapsearch -x -LLL -o nettimeout=2 -l 5 \
        -H "$(slapd_uri "$dir")" -b "$SLAPD_SUFFIX" "$@"
}

slapd_modify() {
    LDAPNOINIT=1 ldapmodify -x -o nettimeout=2 -H "$(slapd_uri "$1")" \
        -D "$SLAPD_ROOTDN" -w "$SLAPD_ROOTPW" -f "$2"
}

slapd_add() {
    LDAPNOINIT=1 ldapmodify -a -x -o nettimeout=2 -H "$(slapd_uri "$1")" \
        -D "$SLAPD_ROOTDN" -w "$SLAPD_ROOTPW" -f "$2"
}

slapd_start() {
    local dir=${1:-} port=${2:-} ldif=${3:-} pid i timeout uri
    if [ -z "$dir" ]; then
        _slapd_err "usage: slapd_start DIR PORT LDIF"
        return 2
    fi
    mkdir -p "$dir" || return 1
    dir=$(cd "$dir" && pwd) || return 1
    if [ -z "$port" ]; then
        port=$(cat "$dir/slapd.port" 2>/dev/null || true)
        if [ -z "$port" ]; then
            _slapd_err "no PORT given and none recorded in $dir"
            return 2
        fi
    fi
    if slapd_running "$dir"; then
        _slapd_err "slapd already running in $dir (pid $(slapd_pid "$dir"))"
        return 1
    fi
    if [ "${SLAPD_FRESH:-0}" = 1 ] || [ ! -d "$dir/slapd.d/cn=config" ] \
            || [ ! -e "$dir/db/data.mdb" ]; then
        _slapd_build "$dir" "$ldif" || return 1
    fi
    echo "$port" >"$dir/slapd.port"
    rm -f "$dir/slapd.run.pid" "$dir/slapd.pid"
    uri="ldap://127.0.0.1:$port"

    # -d 0: stay in the foreground (no detach) so $! is slapd's own PID.
    # stdin/stdout/stderr detached from the caller so that a test whose output
    # is piped does not hang on a lingering slapd holding the pipe.
    "$SLAPD_BIN" -d 0 -h "$uri/" -F "$dir/slapd.d" \
        </dev/null >>"$dir/slapd.log" 2>&1 &
    pid=$!
    echo "$pid" >"$dir/slapd.run.pid"

    timeout=${SLAPD_START_TIMEOUT:-10}
    for ((i = 0; i < timeout * 10; i++)); do
        if ! _slapd_pid_alive "$pid"; then
            wait "$pid" 2>/dev/null || true
            _slapd_err "slapd (pid $pid) exited during startup; log:"
            tail -n 30 "$dir/slapd.log" >&2
            rm -f "$dir/slapd.run.pid"
            return 1
        fi
        if LDAPNOINIT=1 ldapsearch -x -LLL -o nettimeout=1 -l 2 -H "$uri" \
                -b "$SLAPD_SUFFIX" -s base 1.1 >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    _slapd_err "slapd (pid $pid) did not answer on $uri within ${timeout}s; log:"
    tail -n 30 "$dir/slapd.log" >&2
    slapd_stop "$dir"
    return 1
}

slapd_stop() {
    local dir=${1:-} pid i
    pid=$(slapd_pid "$dir")
    if [ -z "$pid" ]; then
        return 0
    fi
    if _slapd_pid_alive "$pid"; then
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < 100; i++)); do
            _slapd_pid_alive "$pid" || break
            sleep 0.1
        done
        if _slapd_pid_alive "$pid"; then
            _slapd_err "slapd (pid $pid) ignored SIGTERM for 10s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null
            for ((i = 0; i < 50; i++)); do
                _slapd_pid_alive "$pid" || break
                sleep 0.1
            done
        fi
    fi
    # Reap it if it is our child (no-op, error suppressed, otherwise).
    wait "$pid" 2>/dev/null || true
    if _slapd_pid_alive "$pid"; then
        _slapd_err "slapd (pid $pid) still alive"
        return 1
    fi
    rm -f "$dir/slapd.run.pid"
    return 0
}
