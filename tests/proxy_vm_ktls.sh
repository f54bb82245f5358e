#!/bin/bash
# tagshake-proxy with kTLS, inside a kernel-matrix VM (the host has no kTLS):
# tagshaked hands off the TCP socket itself (kTLS TX+RX), the proxy splices
# between it and the upstream. Every byte is checked by bench/proxy_load
# (uploads by the upstream, downloads by the client), in raw and proxy-v2
# routes; throughput and latency are printed as comments. Prints TAP.
cd "$(dirname "$0")/.." || exit 1
. tests/vm_lib.sh

pki_ca "$T" s /CN=bench.test || bail "test PKI"
write_config 8443 1 <<YAML
certificates:
  - { name: edge, chain: $T/s.crt, key: $T/s.key }
routes:
  - { name: raw, upstream: 127.0.0.1:9000, metadata: raw }
policies:
  - { sni: bench.test, action: none, route: raw }
defaults:
  default: { action: none, route: raw }
YAML
build/bench/proxy_load upstream 9000 &
PIDS+=("$!")
build/tagshake-proxy --config "$T/tagshake.yaml" --workers 1 2>"$T/proxy.log" &
PROXY=$!
PIDS+=("$PROXY")
wait_file "$T/handoff.sock"
build/tagshaked --config "$T/tagshake.yaml" --status "$T/status" 2>"$T/hs.log" &
HS=$!
PIDS+=("$HS")
wait_file "$T/status"
sleep 0.5

check_eq "tagshaked hands off with kTLS" "$(sed -n 's/^mode //p' "$T/status")" ktls
for dir in U D; do
	out=$(timeout 60 build/bench/proxy_load throughput 127.0.0.1 8443 bench.test 16 $dir 2>&1)
	check_eq "kTLS socket spliced by the proxy: 16 MiB $dir, every byte checked" "$(echo "$out" | grep -q '^mbps=' && echo yes)" \
		yes
	echo "# $dir: $out"
done
out=$(timeout 60 build/bench/proxy_load latency 127.0.0.1 8443 bench.test 50 2>&1)
check_eq "50 connections: handshake done → upstream greeting" "$(echo "$out" | grep -q '^latency_us' && echo yes)" yes
echo "# $out"
kill -USR1 "$PROXY"
sleep 0.3
stats=$(grep stats: "$T/proxy.log" | tail -1 | tr ' ' '\n')
v() { echo "$stats" | sed -n "s/^$1=//p"; }
check_eq "every direction spliced (no copy fallback)" "$(v copy_dirs)" "0"
check_eq "no connection closed by an error" "$(v close_client_error) $(v close_upstream_error)" "0 0"
echo "# hand-off → upstream connected: mean $(( $(v upstream_ready_us) / $(v upstream_ready_n) )) us;" \
	"histogram ≤16/32/64/128/256/more: $(v ready_le_16us)/$(v ready_le_32us)/$(v ready_le_64us)/$(v ready_le_128us)/$(v ready_le_256us)/$(v ready_over_256us)"

# early connect with kTLS: the hand-off's TCP socket meets an upstream the
# proxy opened while the handshake finished (a reload turns it on)
echo "  early_connect: true" >>"$T/tagshake.yaml" # the hand-off section is last
kill -HUP "$HS"
sleep 1
out=$(timeout 60 build/bench/proxy_load latency 127.0.0.1 8443 bench.test 50 2>&1)
check_eq "early connect, kTLS: 50 connections, handshake done → upstream greeting" \
	"$(echo "$out" | grep -q '^latency_us' && echo yes)" yes
echo "# early connect: $out"
kill -USR1 "$PROXY"
sleep 1.1 # the status file is rewritten every second
stats=$(grep stats: "$T/proxy.log" | tail -1 | tr ' ' '\n')
# a handshake that finishes in one step (the client's Finished already
# queued when the server's flight is out) sends no early message: nothing
# to win then
sent=$(awk '$1 == "early_sent" { print $2 }' "$T/status")
check_eq "early connect, kTLS: some of the 50 handshakes announced early ($sent)" \
	"$([ "${sent:-0}" -ge 1 ] && [ "$sent" -le 50 ] && echo yes)" yes
check_eq "early connect, kTLS: every upstream opened early was taken by its hand-off" \
	"$(v early_opened) $(v early_used) $(v early_cancelled) $(v early_expired)" "$sent $sent 0 0"
check_eq "early connect, kTLS: no connection closed by an error" "$(v close_client_error) $(v close_upstream_error)" "0 0"
tap_end
