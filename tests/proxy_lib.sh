# shellcheck shell=bash
# Shared setup for the proxy suites (sourced): a temp dir with a CA, a
# server certificate and client certificates made by openssl, a tagshake
# configuration, the proxy, and the handshaker: build/tagshaked, or with
# PROXY_TEST_HANDSHAKER=feeder a stand-in (build/tests/proxy_feeder: real
# OpenSSL, relay mode, no tagger) that isolates the proxy from the daemon;
# TAP output comes from tests/tap.sh, the cgroup v2 root and bpffs from
# scripts/sysenv.sh. Every process started here is stopped by PID.
set -u
cd "$(dirname "$0")/.." || exit 1
ROOT=$PWD
. tests/tap.sh
. scripts/sysenv.sh
. scripts/pki.sh
. tests/config.sh
T=$(mktemp -d /tmp/tagshake-proxy-test.XXXXXX)
PIDS=()

cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

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
# route ids: 1-based order of routes in proxy_config
R_TLV=6
# policies whose route is the upstream of the relay cases (peers hand-offs
# name the policy; the proxy takes its route from the configuration)
P_RAW=raw.test P_GREET=greet.test P_HOLD=hold.test P_BLACKHOLE=blackhole.test

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

# The PKI in $T/pki (scripts/pki.sh): a client CA and a client certificate
# with a known serial and SANs, another CA, a self-signed server certificate
# for every test name, and root → intermediate → leaf for Client-Cert-Chain:
# the CA set trusts the root, the client sends its intermediate (chain.pem)
# or its intermediate and the root (chain-root.pem).
make_certs() {
	local d=$T/pki
	mkdir -p "$d" &&
		pki_ca "$d" ca "/O=tagshake tests/CN=Test Client CA" &&
		pki_ca "$d" other-ca "/CN=Other CA" &&
		pki_ca "$d" server /CN=edge.test \
			"subjectAltName=DNS:kong.test,DNS:opt.test,DNS:xfcc.test,DNS:rfc.test,DNS:open.test,DNS:secure.test,DNS:*.wild.test,DNS:pp.test,DNS:hap.test,DNS:tlv.test,DNS:raw.test,DNS:down.test,DNS:downraw.test,DNS:downpp.test,DNS:custom.test" &&
		pki_cert "$d" client ca "/C=DE/O=Example, Inc./OU=dev/CN=client one" \
			"subjectAltName=URI:spiffe://tagshake.test/client,DNS:client.test,DNS:alt.client.test" ec 0x1F2E3D4C5B6A &&
		pki_ca "$d" root "/CN=Test Root CA" &&
		pki_cert "$d" inter root "/CN=Test Intermediate CA" \
			'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign' ec 2 &&
		pki_cert "$d" leaf inter "/CN=chain client" "" ec 3 &&
		cat "$d/leaf.crt" "$d/inter.crt" >"$d/chain.pem" &&
		cat "$d/leaf.crt" "$d/inter.crt" "$d/root.crt" >"$d/chain-root.pem"
}

# The stack of the hardening suites: the edge certificate, the client CA
# set, a raw route to the echo socket. Each suite adds its own policies,
# defaults and timeouts after it and writes the whole with write_config.
raw_stack() {
	cat <<YAML
certificates:
  - { name: edge, chain: pki/server.crt, key: pki/server.key }
ca_sets:
  - { name: clients, files: [pki/ca.crt] }
routes:
  - { name: raw, upstream: "unix:$T/echo.sock", metadata: raw }
YAML
}

# The proxy suites' configuration: one route per upstream/mode, one policy
# per case (written by write_config, tests/config.sh).
proxy_config() {
	write_config "$FEED_PORT" 1 <<YAML
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
  - { sni: greet.test, action: none, route: greet }
  - { sni: hold.test, action: none, route: hold }
  - { sni: blackhole.test, action: none, route: blackhole }
  - { sni: down.test, action: none, route: down-http }
  - { sni: downraw.test, action: none, route: down-raw }
  - { sni: downpp.test, action: none, route: down-pp }
  - { sni: custom.test, action: require, ca_set: clients, route: kong-custom }
defaults:
  default: { action: none, route: raw }
  no-sni: { action: none, route: raw }
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

# check_until "what" EXPECTED SECONDS COMMAND...: waits up to SECONDS for
# COMMAND to print EXPECTED, then checks what it printed last
check_until() {
	local what=$1 want=$2 secs=$3 v
	shift 3
	for _ in $(seq 1 $((secs * 20))); do
		v=$("$@")
		[ "$v" == "$want" ] && break
		sleep 0.05
	done
	check_eq "$what" "$v" "$want"
}

# check_stat "what" NAME EXPECTED: waits up to 2 s for the counter (closes
# are counted when the client side has gone, just after it read the answer)
check_stat() { check_until "$1" "$3" 2 proxy_stat "$2"; }

# Counters from the proxy (SIGUSR1 prints them on stderr): proxy_stat NAME
proxy_stat() {
	local before
	before=$(grep -c 'stats:' "$T/proxy.log")
	kill -USR1 "$PROXY_PID"
	for _ in $(seq 1 50); do
		[ "$(grep -c 'stats:' "$T/proxy.log")" -gt "$before" ] && break
		sleep 0.02
	done
	grep 'stats:' "$T/proxy.log" | tail -1 | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# proxy_closes: the sum of the proxy's close reasons (one per connection),
# as the proxy lists them (--list-counters)
proxy_closes() {
	local c sum=0
	for c in $("${PROXY_BIN:-$ROOT/build/tagshake-proxy}" --list-counters | grep '^close_'); do
		sum=$((sum + $(proxy_stat "$c")))
	done
	echo "$sum"
}

# run_nginx [echo] <HTTP_BODY: an nginx under $T/nginx, in the background
# (its pid in PIDS), the suite's log formats and servers (the inside of
# http {}) on stdin; the head every suite's nginx shares (pid, logs,
# temporary paths; with `echo`, nginx-light's echo module) is written here.
# The caller waits for its ports.
run_nginx() {
	mkdir -p "$T/nginx/tmp"
	{
		printf 'daemon off;\nworker_processes 1;\n'
		[ "${1:-}" != echo ] ||
			printf 'load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;\n'
		cat <<NGX
pid $T/nginx/nginx.pid;
error_log $T/nginx/error.log info;
events { worker_connections 256; }
http {
    client_body_temp_path $T/nginx/tmp/body;
    proxy_temp_path $T/nginx/tmp/proxy;
    fastcgi_temp_path $T/nginx/tmp/fastcgi;
    uwsgi_temp_path $T/nginx/tmp/uwsgi;
    scgi_temp_path $T/nginx/tmp/scgi;
NGX
		cat
		printf '}\n'
	} >"$T/nginx/nginx.conf"
	nginx -p "$T/nginx" -c "$T/nginx/nginx.conf" -e "$T/nginx/error.log" &
	PIDS+=("$!")
}

start_nginx() {
	run_nginx echo <<NGX
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
NGX
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
# hand-offs carry the policy generation of the configuration
peers() {
	TS_GENERATION=$("$ROOT/build/tagshake" check --generation "$T/tagshake.yaml") \
		timeout 30 python3 "$ROOT/tests/proxy_peers.py" "$@"
}
start_peer() { # background python peer
	python3 "$ROOT/tests/proxy_peers.py" "$@" 2>>"$T/peers.log" &
	PIDS+=("$!")
}
