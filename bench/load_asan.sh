#!/bin/bash
# Sustained load on the sanitizer builds of the daemons (make asan).
# The tagger (build/tagshake, loaded in a child cgroup, policies imported),
# build/asan/tagshaked (relay mode, in that cgroup), build/asan/tagshake-proxy
# and an echo upstream plus nginx on loopback, PKI and configuration made
# here (tests/proxy_lib.sh). While HOLD connections are held open through
# the proxy, tests/handshaker_load runs full handshakes for SECONDS: the
# none SNI, the require SNI with a valid client certificate, a reject SNI.
# Then both daemons stop on SIGTERM and the script checks: no ASan, UBSan or
# LeakSanitizer report and a clean exit, the handshake rate, peak RSS
# (VmHWM) and RSS per held connection, and every connection's fate counted
# by the clients, tagshaked and the proxy.
#
# With TS_CHECKER=valgrind the proxy alone runs under valgrind's memcheck
# (build/tagshake-proxy, -O2 -g; leaks and errors make it exit 99) beside
# the plain build/tagshaked: a shorter run, memcheck being ~20-50x slower.
#
# Not part of `make test`. Needs root (tagger, cgroups).
#   [HOLD=3200] [TS_CHECKER=asan|valgrind] bench/load_asan.sh [SECONDS]
# fds: the container's hard RLIMIT_NOFILE is 20,000; an idle held connection
# costs the proxy 2 (hand-off socket end, upstream socket: splice pipes come
# from a bounded pool only while bytes are in flight) and tagshaked 2 per
# relayed connection.
. "$(dirname "$0")/../tests/proxy_lib.sh"

SECS=${1:-180}
HOLD=${HOLD:-3200}
PORT=$FEED_PORT
ts_sysenv || bail "cgroup v2 and bpffs found"
PINS=/sys/fs/bpf/tagshake-asan-$$
CG=$TS_CGROUP2/tagshake-asan-$$
TS=$ROOT/build/tagshake
CHECKER=${TS_CHECKER:-asan}
if [ "$CHECKER" = valgrind ]; then
	HS_BIN=$ROOT/build/tagshaked
	# a wrapper that execs, so that the proxy keeps the PID start_proxy saw
	PROXY_BIN=$T/vg-proxy
	printf '#!/bin/sh\nexec valgrind --tool=memcheck --leak-check=full --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --log-file=%s %s "$@"\n' \
		"$T/valgrind.log" "$ROOT/build/tagshake-proxy" >"$PROXY_BIN"
	chmod +x "$PROXY_BIN"
else
	HS_BIN=$ROOT/build/asan/tagshaked
	PROXY_BIN=$ROOT/build/asan/tagshake-proxy
fi
LOADER=$ROOT/build/tests/handshaker_load
ulimit -n "$(ulimit -Hn)"
# reports on stderr (hs.log, proxy.log); UBSan stops the daemon at the
# first one; LeakSanitizer runs at exit
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:print_summary=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

for b in "$PROXY_BIN" "$HS_BIN" "$LOADER" "$TS"; do
	[ -x "$b" ] || { echo "missing $b: run make && make asan" >&2; exit 1; }
done
cleanup_asan() {
	cleanup
	"$TS" unload --pin-dir "$PINS" >/dev/null 2>&1
	rmdir "$CG" 2>/dev/null
}
trap cleanup_asan EXIT

{
	raw_stack
	cat <<YAML
  - { name: kong, upstream: 127.0.0.1:$NGX_PORT, metadata: http, headers: kong }
policies:
  - { sni: raw.test, action: none, route: raw }
  - { sni: open.test, action: none, route: kong }
  - { sni: secure.test, action: require, ca_set: clients, route: kong }
  - { sni: gone.test, action: reject }
defaults:
  default: { action: reject }
timeouts:
  handshake: 5s
  handoff: 5s
  idle: 900s
limits:
  handshakes_in_flight: 4096
YAML
} | write_config "$PORT" 2 "$PINS"

hs() { awk -v k="$1" '$1 == k { print $2 }' "$T/status"; }
fds() { ls "/proc/$1/fd" | wc -l; }
kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; } # kb PID VmRSS|VmHWM
field() { sed "s/.*$1=\([0-9]*\).*/\1/" "$2"; } # field NAME FILE

make_certs
mkdir -p "$CG"
"$TS" load --port "$PORT" --cgroup "$CG" --pin-dir "$PINS" >/dev/null 2>&1 &&
	"$TS" policy import "$T/tagshake.yaml" --pin-dir "$PINS" >/dev/null
check_eq "tagger loaded, policies imported" "$?" 0
start_peer echo-server "$T/echo.sock"
wait_for "$T/echo.sock"
start_nginx
start_proxy
sh -c "echo \$\$ >'$CG/cgroup.procs' && exec '$HS_BIN' \
	--config '$T/tagshake.yaml' --status '$T/status'" 2>"$T/hs.log" &
HS_PID=$!
PIDS+=("$HS_PID")
wait_for "$PORT"
sleep 1.1
hs_rss0=$(kb "$HS_PID" VmRSS) px_rss0=$(kb "$PROXY_PID" VmRSS)
hs_fd0=$(fds "$HS_PID") px_fd0=$(fds "$PROXY_PID")
echo "# started: tagshaked ${hs_rss0} KiB, $hs_fd0 fds; proxy ${px_rss0} KiB, $px_fd0 fds"

# --- hold HOLD connections (raw route to the echo upstream) -----------------
t0=$(date +%s)
timeout $((SECS + 900)) python3 "$ROOT/tests/hostile_clients.py" hold "$PORT" raw.test \
	"$T/pki/server.crt" "$HOLD" "$T/held" $((SECS + 10)) >"$T/hold.out" &
HOLDER=$!
for _ in $(seq 1 6000); do [ -s "$T/held" ] && break; sleep 0.1; done
held=$(cat "$T/held")
hs_rss1=$(kb "$HS_PID" VmRSS) px_rss1=$(kb "$PROXY_PID" VmRSS)
hs_fd1=$(fds "$HS_PID") px_fd1=$(fds "$PROXY_PID")
echo "# held $held of $HOLD in $(($(date +%s) - t0)) s: tagshaked ${hs_rss1} KiB" \
	"($(((hs_rss1 - hs_rss0) * 1024 / held)) B per connection), $hs_fd1 fds;" \
	"proxy ${px_rss1} KiB ($(((px_rss1 - px_rss0) * 1024 / held)) B per connection), $px_fd1 fds"
check_eq "$HOLD connections held through tagshaked and the proxy" "$held" "$HOLD"

# --- sustained full handshakes while they are held --------------------------
ldr() { "$LOADER" 127.0.0.1 "$PORT" "$@"; }
ldr open.test "$SECS" >"$T/load.none" &
L1=$!
ldr secure.test "$SECS" -c "$T/pki/client.crt" -k "$T/pki/client.key" >"$T/load.require" &
L2=$!
ldr gone.test "$SECS" >"$T/load.reject" &
L3=$!
while kill -0 "$L1" 2>/dev/null; do # the connections held stay held
	sleep 10
	h=$(proxy_stat close_done) # a sample of the proxy while loaded
	echo "# t=$(($(date +%s) - t0)) s: tagshaked accepted=$(hs accepted) relays_open=$(hs relays_open)," \
		"proxy close_done=$h, RSS $(kb "$HS_PID" VmRSS)/$(kb "$PROXY_PID" VmRSS) KiB"
done
wait "$L1" "$L2" "$L3"
for k in none require reject; do echo "# load $k: $(cat "$T/load.$k")"; done
nn=$(field handshakes "$T/load.none") nr=$(field handshakes "$T/load.require")
fn=$(field failed "$T/load.none") fr=$(field failed "$T/load.require")
nj=$(field handshakes "$T/load.reject") fj=$(field failed "$T/load.reject")
echo "# full handshakes: $((nn + nr)) in $SECS s = $(((nn + nr) / SECS))/s" \
	"(none $((nn / SECS))/s, require+cert $((nr / SECS))/s), rejected $((fj / SECS))/s"
check_eq "none and require+cert: no failed connection" "$fn $fr" "0 0"
check_eq "reject SNI: every connection refused" "$nj" 0
check_eq "the handshake rate is above 20/s" "$([ $(((nn + nr) / SECS)) -gt 20 ] && echo yes)" \
	yes
still=$(fds "$PROXY_PID")
check_eq "the held connections were still open through the proxy after the load" "$([ "$still" -ge $((px_fd0 + 2 * held)) ] && echo yes)" \
	yes

# --- the holder closes; every fate counted ----------------------------------
wait "$HOLDER"
echo "# holder: $(cat "$T/hold.out")"
for _ in $(seq 1 60); do
	sleep 0.5
	[ "$(hs inflight)" = 0 ] && [ "$(hs relays_open)" = 0 ] && break
done
sleep 1.1
echo "# tagshaked: $(tr '\n' ' ' <"$T/status")"
proxy_stat handoffs >/dev/null # a fresh line of counters
echo "# proxy: $(grep 'stats:' "$T/proxy.log" | tail -1)"
clients=$((nn + nr + fn + fr + nj + fj + HOLD))
check_eq "tagshaked accepted every client connection" "$(hs accepted)" "$clients"
check_eq "tagshaked: every accepted connection has one close reason" "$(($(hs reject_tag) + $(hs reject_policy) + $(hs handshake_failed) + $(hs handshake_timeout) + $(hs handshakes)))" \
	"$(hs accepted)"
check_eq "tagshaked: every reject SNI refused on the tag" "$(hs reject_tag)" "$fj"
check_eq "tagshaked: every handshake handed off, every relay closed" "$(($(hs handoff_ok) + $(hs handoff_timeout) + $(hs handoff_error))) $(($(hs relay_closed) + $(hs relay_idle) + $(hs relay_error)))" \
	"$(hs handshakes) $(hs relay)"
check_eq "proxy: one hand-off per full handshake and held connection" "$(proxy_stat handoffs)" "$((nn + nr + held))"
check_eq "proxy: every hand-off closed with a reason" "$(proxy_closes)" "$(proxy_stat handoffs)"
hs_hwm=$(kb "$HS_PID" VmHWM) px_hwm=$(kb "$PROXY_PID" VmHWM)
echo "# peak RSS (VmHWM): tagshaked $hs_hwm KiB, proxy $px_hwm KiB"

# --- SIGTERM; the sanitizers' verdict ---------------------------------------
kill -TERM "$HS_PID"
wait_exit "$HS_PID" 60
hs_exit=$EXIT_STATUS
kill -TERM "$PROXY_PID"
wait_exit "$PROXY_PID" 60
check_eq "SIGTERM: both daemons exited 0 (a sanitizer report makes it 1, memcheck 99)" "$hs_exit $EXIT_STATUS" \
	"0 0"
reports=$(grep -hE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: ' \
	"$T/hs.log" "$T/proxy.log")
if [ "$CHECKER" = valgrind ]; then
	grep -E 'ERROR SUMMARY|All heap blocks|definitely lost|indirectly lost|possibly lost|still reachable' \
		"$T/valgrind.log" | sed 's/^/# /'
	reports+=$(grep -E 'ERROR SUMMARY: [1-9]' "$T/valgrind.log")
fi
check_eq "no $CHECKER report" "$reports" ""
[ -z "$reports" ] || { export KEEP_TMP=1; echo "# logs kept in $T"; }
tap_end
