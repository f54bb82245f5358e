# shellcheck shell=bash
# Shared setup for the proxy suites (sourced): a temp dir with a CA, a
# server certificate and client certificates made by openssl, a tagshake
# configuration, the proxy, and the handshaker: build/tagshaked, or with
# PROXY_TEST_HANDSHAKER=feeder a stand-in (build/tests/proxy_feeder: real
# OpenSSL, relay mode, no tagger) that isolates the proxy from the daemon;
# and helpers for TAP output. Every process started here is stopped by PID.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
T=$(mktemp -d /tmp/tagshake-proxy-test.XXXXXX)
PIDS=()
n=0
failed=0

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

ok() { n=$((n + 1)); echo "ok $n - $1"; }
nok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
# check "what" EXPECTED ACTUAL
check() {
	if [ "$2" == "$3" ]; then ok "$1"; else
		nok "$1"
		echo "#   expected: $(printf '%q' "$2" | head -c 600)"
		echo "#   actual:   $(printf '%q' "$3" | head -c 600)"
	fi
}

# Free loopback TCP ports: a random base, checked against listening sockets.
pick_ports() {
	local base i
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		base=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768-)
		for i in $(seq 0 9); do
			ss -Htln "sport = :$((base + i))" | grep -q . && continue 2
		done
		echo "$base"
		return
	done
	echo 39000
}
BASE=$(pick_ports)
FEED_PORT=$BASE        # TLS: the stand-in handshaker
NGX_PORT=$((BASE + 1)) # nginx http echo
NGX_PP_PORT=$((BASE + 2)) # nginx with proxy_protocol
HAP_PORT=$((BASE + 3)) # haproxy accept-proxy
DEAD_PORT=$((BASE + 4)) # nothing listens here
SLOW_PORT=$((BASE + 5)) # python upstream that accepts and waits
BLACK_PORT=$((BASE + 6)) # full accept queue: connects hang
# route ids: 1-based order of routes in write_config
R_TLV=6 R_RAW=7 R_GREET=11 R_HOLD=12 R_BLACKHOLE=13

wait_for() { # file or tcp port, up to ~5 s
	for _ in $(seq 1 100); do
		case $1 in
		[0-9]*) ss -Htln "sport = :$1" | grep -q . && return 0 ;;
		*) [ -e "$1" ] && return 0 ;;
		esac
		sleep 0.05
	done
	echo "# timed out waiting for $1"
	return 1
}

make_certs() {
	local d=$T/pki
	mkdir -p "$d"
	(
		cd "$d" || exit 1
		ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
		ec ca.key
		openssl req -x509 -new -key ca.key -subj "/O=tagshake tests/CN=Test Client CA" -days 2 -out ca.crt 2>/dev/null
		ec other-ca.key
		openssl req -x509 -new -key other-ca.key -subj "/CN=Other CA" -days 2 -out other-ca.crt 2>/dev/null
		ec server.key
		openssl req -x509 -new -key server.key -subj "/CN=edge.test" -days 2 \
			-addext "subjectAltName=DNS:kong.test,DNS:opt.test,DNS:xfcc.test,DNS:rfc.test,DNS:open.test,DNS:secure.test,DNS:*.wild.test,DNS:pp.test,DNS:hap.test,DNS:tlv.test,DNS:raw.test,DNS:down.test,DNS:downraw.test,DNS:downpp.test,DNS:custom.test" -out server.crt 2>/dev/null
		ec client.key
		openssl req -new -key client.key -subj "/C=DE/O=Example, Inc./OU=dev/CN=client one" -out client.csr 2>/dev/null
		printf 'subjectAltName=URI:spiffe://tagshake.test/client,DNS:client.test,DNS:alt.client.test\n' >client.ext
		openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -set_serial 0x1F2E3D4C5B6A \
			-days 2 -extfile client.ext -out client.crt 2>/dev/null
		# root → intermediate → client, for Client-Cert-Chain: the CA set
		# trusts the root, the client sends its intermediate (chain.pem) or
		# its intermediate and the root (chain-root.pem)
		ec root.key
		openssl req -x509 -new -key root.key -subj "/CN=Test Root CA" -days 2 -out root.crt 2>/dev/null
		ec inter.key
		openssl req -new -key inter.key -subj "/CN=Test Intermediate CA" -out inter.csr 2>/dev/null
		printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n' >inter.ext
		openssl x509 -req -in inter.csr -CA root.crt -CAkey root.key -set_serial 2 -days 2 \
			-extfile inter.ext -out inter.crt 2>/dev/null
		ec leaf.key
		openssl req -new -key leaf.key -subj "/CN=chain client" -out leaf.csr 2>/dev/null
		openssl x509 -req -in leaf.csr -CA inter.crt -CAkey inter.key -set_serial 3 -days 2 \
			-out leaf.crt 2>/dev/null
		cat leaf.crt inter.crt >chain.pem
		cat leaf.crt inter.crt root.crt >chain-root.pem
	)
}

# The stack of the hardening suites, first and last parts of its YAML (each
# suite writes its own policies, defaults and timeouts between them): one
# listener with WORKERS workers, the edge certificate, the client CA set, a
# raw route to the echo socket; the hand-off socket and the tagger's pins.
raw_config_head() { # WORKERS
	cat <<YAML
listeners:
  - { address: 127.0.0.1, port: $PORT, workers: $1 }
certificates:
  - { name: edge, chain: pki/server.crt, key: pki/server.key }
ca_sets:
  - { name: clients, files: [pki/ca.crt] }
routes:
  - { name: raw, upstream: "unix:$T/echo.sock", metadata: raw }
YAML
}

raw_config_tail() {
	cat <<YAML
handoff:
  socket: $T/handoff.sock
bpf:
  pin_dir: $PINS
YAML
}

# The configuration: one route per upstream/mode, one policy per case.
write_config() {
	cat >"$T/tagshake.yaml" <<YAML
listeners:
  - { address: 127.0.0.1, port: $FEED_PORT, workers: 1 }
certificates:
  - { name: edge, chain: pki/server.crt, key: pki/server.key }
ca_sets:
  - { name: clients, files: [pki/ca.crt, pki/root.crt] }
routes:
  - { name: kong, upstream: 127.0.0.1:$NGX_PORT, metadata: http, headers: kong }
  - { name: xfcc, upstream: 127.0.0.1:$NGX_PORT, metadata: http, headers: xfcc }
  - { name: rfc9440, upstream: 127.0.0.1:$NGX_PORT, metadata: http, headers: rfc9440 }
  - { name: nginx-pp, upstream: 127.0.0.1:$NGX_PP_PORT, metadata: proxy-v2 }
  - { name: haproxy, upstream: 127.0.0.1:$HAP_PORT, metadata: proxy-v2 }
  - { name: tlv, upstream: "unix:$T/tlv.sock", metadata: proxy-v2 }
  - { name: raw, upstream: "unix:$T/echo.sock", metadata: raw }
  - { name: down-http, upstream: 127.0.0.1:$DEAD_PORT, metadata: http }
  - { name: down-raw, upstream: 127.0.0.1:$DEAD_PORT, metadata: raw }
  - { name: down-pp, upstream: 127.0.0.1:$DEAD_PORT, metadata: proxy-v2 }
  - { name: greet, upstream: "unix:$T/greet.sock", metadata: raw }
  - { name: hold, upstream: 127.0.0.1:$SLOW_PORT, metadata: raw }
  - { name: blackhole, upstream: 127.0.0.1:$BLACK_PORT, metadata: raw }
  - name: kong-custom
    upstream: 127.0.0.1:$NGX_PORT
    metadata: http
    kong_headers: { cert: X-SSL-Client-Cert, subject_dn: X-Tagshake-Subject, fingerprint: x-fp }
policies:
  - { sni: kong.test, action: require, ca_set: clients, route: kong }
  - { sni: opt.test, action: optional, ca_set: clients, route: kong }
  - { sni: xfcc.test, action: require, ca_set: clients, route: xfcc }
  - { sni: rfc.test, action: require, ca_set: clients, route: rfc9440 }
  - { sni: open.test, action: none, route: kong }
  - { sni: secure.test, action: require, ca_set: clients, route: kong }
  - { sni: twin.test, action: require, ca_set: clients, route: kong }
  - { sni: '*.wild.test', action: optional, ca_set: clients, route: kong }
  - { sni: pp.test, action: optional, ca_set: clients, route: nginx-pp }
  - { sni: hap.test, action: none, route: haproxy }
  - { sni: tlv.test, action: require, ca_set: clients, route: tlv }
  - { sni: raw.test, action: none, route: raw }
  - { sni: down.test, action: none, route: down-http }
  - { sni: downraw.test, action: none, route: down-raw }
  - { sni: downpp.test, action: none, route: down-pp }
  - { sni: custom.test, action: require, ca_set: clients, route: kong-custom }
defaults:
  default: { action: none, route: raw }
  no-sni: { action: none, route: raw }
handoff:
  socket: $T/handoff.sock
timeouts:
  idle: 3s
YAML
}

start_proxy() { # extra args
	"${PROXY_BIN:-$ROOT/build/tagshake-proxy}" --config "$T/tagshake.yaml" --workers 2 --drain-timeout 2000 "$@" 2>"$T/proxy.log" &
	PROXY_PID=$!
	PIDS+=("$PROXY_PID")
	wait_for "$T/handoff.sock"
}

start_handshaker() {
	if [ "${PROXY_TEST_HANDSHAKER:-tagshaked}" = tagshaked ]; then
		"$ROOT/build/tagshaked" --config "$T/tagshake.yaml" 2>"$T/handshaker.log" &
	else
		"$ROOT/build/tests/proxy_feeder" --config "$T/tagshake.yaml" --port "$FEED_PORT" \
			2>"$T/handshaker.log" &
	fi
	PIDS+=("$!")
	wait_for "$FEED_PORT"
}

# check_stat "what" NAME EXPECTED: waits up to 2 s for the counter (closes
# are counted when the client side has gone, just after it read the answer)
check_stat() {
	local v
	for _ in $(seq 1 40); do
		v=$(stat "$2")
		[ "$v" == "$3" ] && break
		sleep 0.05
	done
	check "$1" "$3" "$v"
}

# Counters from the proxy (SIGUSR1 prints them on stderr): stat NAME
stat() {
	local before
	before=$(grep -c 'stats:' "$T/proxy.log")
	kill -USR1 "$PROXY_PID"
	for _ in $(seq 1 50); do
		[ "$(grep -c 'stats:' "$T/proxy.log")" -gt "$before" ] && break
		sleep 0.02
	done
	grep 'stats:' "$T/proxy.log" | tail -1 | tr ' ' '\n' | sed -n "s/^$1=//p"
}

start_nginx() {
	mkdir -p "$T/nginx/tmp"
	cat >"$T/nginx/nginx.conf" <<NGX
daemon off;
worker_processes 1;
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log info;
events { worker_connections 256; }
http {
    client_body_temp_path $T/nginx/tmp/body;
    proxy_temp_path $T/nginx/tmp/proxy;
    fastcgi_temp_path $T/nginx/tmp/fastcgi;
    uwsgi_temp_path $T/nginx/tmp/uwsgi;
    scgi_temp_path $T/nginx/tmp/scgi;
    log_format hdrs 'subject="\$http_x_client_cert_subject_dn" host=\$host uri=\$request_uri';
    access_log $T/nginx/access.log hdrs;
    server {
        listen 127.0.0.1:$NGX_PORT;
        location /kong {
            return 200 "cert=\$http_x_client_cert\nserial=\$http_x_client_cert_serial\nissuer=\$http_x_client_cert_issuer_dn\nsubject=\$http_x_client_cert_subject_dn\nfingerprint=\$http_x_client_cert_fingerprint\n";
        }
        location /custom {
            return 200 "cert=\$http_x_ssl_client_cert\nserial=\$http_x_client_cert_serial\nissuer=\$http_x_client_cert_issuer_dn\nsubject=\$http_x_tagshake_subject\nfingerprint=\$http_x_fp\ndefaults=\$http_x_client_cert|\$http_x_client_cert_subject_dn|\$http_x_client_cert_fingerprint\n";
        }
        location /xfcc { return 200 "\$http_x_forwarded_client_cert\n"; }
        location /rfc { return 200 "cert=\$http_client_cert\nchain=\$http_client_cert_chain\n"; }
        location /all {
            return 200 "\$http_x_client_cert|\$http_x_client_cert_subject_dn|\$http_x_forwarded_client_cert|\$http_client_cert|\$http_client_cert_chain\n";
        }
        location /body {
            # the echo module (nginx-light) reads the body: proves it arrived intact
            client_body_buffer_size 1m;
            echo_read_request_body;
            echo "te=\$http_transfer_encoding subject=\$http_x_client_cert_subject_dn body=\$request_body";
        }
    }
    server {
        # a PROXY v2 header with the certificate TLVs exceeds the default 1k
        listen 127.0.0.1:$NGX_PP_PORT proxy_protocol;
        client_header_buffer_size 32k;
        location / { return 200 "client=\$proxy_protocol_addr:\$proxy_protocol_port server=\$proxy_protocol_server_addr:\$proxy_protocol_server_port\n"; }
    }
}
NGX
	nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log" &
	PIDS+=("$!")
	wait_for "$NGX_PORT" && wait_for "$NGX_PP_PORT"
}

start_haproxy() {
	cat >"$T/haproxy.cfg" <<HAP
global
    log stdout format raw local0
defaults
    log global
    timeout connect 2s
    timeout client 5s
    timeout server 5s
frontend pp
    bind 127.0.0.1:$HAP_PORT accept-proxy
    mode http
    log-format "authority=%[fc_pp_authority] client=%ci:%cp frontend=%fi:%fp"
    http-request return status 200 content-type text/plain lf-string "authority=%[fc_pp_authority]\n"
HAP
	haproxy -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
	PIDS+=("$!")
	wait_for "$HAP_PORT"
}

# curl through the stand-in handshaker: tls_curl SNI PATH [curl args...]
# HTTP/1.1 unless the args say --http2 (http routes offer h2 too)
tls_curl() {
	local sni=$1 path=$2
	shift 2
	curl -s --max-time 10 --cacert "$T/pki/server.crt" --resolve "$sni:$FEED_PORT:127.0.0.1" \
		--http1.1 "$@" "https://$sni:$FEED_PORT$path"
}
CLIENT_CERT=(--cert "$T/pki/client.crt" --key "$T/pki/client.key")

# wait_exit PID SECONDS: sets EXIT_STATUS to the exit status, or to
# "running" (and kills it) when it is still there after SECONDS
wait_exit() {
	for _ in $(seq 1 $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$1" 2>/dev/null; then
		kill -9 "$1"
		wait "$1" 2>/dev/null
		EXIT_STATUS=running
	else
		wait "$1"
		EXIT_STATUS=$?
	fi
}
peers() { timeout 30 python3 "$ROOT/tests/proxy_peers.py" "$@"; }
start_peer() { # background python peer
	python3 "$ROOT/tests/proxy_peers.py" "$@" 2>>"$T/peers.log" &
	PIDS+=("$!")
}

finish() {
	echo "1..$n"
	[ "$failed" -eq 0 ]
}
