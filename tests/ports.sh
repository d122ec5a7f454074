# shellcheck shell=bash
# tests/ports.sh -- free TCP ports on 127.0.0.1 for the tests' daemons,
# safe when several test runs start at once.  Source it, then:
#   port_free        print a free port, reserved for this shell's PID
#   port_release P.. drop this shell's reservations of ports P..
# A reservation whose owner has died is taken over, so releasing is only
# tidiness.

# Is anything bound to TCP port $1 on this host?  The /dev/tcp probe finds
# listeners; /proc/net/tcp also finds ports held by other sockets (a port
# that is only connected, or in TIME_WAIT, cannot always be bound).
port_busy() {
    local p=$1 hex
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && return 0
    printf -v hex ':%04X ' "$p"
    grep -q -- "$hex" /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# A random number from the kernel.  Not $RANDOM: parallel test runs
# started in the same instant get nearly identical $RANDOM sequences.
port_random() {
    if [ -n "${SRANDOM:-}" ]; then
        echo "$SRANDOM"
    else
        od -An -N4 -tu4 /dev/urandom | tr -d ' '
    fi
}

# Reserve port $1 for this test run, so that parallel runs never pick the
# same one: Postfix and smtp-sink bind with SO_REUSEPORT, so two of them on
# one port would silently share the connections instead of failing.  The
# reservation is a symlink named after the port pointing to our PID
# (creation is atomic); one whose PID is dead is stale and taken over.
PORT_DIR=${TMPDIR:-/tmp}/smime-it-ports
port_reserve() {
    local link=$PORT_DIR/$1 owner
    mkdir -p "$PORT_DIR" && chmod 1777 "$PORT_DIR" 2>/dev/null
    ln -s "$$" "$link" 2>/dev/null && return 0
    owner=$(readlink "$link") || return 1
    kill -0 "$owner" 2>/dev/null && return 1
    rm -f "$link"
    ln -s "$$" "$link" 2>/dev/null
}

# Drop this run's reservations of the ports given.
port_release() {
    local p
    for p in "$@"; do
        [ "$(readlink "$PORT_DIR/$p" 2>/dev/null)" = "$$" ] &&
            rm -f "$PORT_DIR/$p"
    done
    return 0
}

# Print a free port and reserve it.  Random in 20000-60000, but outside the
# kernel's ephemeral range (ip_local_port_range, 32768-60999 on Debian), so
# that an outgoing connection cannot grab it between our probe and the
# daemon's bind().
port_free() {
    local lo=32768 hi=60999 p
    read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null
    for _ in $(seq 1 200); do
        p=$((20000 + $(port_random) % 40001))
        [ "$p" -ge "$lo" ] && [ "$p" -le "$hi" ] && continue
        port_busy "$p" && continue
        port_reserve "$p" || continue
        echo "$p"
        return 0
    done
    echo "port_free: no free port found" >&2
    return 1
}

