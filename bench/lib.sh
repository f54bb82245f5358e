# shellcheck shell=bash
# What the proxy-side benchmarks (bench/proxy_bench.sh, bench/h2_bench.sh)
# share: server CPU time read from /proc around one load run.
#   cpu_start "$PID1 $PID2"; ...load...; cpu_stop
#   → CPU_TICKS (their ticks since, summed) and CPU_S (seconds, "%.2f", with
#     each one's share "total (a + b)" when there are several).

HZ=$(getconf CLK_TCK)

# ticks PID...: CPU ticks (user + system) of the given PIDs
ticks() {
	local t=0 p
	for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
	echo "$t"
}

# seconds TICKS: "%.2f" seconds
seconds() { awk -v t="$1" -v hz="$HZ" 'BEGIN { printf "%.2f", t / hz }'; }

cpu_start() {
	local p
	CPU_PIDS=$1
	CPU_BEFORE=()
	for p in $CPU_PIDS; do CPU_BEFORE+=("$(ticks "$p")"); done
}

cpu_stop() {
	local p t i=0 split=""
	CPU_TICKS=0
	for p in $CPU_PIDS; do
		t=$(($(ticks "$p") - CPU_BEFORE[i]))
		CPU_TICKS=$((CPU_TICKS + t))
		split+="${split:+ + }$(seconds "$t")"
		i=$((i + 1))
	done
	CPU_S=$(seconds "$CPU_TICKS")
	[ $i -le 1 ] || CPU_S+=" ($split)"
}

# upstream_nginx_conf DIR PORT CONNECTIONS: DIR/nginx.conf for the upstream
# both benchmarks load through: one nginx worker answering 200 "ok" on
# 127.0.0.1:PORT, keep-alive without limit, no access log.
upstream_nginx_conf() {
	cat >"$1/nginx.conf" <<NGX
daemon off;
worker_processes 1;
pid $1/nginx.pid;
error_log $1/error.log;
events { worker_connections $3; }
http {
    access_log off;
    keepalive_requests 10000000;
    client_body_temp_path $1/body;
    server { listen 127.0.0.1:$2; location / { return 200 "ok\n"; } }
}
NGX
}

# front_nginx_http DIR "PORT FLAGS" UPSTREAM_PORT KEEPALIVE: prints the http {}
# block of the nginx the benchmarks compare with: TLS on 127.0.0.1:PORT
# (FLAGS: ssl, ssl http2) with the test PKI's server certificate, proxy_pass
# over HTTP/1.1 to UPSTREAM_PORT keeping KEEPALIVE connections.
front_nginx_http() {
	cat <<NGX
http {
    access_log off;
    keepalive_requests 10000000;
    client_body_temp_path $1/body;
    proxy_temp_path $1/proxy;
    upstream backend { server 127.0.0.1:$3; keepalive $4; }
    server {
        listen 127.0.0.1:$2;
        ssl_certificate $T/pki/server.crt;
        ssl_certificate_key $T/pki/server.key;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
NGX
}
