#!/bin/bash
# Issue 12, case 3: floods of connections that never speak. 2,000 idle TCP
# connections against one worker with the default in-flight bound (1,024):
# the oldest silent ones are shed, so a real client (python ssl, OpenSSL)
# still finishes its handshake in under 100 ms; a silent connection is cut
# at timeouts.client_hello, not at the handshake timeout; one address holds
# at most limits.handshakes_per_source. Real tagshaked, real sockets.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d /tmp/tagshake-floods.XXXXXX)
. "$ROOT/tests/handshaker_lib.sh"
. "$ROOT/tests/tap.sh"
PORT=$(free_port)
FLOOD="python3 $ROOT/tests/flood_clients.py"
CA="$T/server-ca.crt"
FLOOD_PID=
trap '[ -n "$FLOOD_PID" ] && kill "$FLOOD_PID" 2>/dev/null; stop_all; rm -rf "$T"' EXIT

# 2,000 sockets in the flood, as many in tagshaked
ulimit -n 8192 2>/dev/null || true
if [ "$(ulimit -n)" -lt 4200 ]; then
	skip "floods" "needs 4,200 file descriptors (ulimit -n is $(ulimit -n))"
	tap_end
	exit 0
fi

make_pki
# one worker, the default in-flight bound; the handshake timeout of the
# issue (10 s): before, a client behind the flood waited for it
hs_config "$PORT" ""
sed -i 's/workers: 2/workers: 1/; s/handshake: 2s/handshake: 10s/' "$T/tagshake.yaml"
start_sink || bail "hand-off sink started"
start_daemon || bail "tagshaked started"

# --- 2,000 silent connections from 40 addresses (50 each)
$FLOOD idle "$PORT" 2000 2 50 "$T/flood.ready" 2 >"$T/flood.out" &
FLOOD_PID=$!
for _ in $(seq 100); do [ -s "$T/flood.ready" ] && break; sleep 0.05; done
check_eq "flood: 2,000 idle connections established" "$(cat "$T/flood.ready")" "connected 2000"
sleep 0.3 # the worker works through its accept queue
o=$($FLOOD handshake "$PORT" open.test "$CA")
ms=$(sed -n 's/^handshake ok ms=\([0-9]*\)$/\1/p' <<<"$o")
check "a real client behind the flood: handshake in < 100 ms ($o)" \
	test -n "$ms" -a "${ms:-100000}" -lt 100
# the bound, less the slot the client had until its hand-off
check_eq "in flight stays at the bound (1024 - the client handed off)" "$(stat_now inflight)" 1023
shed=$(stat_get shed_idle)
check "the oldest silent connections were shed (shed_idle=$shed >= 976)" test "$shed" -ge 976
wait "$FLOOD_PID"
FLOOD_PID=
closed=$(sed -n 's/^closed \([0-9]*\) of 2000$/\1/p' "$T/flood.out")
check_eq "the flood saw exactly the shed ones closed (before the 3 s ClientHello timeout)" \
	"${closed:-none}" "$shed"
stop_all

# --- the ClientHello timeout: silence is cut at timeouts.client_hello (1 s),
# long before the handshake timeout (10 s)
hs_config "$PORT" ""
sed -i 's/workers: 2/workers: 1/; s/handshake: 2s/handshake: 10s\n  client_hello: 1s/' \
	"$T/tagshake.yaml"
start_sink || bail "hand-off sink started"
start_daemon || bail "tagshaked started"
o=$($FLOOD silent "$PORT" 127.0.0.1)
s=$(sed -n 's/^closed after \([0-9.]*\) s$/\1/p' <<<"$o")
check "a silent connection is closed after the 1 s ClientHello timeout ($o)" \
	awk -v s="${s:-99}" 'BEGIN { exit !(s >= 0.9 && s <= 1.6) }'
check_eq "counted as a ClientHello timeout (and a handshake timeout)" \
	"$(stat_now hello_timeout) $(stat_get handshake_timeout)" "1 1"
# negative control: a client that speaks is not held to it (the handshake
# itself takes ms; its decision moves it to the handshake timeout)
o=$($FLOOD handshake "$PORT" open.test "$CA")
check "a speaking client still completes ($o)" grep -q '^handshake ok' <<<"$o"
stop_all

# --- one address holds at most limits.handshakes_per_source
hs_config "$PORT" "limits:
  handshakes_per_source: 4"
# the four are held past the checks (4 s): no timeout ends them before
sed -i 's/workers: 2/workers: 1/; s/handshake: 2s/handshake: 10s\n  client_hello: 10s/' \
	"$T/tagshake.yaml"
start_sink || bail "hand-off sink started"
start_daemon || bail "tagshaked started"
$FLOOD idle "$PORT" 10 9 10 "$T/src.ready" 4 >"$T/src.out" &
FLOOD_PID=$!
for _ in $(seq 100); do [ -s "$T/src.ready" ] && break; sleep 0.05; done
sleep 0.3
check_eq "10 silent connections from 127.0.0.9: 4 in flight, 6 closed at accept" \
	"$(stat_now inflight) $(stat_get source_limit)" "4 6"
o=$($FLOOD handshake "$PORT" open.test "$CA" 127.0.0.1)
check "another address is not affected ($o)" grep -q '^handshake ok' <<<"$o"
o=$($FLOOD handshake "$PORT" open.test "$CA" 127.0.0.9)
check "that address gets no fifth handshake while its four are held ($o)" \
	grep -q '^handshake failed' <<<"$o"
wait "$FLOOD_PID"
FLOOD_PID=
check_eq "the flood saw 6 of its 10 closed at once" "$(cat "$T/src.out")" "closed 6 of 10"
stop_all

tap_end
