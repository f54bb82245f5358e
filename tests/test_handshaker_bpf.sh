#!/bin/bash
# tagshaked with the BPF tagger loaded (build/tagshake load, private pin dir,
# attached to the root cgroup v2 so the daemon's listener is inside it):
# decisions from agreeing tags, reject before any OpenSSL object, policy
# changes through the map, and the tagger unloaded and loaded again while
# the daemon runs. Needs root, cgroup v2 and bpffs (scripts/sysenv.sh finds
# the first and mounts the second); without them the suite fails, it never
# skips: a skipped tagger suite would look like a passing one.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
. "$ROOT/tests/handshaker_lib.sh"
PORT=$(free_port)
PY="python3 $ROOT/tests/handshaker_client.py"
CA="$T/server-ca.crt"
TS="$ROOT/build/tagshake"

tagger_off() { "$TS" unload --pin-dir "$PIN_DIR" >/dev/null 2>&1; }
trap 'stop_all; tagger_off; rm -rf "$T"' EXIT

[ "$(id -u)" -eq 0 ] || bail "the tagger suite needs root"
[ -x "$TS" ] || bail "build/tagshake is built"
ts_sysenv || bail "cgroup v2 and bpffs found"
PIN_DIR=$TS_BPFFS/tagshake-hs-test-$$
CGROUP=${TS_CGROUP:-$TS_CGROUP2}

sc() {
	local sni=$1
	shift
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 openssl s_client -connect "127.0.0.1:$PORT" \
		-servername "$sni" -CAfile "$CA" -ign_eof "$@" 2>&1
}
# client connections the daemon still holds (listeners aside), plus relays
# and waiting hand-offs: a leak shows here; map and link descriptors are
# opened lazily per worker and are not leaks
fds() {
	echo "tcp=$(ss -Htanp | grep "pid=$DAEMON," | grep -vc LISTEN)" \
		"relays=$(stat_now relays_open) waiting=$(stat_get handoff_waiting)"
}
tagger_on() {
	"$TS" load --pin-dir "$PIN_DIR" --port "$PORT" --cgroup "$CGROUP" >/dev/null &&
		"$TS" policy import --pin-dir "$PIN_DIR" "$T/tagshake.yaml" >/dev/null
}

make_pki
hs_config "$PORT"
check "tagger loaded and policies imported from the same file" tagger_on
# our program, by the id of its pinned link, among those attached at $CGROUP
ours_attached() {
	local id
	id=$(bpftool -j link show pinned "$PIN_DIR/link" 2>/dev/null |
		python3 -c 'import json,sys; print(json.load(sys.stdin)["prog_id"])' 2>/dev/null) || return 1
	bpftool cgroup show "$CGROUP" | awk -v id="$id" '$1 == id && /ts_tagger/ { f = 1 } END { exit !f }'
}
check "the tagger is attached at the cgroup v2 root ($CGROUP)" ours_attached
start_sink || not_ok "sink started"
start_daemon || not_ok "daemon started"

o=$(sc open.test -msg)
check "none: handed off" grep -q 'policy=open.test' <<<"$o"
check_eq "none: no CertificateRequest" "$(grep -c CertificateRequest <<<"$o")" 0
check_eq "the tag agreed with OpenSSL's SNI" "$(stat_now tag_agree)" 1
check_eq "no userspace fallback was needed" "$(stat_get tag_missing)/$(stat_get tag_disagree)" 0/0

check_eq "reject: gone.test gets 0 bytes" "$($PY rawhello 127.0.0.1 "$PORT" gone.test)" bytes=0
check_eq "reject: no SNI gets 0 bytes" "$($PY rawhello 127.0.0.1 "$PORT")" bytes=0
check_eq "reject: both closed on the tag, before any OpenSSL object" \
	"$(stat_now reject_tag)/$(stat_get reject_policy)" 2/0

o=$(sc api.test)
check "require without a certificate: alert 116 (tag path)" grep -q 'alert number 116' <<<"$o"
o=$(sc api.test -cert "$T/client1.crt" -key "$T/client1.key")
check "require with a valid certificate: identity handed off" \
	grep -q 'action=2 .*verify=0 .*sni=api.test .*cn=client1 ' <<<"$o"

before=$(stat_now cert_requests)
agree=$(stat_get tag_agree)
check_eq "none: 1000 handshakes, 0 CertificateRequests (client side)" \
	"$($PY certreq 127.0.0.1 "$PORT" open.test 1000 "$CA")" "handshakes=1000 failed=0 certreq=0"
check_eq "none: 0 CertificateRequests (daemon side)" "$(stat_now cert_requests)" "$before"
check_eq "none: all 1000 decided by agreeing tags" "$(($(stat_get tag_agree) - agree))" 1000

# --- the map is the live policy: a change applies to the next ClientHello
"$TS" policy add open.test require --cert 1 --ca 1 --route 1 --pin-dir "$PIN_DIR" >/dev/null
o=$(sc open.test -msg)
check "policy add open.test require: next handshake fails (116)" grep -q 'alert number 116' <<<"$o"
check_eq "policy add open.test require: ... after one CertificateRequest" \
	"$(grep -c 'Handshake.*CertificateRequest' <<<"$o")" 1
"$TS" policy add open.test none --cert 1 --route 1 --pin-dir "$PIN_DIR" >/dev/null
o=$(sc open.test)
check "policy back to none: handed off again" grep -q 'policy=open.test' <<<"$o"

# --- a kernel policy weaker than the configuration never weakens it (fail closed)
stale=$(stat_now policy_stale)
"$TS" policy add api.test none --cert 1 --route 1 --pin-dir "$PIN_DIR" >/dev/null
o=$(sc api.test)
check "BPF policy says none for a require SNI: still fails without a certificate (116)" \
	grep -q 'alert number 116' <<<"$o"
check_eq "... counted as policy_stale" "$(($(stat_now policy_stale) - stale))" 1
"$TS" policy import --pin-dir "$PIN_DIR" "$T/tagshake.yaml" >/dev/null

# --- tagger unloaded under a running daemon: same decisions from the configuration
tagger_off
check_fails "(control) the attachment check fails once the tagger is unloaded" ours_attached
sleep 0.3
o=$(sc api.test)
check "tagger unloaded: require still fails without a certificate (116)" \
	grep -q 'alert number 116' <<<"$o"
missing=$(stat_now tag_missing)
o=$(sc open.test)
check "tagger unloaded: none still handed off" grep -q 'policy=open.test' <<<"$o"
check_eq "tagger unloaded: decisions counted as tag missing" "$(($(stat_now tag_missing) - missing))" 1
check_eq "tagger unloaded: reject still closes with 0 bytes" \
	"$($PY rawhello 127.0.0.1 "$PORT" gone.test)" bytes=0

# --- loaded again: the daemon finds the new maps by itself
check "tagger loaded again" tagger_on
sleep 0.3
agree=$(stat_now tag_agree)
o=$(sc open.test)
check "after reload of the tagger: handed off" grep -q 'policy=open.test' <<<"$o"
check_eq "after reload of the tagger: tags agree again" "$(($(stat_now tag_agree) - agree))" 1
check_eq "no descriptor left behind" "$(fds)" "tcp=0 relays=0 waiting=0"

tap_end
