#!/bin/bash
# Issue 12, case 4: the local surface of the hand-off and the status files.
#  - the hand-off socket is 0660 whatever the umask: a member of its group
#    (not its owner, not root: setpriv) can connect, a non-member cannot;
#  - SO_PEERCRED on both ends: the proxy drops a link from a user that is
#    not root, itself or handoff.handshaker_user; tagshaked does not hand
#    off to a proxy that is not root, itself or handoff.proxy_user;
#  - a symlink planted at STATUS.tmp is not followed by either daemon.
# Real tagshake-proxy, tagshaked, handoff_sink and python clients.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d /tmp/tagshake-local.XXXXXX)
. "$ROOT/tests/handshaker_lib.sh"
. "$ROOT/tests/tap.sh"
PORT=$(free_port)
CA="$T/server-ca.crt"
PROXY=
trap '[ -n "$PROXY" ] && kill "$PROXY" 2>/dev/null; stop_all; rm -rf "$T"' EXIT

if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null; then
	skip "local surface" "needs root and setpriv"
	tap_end
	exit 0
fi
chmod 755 "$T" # the unprivileged clients below must reach the socket
NOBODY=$(id -u nobody)
NOGROUP=$(getent group nogroup | cut -d: -f3)
# the system interpreter: a per-user one (pyenv) may not be reachable as nobody
SYS_PY=/usr/bin/python3

# link AS_GID: connects to the hand-off socket as nobody with primary group
# AS_GID and no other; prints "refused ERRNO", "closed" (the proxy dropped
# the link) or "open" (still connected after 0.5 s)
link() {
	setpriv --reuid="$NOBODY" --regid="$1" --clear-groups "$SYS_PY" -c '
import errno, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print("refused", errno.errorcode.get(e.errno, e.errno)); sys.exit()
s.settimeout(0.5)
try:
    print("closed" if s.recv(1) == b"" else "data")
except socket.timeout:
    print("open")
except OSError:
    print("closed")' "$T/handoff.sock"
}
pstat() { awk -v k="$1" '$1 == k { print $2 }' "$T/pstatus"; }
start_proxy() { # as root, with group nogroup: the socket file is root:nogroup
	(umask 022 && exec setpriv --regid="$NOGROUP" --clear-groups \
		"$ROOT/build/tagshake-proxy" --config "$T/tagshake.yaml" --status "$T/pstatus") \
		2>>"$T/proxy.err" &
	PROXY=$!
	for _ in $(seq 100); do [ -S "$T/handoff.sock" ] && [ -s "$T/pstatus" ] && return 0; sleep 0.05; done
	return 1
}
stop_proxy() { kill "$PROXY" 2>/dev/null; wait "$PROXY" 2>/dev/null; PROXY=; }

make_pki
hs_config "$PORT" ""
# a symlink planted where the proxy writes its temporary status file
echo precious >"$T/victim"
ln -s "$T/victim" "$T/pstatus.tmp"
start_proxy || bail "proxy started"

# --- the socket's mode and group membership
check_eq "hand-off socket: 0660 root:nogroup under umask 022" \
	"$(stat -c '%a %U:%G' "$T/handoff.sock")" "660 root:nogroup"
check_eq "a member of the socket's group (not its owner) can connect" \
	"$(link "$NOGROUP" | sed 's/closed/connected/')" "connected"
check_eq "negative control: a non-member is refused by the file mode" \
	"$(link 65533)" "refused EACCES"

# --- SO_PEERCRED at the proxy
sleep 1.1 # the status file is rewritten every second
check_eq "the proxy dropped the link: nobody is not an allowed handshaker" \
	"$(pstat handshakers_refused) $(pstat handshakers)" "1 0"
check "and said why" grep -q "peer uid $NOBODY .* is not an allowed handshaker" "$T/proxy.err"
stop_proxy
check_eq "proxy status: the planted symlink's target is untouched" "$(cat "$T/victim")" "precious"
check "proxy status: a regular file, not the symlink" test -f "$T/pstatus" -a ! -L "$T/pstatus"
check "proxy status: written (its policy generation)" grep -q "^policy_generation [0-9a-f]\{16\}$" "$T/pstatus"

hs_config "$PORT" "" # handoff: socket ... plus the allowed handshaker
sed -i "s|^  socket: .*|&\n  handshaker_user: nobody|" "$T/tagshake.yaml"
start_proxy || bail "proxy started with handoff.handshaker_user"
check_eq "handoff.handshaker_user: nobody: the link stays open" "$(link "$NOGROUP")" "open"
sleep 1.1
check_eq "counted as a handshaker, none refused" \
	"$(pstat handshakers_refused) $(pstat handshakers)" "0 1"
stop_proxy

# --- SO_PEERCRED at tagshaked: a "proxy" run by nobody
mkdir -m 0777 "$T/nobody"
hs_config "$PORT" ""
sed -i "s|^  socket: .*|  socket: $T/nobody/handoff.sock|" "$T/tagshake.yaml"
setpriv --reuid="$NOBODY" --regid="$NOGROUP" --clear-groups \
	"$ROOT/build/tests/handoff_sink" "$T/nobody/handoff.sock" >"$T/sink.out" 2>&1 &
SINK=$!
for _ in $(seq 50); do [ -S "$T/nobody/handoff.sock" ] && break; sleep 0.05; done
echo precious >"$T/victim"
ln -s "$T/victim" "$T/status.tmp"
start_daemon || bail "tagshaked started"
check_eq "tagshaked status: the planted symlink's target is untouched" "$(cat "$T/victim")" "precious"
check "tagshaked status: a regular file with the counters" \
	test -f "$T/status" -a ! -L "$T/status" -a -n "$(stat_get handshakes)"
o=$(python3 "$ROOT/tests/flood_clients.py" handshake "$PORT" open.test "$CA")
sleep 0.7 # handoff timeout 500 ms
check_eq "a proxy run by nobody gets no hand-off: link refused, connection timed out" \
	"$(stat_now handoff_ok) $(stat_get handoff_timeout) $([ "$(stat_get handoff_link_refused)" -ge 1 ] && echo refused)" \
	"0 1 refused"
check "and tagshaked said why" grep -q "proxy uid $NOBODY .* is not allowed" "$T/daemon.err"
sed -i "s|^  socket: .*|&\n  proxy_user: nobody|" "$T/tagshake.yaml"
kill -HUP "$DAEMON"
sleep 0.3
o=$(python3 "$ROOT/tests/flood_clients.py" handshake "$PORT" open.test "$CA")
sleep 0.3
check_eq "handoff.proxy_user: nobody (after SIGHUP): handed off" "$(stat_now handoff_ok)" 1
stop_all

tap_end
