#!/bin/bash
# HTTP/2 benchmark: h2load (many streams per connection) against
# tagshaked → tagshake-proxy on an http route (nghttp2, HTTP/1.1 upstream connections kept alive
# per client connection) and against nginx terminating TLS with http2 and
# proxy_pass to the same upstream (keepalive 256 upstream connections), same
# certificate and OpenSSL, in the same run. The upstream is a second nginx
# answering 200 "ok" on CPU 0 with the load generator; the servers are on
# CPU 1; server CPU time from /proc. Prints a markdown table with the ratio
# to nginx. Not part of `make test`:
#   bench/h2_bench.sh [REQUESTS] [CONNECTIONS] [STREAMS]
. "$(dirname "$0")/../tests/proxy_lib.sh"
. "$ROOT/bench/lib.sh"
REQS=${1:-50000}
CONNS=${2:-4}
STREAMS=${3:-32}
UP_PORT=$NGX_PORT     # the upstream nginx
H2_PORT=$NGX_PP_PORT  # nginx terminating TLS + h2

command -v h2load >/dev/null || { echo "(h2 row skipped: h2load not installed, nghttp2-client)"; exit 0; }
make_certs
write_config "$FEED_PORT" 1 <<YAML
certificates:
  - { name: edge, chain: pki/server.crt, key: pki/server.key }
routes:
  - { name: http, upstream: 127.0.0.1:$UP_PORT, metadata: http }
# h2load sends no SNI to 127.0.0.1; its :authority falls to the default too
defaults:
  default: { action: none, route: http }
  no-sni: { action: none, route: http }
YAML
mkdir -p "$T/ngx" "$T/up"
cat >"$T/ngx/nginx.conf" <<NGX
daemon off;
worker_processes 1;
pid $T/ngx/nginx.pid;
error_log $T/ngx/error.log;
events { worker_connections 1024; }
NGX
front_nginx_http "$T/ngx" "$H2_PORT ssl http2" "$UP_PORT" 256 >>"$T/ngx/nginx.conf"
upstream_nginx_conf "$T/up" "$UP_PORT" 4096

taskset -c 0 nginx -p "$T/up" -c "$T/up/nginx.conf" -e "$T/up/error.log" &
PIDS+=("$!")
wait_for "$UP_PORT"
taskset -c 1 "$ROOT/build/tagshake-proxy" --config "$T/tagshake.yaml" --workers 1 2>"$T/proxy.log" &
PROXY_PID=$!
PIDS+=("$PROXY_PID")
wait_for "$T/handoff.sock"
taskset -c 1 "$ROOT/build/tagshaked" --config "$T/tagshake.yaml" 2>"$T/hs.log" &
HS_PID=$!
PIDS+=("$HS_PID")
wait_for "$FEED_PORT"
taskset -c 1 nginx -p "$T/ngx" -c "$T/ngx/nginx.conf" -e "$T/ngx/error.log" &
PIDS+=("$!")
wait_for "$H2_PORT"
NGX_WORKER=$(pgrep -P "$(cat "$T/ngx/nginx.pid")" | head -1)

# h2_run PORT PIDS: "requests/s|server CPU s|µs CPU per request|failed|protocol"
h2_run() {
	local port=$1 pids=$2 out rps ok failed proto
	cpu_start "$pids"
	out=$(taskset -c 0 h2load -n "$REQS" -c "$CONNS" -m "$STREAMS" "https://127.0.0.1:$port/" 2>&1)
	cpu_stop
	rps=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' <<<"$out")
	# only 2xx answers count as served (a 502 is "succeeded" for h2load)
	ok=$(sed -n 's/^status codes: \([0-9]*\) 2xx.*/\1/p' <<<"$out")
	failed=$(sed -n 's/^requests: .* \([0-9]*\) failed.*/\1/p' <<<"$out")
	failed="$failed failed, $((REQS - ${ok:-0})) not 2xx"
	proto=$(sed -n 's/^Application protocol: //p' <<<"$out")
	awk -v r="${rps:-0}" -v t="$CPU_TICKS" -v hz="$HZ" -v n="${ok:-0}" -v f="${failed:--}" -v p="${proto:-?}" \
		-v s="$CPU_S" 'BEGIN { printf "%.0f|%s|%.1f|%s|%s\n", r, s, n ? t / hz * 1e6 / n : 0, f, p }'
}

ts=$(h2_run "$FEED_PORT" "$HS_PID $PROXY_PID")
ng=$(h2_run "$H2_PORT" "$NGX_WORKER")
IFS='|' read -r ts_rps ts_cpu ts_us ts_fail ts_proto <<<"$ts"
IFS='|' read -r ng_rps ng_cpu ng_us ng_fail ng_proto <<<"$ng"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
echo "| HTTP/2, h2load -n $REQS -c $CONNS -m $STREAMS, GET / → 200 \"ok\" | protocol | requests/s | server CPU s (tagshaked + proxy) | server CPU µs per request | errors | requests/s vs nginx | CPU per request vs nginx |"
echo "|---|---|---|---|---|---|---|---|"
echo "| tagshake (tagshaked → tagshake-proxy, http route, keep-alive upstream pool per connection) | $ts_proto | $ts_rps | $ts_cpu | $ts_us | $ts_fail | $(ratio "$ts_rps" "$ng_rps") | $(ratio "$ts_us" "$ng_us") |"
echo "| nginx 1.22 (ssl http2, proxy_pass, keepalive 256 upstream) | $ng_proto | $ng_rps | $ng_cpu | $ng_us | $ng_fail | 1.00 | 1.00 |"
