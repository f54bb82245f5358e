#!/bin/bash
# tagshaked in kTLS mode, inside a kernel-matrix VM (the host has no kTLS):
# the hand-off carries the TCP socket itself and tests/handoff_sink answers
# with plain read()/write() on it. Every TLS 1.3 suite and the TLS 1.2 AEADs,
# with and without a client certificate. Then, with the sink echoing every
# byte (tests/handshaker_peer checks each one): application data in the same
# TCP segment as the client's Finished (queued before the handshaker installs
# kTLS receive), and a client KeyUpdate after the hand-off, which these
# kernels cannot follow: the connection must end, nothing after it delivered
# (to the sink, and through tagshake-proxy to an echo upstream, busybox nc).
# Needs only bash, busybox, openssl and the listed binaries.
#   scripts/vmtest.sh --kernel 6.12 build/tagshaked build/tagshake-proxy \
#       build/tests/handoff_sink build/tests/handshaker_peer \
#       tests/handshaker_vm_ktls.sh -- tests/handshaker_vm_ktls.sh
set -u
cd "$(dirname "$0")/.." || exit 1
T=$(mktemp -d)
PORT=8443
. tests/tap.sh
. scripts/pki.sh
. tests/config.sh
PROXY=
trap 'kill $DAEMON $SINK $PROXY 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT

pki_ca "$T" ca /CN=vm-ca || bail "test PKI"
for name in edge client1; do
	pki_cert "$T" "$name" ca "/CN=$name" 'subjectAltName=DNS:open.test,DNS:api.test' || bail "test PKI"
done
write_config "$PORT" 1 <<YAML
certificates:
  - { name: edge, chain: $T/edge.crt, key: $T/edge.key }
ca_sets:
  - { name: clients, files: $T/ca.crt }
policies:
  - { sni: open.test, action: none }
  - { sni: api.test, action: require, ca_set: clients }
YAML
build/tests/handoff_sink "$T/handoff.sock" > "$T/sink.out" 2>&1 &
SINK=$!
build/tagshaked --config "$T/tagshake.yaml" --status "$T/status" 2>"$T/hs.log" &
DAEMON=$!
for _ in $(seq 100); do [ -s "$T/status" ] && [ -S "$T/handoff.sock" ] && break; sleep 0.05; done
sleep 0.3

stat_get() { sleep 1.1; sed -n "s/^$1 //p" "$T/status"; }
sc() { # sc SNI ARGS...: request, answer
	local sni=$1
	shift
	(printf 'GET / HTTP/1.0\r\n\r\n'; sleep 1) | timeout 10 openssl s_client \
		-connect "127.0.0.1:$PORT" -servername "$sni" -CAfile "$T/ca.crt" -ign_eof "$@" 2>&1
}

check "status: mode ktls" grep -q '^mode ktls$' "$T/status"
for c in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
	o=$(sc open.test -tls1_3 -ciphersuites "$c")
	check "TLS 1.3 $c: answered through the kTLS socket" \
		grep -q "^handoff mode=ktls .*version=TLSv1.3 cipher=$c " <<<"$o"
done
for c in ECDHE-ECDSA-AES128-GCM-SHA256 ECDHE-ECDSA-AES256-GCM-SHA384 ECDHE-ECDSA-CHACHA20-POLY1305; do
	o=$(sc open.test -tls1_2 -cipher "$c")
	check "TLS 1.2 $c: answered through the kTLS socket" \
		grep -q "^handoff mode=ktls .*version=TLSv1.2 cipher=$c " <<<"$o"
done
o=$(sc api.test -cert "$T/client1.crt" -key "$T/client1.key")
check "require with a certificate: identity handed off with the kTLS socket" \
	grep -q '^handoff mode=ktls action=2 .*verify=0 .* cn=client1 ' <<<"$o"
o=$(sc api.test)
check "require without a certificate: refused (116)" grep -q 'alert number 116' <<<"$o"

# --- the sink now echoes: data behind Finished, KeyUpdate after hand-off
kill "$SINK"
wait "$SINK" 2>/dev/null
build/tests/handoff_sink "$T/handoff.sock" echo > "$T/echo.out" 2>&1 &
SINK=$!
for _ in $(seq 100); do [ -S "$T/handoff.sock" ] && break; sleep 0.05; done
# peer ARGS...: runs the client, prints its line, then the sink's two lines
# for that connection (hand-off, echo)
peer() {
	local o p
	o=$(timeout 20 build/tests/handshaker_peer 127.0.0.1 "$PORT" "$@" 2>&1)
	p=$(sed -n 's/^port=\([0-9]*\) .*/\1/p' <<<"$o")
	echo "$o"
	[ -n "$p" ] || return 0
	for _ in $(seq 40); do grep -q "^echo peerport=$p " "$T/echo.out" && break; sleep 0.05; done
	grep "peerport=$p " "$T/echo.out"
}
early_ok() { # early_ok OUTPUT BYTES RESUMED VERSION: every byte back, kTLS, clean end
	grep -q "^port=[0-9]* resumed=$3 first=$2/$2/1 after=0/0/0 end=eof$" <<<"$1" &&
		grep -q "^handoff mode=ktls .* resumed=$3 .* version=$4 " <<<"$1" &&
		grep -q "^echo peerport=[0-9]* in=$2 out=$2 end=close_notify$" <<<"$1"
}
for c in TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384 TLS_CHACHA20_POLY1305_SHA256; do
	o=$(peer open.test early 3000 -C "$c")
	check "TLS 1.3 $c: 3000 B in the segment of the client's Finished, echoed byte for byte through kTLS" \
		early_ok "$o" 3000 0 TLSv1.3
done
o=$(peer open.test early 200000)
check "TLS 1.3: 200000 B behind Finished (13 records, 4 queued with it), echoed byte for byte" \
	early_ok "$o" 200000 0 TLSv1.3
o=$(peer api.test early 3000 -c "$T/client1.crt" -k "$T/client1.key")
check "TLS 1.3 with a client certificate: data behind Finished, echoed, identity kept" \
	early_ok "$o" 3000 0 TLSv1.3
check "... identity kept" grep -q '^handoff mode=ktls action=2 .* cn=client1 ' <<<"$o"
o=$(peer open.test early 3000 -r)
check "TLS 1.3 resumed (PSK): data behind Finished, echoed byte for byte" early_ok "$o" 3000 1 TLSv1.3
o=$(peer open.test early 3000 -r -2)
check "TLS 1.2 resumed (client Finished ends the handshake): data behind it, echoed" \
	early_ok "$o" 3000 1 TLSv1.2
for ku in keyupdate keyupdate-req; do
	o=$(peer open.test $ku 5000)
	echo "$o" | sed 's/^/# /'
	check "$ku: 5000 B before it echoed byte for byte through kTLS" \
		grep -q '^port=[0-9]* resumed=0 first=5000/5000/1 ' <<<"$o"
	check "$ku: the kTLS socket reports the KeyUpdate (handshake record, type 24) and ends" \
		grep -q '^echo peerport=[0-9]* in=5000 out=5000 end=handshake-24$' <<<"$o"
	check "$ku: nothing after it delivered or echoed, the client sees the connection end" \
		grep -Eq '^port=[0-9]* resumed=0 first=5000/5000/1 after=5000/0/1 end=(eof|reset)$' <<<"$o"
done

k=$(stat_get ktls)
r=$(sed -n 's/^relay //p' "$T/status")
echo "# hand-offs: ktls=$k relay=$r"
# in mode ktls a relay hand-off is a connection kTLS was refused for
check "every hand-off used kTLS (7 + 11), none fell back to the relay" test "$k/$r" = "18/0"

# --- the same KeyUpdate through tagshake-proxy: an echo upstream (busybox nc
# running tee, which keeps what it got) must receive the bytes before it and
# nothing after; the proxy closes and counts the connection
kill "$DAEMON" "$SINK"
wait "$DAEMON" "$SINK" 2>/dev/null
sed -e 's/^handoff:/routes:\n  - { name: echo, upstream: 127.0.0.1:9000, metadata: raw }\nhandoff:/' \
	-e 's/{ sni: open.test, action: none }/{ sni: open.test, action: none, route: echo }/' \
	"$T/tagshake.yaml" > "$T/px.yaml"
printf '#!/bin/sh\nexec tee -a %s/upstream.bin\n' "$T" > "$T/echo.sh"
chmod +x "$T/echo.sh"
: > "$T/upstream.bin"
busybox nc -ll -p 9000 -e "$T/echo.sh" &
SINK=$!
rm -f "$T/handoff.sock" "$T/status"
build/tagshake-proxy --config "$T/px.yaml" --workers 1 2>"$T/proxy.log" &
PROXY=$!
for _ in $(seq 100); do [ -S "$T/handoff.sock" ] && break; sleep 0.05; done
build/tagshaked --config "$T/px.yaml" --status "$T/status" 2>>"$T/hs.log" &
DAEMON=$!
for _ in $(seq 100); do [ -s "$T/status" ] && break; sleep 0.05; done
sleep 0.3
o=$(timeout 20 build/tests/handshaker_peer 127.0.0.1 "$PORT" open.test keyupdate 5000 2>&1)
echo "# $o"
check "proxy: 5000 B echoed by the upstream through the kTLS socket, then the connection ends" \
	grep -Eq '^port=[0-9]* resumed=0 first=5000/5000/1 after=5000/0/1 end=(eof|reset)$' <<<"$o"
sleep 0.3
check "proxy: the upstream got exactly the 5000 B sent before the KeyUpdate" \
	test "$(wc -c < "$T/upstream.bin")" = 5000
kill -USR1 "$PROXY"
sleep 0.3
px=$(grep 'stats:' "$T/proxy.log" | tail -1)
echo "# $px"
check "proxy: the connection closed and counted as a client error" \
	grep -q ' close_client_error=1 ' <<<"$px "
kill "$PROXY"
wait "$PROXY" 2>/dev/null
tap_end
