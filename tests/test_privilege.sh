#!/bin/bash
# Privilege and surface: what another local user can reach. The tagger is
# loaded into a child cgroup with its own pin directory, the proxy and
# tagshaked run on loopback; both are started with umask 000 so that no
# permission comes from the umask. An unprivileged user (nobody, via
# setpriv) must not alter policy, read or write the pinned maps, or inject a
# hand-off; tagshaked must work with only CAP_BPF and CAP_NET_BIND_SERVICE
# and stay correct (fallback decision) without CAP_BPF. See docs/security.md.
. "$(dirname "$0")/proxy_lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	not_ok "the privilege suite needs root (pins, cgroups, setpriv)"
	tap_end
	exit 1
fi
PORT=$FEED_PORT
ts_sysenv || bail "cgroup v2 and bpffs found"
PINS=/sys/fs/bpf/tagshake-priv-$$
CG=$TS_CGROUP2/tagshake-priv-$$
PY=/usr/bin/python3 # nobody cannot reach root's pyenv
chmod 711 "$T" # others may traverse, as /run/tagshake would allow
echo "# work directory $T"

cleanup_privilege() {
	cleanup
	"$ROOT/build/tagshake" unload --pin-dir "$PINS" >/dev/null 2>&1
	rmdir "$CG" 2>/dev/null
}
trap cleanup_privilege EXIT

nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
# fails "what" COMMAND...: the command must fail (as it runs: output kept)
fails() {
	local what=$1
	shift
	if "$@" >"$T/fails.out" 2>&1; then
		not_ok "$what (it succeeded)"
	else
		ok "$what: $(head -c 100 "$T/fails.out" | tr '\n' ' ')"
	fi
}
modes() { # "name mode owner" for each entry of a directory
	for f in "$1"/*; do command stat -c '%n %a %U' "$f" | sed "s#^$1/##"; done | tr '\n' ' '
}

make_certs
{
	raw_stack
	cat <<YAML
policies:
  - { sni: open.test, action: none, route: raw }
  - { sni: secure.test, action: require, ca_set: clients, route: raw }
defaults:
  default: { action: none, route: raw }
timeouts:
  handoff: 300ms
YAML
} | write_config "$PORT" 1 "$PINS"
# the same configuration, readable by nobody (copies of the test PKI)
mkdir -m 755 "$T/pub"
cp -r "$T/pki" "$T/pub/pki"
chmod -R a+rX "$T/pub"
cp "$T/tagshake.yaml" "$T/pub/tagshake.yaml" # its paths are relative: pub/pki
chmod 644 "$T/pub/tagshake.yaml"
# where tagshaked writes its status file, whoever it runs as
mkdir -m 1777 "$T/run"

# --- pinned maps ----------------------------------------------------------
mkdir -p "$CG"
(umask 000 && "$ROOT/build/tagshake" load --port "$PORT" --cgroup "$CG" --pin-dir "$PINS" >/dev/null)
check_eq "tagger loaded under umask 000" "$?" 0
check_eq "pin directory: root only" "$(command stat -c '%a %U' "$PINS")" "700 root"
check_eq "pinned maps and link: root only" \
	"$(modes "$PINS")" \
	"counters 600 root link 600 root policy 600 root policy_slot 600 root ports 600 root tags 600 root "
"$ROOT/build/tagshake" policy import "$T/tagshake.yaml" --pin-dir "$PINS" >/dev/null
before=$("$ROOT/build/tagshake" policy list --pin-dir "$PINS")
fails "nobody cannot add a policy" nobody "$ROOT/build/tagshake" policy add evil.test none --pin-dir "$PINS"
fails "nobody cannot delete a policy" nobody "$ROOT/build/tagshake" policy del secure.test --pin-dir "$PINS"
fails "nobody cannot import policies (from a file it can read)" nobody "$ROOT/build/tagshake" \
	policy import "$T/pub/tagshake.yaml" --pin-dir "$PINS"
fails "nobody cannot unload the tagger" nobody "$ROOT/build/tagshake" unload --pin-dir "$PINS"
fails "nobody cannot list the policies" nobody "$ROOT/build/tagshake" policy list --pin-dir "$PINS"
# the key: "evil.test" NUL-padded to TS_NAME_SIZE, as hex bytes (split on purpose)
key="$(printf 'evil.test' | od -An -tx1) $(printf ' 00%.0s' $(seq 1 $((256 - 9))))"
# shellcheck disable=SC2086
fails "nobody cannot write the pinned policy map with bpftool" nobody bpftool map update pinned \
	"$PINS/policy" key hex $key value hex 00 00 00 00 00 00 00 00
fails "nobody cannot read the tags map with bpftool" nobody bpftool map dump pinned "$PINS/tags"
check_eq "the policies are unchanged" "$("$ROOT/build/tagshake" policy list --pin-dir "$PINS")" "$before"
check_eq "the tagger is still loaded" "$("$ROOT/build/tagshake" status --pin-dir "$PINS" | grep -c '^tagger: loaded')" 1

# --- the hand-off socket --------------------------------------------------
start_peer echo-server "$T/echo.sock"
wait_for "$T/echo.sock"
umask 000
start_proxy --workers 1
umask 022
check_eq "hand-off socket made under umask 000: owner and group only" "$(command stat -c '%a %U' "$T/handoff.sock")" \
	"660 root"
inject() { # a forged hand-off: an fd and TLVs claiming a verified client
	"$PY" - "$T/handoff.sock" <<'PY'
import socket, struct, sys
def tlv(t, v): return struct.pack(">BH", t, len(v)) + v
a, b = socket.socketpair()
ssl = tlv(0x20, b"\x07" + b"\x00\x00\x00\x00" + tlv(0x22, b"admin"))
meta = tlv(0x02, b"secure.test") + ssl + tlv(0xE1, b"\x00\x01") + tlv(0xE2, b"\x02") + tlv(0xE3, b"\x01")
u = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
try:
    u.connect(sys.argv[1])
    socket.send_fds(u, [meta], [b.fileno()])
except OSError as e:
    print(e.strerror)
    sys.exit(1)
print("sent")
PY
}
check_eq "nobody cannot connect to inject a hand-off" "$(nobody bash -c "$(declare -f inject); PY=$PY T=$T inject")" "Permission denied"
check_eq "the proxy received no hand-off" "$(proxy_stat handoffs)" 0
check_eq "root (the handshaker's user) can" "$(inject)" sent
check_stat "the proxy received that one" handoffs 1

# --- tagshaked's capabilities ---------------------------------------------
# hs_run CONFIG SETPRIV-ARGS...: tagshaked in the tagger's cgroup under setpriv
hs_run() {
	local cfg=$1
	shift
	sh -c "echo \$\$ >'$CG/cgroup.procs' && umask 000 && exec setpriv $* \
		'$ROOT/build/tagshaked' --config '$cfg' --status '$T/run/status'" 2>"$T/hs.log" &
	HS_PID=$!
	PIDS+=("$HS_PID")
	wait_for "$PORT" && wait_for "$T/run/status"
}
hs_stop() { kill "$HS_PID"; wait "$HS_PID" 2>/dev/null; rm -f "$T/run/status"; }
hs_stat() { awk -v k="$1" '$1 == k { print $2 }' "$T/run/status"; }
hs_stats() { sleep 1.1; for k in "$@"; do hs_stat "$k"; done | tr '\n' ' ' | sed 's/ $//'; }
cap_eff() { awk '/^CapEff/ { print $2 }' "/proc/$HS_PID/status"; }
connect() { # connect SNI: one request; prints what came back
	printf 'ping' | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$PORT" \
		-servername "$1" -CAfile "$T/pki/server.crt" 2>/dev/null | head -c 4
}

hs_run "$T/tagshake.yaml" --bounding-set=-all,+bpf,+net_bind_service --inh-caps=-all
check_eq "tagshaked as root with CAP_BPF and CAP_NET_BIND_SERVICE only" "$(cap_eff)" 0000008000000400
check_eq "serves a connection end to end" "$(connect open.test)" ping
check_eq "and reads the tagger's tag (tag_agree tag_missing)" "$(hs_stats tag_agree tag_missing)" "1 0"
hs_stop
# Kernels from 6.5 check bpf() capabilities per command (map and program
# creation); opening a pin and reading a map then needs file access only.
hs_run "$T/tagshake.yaml" --bounding-set=-all --inh-caps=-all
check_eq "tagshaked as root with no capability at all" "$(cap_eff)" 0000000000000000
check_eq "still serves end to end" "$(connect open.test)" ping
check_eq "and still reads the tag through the root-only pins (kernel $(uname -r | cut -d- -f1))" \
	"$(hs_stats tag_agree tag_missing)" "1 0"
hs_stop
# As nobody: the pins and the hand-off socket are closed to it.
hs_run "$T/pub/tagshake.yaml" --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all
check_eq "tagshaked as nobody: no capability" "$(cap_eff)" 0000000000000000
connect open.test >/dev/null
sleep 0.5 # the hand-off timeout
check_eq "the handshake completes, the tag is out of reach, the hand-off socket too (timeout)" \
	"$(hs_stats handshakes tag_missing tag_agree handoff_timeout)" "1 1 0 1"
check_eq "without the tag, require is still refused without a certificate" "$(connect secure.test)" ""
check_eq "counted as a failed handshake, decided from the policy (decide_require)" "$(hs_stats handshake_failed decide_require)" \
	"1 1"
hs_stop

tap_end
