#!/bin/bash
# What a held connection costs the proxy: file descriptors (its two sockets
# only: pipes are held while a bulk transfer is in flight, then go back to
# the worker's pool) and memory. Counts /proc/PID/fd before, while and after
# holding N connections to an echo upstream (tests/proxy_hold.py), some of
# which moved a bulk transfer first, and checks the pipe counters. Then the
# same for N TLS connections through tagshaked in records mode
# (handoff.records: true): the proxy holds the TCP socket and the record
# layer, whose buffers go once drained (its keys stay).
TS_HANDOFF_RECORDS=1
. "$(dirname "$0")/proxy_lib.sh"

N=${FDS_CONNS:-300}
BULK=20 # connections that move BULK_MB MiB each way first (spliced)
BULK_MB=2

make_certs
proxy_config
start_peer echo-server "$T/echo.sock"
start_proxy --workers 1
wait_for "$T/echo.sock"

fds() { find "/proc/$PROXY_PID/fd" -mindepth 1 | wc -l; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$PROXY_PID/status"; }
# pipes the worker holds (pooled or in use), and in use, from the counters
held_pipes() { echo $(($(proxy_stat pipes_opened) - $(proxy_stat pipes_closed))); }
used_pipes() { echo $(($(proxy_stat pipes_taken) - $(proxy_stat pipes_returned))); }
# wait_fds WANT: up to 2 s for the count to settle (hand-off links close
# just after their message was read); prints the count
wait_fds() {
	local n
	for _ in $(seq 1 40); do
		n=$(fds)
		[ "$n" -eq "$1" ] && break
		sleep 0.05
	done
	echo "$n"
}

base=$(fds)
rss0=$(rss_kb)
# hand-offs carry the policy generation of the configuration (as peers())
TS_GENERATION=$("$ROOT/build/tagshake" check --generation "$T/tagshake.yaml")
export TS_GENERATION
coproc HOLD { timeout 60 python3 "$ROOT/tests/proxy_hold.py" "$T/handoff.sock" "$P_RAW" "$N" $BULK $BULK_MB; }
read -r -t 60 ready n_ok <&"${HOLD[0]}"
check_eq "$N connections echoed through the proxy ($BULK of them $BULK_MB MiB each way)" "$ready $n_ok" "ready $N"
check_eq "no pipe in use while every connection is idle" "$(used_pipes)" 0
pooled=$(held_pipes)
check_eq "the pipes left are pooled, at most the pool's 64" "$([ "$pooled" -ge 1 ] && [ "$pooled" -le 64 ] && echo yes)" yes
check_eq "$N idle connections hold 2 fds each (client, upstream) + 2 per pooled pipe" \
	"$(wait_fds $((base + 2 * N + 2 * pooled)))" $((base + 2 * N + 2 * pooled))
rss1=$(rss_kb)
per_conn=$(((rss1 - rss0) * 1024 / N))
echo "# proxy RSS per held connection: $per_conn bytes ($rss0 kB before, $rss1 kB with $N held; pooled pipes: $pooled)"
check_eq "RSS per held connection under 4 KiB (no buffer held while idle)" "$([ "$per_conn" -lt 4096 ] && echo yes)" yes
check_eq "spliced transfers used pipes" "$([ "$(proxy_stat pipes_taken)" -ge $BULK ] && echo yes)" yes

echo >&"${HOLD[1]}"
read -r -t 30 closed <&"${HOLD[0]}"
check_eq "every connection half-closed and got the echo's last word" "$closed" "closed: 0 wrong"
check_stat "every connection counted done" close_done "$N"
check_eq "every pipe taken was returned" "$(proxy_stat pipes_taken)" "$(proxy_stat pipes_returned)"
check_eq "after the close: the proxy's fds are back to the start + the pool" \
	"$(wait_fds $((base + 2 * $(held_pipes))))" $((base + 2 * $(held_pipes)))

# --- records mode: TLS connections through tagshaked -------------------------
start_handshaker
check_eq "a first TLS connection through tagshaked (its hand-off link, the ciphers fetched once)" \
	"$(peers tls-client "$FEED_PORT" "$P_RAW" "$T/pki/server.crt" "" "" warm)" warmbye
base=$(wait_fds "$(fds)")
rss0=$(rss_kb)
done0=$(proxy_stat close_done) taken0=$(proxy_stat pipes_taken)
coproc HOLD { timeout 120 python3 "$ROOT/tests/proxy_hold.py" tls "$FEED_PORT" "$P_RAW" "$T/pki/server.crt" "$N" $BULK 1; }
read -r -t 120 ready n_ok <&"${HOLD[0]}"
check_eq "$N TLS connections echoed ($BULK of them 1 MiB each way, 64 KiB at a time)" "$ready $n_ok" "ready $N"
check_eq "every one handed off in records mode" "$(proxy_stat mode_records)" $((N + 1))
check_eq "no pipe taken for a records client (every byte through the record layer)" \
	"$(proxy_stat pipes_taken)" "$taken0"
check_eq "$N idle records connections hold 2 fds each (the TCP socket, upstream)" \
	"$(wait_fds $((base + 2 * N)))" $((base + 2 * N))
rss1=$(rss_kb)
per_conn=$(((rss1 - rss0) * 1024 / N))
echo "# proxy RSS per held records connection: $per_conn bytes ($rss0 kB before, $rss1 kB with $N held)"
check_eq "RSS per held records connection under 8 KiB (the record layer's keys, no buffer while idle)" \
	"$([ "$per_conn" -lt 8192 ] && echo yes)" yes
echo >&"${HOLD[1]}"
read -r -t 30 closed <&"${HOLD[0]}"
check_eq "every records connection half-closed and got the echo's last word" "$closed" "closed: 0 wrong"
check_stat "every one counted done" close_done $((done0 + N))
check_eq "after the close: the proxy's fds are back to where they were" "$(wait_fds "$base")" "$base"
tap_end
