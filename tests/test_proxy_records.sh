#!/bin/bash
# Records mode (handoff.records: true, issue 17): tagshaked hands the TCP
# socket itself to the proxy with the TLS 1.3 traffic secrets, and the proxy
# runs the record layer (lib/tls_record.h). Real tagshaked, proxy, clients
# (openssl s_client, curl, python3 ssl) and upstreams: the mode in the
# connection log and the counters; no secret reaches a PROXY v2 upstream;
# 1 MiB each way byte-exact over raw, HTTP/1.1 and HTTP/2 routes; KeyUpdate
# from the client; close_notify from the client and EOF from the upstream
# both end cleanly, both ways; a records hand-off without usable secrets is
# refused, counted and logged; a held connection outlives a killed
# tagshaked. The other proxy suites run in this mode
# with TS_HANDOFF_RECORDS=1 (tests/config.sh).
TS_HANDOFF_RECORDS=1
. "$(dirname "$0")/proxy_lib.sh"

make_certs
write_config "$FEED_PORT" 1 <<YAML
certificates:
  - { name: edge, chain: pki/server.crt, key: pki/server.key }
ca_sets:
  - { name: clients, files: [pki/ca.crt] }
routes:
  - { name: echo, upstream: "unix:$T/echo.sock", metadata: raw }
  - { name: dump, upstream: "unix:$T/dump.sock", metadata: proxy-v2 }
  - { name: http, upstream: 127.0.0.1:$NGX_PORT, metadata: http, headers: kong }
  - { name: greet, upstream: "unix:$T/greet.sock", metadata: raw }
policies:
  - { sni: raw.test, action: none, route: echo }
  - { sni: pp.test, action: optional, ca_set: clients, route: dump }
  - { sni: kong.test, action: require, ca_set: clients, route: http }
  - { sni: open.test, action: none, route: http }
  - { sni: hap.test, action: none, route: greet }
defaults:
  default: { action: none, route: echo }
  no-sni: { action: none, route: echo }
logging:
  level: info
  connections: true
timeouts:
  idle: 3s
YAML
check "handoff.records: true in the configuration" grep -qx '  records: true' "$T/tagshake.yaml"
start_peer echo-server "$T/echo.sock"
start_peer pp2-dump "$T/dump.sock" "$T/dump.log"
start_peer greeter "$T/greet.sock" "$T/greet.log"
start_nginx
start_proxy
start_handshaker
HS_PID=${PIDS[-1]}
wait_for "$T/echo.sock" && wait_for "$T/dump.sock" && wait_for "$T/greet.sock" || bail "upstreams started"
CA=$T/pki/server.crt
conn_lines() { grep 'msg=proxy_conn' "$T/proxy.log"; }

# --- the mode: connection log and counters ---------------------------------
out=$(peers tls-client "$FEED_PORT" raw.test "$CA" "" "" 'hello-records')
check_eq "raw route: plaintext echoed, the client's EOF carried through" "$out" "hello-recordsbye"
check_until "connection log: mode=records" 1 2 sh -c "grep -c 'msg=proxy_conn result=done sni=raw.test .* mode=records ' '$T/proxy.log'"
check_eq "counted mode_records, no relay or kTLS hand-off" \
	"$(proxy_stat mode_records) $(proxy_stat mode_relay) $(proxy_stat mode_ktls)" "1 0 0"
check_eq "both directions copied (splice is off for a records client)" \
	"$(proxy_stat copy_dirs) $(proxy_stat splice_dirs)" "2 0"

# --- PROXY v2: the secrets stay with the proxy ------------------------------
# the client's own view of the secrets (NSS key log) against every byte of
# the header the upstream received
out=$(printf 'x' | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$FEED_PORT" -servername pp.test \
	-CAfile "$CA" -cert "$T/pki/client.crt" -key "$T/pki/client.key" -keylogfile "$T/keylog" 2>/dev/null)
check_eq "proxy-v2 route: the upstream answered through the record layer" "$out" "dumped"
header=$(sed -n 's/.* header=//p' "$T/dump.log")
secrets=$(awk '/^(CLIENT|SERVER)_TRAFFIC_SECRET_0 / { print tolower($3) }' "$T/keylog")
check_eq "the client logged both application traffic secrets (test premise)" "$(echo "$secrets" | grep -c '^[0-9a-f]\{64,96\}$')" 2
leaked=0
for s in $secrets; do [[ $header == *"$s"* ]] && leaked=$((leaked + 1)); done
check_eq "neither traffic secret is in the PROXY v2 header" "$leaked" 0
check_eq "MODE TLV: records (4), its only sub-TLV the generation (no records sub-TLV 02)" \
	"$(sed 's/ header=.*//' "$T/dump.log")" "mode=4 subtlvs=01"

# --- bulk, byte-exact: raw, HTTP/1.1, HTTP/2 ---------------------------------
out=$(peers tls-bulk "$FEED_PORT" raw.test "$CA" 1)
check_eq "raw: 1 MiB up and the same 1 MiB down at once, byte for byte" "${out% *}" match
echo "# raw over records: ${out#* } MB/s each way"
head -c 1048576 /dev/urandom | base64 -w0 | head -c 1048576 >"$T/body"
for v in --http1.1 --http2; do
	tls_curl kong.test /body "${CLIENT_CERT[@]}" "$v" --data-binary "@$T/body" -o "$T/resp$v"
	check_eq "http route, curl $v: 1 MiB request body up, the same 1 MiB back in the response" \
		"$(cmp <(sed 's/^.* body=//' "$T/resp$v" | head -c 1048576) "$T/body" && echo same)" same
done

# --- KeyUpdate from the client ----------------------------------------------
# s_client's "K": KeyUpdate with update_requested (the proxy then updates
# its own keys before its next record), "k": without. Data after each.
{ echo before; sleep 0.5; echo K; sleep 0.5; echo middle; sleep 0.5; echo k; sleep 0.5; echo after; sleep 0.5; } |
	timeout 10 openssl s_client -msg -connect "127.0.0.1:$FEED_PORT" -servername raw.test -CAfile "$CA" >"$T/ku.out" 2>&1
check_eq "data after each client KeyUpdate echoed through the new keys" \
	"$(grep -x 'before\|middle\|after' "$T/ku.out" | tr '\n' ' ')" "before middle after "
check_eq "the client sent two KeyUpdates" "$(grep -c '^>>> .*KeyUpdate' "$T/ku.out")" 2
check_eq "the proxy answered update_requested with its own KeyUpdate, once" "$(grep -c '^<<< .*KeyUpdate' "$T/ku.out")" 1
check "s_client saw no error, no fatal alert" bash -c "! grep -qi 'error\|fatal' '$T/ku.out'"

# --- the ends of the stream ---------------------------------------------------
out=$(peers tls-close "$FEED_PORT" raw.test "$CA" client ping)
check_eq "the client's close_notify: the upstream sees EOF, its last bytes arrive, then the proxy's close_notify" \
	"$out" "pingbye close_notify"
out=$(peers tls-close "$FEED_PORT" hap.test "$CA" server "late data")
check_eq "the upstream's EOF: the client gets its bytes, then close_notify (its own side still open)" \
	"$out" "hello close_notify"
check_until "after it, the client's late bytes still reached the upstream" "late data" 2 cat "$T/greet.log"
check_until "every connection so far closed as done" 8 2 proxy_stat close_done
check_eq "no connection closed in error" "$(proxy_stat close_client_error) $(proxy_stat close_upstream_error)" "0 0"

# --- records hand-offs the proxy cannot serve (sent by hand: tagshaked
# never builds them), each closed without a byte, counted and logged -------
check_eq "records mode without its secrets: closed" \
	"$(peers records-refused "$T/handoff.sock" raw.test 1301 0)" closed
check_eq "... counted handoff_bad (ts_handoff_recv refuses the message)" "$(proxy_stat handoff_bad)" 1
check "... logged" grep -q 'hand-off refused: malformed message (.*records mode without its secrets)' "$T/proxy.log"
check_eq "a suite the record layer does not take (TLS_AES_128_CCM_SHA256): closed" \
	"$(peers records-refused "$T/handoff.sock" raw.test 1304 32)" closed
check "... logged with the suite" grep -q 'hand-off refused: records mode with a cipher suite the record layer does not take (suite 0x1304)' "$T/proxy.log"
check_eq "secrets of SHA-384's length for a SHA-256 suite: closed" \
	"$(peers records-refused "$T/handoff.sock" raw.test 1301 48)" closed
check "... logged" grep -q 'hand-off refused: records mode with secrets that do not fit the suite (suite 0x1301)' "$T/proxy.log"
check_eq "both counted close_records_refused, each with its connection line" \
	"$(proxy_stat close_records_refused) $(conn_lines | grep -c 'result=records_refused sni=raw.test')" "2 2"
check_eq "no connection served for them" "$(proxy_stat mode_records)" 8

# --- tagshaked killed: a records connection is the proxy's alone -----------
# In relay mode tagshaked carries every byte, so only kTLS could keep a
# connection alive without it; in records mode the proxy holds the socket
# and the keys. -quiet also ignores stdin's EOF: the line is the data.
coproc HELD { timeout 20 openssl s_client -quiet -connect "127.0.0.1:$FEED_PORT" \
	-servername raw.test -CAfile "$CA" 2>/dev/null; }
echo before >&"${HELD[1]}"
read -r -t 5 first <&"${HELD[0]}"
check_eq "a held connection echoes through the proxy" "${first:-}" before
kill -9 "$HS_PID"
wait "$HS_PID" 2>/dev/null
echo after >&"${HELD[1]}"
read -r -t 5 second <&"${HELD[0]}"
check_eq "tagshaked killed (SIGKILL): the same connection still echoes" "${second:-}" after
check_fails "and tagshaked is gone: no new connection" \
	timeout 5 openssl s_client -connect "127.0.0.1:$FEED_PORT" -servername raw.test </dev/null
kill "$HELD_PID" 2>/dev/null
tap_end
