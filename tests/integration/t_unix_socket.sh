#!/bin/bash
# t_unix_socket.sh -- the unix socket of a root-started daemon with UserID,
# as the README's Postfix set-up has it: the socket belongs to the UserID
# user and its group with mode 0770 (UMask 007, the default), so a member
# of that group connects and anybody else gets EACCES; UMask 027 takes the
# group's write bit and locks the member out; the pid file is 0640.  Then
# a real Postfix (smtpd runs as postfix, a member of the milter's group)
# delivers a message through the socket, under its queue directory with
# the relative milter path that also works for a chrooted smtpd; once
# postfix has left the group, Postfix cannot connect and tempfails.
#
# Creates a system user and group for the milter (names end in the shell's
# pid) and adds postfix to that group; deletes both at exit.  Needs root.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IT_NAME=t_unix_socket
# shellcheck source=lib.sh
source "$HERE/lib.sh"

[ "$(id -u)" = 0 ] || it_skip "needs root (creates a user, chowns, setuid)"
for tool in useradd userdel groupadd groupdel gpasswd setpriv perl stat; do
    command -v "$tool" >/dev/null || it_skip "$tool not installed"
done
id postfix >/dev/null 2>&1 || it_skip "no postfix user"

it_init

# The milter's own user and group, as "adduser --system --group" would
# make them.  Deleted after the daemons have stopped: userdel refuses a
# user with a running process, and groupdel a user's primary group.
MUSER=smit-$$
MGROUP=smit-$$
ids_made=""
forget_ids() {
    [ -n "$ids_made" ] || return 0
    it_stop_postfix
    it_stop_milter
    userdel "$MUSER" 2>/dev/null
    groupdel "$MGROUP" 2>/dev/null   # also ends postfix's membership
    ids_made=""
}
it_on_shutdown forget_ids
groupadd --system "$MGROUP" || it_fail "groupadd $MGROUP"
ids_made=1
useradd --system --no-create-home --no-user-group --gid "$MGROUP" \
    --home-dir /nonexistent --shell /usr/sbin/nologin "$MUSER" ||
    it_fail "useradd $MUSER"
gpasswd --add postfix "$MGROUP" >/dev/null || it_fail "gpasswd postfix"

# The socket lives under Postfix's queue directory, as a chrooted smtpd
# needs it.  Its directory is world-searchable at first, so that only the
# socket's own mode decides who may connect.
sockdir=$IT_PF_QUEUE/smime-milter
sock=$sockdir/smime-milter.sock
mkdir -p "$sockdir" "$IT_TMP/run" "$IT_TMP/spool" "$IT_TMP/journal" \
    "$IT_CERT_DIR"
chmod 755 "$IT_PF_QUEUE" "$sockdir"
chown "$MUSER" "$IT_TMP/run" "$IT_TMP/spool" "$IT_TMP/journal"

# start_milter [CONFIG-LINE...]: as root with UserID, like systemd would.
start_milter() {
    {
        echo "Socket unix:$sock"
        echo "UserID $MUSER"
        echo "Syslog no"
        echo "LogLevel debug"
        echo "PidFile $IT_TMP/run/milter.pid"
        echo "SpoolDir $IT_TMP/spool"
        echo "JournalDir $IT_TMP/journal"
        echo "CertificateSources dir:$IT_CERT_DIR"
        echo "ReinjectSocket inet:$IT_REINJECT_PORT@127.0.0.1"
        for line in "$@"; do echo "$line"; done
    } >"$IT_TMP/milter.conf"
    "$SMIME_MILTER" -f -c "$IT_TMP/milter.conf" 2>>"$IT_MILTER_LOG" &
    IT_MILTER_PID=$!
    # "starting" is logged after the socket, its owner and the drop.
    for _ in $(seq 1 100); do
        grep -q "^smime-milter\[$IT_MILTER_PID\]: .* starting: " \
            "$IT_MILTER_LOG" && break
        kill -0 "$IT_MILTER_PID" 2>/dev/null || break
        sleep 0.05
    done
    [ -S "$sock" ] || it_fail "milter did not create $sock"
    it_milter_alive
}

# connect_as USER GROUP: try to connect to the socket with the user's
# credentials (supplementary groups included, as Postfix's daemons have
# them); prints "connected" or "error: REASON".
connect_as() {
    setpriv --reuid="$1" --regid="$2" --init-groups perl -MSocket -e '
        socket(my $s, AF_UNIX, SOCK_STREAM, 0) or die "socket: $!\n";
        print connect($s, pack_sockaddr_un($ARGV[0])) ?
            "connected\n" : "error: $!\n";' "$sock"
}

# UMask 027: srwxr-x---, the group may not write, so even a member of it
# cannot connect.  (Proves that UMask reaches the socket.)
start_milter "UMask 027"
got=$(stat -c '%U:%G %a' "$sock")
[ "$got" = "$MUSER:$MGROUP 750" ] || it_fail "UMask 027: socket is $got"
got=$(connect_as postfix postfix)
[ "$got" = "error: Permission denied" ] ||
    it_fail "UMask 027: group member: $got"
it_stop_milter

# The default, UMask 007: srwxrwx--- for the milter's user and group.
start_milter
pid=$IT_MILTER_PID
got=$(stat -c '%U:%G %a %F' "$sock")
[ "$got" = "$MUSER:$MGROUP 770 socket" ] || it_fail "socket is $got"
got=$(stat -c '%a' "$IT_TMP/run/milter.pid")
[ "$got" = 640 ] || it_fail "pid file mode $got, want 640"
uid=$(awk '/^Uid:/ { print $2 }' "/proc/$pid/status")
[ "$uid" = "$(id -u "$MUSER")" ] || it_fail "milter runs as uid $uid"
got=$(connect_as postfix postfix)
[ "$got" = connected ] || it_fail "postfix (in $MGROUP): $got"
got=$(connect_as nobody nogroup)
[ "$got" = "error: Permission denied" ] || it_fail "nobody: $got"
grep -q "writable by every local user" "$IT_MILTER_LOG" &&
    it_fail "warned about a socket that is not world-writable"

# The recommended directory: root:GROUP 0750, for the group only.
chown "root:$MGROUP" "$sockdir"
chmod 750 "$sockdir"

# Postfix, chroot off (lib.sh), cwd = queue directory: the relative path
# is the one a chrooted smtpd uses as well.
cat >"$IT_TMP/msg.eml" <<'EOF'
From: alice@example.org
To: bob@example.net
Subject: through the unix socket
Message-ID: <unix-socket-1@example.org>

Hello over a unix socket.
EOF
it_start_sink
it_start_postfix "smtpd_milters=unix:smime-milter/smime-milter.sock"
it_smtp_send alice@example.org bob@example.net "$IT_TMP/msg.eml" \
    >"$IT_TMP/sent" || it_fail "Postfix refused the message"
it_wait_delivered 1 || it_fail "message not delivered"
qid=$(cut -d' ' -f1 "$IT_TMP/sent")
grep -q "$qid" "$IT_MILTER_LOG" || it_fail "milter never saw $qid"
grep -q "Milter service" "$IT_PF_LOG" && it_fail "Postfix: milter trouble"

# Without the group membership Postfix cannot connect: its smtpd
# processes get their groups from initgroups(3) when they start, so a
# reload (new smtpd processes) makes the change visible.
gpasswd --delete postfix "$MGROUP" >/dev/null || it_fail "gpasswd -d"
it_postfix_reload
sleep 1
if it_smtp_send alice@example.org bob@example.net "$IT_TMP/msg.eml" \
        >/dev/null 2>"$IT_TMP/refused"; then
    it_fail "accepted without access to the milter"
fi
grep -q " 4[0-9][0-9] " "$IT_TMP/refused" ||
    it_fail "not a temporary failure: $(cat "$IT_TMP/refused")"
# (postlogd writes the log asynchronously: wait for the line.)
denied="connect to Milter service unix:smime-milter/smime-milter.sock: Permission denied"
for _ in $(seq 1 50); do
    grep -q "$denied" "$IT_PF_LOG" && break
    sleep 0.1
done
grep -q "$denied" "$IT_PF_LOG" || it_fail "Postfix did not log: $denied"

it_pass "socket $MUSER:$MGROUP 0770, group member in, others out, Postfix delivers"
