#!/bin/bash
# The proxy benchmark: plaintext throughput (up and down) and per-connection
# latency (TLS handshake done → first upstream byte at the client) through
# tagshaked → tagshake-proxy (raw route) versus nginx's own TLS termination
# (stream, ssl, proxy_pass) with the same certificate, the same OpenSSL and
# the same upstream (bench/proxy_load.c). Servers are pinned to CPU 1, the
# client and the upstream to CPU 0; server CPU time is read from /proc.
# Prints a markdown table. Then the http row: an http route (llhttp
# parsing, header rewriting, keep-alive) versus nginx terminating TLS and
# proxying HTTP (keepalive upstream connections) to the same upstream (a
# second nginx, on CPU 0, answering 200 "ok"), loaded by wrk over TLS with
# small keep-alive requests, side by side in the same run, as a ratio
# (HTTP_SECONDS, HTTP_CONNS; needs wrk). Not part of `make test`:
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

make_certs
write_config "$FEED_PORT" 1 <<YAML
certificates:
  - { name: edge, chain: pki/server.crt, key: pki/server.key }
routes:
  - { name: bench, upstream: 127.0.0.1:$UP_PORT, metadata: raw }
  - { name: http, upstream: 127.0.0.1:$UP_HTTP_PORT, metadata: http }
policies:
  - { sni: bench.test, action: none, route: bench }
# wrk sends no SNI to 127.0.0.1; its Host (127.0.0.1) falls to the default:
# both on the http route, so the 421 check passes
defaults:
  default: { action: none, route: http }
  no-sni: { action: none, route: http }
YAML
mkdir -p "$T/ngx"
cat >"$T/ngx/nginx.conf" <<NGX
daemon off;
worker_processes 1;
pid $T/ngx/nginx.pid;
error_log $T/ngx/error.log;
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
events { worker_connections 1024; }
stream {
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
taskset -c 0 nginx -p "$T/up" -c "$T/up/nginx.conf" -e "$T/up/error.log" &
PIDS+=("$!")
wait_for "$UP_HTTP_PORT"
taskset -c "${PROXY_CPU:-1}" "$ROOT/build/tagshake-proxy" --config "$T/tagshake.yaml" --workers 1 ${PROXY_ARGS:-} 2>"$T/proxy.log" &
PROXY_PID=$!
PIDS+=("$PROXY_PID")
wait_for "$T/handoff.sock"
if [ "${PROXY_TEST_HANDSHAKER:-tagshaked}" = tagshaked ]; then
	taskset -c 1 "$ROOT/build/tagshaked" --config "$T/tagshake.yaml" --status "$T/hs.status" 2>"$T/hs.log" &
else
	taskset -c 1 "$ROOT/build/tests/proxy_feeder" --config "$T/tagshake.yaml" --port "$FEED_PORT" 2>"$T/hs.log" &
fi
HS_PID=$!
PIDS+=("$HS_PID")
wait_for "$FEED_PORT"
taskset -c 1 nginx -p "$T/ngx" -c "$T/ngx/nginx.conf" -e "$T/ngx/error.log" &
PIDS+=("$!")
wait_for "$NGX_TLS_PORT"
NGX_WORKER=$(pgrep -P "$(cat "$T/ngx/nginx.pid")" | head -1)

# run NAME PORT PIDS... -- proxy_load args: prints "result | server CPU s"
run() {
	local port=$1 pids=$2 what=$3
	shift 3
	local out
	cpu_start "$pids"
	out=$(taskset -c 0 "$LOAD" "$what" 127.0.0.1 "$port" bench.test "$@")
	cpu_stop
	echo "$out | $CPU_S"
}

echo "| path | upload ${MB} MiB | server CPU s (handshaker + proxy) | download ${MB} MiB | server CPU s | latency, $CONNS connections (µs) | server CPU s |"
echo "|---|---|---|---|---|---|---|"
for path in tagshake nginx; do
	if [ $path = tagshake ]; then port=$FEED_PORT pids="$HS_PID $PROXY_PID"; else port=$NGX_TLS_PORT pids=$NGX_WORKER; fi
	up=$(run "$port" "$pids" throughput "$MB" U)
	down=$(run "$port" "$pids" throughput "$MB" D)
	lat=$(run "$port" "$pids" latency "$CONNS")
	echo "| $path | $up | $down | $lat |"
done
kill -USR1 "$PROXY_PID"
sleep 0.2
ready=$(grep stats: "$T/proxy.log" | tail -1 | tr ' ' '\n')
us=$(echo "$ready" | sed -n 's/^upstream_ready_us=//p')
n=$(echo "$ready" | sed -n 's/^upstream_ready_n=//p')
echo
hist=$(echo "$ready" | sed -n 's/^ready_\(.*\)us=\(.*\)/\1 \2/p' | tr '\n' ' ')
echo "proxy: hand-off received → upstream connected, mean $((us / n)) µs over $n connections" \
	"(histogram, µs: $hist); tagshaked mode: $(sed -n 's/^mode //p' "$T/hs.status" 2>/dev/null | head -1)"

# --- the http row: keep-alive requests through an http route vs nginx -------
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
ts=$(wrk_run "$FEED_PORT" "$HS_PID $PROXY_PID")
ng=$(wrk_run "$NGX_HTTPS_PORT" "$NGX_HTTP_WORKER")
echo
echo "| http route, keep-alive, GET / → 200 \"ok\", $HTTP_CONNS connections, ${HTTP_SECONDS} s (wrk) | requests/s | server CPU s | requests per server CPU s | errors | requests/s vs nginx | requests per CPU s vs nginx |"
echo "|---|---|---|---|---|---|---|"
# per CPU second: on a shared machine two processes (tagshaked + proxy) get
# more CPU time than nginx's one worker, so requests/s alone flatters them
per_cpu() { awk -v r="${1%%|*}" -v c="$(cut -d'|' -f2 <<<"$1" | cut -d' ' -f1)" -v s="$HTTP_SECONDS" 'BEGIN { if (c > 0) printf "%.0f", r * s / c; else print 0 }'; }
ts_eff=$(per_cpu "$ts")
ng_eff=$(per_cpu "$ng")
ratio=$(awk -v a="${ts%%|*}" -v b="${ng%%|*}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
eff_ratio=$(awk -v a="$ts_eff" -v b="$ng_eff" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }')
IFS='|' read -r r c e <<<"$ts"
echo "| tagshake (tagshaked → tagshake-proxy http route) | $r | $c | $ts_eff | $e | $ratio | $eff_ratio |"
IFS='|' read -r r c e <<<"$ng"
echo "| nginx (TLS + proxy_pass, keepalive upstream) | $r | $c | $ng_eff | $e | 1.00 | 1.00 |"
