#!/bin/bash
# The proxy benchmark: plaintext throughput (up and down) and per-connection
# latency (TLS handshake done → first upstream byte at the client) through
# tagshaked → tagshake-proxy (raw route) versus nginx's own TLS termination
# (stream, ssl, proxy_pass) with the same certificate, the same OpenSSL and
# the same upstream (bench/proxy_load.c). Without kTLS tagshake runs two
# ways, each its own tagshaked + proxy pair in the same rounds: records
# mode (handoff.records: true: the proxy runs the TLS record layer, one
# process carries the bytes) and relay mode (tagshaked relays plaintext to
# the proxy through a socketpair). Servers are pinned to CPU 1, the
# client and the upstream to CPU 0; server CPU time is read from /proc.
# Prints a markdown table. Then the http row: an http route (llhttp
# parsing, header rewriting, keep-alive) versus nginx terminating TLS and
# proxying HTTP (keepalive upstream connections) to the same upstream (a
# second nginx, on CPU 0, answering 200 "ok"), loaded by wrk over TLS with
# small keep-alive requests, side by side in the same run, as a ratio
# (HTTP_SECONDS, HTTP_CONNS; needs wrk; HTTP=0 skips it).
# Every throughput and latency figure is the median of ROUNDS interleaved
# rounds (tagshake, nginx, tagshake, ...), with the ratio to nginx and where
# the time goes beside it: context switches (wake-ups) of the servers per MB
# or per connection from /proc, and (TRACE=1) their syscalls per MB or per
# connection from `strace -c -f` on a short extra run. The hold row opens
# HOLD TLS connections through each path to an upstream that keeps them and
# counts fds and RSS per held connection in each server process (fd limit
# 20,000, as in issue 17). PROXY_BIN/HS_BIN run other builds; OLD_DIR (a
# directory holding another build's tagshaked and tagshake-proxy) adds that
# build as a third path "old" in the same interleaved rounds (A/B/nginx).
# The build under test runs with handoff.early_connect (EARLY=0: without).
# Not part of `make test`:
#   make build/bench/proxy_load && bench/proxy_bench.sh [MB] [CONNECTIONS]
. "$(dirname "$0")/../tests/proxy_lib.sh"
. "$ROOT/bench/lib.sh"
MB=${1:-512}
CONNS=${2:-500}
LOAD=$ROOT/build/bench/proxy_load
UP_PORT=$NGX_PORT
NGX_TLS_PORT=$NGX_PP_PORT
UP_HTTP_PORT=$HAP_PORT       # the http row's upstream (nginx, CPU 0)
NGX_HTTPS_PORT=$SLOW_PORT    # nginx terminating TLS for the http row
HTTP_SECONDS=${HTTP_SECONDS:-10}
HTTP_CONNS=${HTTP_CONNS:-16}
ROUNDS=${ROUNDS:-${BENCH_ROUNDS:-3}}
HOLD=${HOLD:-1000}
TRACE=${TRACE:-1}
PROXY_BIN=${PROXY_BIN:-$ROOT/build/tagshake-proxy}
HS_BIN=${HS_BIN:-$ROOT/build/tagshaked}
HOLD_UP_PORT=$DEAD_PORT   # proxy_load holder: keeps every connection
NGX_HOLD_PORT=$BLACK_PORT # nginx stream in front of it
OLD_PORT=$((BASE + 7))    # OLD_DIR's tagshaked
OLD_DIR=${OLD_DIR:-}
if [ -n "$OLD_DIR" ] && { ! [ -x "$OLD_DIR/tagshaked" ] || ! [ -x "$OLD_DIR/tagshake-proxy" ]; }; then
	echo "proxy_bench: OLD_DIR=$OLD_DIR holds no tagshaked and tagshake-proxy" >&2
	exit 2
fi
REC_PORT=$((BASE + 8))    # the records-mode pair's tagshaked
# the tagshake paths (rows in this order), then nginx
TS_PATHS="records relay${OLD_DIR:+ old}"
PATHS="$TS_PATHS nginx"
FD_LIMIT=20000
ulimit -n $FD_LIMIT

make_certs
TS_HANDOFF_RECORDS=0 write_config "$FEED_PORT" 1 <<YAML
certificates:
  - { name: edge, chain: pki/server.crt, key: pki/server.key }
routes:
  - { name: bench, upstream: 127.0.0.1:$UP_PORT, metadata: raw }
  - { name: http, upstream: 127.0.0.1:$UP_HTTP_PORT, metadata: http }
  - { name: hold, upstream: 127.0.0.1:$HOLD_UP_PORT, metadata: raw }
policies:
  - { sni: bench.test, action: none, route: bench }
  - { sni: hold.test, action: none, route: hold }
# wrk sends no SNI to 127.0.0.1; its Host (127.0.0.1) falls to the default:
# both on the http route, so the 421 check passes
defaults:
  default: { action: none, route: http }
  no-sni: { action: none, route: http }
YAML
# an OLD_DIR build may not know handoff.records (it runs in relay mode)
if [ -n "$OLD_DIR" ]; then
	sed -e "s/port: $FEED_PORT\$/port: $OLD_PORT/" -e "s|$T/handoff.sock|$T/handoff-old.sock|" \
		-e '/^  records: /d' "$T/tagshake.yaml" >"$T/old.yaml"
fi
# the hand-off section is last: early connect for the build under test
# (EARLY=0 measures without it; an OLD_DIR build may not know the key)
[ "${EARLY:-1}" = 0 ] || echo "  early_connect: true" >>"$T/tagshake.yaml"
# the records-mode pair: the same configuration on its own port and socket
sed -e "s/port: $FEED_PORT\$/port: $REC_PORT/" -e "s|$T/handoff.sock|$T/handoff-rec.sock|" \
	-e 's/^  records: false$/  records: true/' "$T/tagshake.yaml" >"$T/records.yaml"
mkdir -p "$T/ngx"
cat >"$T/ngx/nginx.conf" <<NGX
daemon off;
worker_processes 1;
worker_rlimit_nofile $FD_LIMIT;
pid $T/ngx/nginx.pid;
error_log $T/ngx/error.log;
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
events { worker_connections 16384; }
stream {
    server {
        listen 127.0.0.1:$NGX_HOLD_PORT ssl;
        ssl_certificate $T/pki/server.crt;
        ssl_certificate_key $T/pki/server.key;
        proxy_pass 127.0.0.1:$HOLD_UP_PORT;
    }
    server {
        listen 127.0.0.1:$NGX_TLS_PORT ssl;
        ssl_certificate $T/pki/server.crt;
        ssl_certificate_key $T/pki/server.key;
        proxy_pass 127.0.0.1:$UP_PORT;
    }
}
NGX
front_nginx_http "$T/ngx" "$NGX_HTTPS_PORT ssl" "$UP_HTTP_PORT" 64 >>"$T/ngx/nginx.conf"
mkdir -p "$T/up"
upstream_nginx_conf "$T/up" "$UP_HTTP_PORT" 1024

taskset -c 0 "$LOAD" upstream "$UP_PORT" &
PIDS+=("$!")
wait_for "$UP_PORT"
taskset -c 0 "$LOAD" holder "$HOLD_UP_PORT" &
PIDS+=("$!")
wait_for "$HOLD_UP_PORT"
taskset -c 0 nginx -p "$T/up" -c "$T/up/nginx.conf" -e "$T/up/error.log" &
PIDS+=("$!")
wait_for "$UP_HTTP_PORT"
taskset -c "${PROXY_CPU:-1}" "$PROXY_BIN" --config "$T/tagshake.yaml" --workers 1 ${PROXY_ARGS:-} 2>"$T/proxy.log" &
PROXY_PID=$!
PIDS+=("$PROXY_PID")
wait_for "$T/handoff.sock"
if [ "${PROXY_TEST_HANDSHAKER:-tagshaked}" = tagshaked ]; then
	taskset -c 1 "$HS_BIN" --config "$T/tagshake.yaml" --status "$T/hs.status" 2>"$T/hs.log" &
else
	taskset -c 1 "$ROOT/build/tests/proxy_feeder" --config "$T/tagshake.yaml" --port "$FEED_PORT" 2>"$T/hs.log" &
fi
HS_PID=$!
PIDS+=("$HS_PID")
wait_for "$FEED_PORT"
taskset -c "${PROXY_CPU:-1}" "$PROXY_BIN" --config "$T/records.yaml" --workers 1 ${PROXY_ARGS:-} 2>"$T/proxy-rec.log" &
REC_PROXY_PID=$!
PIDS+=("$REC_PROXY_PID")
wait_for "$T/handoff-rec.sock"
taskset -c 1 "$HS_BIN" --config "$T/records.yaml" --status "$T/hs-rec.status" 2>"$T/hs-rec.log" &
REC_HS_PID=$!
PIDS+=("$REC_HS_PID")
wait_for "$REC_PORT"
if [ -n "$OLD_DIR" ]; then
	taskset -c "${PROXY_CPU:-1}" "$OLD_DIR/tagshake-proxy" --config "$T/old.yaml" --workers 1 ${PROXY_ARGS:-} 2>"$T/proxy-old.log" &
	OLD_PROXY_PID=$!
	PIDS+=("$OLD_PROXY_PID")
	wait_for "$T/handoff-old.sock"
	taskset -c 1 "$OLD_DIR/tagshaked" --config "$T/old.yaml" --status "$T/hs-old.status" 2>"$T/hs-old.log" &
	OLD_HS_PID=$!
	PIDS+=("$OLD_HS_PID")
	wait_for "$OLD_PORT"
fi
taskset -c 1 nginx -p "$T/ngx" -c "$T/ngx/nginx.conf" -e "$T/ngx/error.log" &
PIDS+=("$!")
wait_for "$NGX_TLS_PORT"
NGX_WORKER=$(pgrep -P "$(cat "$T/ngx/nginx.pid")" | head -1)

ctxsw() { # context switches (voluntary + involuntary) of every thread of the PIDs
	local t=0 p
	for p in "$@"; do
		t=$((t + $(cat /proc/"$p"/task/*/status | awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }')))
	done
	echo "$t"
}
cpu_s() { awk -v t="$1" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }'; }

# measure PORT "PIDS" proxy_load-args...: one run; prints "FIGURE TICKS CTXSW
# TICKS_OF_EACH_PID" (FIGURE: MB/s, or the median latency in µs)
measure() {
	local port=$1 pids=$2 p t0=() c0 out fig split="" sum=0 i=0 t
	shift 2
	for p in $pids; do t0+=("$(ticks "$p")"); done
	# shellcheck disable=SC2086
	c0=$(ctxsw $pids)
	out=$(taskset -c 0 "$LOAD" "$1" 127.0.0.1 "$port" bench.test "${@:2}")
	fig=$(sed -n 's/^mbps=\([0-9]*\).*/\1/p; s/^latency_us median=\([0-9]*\).*/\1/p' <<<"$out")
	for p in $pids; do
		t=$(($(ticks "$p") - t0[i]))
		sum=$((sum + t))
		split+="${split:+,}$t"
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	echo "${fig:-0} $sum $(($(ctxsw $pids) - c0)) $split"
}

# med FILE COLUMN: the median of a column
med() { sort -n -k"$2","$2" "$1" | awk -v c="$2" '{ v[NR] = $c } END { print v[int((NR + 1) / 2)] }'; }
# split_med FILE: the median ticks of each server process, "a + b" in s
split_med() {
	local n i out=""
	n=$(awk '{ print split($4, a, ",") }' "$1" | head -1)
	[ "$n" -gt 1 ] || return 0
	for i in $(seq 1 "$n"); do
		out+="${out:+ + }$(cpu_s "$(awk -v i="$i" '{ split($4, a, ","); print a[i] }' "$1" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')")"
	done
	echo " ($out)"
}

# path_of PATH: sets port and pids of a path
path_of() {
	case $1 in
	records) port=$REC_PORT pids="$REC_HS_PID $REC_PROXY_PID" ;;
	relay) port=$FEED_PORT pids="$HS_PID $PROXY_PID" ;;
	old) port=$OLD_PORT pids="$OLD_HS_PID $OLD_PROXY_PID" ;;
	*) port=$NGX_TLS_PORT pids=$NGX_WORKER ;;
	esac
}
mkdir -p "$T/res"
for round in $(seq 1 "$ROUNDS"); do
	for path in $PATHS; do
		path_of "$path"
		measure "$port" "$pids" throughput "$MB" U >>"$T/res/$path.up"
		measure "$port" "$pids" throughput "$MB" D >>"$T/res/$path.down"
		measure "$port" "$pids" latency "$CONNS" >>"$T/res/$path.lat"
	done
	echo "# round $round of $ROUNDS done, load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done

# Syscalls per MB (per connection for latency): strace -c -f attached to the
# servers during one short extra run per row and path (strace slows the run:
# only the counts are used). Prints "CALLS_PER_UNIT (top: name n, ...)".
TRACE_MB=64
TRACE_CONNS=100
trace() { # PORT "PIDS" UNITS proxy_load-args...
	local port=$1 pids=$2 units=$3 p sp=() f=$T/strace.$RANDOM
	shift 3
	for p in $pids; do
		strace -c -f -o "$f.$p" -p "$p" 2>/dev/null &
		sp+=("$!")
	done
	sleep 0.5
	taskset -c 0 "$LOAD" "$1" 127.0.0.1 "$port" bench.test "${@:2}" >/dev/null
	for p in "${sp[@]}"; do kill -INT "$p"; done
	for p in "${sp[@]}"; do wait "$p" 2>/dev/null; done
	# shellcheck disable=SC2086
	cat $(for p in $pids; do echo "$f.$p"; done) | awk -v u="$units" '
		$NF == "total" || $1 !~ /^[0-9.]+$/ { next }
		{ calls[$NF] += $4; total += $4 }
		END {
			n = 0
			for (k in calls) names[++n] = k
			for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
				if (calls[names[j]] > calls[names[i]]) { t = names[i]; names[i] = names[j]; names[j] = t }
			top = ""
			for (i = 1; i <= n && i <= 3; i++) top = top (i > 1 ? ", " : "") names[i] " " sprintf("%.0f", calls[names[i]] / u)
			printf "%.0f (%s)", total / u, top
		}'
}
declare -A SYS
if [ "$TRACE" = 1 ] && command -v strace >/dev/null; then
	for path in $PATHS; do
		path_of "$path"
		SYS[$path.up]=$(trace "$port" "$pids" $TRACE_MB throughput $TRACE_MB U)
		SYS[$path.down]=$(trace "$port" "$pids" $TRACE_MB throughput $TRACE_MB D)
		SYS[$path.lat]=$(trace "$port" "$pids" $TRACE_CONNS latency $TRACE_CONNS)
	done
fi

echo "Medians of $ROUNDS interleaved rounds ($PATHS, ...). Server CPU s: tagshake as handshaker + proxy. Records mode: the proxy runs the TLS record layer; relay mode: tagshaked relays plaintext to the proxy."
echo "Wake-ups: context switches of the server processes per MB (per connection for latency); syscalls: \`strace -c -f\` on one extra run of $TRACE_MB MiB ($TRACE_CONNS connections), per MB (per connection), with the three most frequent."
echo
echo "| row | tagshake | nginx | ratio | server CPU s tagshake | nginx | CPU ratio | wake-ups tagshake / nginx | syscalls tagshake | syscalls nginx |"
echo "|---|---|---|---|---|---|---|---|---|---|"
path_name() {
	case $1 in
	records) echo "records mode" ;;
	relay) echo "relay mode" ;;
	old) echo "OLD_DIR build" ;;
	esac
}
for row in up down lat; do
	case $row in
	up) name="relay upload ${MB} MiB, MB/s" units=$MB ;;
	down) name="relay download ${MB} MiB, MB/s" units=$MB ;;
	lat) name="handshake done → first upstream byte, median µs ($CONNS connections)" units=$CONNS ;;
	esac
	nf=$(med "$T/res/nginx.$row" 1) nc=$(med "$T/res/nginx.$row" 2) nw=$(med "$T/res/nginx.$row" 3)
	for path in $TS_PATHS; do
		tf=$(med "$T/res/$path.$row" 1) tc=$(med "$T/res/$path.$row" 2) tw=$(med "$T/res/$path.$row" 3)
		ratio=$(awk -v a="$tf" -v b="$nf" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
		cratio=$(awk -v a="$tc" -v b="$nc" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
		wake=$(awk -v a="$tw" -v b="$nw" -v u="$units" 'BEGIN { printf "%.1f / %.1f", a / u, b / u }')
		echo "| $name, $(path_name "$path") | $tf | $nf | $ratio | $(cpu_s "$tc")$(split_med "$T/res/$path.$row") | $(cpu_s "$nc") | $cratio | $wake | ${SYS[$path.$row]:--} | ${SYS[nginx.$row]:--} |"
	done
done
echo
echo "Every round (figure, server CPU ticks, context switches, ticks per process):"
for f in "$T"/res/*; do echo "    $(basename "$f"): $(tr '\n' ';' <"$f")"; done

# --- the hold row: fds and RSS per held connection ---------------------------
fdn() { find "/proc/$1/fd" -mindepth 1 2>/dev/null | wc -l; }
rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# hold PORT PIDS: holds $HOLD connections; prints per PID "fds/conn rss-bytes/conn"
hold() {
	local port=$1 pids=$2 p f0=() r0=() i=0 line out=""
	for p in $pids; do f0+=("$(fdn "$p")"); r0+=("$(rss "$p")"); done
	coproc HOLDER { taskset -c 0 "$LOAD" hold 127.0.0.1 "$port" hold.test "$HOLD"; }
	read -r -t 120 line <&"${HOLDER[0]}"
	sleep 0.5 # hand-off links and timers settle
	for p in $pids; do
		out+="$(awk -v f="$(($(fdn "$p") - f0[i]))" -v r="$(($(rss "$p") - r0[i]))" -v n="$HOLD" \
			'BEGIN { printf "%.2f %.0f;", f / n, r * 1024 / n }')"
		i=$((i + 1))
	done
	echo >&"${HOLDER[1]}"
	wait "$HOLDER_PID" 2>/dev/null
	echo "$line;$out"
}
echo
echo "| held connections ($HOLD, TLS, idle) | fds per connection | RSS per connection, bytes | connections per process at the $FD_LIMIT fd limit |"
echo "|---|---|---|---|"
IFS=';' read -r ngx_line ths _ <<<"$(hold "$NGX_HOLD_PORT" "$NGX_WORKER")"
per_limit() { awk -v f="${1%% *}" -v l="$FD_LIMIT" 'BEGIN { if (f > 0) printf "%d", l / f; else print "-" }'; }
for path in $TS_PATHS; do
	path_of "$path"
	IFS=';' read -r held hs px _ <<<"$(hold "$port" "$pids")"
	echo "| tagshake-proxy ($(path_name "$path"), $held) | ${px%% *} | ${px#* } | $(per_limit "$px") |"
	echo "| tagshaked ($(path_name "$path"), $held) | ${hs%% *} | ${hs#* } | $(per_limit "$hs") |"
done
echo "| nginx stream worker ($ngx_line) | ${ths%% *} | ${ths#* } | $(per_limit "$ths") |"
echo
# ready_line LOG PID STATUS: the proxy's hand-off → upstream connected time
ready_line() {
	local ready us n hist
	kill -USR1 "$2"
	sleep 0.2
	ready=$(grep stats: "$1" | tail -1 | tr ' ' '\n')
	us=$(echo "$ready" | sed -n 's/^upstream_ready_us=//p')
	n=$(echo "$ready" | sed -n 's/^upstream_ready_n=//p')
	hist=$(echo "$ready" | sed -n 's/^ready_\(.*\)us=\(.*\)/\1 \2/p' | tr '\n' ' ')
	echo "proxy: hand-off received → upstream connected, mean $((us / n)) µs over $n connections" \
		"(histogram, µs: $hist); tagshaked mode: $(sed -n 's/^mode //p' "$3" 2>/dev/null | head -1)," \
		"proxy hand-offs: $(echo "$ready" | grep '^mode_' | tr '\n' ' ')"
}
echo
ready_line "$T/proxy-rec.log" "$REC_PROXY_PID" "$T/hs-rec.status"
echo
ready_line "$T/proxy.log" "$PROXY_PID" "$T/hs.status"

# --- the http row: keep-alive requests through an http route vs nginx -------
[ "${HTTP:-1}" = 1 ] || exit 0
command -v wrk >/dev/null || { echo "(http row skipped: wrk not installed)"; exit 0; }
# wrk_run PORT PIDS: "requests/s | server CPU s" for small keep-alive GETs
wrk_run() {
	local port=$1 pids=$2 out rps bad
	cpu_start "$pids"
	out=$(taskset -c 0 wrk -t1 -c"$HTTP_CONNS" -d"${HTTP_SECONDS}s" "https://127.0.0.1:$port/")
	cpu_stop
	rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$out")
	bad=$(sed -n 's/^ *Non-2xx or 3xx responses: *//p; s/^ *Socket errors: *//p' <<<"$out" | tr '\n' ' ')
	echo "${rps:-0}|$CPU_S|${bad:-none}"
}
NGX_HTTP_WORKER=$NGX_WORKER
rec=$(wrk_run "$REC_PORT" "$REC_HS_PID $REC_PROXY_PID")
ts=$(wrk_run "$FEED_PORT" "$HS_PID $PROXY_PID")
ng=$(wrk_run "$NGX_HTTPS_PORT" "$NGX_HTTP_WORKER")
echo
echo "| http route, keep-alive, GET / → 200 \"ok\", $HTTP_CONNS connections, ${HTTP_SECONDS} s (wrk) | requests/s | server CPU s | requests per server CPU s | errors | requests/s vs nginx | requests per CPU s vs nginx |"
echo "|---|---|---|---|---|---|---|"
# per CPU second: on a shared machine two processes (tagshaked + proxy) get
# more CPU time than nginx's one worker, so requests/s alone flatters them
per_cpu() { awk -v r="${1%%|*}" -v c="$(cut -d'|' -f2 <<<"$1" | cut -d' ' -f1)" -v s="$HTTP_SECONDS" 'BEGIN { if (c > 0) printf "%.0f", r * s / c; else print 0 }'; }
ng_eff=$(per_cpu "$ng")
http_row() { # NAME RESULT
	local eff ratio eff_ratio r c e
	eff=$(per_cpu "$2")
	ratio=$(awk -v a="${2%%|*}" -v b="${ng%%|*}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	eff_ratio=$(awk -v a="$eff" -v b="$ng_eff" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
	IFS='|' read -r r c e <<<"$2"
	echo "| $1 | $r | $c | $eff | $e | $ratio | $eff_ratio |"
}
http_row "tagshake, records mode (tagshaked → tagshake-proxy http route)" "$rec"
http_row "tagshake, relay mode (tagshaked → tagshake-proxy http route)" "$ts"
IFS='|' read -r r c e <<<"$ng"
echo "| nginx (TLS + proxy_pass, keepalive upstream) | $r | $c | $ng_eff | $e | 1.00 | 1.00 |"
