#!/bin/bash
# tagshaked in kTLS mode, inside a kernel-matrix VM (the host has no kTLS):
# the hand-off carries the TCP socket itself and tests/handoff_sink answers
# with plain read()/write() on it. Every TLS 1.3 suite and the TLS 1.2 AEADs,
# with and without a client certificate. Needs only bash and openssl.
#   scripts/vmtest.sh --kernel 6.12 build/tagshaked build/tests/handoff_sink \
#       tests/handshaker_vm_ktls.sh -- tests/handshaker_vm_ktls.sh
set -u
cd "$(dirname "$0")/.." || exit 1
T=$(mktemp -d)
PORT=8443
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
check() { local w=$1; shift; if "$@"; then ok "$w"; else not_ok "$w"; fi; }
trap 'kill $DAEMON $SINK 2>/dev/null; wait 2>/dev/null; rm -rf "$T"' EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
	-keyout "$T/ca.key" -out "$T/ca.crt" -subj /CN=vm-ca 2>/dev/null
for name in edge client1; do
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$T/$name.key" -subj "/CN=$name" -out "$T/$name.csr" 2>/dev/null
	printf 'subjectAltName=DNS:open.test,DNS:api.test\n' > "$T/$name.ext"
	openssl x509 -req -in "$T/$name.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial \
		-days 2 -extfile "$T/$name.ext" -out "$T/$name.crt" 2>/dev/null
done
cat > "$T/ts.yaml" <<YAML
listeners:
  - { address: 127.0.0.1, port: $PORT, workers: 1 }
certificates:
  - { name: edge, chain: $T/edge.crt, key: $T/edge.key }
ca_sets:
  - { name: clients, files: $T/ca.crt }
policies:
  - { sni: open.test, action: none }
  - { sni: api.test, action: require, ca_set: clients }
handoff:
  socket: $T/h.sock
YAML
build/tests/handoff_sink "$T/h.sock" > "$T/sink.out" 2>&1 &
SINK=$!
build/tagshaked --config "$T/ts.yaml" --status "$T/status" 2>"$T/hs.log" &
DAEMON=$!
for _ in $(seq 100); do [ -s "$T/status" ] && [ -S "$T/h.sock" ] && break; sleep 0.05; done
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
k=$(stat_get ktls)
r=$(sed -n 's/^relay //p' "$T/status")
echo "# hand-offs: ktls=$k relay=$r"
check "every hand-off used kTLS (7), none fell back to the relay" test "$k/$r" = "7/0"
echo "1..$n"
[ "$failed" -eq 0 ]
