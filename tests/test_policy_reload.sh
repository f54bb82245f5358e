#!/bin/bash
# Issue 12, cases 1 and 2 on the real stack (BPF tagger, tagshaked,
# tagshake-proxy, proxy-v2 upstreams), and `tagshake reload`:
#  - the proxy serves a hand-off with the generation that decided it, and
#    refuses one it does not hold (tagshaked reloaded alone: no admin
#    route for a client that was asked no certificate);
#  - tagshaked reloaded without an import: the kernel's entries are stale,
#    counted, and their ids (routes listed in another order) are not used;
#  - a policy flipped strict <-> loose with `tagshake reload` while clients
#    with and without a certificate loop: every answer comes from the
#    generation its handshake was decided with.
# Needs root, bpffs and cgroup v2 (for the tagger).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d /tmp/tagshake-reload.XXXXXX)
chmod 755 "$T"
. "$ROOT/tests/handshaker_lib.sh"
. "$ROOT/tests/tap.sh"
PORT=$(free_port)
UA=$(free_port)
UO=$(free_port)
ts_sysenv || bail "cgroup v2 and bpffs found"
PIN_DIR=$TS_BPFFS/tagshake-reload-$$
CGROUP=$TS_CGROUP2
TS="$ROOT/build/tagshake"
PEER="python3 $ROOT/tests/policy_flip.py"
CA="$T/server-ca.crt"
PROXY=
UPS=()
tagger_loaded=
cleanup() {
	[ -n "$PROXY" ] && kill "$PROXY" 2>/dev/null && wait "$PROXY" 2>/dev/null
	for p in "${UPS[@]}"; do kill "$p" 2>/dev/null; done
	stop_all
	[ -n "$tagger_loaded" ] && "$TS" unload --pin-dir "$PIN_DIR" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

if [ "$(id -u)" -ne 0 ] || [ -z "$CGROUP" ] || ! mountpoint -q /sys/fs/bpf; then
	skip "policy reload" "needs root, cgroup v2 and bpffs at /sys/fs/bpf"
	tap_end
	exit 0
fi

# strict: admin.test requires a partners certificate, route admin (first)
# loose: admin.test asks for nothing, route open; the routes are listed in
# the other order, so a route id means another upstream in each file
write_policy() { # strict|loose
	local routes action
	if [ "$1" = strict ]; then
		routes="  - { name: admin, upstream: 127.0.0.1:$UA, metadata: proxy-v2 }
  - { name: open, upstream: 127.0.0.1:$UO, metadata: proxy-v2 }"
		action="{ sni: admin.test, action: require, certificate: edge, ca_set: partners, route: admin }"
	else
		routes="  - { name: open, upstream: 127.0.0.1:$UO, metadata: proxy-v2 }
  - { name: admin, upstream: 127.0.0.1:$UA, metadata: proxy-v2 }"
		action="{ sni: admin.test, action: none, certificate: edge, route: open }"
	fi
	cat >"$T/tagshake.yaml.new" <<YAML
listeners:
  - { address: 127.0.0.1, port: $PORT, workers: 2 }
certificates:
  - name: edge
    pairs:
      - { chain: edge-ec.crt, key: edge-ec.key }
ca_sets:
  - { name: partners, files: partners-ca.crt }
routes:
$routes
policies:
  - $action
defaults:
  default: { action: reject }
  no-sni: { action: reject }
handoff:
  socket: $T/handoff.sock
timeouts:
  handshake: 2s
  handoff: 1s
bpf:
  pin_dir: $PIN_DIR
YAML
	mv "$T/tagshake.yaml.new" "$T/tagshake.yaml" # one step for every reader
}
gen_of() { "$TS" check --generation "$T/tagshake.yaml"; }
pstat() { awk -v k="$1" '$1 == k { print $2 }' "$T/pstatus"; }
hstat() { awk -v k="$1" '$1 == k { print $2 }' "$T/status"; }
one() { $PEER one "$PORT" admin.test "$CA" "$@"; }
with_cert() { one "$T/client1.crt" "$T/client1.key"; }
reload() {
	"$TS" reload --config "$T/tagshake.yaml" --proxy-status "$T/pstatus" \
		--handshaker-status "$T/status" >>"$T/reload.out" 2>&1
}

make_pki
write_policy strict
"$TS" load --pin-dir "$PIN_DIR" --port "$PORT" --cgroup "$CGROUP" >/dev/null 2>"$T/load.err" ||
	bail "tagger loaded ($(cat "$T/load.err"))"
tagger_loaded=1
"$TS" policy import --pin-dir "$PIN_DIR" "$T/tagshake.yaml" >/dev/null || bail "policy imported"
$PEER upstream "$UA" admin & UPS+=($!)
$PEER upstream "$UO" open & UPS+=($!)
"$ROOT/build/tagshake-proxy" --config "$T/tagshake.yaml" --status "$T/pstatus" 2>"$T/proxy.err" &
PROXY=$!
for _ in $(seq 100); do [ -S "$T/handoff.sock" ] && [ -s "$T/pstatus" ] && break; sleep 0.05; done
start_daemon || bail "tagshaked started"
STRICT=$(gen_of)

check_eq "strict: a partners certificate reaches the admin upstream, identified" \
	"$(with_cert)" "admin cert=1"
check_eq "strict: without a certificate the handshake fails" "$(one)" "failed"
check_eq "strict: decided by agreeing tags, nothing stale" \
	"$(stat_now tag_agree) $(hstat policy_stale)" "2 0"

# --- case 2: tagshaked reloaded alone (no proxy reload, no import)
write_policy loose
LOOSE=$(gen_of)
check "the two files are two policy generations" test "$STRICT" != "$LOOSE"
"$TS" reload --config "$T/tagshake.yaml" --handshaker-status "$T/status" --no-import \
	>>"$T/reload.out" 2>&1 || not_ok "tagshaked alone reloaded"
check_eq "tagshaked runs the loose generation" "$(hstat policy_generation)" "$LOOSE"
check_eq "tagshaked alone: no certificate asked, and the proxy refuses the hand-off" \
	"$(one)" "closed"
sleep 1.1
# (the first connection's end counts as done, or as a client error when the
# client's close races the proxy's close_notify: in records mode the proxy
# holds the client's TCP socket and sees its reset)
check_eq "counted as close_stale, the admin upstream never reached" \
	"$(pstat close_stale) $(($(pstat close_done) + $(pstat close_client_error)))" "1 1"
check "the proxy logged the unknown generation" \
	grep -q "hand-off refused: policy generation $LOOSE is not loaded" "$T/proxy.err"
check "the kernel's strict entry (other route ids) was stale to tagshaked: counted" \
	test "$(hstat policy_stale)" -ge 1
"$TS" reload --config "$T/tagshake.yaml" --proxy-status "$T/pstatus" --no-import \
	>>"$T/reload.out" 2>&1 || not_ok "proxy reloaded"
check_eq "proxy reloaded: the same client reaches the open upstream" "$(one)" "open cert=0"
check_eq "loose: a client with a certificate is asked none" "$(with_cert)" "open cert=0"
"$TS" policy import --pin-dir "$PIN_DIR" "$T/tagshake.yaml" >/dev/null
before=$(stat_now policy_stale)
one >/dev/null
check_eq "imported: the tags carry the loose generation, nothing stale" \
	"$(stat_now policy_stale)" "$before"

# --- flips under load: strict <-> loose with `tagshake reload`
write_policy strict
reload || not_ok "reload to strict"
$PEER load "$PORT" admin.test "$CA" "$T/client1.crt" "$T/client1.key" 8 8 >"$T/load.out" &
loadpid=$!
flips=0
for i in 1 2 3 4 5 6 7 8; do
	sleep 0.5
	if [ $((i % 2)) -eq 1 ]; then write_policy loose; else write_policy strict; fi
	reload && flips=$((flips + 1))
done
wait "$loadpid"
cat "$T/load.out" | sed 's/^/# /'
check_eq "8 flips applied by tagshake reload" "$flips" 8
cert=$(grep '^cert:' "$T/load.out")
nocert=$(grep '^nocert:' "$T/load.out")
check "with a certificate: strict answers came (admin cert=1)" grep -q 'admin_cert=1=' <<<"$cert"
check "with a certificate: loose answers came (open cert=0)" grep -q 'open_cert=0=' <<<"$cert"
check "without: loose answers came (open cert=0)" grep -q 'open_cert=0=' <<<"$nocert"
check_fails "never the strict route without a verified certificate (admin cert=0)" \
	grep -q 'admin_cert=0' "$T/load.out"
check_fails "never the loose route with the strict handshake (open cert=1)" \
	grep -q 'open_cert=1' "$T/load.out"
check_fails "never the admin upstream for a client without a certificate" \
	grep -q 'admin' <<<"$nocert"

# --- a file that does not load changes nothing
gen=$(hstat policy_generation)
echo "policies: [ { sni: x.test, action: maybe } ]" >>"$T/tagshake.yaml"
check_fails "reload of a broken file fails" reload
check_eq "and nothing changed" "$(hstat policy_generation) $(pstat policy_generation)" "$gen $gen"

tap_end
