#!/bin/bash
# tagshaked with handoff.records on this host without kTLS: a TLS 1.3
# connection goes to the hand-off sink as its TCP socket plus the record
# layer's state (TS_MODE_RECORDS), and the sink runs lib/tls_record.c on it.
# Real clients (openssl s_client, curl, python3 ssl, tests/handshaker_peer):
# answers and echoes byte for byte, 1 MB each way, data in the segment of
# the client's Finished, KeyUpdates of both kinds, close_notify, every
# suite, resumption, TLS 1.2 falling back to the relay, `require` with and
# without a certificate, and the secrets absent from the forwardable block.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
. "$ROOT/tests/handshaker_lib.sh"
trap 'stop_all; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
PORT=$(free_port)
PY="python3 $ROOT/tests/handshaker_client.py"
CA="$T/server-ca.crt"

sc() { # sc SNI [s_client args...]: one s_client run, request sent, output kept
	local sni=$1
	shift
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 openssl s_client -connect "127.0.0.1:$PORT" \
		-servername "$sni" -CAfile "$CA" -ign_eof "$@" 2>&1
}
# sink_start ARGS...: the sink in the given modes (tlv always), on a fresh output
sink_start() {
	[ -n "${SINK:-}" ] && kill "$SINK" 2>/dev/null && wait "$SINK" 2>/dev/null
	"$ROOT/build/tests/handoff_sink" "$T/handoff.sock" tlv "$@" > "$T/sink.out" 2>"$T/sink.err" &
	SINK=$!
	for _ in $(seq 50); do [ -S "$T/handoff.sock" ] && return 0; sleep 0.05; done
	return 1
}
# sink_lines PORT: the sink's lines for the client's port, once its last came
sink_lines() {
	for _ in $(seq 60); do grep -q "^${2:-handoff} .*peerport=$1 " "$T/sink.out" && break; sleep 0.05; done
	grep "peerport=$1 " "$T/sink.out"
}
# peer ARGS...: tests/handshaker_peer's line, then the sink's for that connection
peer() {
	local o p
	o=$(timeout 30 "$ROOT/build/tests/handshaker_peer" 127.0.0.1 "$PORT" "$@" 2>&1)
	p=$(sed -n 's/^port=\([0-9]*\) .*/\1/p' <<<"$o")
	echo "$o"
	[ -n "$p" ] && sink_lines "$p" echo
}
echoed() { # echoed OUTPUT BYTES: the client and the sink saw every byte and close_notify
	grep -q "^port=[0-9]* resumed=[01] first=$2/$2/1 after=0/0/0 end=eof$" <<<"$1" &&
		grep -q "^handoff mode=records " <<<"$1" &&
		grep -q "^echo peerport=[0-9]* in=$2 out=$2 end=close_notify$" <<<"$1"
}
# hex of the traffic secrets in a client's key log
secrets_hex() { awk '/^(CLIENT|SERVER)_TRAFFIC_SECRET_0 / { print tolower($3) }' "$1"; }
no_secret_in() { # no_secret_in KEYLOG TLV-HEX: none of the log's secrets in the block
	local s
	[ "$(secrets_hex "$1" | wc -l)" -eq 2 ] || return 1
	for s in $(secrets_hex "$1"); do grep -q "$s" <<<"$2" && return 1; done
	return 0
}

make_pki
hs_config "$PORT" 'logging:
  connections: true'
sed -i 's|^handoff:$|handoff:\n  records: true|' "$T/tagshake.yaml"
daemon_bail() { cat "$T/daemon.err" >&2; bail "$1"; }
sink_start || daemon_bail "sink started"
start_daemon || daemon_bail "daemon started"
check_eq "status: records mode on a kernel without kTLS" "$(stat_get mode)" records

# --- answers through the record layer, and what the proxy would forward
o=$(sc open.test -keylogfile "$T/keylog")
check "s_client, TLS 1.3: answered through the record layer" \
	grep -q '^handoff mode=records action=0 .* records=1302 sni=open.test ' <<<"$o"
check "s_client: the sink's close_notify ends it cleanly" grep -q '^closed$' <<<"$o"
p=$(sed -n 's/^handoff .* peerport=\([0-9]*\) .*/\1/p' <<<"$o" | head -1)
tlv=$(sink_lines "$p" | grep '^tlv ')
check "forwardable block: MODE holds only the generation, no records sub-TLV" \
	grep -q '^tlv peerport=[0-9]* types=e3(01),02,20(21,23),' <<<"$tlv"
check "forwardable block: neither traffic secret of the client's key log in it" \
	no_secret_in "$T/keylog" "$tlv"
# positive control: the same check finds a secret that is there
check_fails "(control) a block holding a secret is caught" \
	no_secret_in "$T/keylog" "hex=00$(secrets_hex "$T/keylog" | head -1)00"

for suite in TLS_AES_128_GCM_SHA256:1301 TLS_AES_256_GCM_SHA384:1302 TLS_CHACHA20_POLY1305_SHA256:1303; do
	o=$(sc open.test -ciphersuites "${suite%:*}")
	check "${suite%:*}: handed off in records mode and answered" \
		grep -q "^handoff mode=records .* records=${suite#*:} .* cipher=${suite%:*} " <<<"$o"
done
o=$(curl -sS --cacert "$CA" --resolve "open.test:$PORT:127.0.0.1" "https://open.test:$PORT/")
check "curl: answered in records mode" grep -q '^handoff mode=records .* policy=open.test ' <<<"$o"
check_eq "python3 ssl: a request answered after the handshake" \
	"$($PY hold 127.0.0.1 "$PORT" open.test "$CA" 0 | tail -1)" "HTTP/1.1 200 OK"

# --- TLS 1.2: no records mode, the relay as before, and the log says why
o=$(sc open.test -tls1_2)
check "TLS 1.2: relayed (the sink's line says relay)" \
	grep -q '^handoff mode=relay .* version=TLSv1.2 ' <<<"$o"
check "TLS 1.2: the conn log says why" \
	grep -q 'result=ok sni=open.test .*mode=relay mode_why="not TLS 1.3"' "$T/daemon.err"

# --- require: the invariant holds in records mode
o=$(sc api.test)
check "require without a certificate: alert certificate_required (116)" \
	grep -q 'alert number 116' <<<"$o"
check_eq "require without a certificate: nothing handed off" "$(grep -c '^handoff' <<<"$o")" 0
fp=$(openssl x509 -in "$T/client1.crt" -outform DER | sha256sum | cut -d' ' -f1)
o=$(curl -sS --cacert "$CA" --resolve "api.test:$PORT:127.0.0.1" --cert "$T/client1.crt" \
	--key "$T/client1.key" "https://api.test:$PORT/")
check "require with a certificate: records mode, verified identity" \
	grep -q "^handoff mode=records action=2 route=1 match=1 resumed=0 ssl=1 client=7 verify=0 .* cn=client1 .* fp=$fp " <<<"$o"

# --- resumption: fewer session tickets after the handshake, same mode
sc open.test -sess_out "$T/open.sess" >/dev/null
o=$(sc open.test -sess_in "$T/open.sess")
check "resumed TLS 1.3 session: records mode, answered" \
	grep -q '^handoff mode=records .*resumed=1 ' <<<"$o"

# --- echo: byte for byte both ways, through KeyUpdates, to close_notify
sink_start echo || daemon_bail "echo sink started"
o=$(peer open.test early 3000)
check "3000 B in the segment of the client's Finished, echoed byte for byte" echoed "$o" 3000
o=$(peer open.test early 1048576)
check "1 MB each way, byte for byte" echoed "$o" 1048576
o=$(peer api.test early 3000 -c "$T/client1.crt" -k "$T/client1.key")
check "with a client certificate: data behind Finished, echoed" echoed "$o" 3000
for s in TLS_AES_128_GCM_SHA256 TLS_CHACHA20_POLY1305_SHA256; do
	o=$(peer open.test early 100000 -C "$s")
	check "$s: 100000 B each way" echoed "$o" 100000
done
for ku in keyupdate keyupdate-req; do
	o=$(peer open.test $ku 50000)
	check_eq "$ku: 50000 B before and 50000 B after it, every byte echoed" \
		"$(sed -n 's/^port=[0-9]* //p' <<<"$o")" \
		"resumed=0 first=50000/50000/1 after=50000/50000/1 end=eof"
	check "$ku: the sink got all 100000 B in order and a clean end" \
		grep -q "^echo peerport=[0-9]* in=100000 out=100000 end=close_notify$" <<<"$o"
done

# s_client's k and K: KeyUpdate without and with update_requested, then data;
# stdin's end sends close_notify
o=$( (printf 'one\n'; sleep 0.3; printf 'k\n'; sleep 0.3; printf 'two\n'; sleep 0.3
	printf 'K\n'; sleep 0.3; printf 'three\n'; sleep 0.5) |
	timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername open.test \
		-CAfile "$CA" -msg 2>&1)
check_eq "s_client k, K: every line echoed after each KeyUpdate" \
	"$(grep -xE 'one|two|three' <<<"$o" | tr '\n' ' ')" "one two three "
check_eq "s_client: sent two KeyUpdates" "$(grep -c '^>>> TLS 1.3, Handshake \[length 0005\], KeyUpdate' <<<"$o")" 2
check_eq "s_client: the server answered update_requested with its own KeyUpdate" \
	"$(grep -c '^<<< TLS 1.3, Handshake \[length 0005\], KeyUpdate' <<<"$o")" 1
p=$(sed -n 's/^handoff .* peerport=\([0-9]*\) .*/\1/p' "$T/sink.out" | tail -1)
check "s_client: the sink got 14 B and the client's close_notify" \
	grep -q "^echo peerport=$p in=14 out=14 end=close_notify$" <<<"$(sink_lines "$p" echo)"

# --- counters: one per hand-off by mode
check_eq "hand-offs by mode: records, relay (TLS 1.2 only)" \
	"$(stat_now records) $(stat_get relay)" "17 1"
check_eq "no relay left open, nothing waiting" "$(stat_get relays_open) $(stat_get handoff_waiting)" "0 0"

tap_end
