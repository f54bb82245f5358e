#!/bin/bash
# tagshake-proxy, proxy-v2 and raw modes against real upstreams: nginx
# (listen ... proxy_protocol), HAProxy (accept-proxy, fc_pp_authority), the
# project's TLV decoder (every value checked against the client certificate);
# half-close both ways, bulk data, upstream down, connect and idle timeouts.
# TS_HANDOFF_RECORDS=0 or 1 picks tagshaked's hand-off mode (the default is
# records; test_proxy_relay_mode.sh runs this suite in relay mode).
. "$(dirname "$0")/proxy_lib.sh"

make_certs
proxy_config
start_peer tlv-server "$T/tlv.sock" "$T/expected.json"
start_peer echo-server "$T/echo.sock"
start_peer greeter "$T/greet.sock" "$T/greet.log"
start_peer holder "$SLOW_PORT" 0
start_peer holder "$BLACK_PORT" 3
start_nginx
start_haproxy
start_proxy --idle-timeout 1000 --connect-timeout 1000
start_handshaker
wait_for "$T/tlv.sock"; wait_for "$T/echo.sock"; wait_for "$T/greet.sock"

# --- nginx with proxy_protocol: the addresses of the client ---------------
out=$(tls_curl pp.test / -w '%{local_port}')
check_eq "nginx proxy_protocol: client and server addresses from the PROXY v2 header" \
	"${out%$'\n'*}" "client=127.0.0.1:${out#*$'\n'} server=127.0.0.1:$FEED_PORT"
out=$(tls_curl pp.test / "${CLIENT_CERT[@]}" -o /dev/null -w '%{http_code}')
check_eq "nginx proxy_protocol: accepts the header with the certificate TLVs" "$out" 200

# --- HAProxy: fc_pp_authority is the SNI -----------------------------------
out=$(tls_curl hap.test /)
check_eq "haproxy accept-proxy: fc_pp_authority in the response" "$out" "authority=hap.test"
sleep 0.2
check_eq "haproxy log: fc_pp_authority equals the SNI" "$(grep -c '^authority=hap.test client=127.0.0.1:' "$T/haproxy.log")" 1

# --- every TLV against the client certificate -----------------------------
# the MODE TLV's value (include/ts_handoff.h): relay 1, records 4
MODE_TLV=$([ "$TS_NO_KTLS_MODE" = records ] && echo 4 || echo 1)
# expected_json CRT [CHAIN_CRT...]: the TLVs the upstream must decode for a
# client that sent CRT (and those chain certificates after it)
expected_json() {
	local crt=$1 key_alg fp chain="" c der
	shift
	# key algorithm as HAProxy names it: type and size ("EC256", "RSA2048")
	key_alg=$(openssl x509 -in "$crt" -noout -text | awk '/Public Key Algorithm:/ { t = ($NF == "id-ecPublicKey") ? "EC" : "RSA" }
		/Public-Key: \(/ { gsub(/[^0-9]/, "", $0); b = $0 } END { print t b }')
	fp=$(openssl x509 -in "$crt" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr A-F a-f)
	# CHAIN (0xEF): each certificate as a 3-byte length and its DER
	for c in "$@"; do
		der=$(openssl x509 -in "$c" -outform DER | od -An -v -tx1 | tr -d ' \n')
		chain+=$(printf '%06x' $((${#der} / 2)))$der
	done
	cat >"$T/expected.json" <<JSON
{
  "ssl_client": 7, "ssl_verify": 0, "cert_id": 1, "ca_id": 1,
  "cn": "$(openssl x509 -in "$crt" -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= //p')",
  "sig_alg": "$(openssl x509 -in "$crt" -noout -text | sed -n 's/^ *Signature Algorithm: //p' | head -1)",
  "key_alg": "$key_alg",
  "policy": "tlv.test", "route": $R_TLV, "action": 2, "mode": $MODE_TLV, "match": 1, "resumed": 0,
  "cert": "$(openssl x509 -in "$crt" -outform DER | od -An -v -tx1 | tr -d ' \n')",
  "fingerprint": "$fp",
  "subject": $(openssl x509 -in "$crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//' | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read().strip()))'),
  "issuer": "$(openssl x509 -in "$crt" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')",
  ${chain:+"\"chain\": \"$chain\","}
  "serial": "$(openssl x509 -in "$crt" -noout -serial | sed 's/^serial=//')"
}
JSON
}
crt=$T/pki/client.crt
expected_json "$crt"
res=$(peers tls-client "$FEED_PORT" tlv.test "$T/pki/server.crt" "$crt" "$T/pki/client.key" tlv)
count=$(echo "$res" | grep -c .)
check_eq "TLV upstream: $count values decoded and compared" "$(echo "$res" | grep -vc ' ok$')" 0
echo "$res" | grep -v ' ok$' | sed 's/^/#   /'
for want in authority alpn version cipher cn sig_alg key_alg cert fingerprint subject issuer serial peer local policy; do
	check_eq "TLV $want matches" "$(echo "$res" | grep "^$want ")" "$want ok"
done
check_eq "TLV: no chain TLV when the client sent its leaf only" "$(echo "$res" | grep "^unexpected_tlvs ")" \
	"unexpected_tlvs ok"
# a client certificate from an intermediate CA: the chain TLV (0xEF) holds
# the intermediate the client sent
expected_json "$T/pki/leaf.crt" "$T/pki/inter.crt"
res=$(peers tls-client "$FEED_PORT" tlv.test "$T/pki/server.crt" "$T/pki/chain.pem" "$T/pki/leaf.key" tlv)
check_eq "TLV upstream, client with an intermediate: every value matches" "$(echo "$res" | grep -vc ' ok$')" 0
echo "$res" | grep -v ' ok$' | sed 's/^/#   /'
check_eq "TLV chain: the intermediate, length-prefixed DER" "$(echo "$res" | grep "^chain ")" "chain ok"

# --- raw mode: half-close both ways, bulk data ------------------------------
check_eq "raw: client half-closes, upstream still answers after EOF" "$(peers half-close "$T/handoff.sock" $P_RAW)" \
	"pingbye"
check_eq "raw: upstream half-closes first, client data still arrives" "$(peers upstream-closes-first "$T/handoff.sock" $P_GREET)" \
	"hello True"
sleep 0.2
check_eq "raw: greeter upstream received the late data" "$(cat "$T/greet.log")" "late data"
check_eq "raw: 400 connections open at once, each gets its own bytes back" "$(peers many "$T/handoff.sock" $P_RAW 400)" \
	"0 of 400 wrong"
out=$(peers bulk "$T/handoff.sock" $P_RAW 64)
check_eq "raw: 64 MiB both ways at once, byte for byte" "${out% *}" match
echo "# bulk relay (splice): ${out#* } MB/s each way"
check_eq "raw through TLS: plaintext echoed, half-close carried through the relay" "$(peers tls-client "$FEED_PORT" raw.test "$T/pki/server.crt" "" "" 'hello-raw')" \
	"hello-rawbye"

# --- failures, each counted by reason ---------------------------------------
before=$(proxy_stat close_upstream_down)
out=$(tls_curl downraw.test / -o /dev/null -w '%{http_code}')
check_eq "raw, upstream refusing: client gets a clean close (no HTTP reply)" "$out" 000
out=$(tls_curl downpp.test / -o /dev/null -w '%{http_code}')
check_eq "proxy-v2, upstream refusing: clean close" "$out" 000
check_eq "close_upstream_down counted twice" "$(proxy_stat close_upstream_down)" $((before + 2))
check_eq "connect_refused counted" "$(proxy_stat connect_refused)" 2
out=$(peers timed-eof "$T/handoff.sock" $P_BLACKHOLE)
check_eq "connect timeout (1 s): closed after the timeout" "$(echo "$out" | cut -d. -f1)" "1"
check_eq "connect_timeout counted" "$(proxy_stat connect_timeout)" 1
out=$(peers timed-eof "$T/handoff.sock" $P_HOLD)
check_eq "idle timeout (1 s): closed after the timeout" "$(echo "$out" | cut -d. -f1)" "1"
check_eq "close_idle counted" "$(proxy_stat close_idle)" 1
check_eq "splice used for relayed directions" "$([ "$(proxy_stat splice_dirs)" -gt 0 ] && echo yes)" yes
check_eq "no hand-off rejected" "$(proxy_stat handoff_bad)" 0
ready_n=$(proxy_stat upstream_ready_n)
check_eq "upstream ready time measured for connected upstreams" "$([ "$ready_n" -ge 8 ] && echo yes)" yes
echo "# hand-off received → upstream connected: $(( $(proxy_stat upstream_ready_us) / ready_n )) us mean over $ready_n"

# --- SIGTERM drains: the open connection goes on, the socket file goes ---
check_eq "drain: an open connection keeps working after SIGTERM; the socket file is removed" \
	"$(peers drain "$T/handoff.sock" $P_RAW "$PROXY_PID")" "a b bye socket-gone"
wait_exit "$PROXY_PID" 5
check_eq "drain: the proxy exits 0 once its last connection closed" "$EXIT_STATUS" 0
check_eq "drain: that connection counted as done, none cut" "$(grep stats: "$T/proxy.log" | tail -1 | tr ' ' '\n' | sed -n 's/^close_shutdown=//p')" \
	"0"

# --- the proxy restarting: the handshaker stays up, a queued hand-off goes to
# the new proxy (only with tagshaked: the feeder connects per connection) ---
tls_curl hap.test / >"$T/queued.out" &
curl_pid=$!
sleep 0.5
start_proxy
wait "$curl_pid"
if [ "${PROXY_TEST_HANDSHAKER:-tagshaked}" = tagshaked ]; then
	check_eq "a connection made while the proxy was down reaches the new proxy" "$(cat "$T/queued.out")" "authority=hap.test"
fi
check_eq "after the restart: new connections flow" "$(tls_curl hap.test /)" "authority=hap.test"

# --- backpressure without spinning: small writes to an upstream that reads
# nothing fill the pipe's slots long before its bytes; the proxy must then
# sleep, not poll a readable socket it cannot drain (idle timeout here: 3 s) ---
peers stuck "$T/handoff.sock" $P_HOLD 2.5 >"$T/stuck.out" &
stuck_pid=$!
sleep 1.2
t0=$(awk '{ print $14 + $15 }' "/proc/$PROXY_PID/stat")
sleep 1
t1=$(awk '{ print $14 + $15 }' "/proc/$PROXY_PID/stat")
wait "$stuck_pid"
check_eq "blocked upstream: proxy CPU over 1 s under 5% (was 36% before the stalled-pipe fix)" "$([ $((t1 - t0)) -le $(($(getconf CLK_TCK) / 20)) ] && echo yes)" \
	yes
echo "# proxy CPU ticks in that second: $((t1 - t0)); bytes written before blocking: $(cat "$T/stuck.out")"
tap_end
