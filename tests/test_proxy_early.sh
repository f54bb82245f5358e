#!/bin/bash
# Early connect (handoff.early_connect, docs/security.md): for a `none`
# policy tagshaked tells the proxy the route once the ClientHello is
# decided and the proxy connects upstream while the handshake finishes.
# A handshake that then fails (client abort, handshake timeout) sends no
# byte upstream and closes that connection; so do the proxy's own timeout
# (no cancel came: tagshaked stopped) and the loss of the link (tagshaked
# killed); `require` and `optional` routes never see an upstream
# connection before the handshake succeeded.
# The upstream (proxy_peers.py recorder) logs every connection it accepts
# and the bytes it received before it closed.
. "$(dirname "$0")/proxy_lib.sh"

REC_PORT=$SLOW_PORT
REC=$T/recorder.log
make_certs
write_config "$FEED_PORT" 1 <<YAML
certificates:
  - { name: edge, chain: pki/server.crt, key: pki/server.key }
ca_sets:
  - { name: clients, files: [pki/ca.crt] }
routes:
  - { name: rec, upstream: 127.0.0.1:$REC_PORT, metadata: raw }
  - { name: rec-pp, upstream: 127.0.0.1:$REC_PORT, metadata: proxy-v2 }
policies:
  - { sni: raw.test, action: none, route: rec }
  - { sni: pp.test, action: none, route: rec-pp }
  - { sni: secure.test, action: require, ca_set: clients, route: rec }
  - { sni: opt.test, action: optional, ca_set: clients, route: rec }
timeouts:
  handshake: 1s
  handoff: 1s
logging:
  connections: true
YAML
echo "  early_connect: true" >>"$T/tagshake.yaml" # the hand-off section is last
: >"$REC"
start_peer recorder "$REC_PORT" "$REC"
wait_for "$REC_PORT"
start_proxy
"$ROOT/build/tagshaked" --config "$T/tagshake.yaml" --status "$T/status" 2>"$T/handshaker.log" &
HS_PID=$!
PIDS+=("$HS_PID")
wait_for "$FEED_PORT"

# hs NAME: tagshaked's counter (status file, rewritten every second)
hs() { awk -v k="$1" '$1 == k { print $2 }' "$T/status" 2>/dev/null; }
# check_hs "what" NAME EXPECTED: waits up to 5 s for the status file
check_hs() { check_until "$1" "$3" 5 hs "$2"; }
# rec_wait LINES: waits up to 3 s for the recorder's log to have LINES lines
rec_wait() {
	for _ in $(seq 1 60); do
		[ "$(wc -l <"$REC")" -ge "$1" ] && return
		sleep 0.05
	done
}
client() { # SNI [CERT KEY]: "ping" through, prints what came back
	python3 "$ROOT/tests/proxy_peers.py" tls-client "$FEED_PORT" "$1" "$T/pki/server.crt" \
		"${2:-}" "${3:-}" ping 2>>"$T/peers.log"
}

# --- none: the upstream is opened early and used by the hand-off ---------
out=$(client raw.test)
check_eq "none, early connect: the upstream's greeting and the echo arrive" "$out" $'hello\nping'
check_hs "tagshaked: one early-connect message sent" early_sent 1
check_stat "proxy: one upstream opened early" early_opened 1
check_stat "proxy: the hand-off took it" early_used 1
rec_wait 2
check_eq "recorder: one connection, which got the 4 bytes" "$(cat "$REC")" $'open 1\nclose 1 bytes=4'

# --- none, client aborts after its ClientHello ---------------------------
: >"$REC"
out=$(python3 "$ROOT/tests/proxy_peers.py" abort-hello "$FEED_PORT" raw.test 0.3 2>>"$T/peers.log")
check_eq "client sent a ClientHello and closed" "$out" aborted
check_hs "tagshaked: the failed handshake cancelled its early connect" early_cancelled 1
check_stat "proxy: the upstream opened early for it" early_opened 2
check_stat "proxy: closed on the cancel" early_cancelled 1
check_stat "proxy: no hand-off came for it" handoffs 1
rec_wait 2
check_eq "recorder: the upstream connection was closed without a byte sent" "$(cat "$REC")" \
	$'open 2\nclose 2 bytes=0'

# --- none (proxy-v2 route), the client hangs: handshake timeout ------------
: >"$REC"
python3 "$ROOT/tests/proxy_peers.py" abort-hello "$FEED_PORT" pp.test hang 2>>"$T/peers.log" &
HANG=$!
PIDS+=("$HANG")
check_hs "tagshaked: handshake timed out after 1 s" handshake_timeout 1
check_hs "tagshaked: and cancelled its early connect" early_cancelled 2
check_stat "proxy: the upstream opened early for it" early_opened 3
check_stat "proxy: closed on the cancel (proxy-v2 route)" early_cancelled 2
rec_wait 2
check_eq "recorder: proxy-v2 route, no PROXY header sent, closed" "$(cat "$REC")" \
	$'open 3\nclose 3 bytes=0'
kill "$HANG" 2>/dev/null

# --- require / optional: nothing upstream before the handshake succeeds ---
: >"$REC"
out=$(client secure.test)
check_eq "require without a certificate: no data" "$out" ""
out=$(client secure.test "$T/pki/leaf.crt" "$T/pki/leaf.key")
check_eq "require with a certificate from another CA: no data" "$out" ""
out=$(python3 "$ROOT/tests/proxy_peers.py" abort-hello "$FEED_PORT" opt.test 0.3 2>>"$T/peers.log")
check_eq "optional, client aborts after its ClientHello" "$out" aborted
check_hs "tagshaked: four failed handshakes (one before, three here)" handshake_failed 4
check_hs "tagshaked: no early-connect message for require or optional" early_sent 3
check_stat "proxy: no upstream opened early for them" early_opened 3
sleep 0.3
check_eq "recorder: no connection from require or optional handshakes that failed" "$(wc -l <"$REC")" 0
out=$(client secure.test "$T/pki/client.crt" "$T/pki/client.key")
check_eq "require with a verified certificate: through" "$out" $'hello\nping'
check_hs "tagshaked: still no early-connect message for require" early_sent 3
check_stat "proxy: the hand-off connected (no early upstream)" early_used 1
rec_wait 2
check_eq "recorder: the connection after the handshake" "$(cat "$REC")" $'open 4\nclose 4 bytes=4'

# --- no cancel comes (tagshaked stopped): the proxy's own timeout ---------
# after timeouts.handshake + timeouts.handoff (2 s) the proxy closes it
: >"$REC"
python3 "$ROOT/tests/proxy_peers.py" abort-hello "$FEED_PORT" raw.test hang 2>>"$T/peers.log" &
HANG=$!
PIDS+=("$HANG")
check_stat "proxy: opened early for a client that hangs" early_opened 4
kill -STOP "$HS_PID"
rec_wait 2
check_eq "tagshaked stopped: the upstream closed without a byte, by the proxy's timeout" \
	"$(cat "$REC")" $'open 5\nclose 5 bytes=0'
check_stat "proxy: counted as expired" early_expired 1
kill -CONT "$HS_PID"
kill "$HANG" 2>/dev/null
check_hs "tagshaked: its handshake timed out and it sent the cancel (nothing left to close)" \
	early_cancelled 3
check_stat "proxy: a cancel for an upstream already gone changes nothing" early_cancelled 2

# --- the link closes: the proxy drops what it opened for it ---------------
: >"$REC"
python3 "$ROOT/tests/proxy_peers.py" abort-hello "$FEED_PORT" raw.test hang 2>>"$T/peers.log" &
HANG=$!
PIDS+=("$HANG")
check_stat "proxy: opened early for another client that hangs" early_opened 5
rec_wait 1
kill -9 "$HS_PID"
check_stat "proxy: tagshaked gone, its link closed: the upstream closed unused" early_cancelled 3
rec_wait 2
check_eq "recorder: closed without a byte" "$(cat "$REC")" $'open 6\nclose 6 bytes=0'
check_eq "proxy: one expired (above), none skipped" "$(proxy_stat early_expired) $(proxy_stat early_skipped)" "1 0"
kill "$HANG" 2>/dev/null
tap_end
