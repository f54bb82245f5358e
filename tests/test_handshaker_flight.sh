#!/bin/bash
# tagshaked without kTLS (this host has none), in its default records mode
# or, from test_handshaker_flight_relay.sh, in relay mode, with the hand-off
# sink echoing every byte: application data in the same TCP segment as the
# client's Finished (in records mode it must stay in the socket for the
# receiver's record layer), and client KeyUpdates after the hand-off (the
# record layer or OpenSSL follows them: the data after them must arrive
# intact). TLS 1.2 is relayed in both modes.
# tests/handshaker_peer checks each byte. The kTLS side of the same cases runs
# in the kernel-matrix VMs (tests/handshaker_vm_ktls.sh).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
. "$ROOT/tests/handshaker_lib.sh"
trap 'stop_all; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
PORT=$(free_port)

make_pki
hs_config "$PORT"
"$ROOT/build/tests/handoff_sink" "$T/handoff.sock" echo > "$T/sink.out" 2>"$T/sink.err" &
SINK=$!
start_daemon || bail "daemon started"

# peer ARGS...: the client's line, then the sink's lines for that connection
peer() {
	local o p
	o=$(timeout 20 "$ROOT/build/tests/handshaker_peer" 127.0.0.1 "$PORT" "$@" 2>&1)
	p=$(sed -n 's/^port=\([0-9]*\) .*/\1/p' <<<"$o")
	echo "$o"
	[ -n "$p" ] || return 0
	for _ in $(seq 40); do grep -q "^echo peerport=$p " "$T/sink.out" && break; sleep 0.05; done
	grep "peerport=$p " "$T/sink.out"
}
# how the sink sees the client's end: the relay turns its close_notify into
# EOF, the record layer reports it
sink_end() { [ "$1" = records ] && echo close_notify || echo eof; }
MODE=$TS_NO_KTLS_MODE
early_ok() { # early_ok OUTPUT BYTES RESUMED VERSION MODE
	grep -q "^port=[0-9]* resumed=$3 first=$2/$2/1 after=0/0/0 end=eof$" <<<"$1" &&
		grep -q "^handoff mode=$5 .* resumed=$3 .* version=$4 " <<<"$1" &&
		grep -q "^echo peerport=[0-9]* in=$2 out=$2 end=$(sink_end "$5")$" <<<"$1"
}

o=$(peer open.test early 3000)
check "TLS 1.3: 3000 B in the segment of the client's Finished, echoed byte for byte" \
	early_ok "$o" 3000 0 TLSv1.3 "$MODE"
o=$(peer open.test early 200000)
check "TLS 1.3: 200000 B behind Finished, echoed byte for byte" early_ok "$o" 200000 0 TLSv1.3 "$MODE"
o=$(peer api.test early 3000 -c "$T/client1.crt" -k "$T/client1.key")
check "TLS 1.3 with a client certificate: data behind Finished, echoed" \
	early_ok "$o" 3000 0 TLSv1.3 "$MODE"
check "... identity handed off" grep -q "^handoff mode=$MODE action=2 .*verify=0 .* cn=client1 " <<<"$o"
o=$(peer open.test early 3000 -r)
check "TLS 1.3 resumed: data behind Finished, echoed" early_ok "$o" 3000 1 TLSv1.3 "$MODE"
o=$(peer open.test early 3000 -r -2)
check "TLS 1.2 resumed (the client's Finished ends the handshake): data behind it, echoed" \
	early_ok "$o" 3000 1 TLSv1.2 relay
for ku in keyupdate keyupdate-req; do
	o=$(peer open.test $ku 50000)
	check_eq "$ku: 50000 B before and 50000 B after it, every byte echoed" \
		"$(sed -n 's/^port=[0-9]* //p' <<<"$o")" \
		"resumed=0 first=50000/50000/1 after=50000/50000/1 end=eof"
	check "$ku: the sink got all 100000 B in order and a clean end" \
		grep -q "^echo peerport=[0-9]* in=100000 out=100000 end=$(sink_end "$MODE")$" <<<"$o"
done
o=$(peer api.test keyupdate-req 20000 -c "$T/client1.crt" -k "$T/client1.key")
check_eq "keyupdate-req with a client certificate: every byte echoed" \
	"$(sed -n 's/^port=[0-9]* //p' <<<"$o")" \
	"resumed=0 first=20000/20000/1 after=20000/20000/1 end=eof"
# 10 connections, 2 of them only to make the sessions that were resumed;
# in records mode only the 2 TLS 1.2 ones are relayed
relayed=$([ "$MODE" = records ] && echo 2 || echo 10)
check_eq "$relayed of 10 relayed, closed cleanly, none in error; the rest in records mode" \
	"$(stat_now relay) $(stat_get relay_closed) $(stat_get relay_error) $(stat_get records)" \
	"$relayed $relayed 0 $((10 - relayed))"

tap_end
