#!/bin/bash
# Hostile requests through tagshake-proxy's http mode (issue 11), against a
# real nginx with underscores_in_headers on and a Python WSGI upstream
# (wsgiref, which reads X_Client_Cert as X-Client-Cert). Each case sends raw
# bytes over TLS through the handshaker and asserts what the upstream
# actually received: exactly one request per client request, no identity or
# forwarding field from the client, the right vhost; and each refused form
# gets its exact status with nothing upstream. Negative controls send the
# same bytes straight to the upstreams, showing each attack works there.
# PROXY_BIN=... runs the suite against another proxy build (the old one).
. "$(dirname "$0")/proxy_lib.sh"
. "$ROOT/tests/tap.sh"

WSGI_PORT=$((BASE + 7))
NGX=$T/nginx/access.log
WSGI=$T/wsgi.log
FORGED=forged-admin

make_certs

write_config "$FEED_PORT" 1 <<YAML
certificates:
  - { name: edge, chain: pki/server.crt, key: pki/server.key }
ca_sets:
  - { name: clients, files: [pki/ca.crt] }
routes:
  - { name: ngx, upstream: 127.0.0.1:$NGX_PORT, metadata: http, headers: kong }
  - { name: wsgi, upstream: 127.0.0.1:$WSGI_PORT, metadata: http, headers: kong }
  - { name: ngx-rfc, upstream: 127.0.0.1:$NGX_PORT, metadata: http, headers: rfc9440 }
  - { name: ngx-nofwd, upstream: 127.0.0.1:$NGX_PORT, metadata: http, headers: kong, forwarded: false }
  - { name: raw, upstream: "unix:$T/echo.sock", metadata: raw }
policies:
  - { sni: public.test, action: none, route: ngx }
  - { sni: admin.test, action: require, ca_set: clients, route: ngx }
  - { sni: wpublic.test, action: none, route: wsgi }
  - { sni: wadmin.test, action: require, ca_set: clients, route: wsgi }
  - { sni: rfc.test, action: none, route: ngx-rfc }
  - { sni: nofwd.test, action: none, route: ngx-nofwd }
defaults:
  default: { action: none, route: raw }
  no-sni: { action: none, route: raw }
timeouts:
  idle: 3s
YAML

run_nginx echo <<NGX
    # X_Client_Cert_Subject_DN is read as \$http_x_client_cert_subject_dn
    underscores_in_headers on;
    log_format hostile 'vhost=\$server_name req="\$request" host=\$host dn="\$http_x_client_cert_subject_dn" cert="\$http_x_client_cert" rfc="\$http_client_cert" xff="\$http_x_forwarded_for" fwd="\$http_forwarded" proto="\$http_x_forwarded_proto" xfh="\$http_x_forwarded_host" realip="\$http_x_real_ip" conn="\$http_connection" body="\$request_body"';
    access_log $T/nginx/access.log hostile;
    server {
        listen 127.0.0.1:$NGX_PORT default_server;
        server_name default;
        location / { return 200 "vhost=default\n"; }
    }
    server {
        listen 127.0.0.1:$NGX_PORT;
        server_name public.test rfc.test nofwd.test;
        location / { return 200 "vhost=public dn=\$http_x_client_cert_subject_dn\n"; }
        location /body {
            client_body_buffer_size 1m;
            echo_read_request_body;
            echo "body=\$request_body";
        }
    }
    server {
        listen 127.0.0.1:$NGX_PORT;
        server_name admin.test;
        location / { return 200 "vhost=admin dn=\$http_x_client_cert_subject_dn\n"; }
    }
NGX
python3 "$ROOT/tests/wsgi_upstream.py" "$WSGI_PORT" "$WSGI" 2>"$T/wsgi.err" &
PIDS+=("$!")
wait_for "$NGX_PORT" || bail "nginx started"
wait_for "$WSGI_PORT" || bail "WSGI upstream started"
touch "$NGX" "$WSGI"
start_proxy || bail "proxy started"
start_handshaker || bail "handshaker started"

raw() { python3 "$ROOT/tests/http_raw.py" "$@"; }
# tls SNI PAYLOAD: the statuses the client got through the proxy
tls() { raw --tls "$1" "$FEED_PORT" "$2"; }
lines() { wc -l <"$1"; }
# new_lines LOG FROM: the log's lines after line FROM
new_lines() { tail -n +"$(($2 + 1))" "$1"; }

# attempt WHAT LOG SNI PAYLOAD STATUSES REQUESTS: sends through the proxy
# and checks the statuses, how many requests the upstream logged, and that
# none of them carries the forged identity. Sets GOT to the new log lines.
# REQUESTS "head": a body the proxy refuses halfway; its head may have gone
# upstream already (nginx then logs that one request, cut), never another.
attempt() {
	local what=$1 log=$2 sni=$3 payload=$4 want=$5 reqs=$6 before got n
	before=$(lines "$log")
	got=$(tls "$sni" "$payload")
	check_eq "$what: statuses" "$got" "$want"
	# nginx logs a request when it is done with it
	for _ in $(seq 1 20); do
		[ "$(($(lines "$log") - before))" -ge "${reqs/head/1}" ] && break
		sleep 0.05
	done
	GOT=$(new_lines "$log" "$before")
	n=$(($(lines "$log") - before))
	if [ "$reqs" = head ]; then
		check_eq "$what: upstream got at most the refused request's own head" \
			"$([ "$n" -le 1 ] && ! grep -qv '^vhost=public.test req="POST /body HTTP/1.1"' <<<"$GOT" && echo yes || echo "no: $GOT")" yes
	else
		check_eq "$what: requests upstream" "$n" "$reqs"
	fi
	if grep -q "$FORGED" <<<"$GOT"; then
		not_ok "$what: no forged identity upstream"
		echo "#   $GOT" | head -c 600
	else
		ok "$what: no forged identity upstream"
	fi
}

# field NAME: a field of the one new nginx log line
# (nginx logs an empty value as "-" and a backslash as \x5C)
field() { sed -n "s/.* $1=\"\\([^\"]*\\)\".*/\\1/p" <<<"$GOT" | sed 's/^-$//; s/\\x5C/\\/g'; }
# env KEY: an environ key of the one new WSGI log line
env_of() { python3 -c 'import json,sys; print(json.loads(sys.stdin.readline()).get(sys.argv[1], ""))' "$1" <<<"$GOT"; }

H='Host: public.test\r\n'
WH='Host: wpublic.test\r\n'
CLOSE='Connection: close\r\n'

# --- the attacks work against the upstreams themselves (negative controls) --
smuggle_body='0;\n\r\nGET http://admin.test/smuggled HTTP/1.1\r\nHost: admin.test\r\nX-Client-Cert-Subject-DN: CN='$FORGED'\r\n\r\n'
smuggle="POST /body HTTP/1.1\\r\\n${H}Transfer-Encoding: chunked\\r\\n\\r\\n${smuggle_body}"
before=$(lines "$NGX")
got=$(raw "$NGX_PORT" "$smuggle")
sleep 0.3
check_eq "control: nginx itself reads a request hidden behind '0;\\n' chunk framing as a second one" \
	"$got" "200 200"
check "control: ... served by the admin vhost with the forged DN" \
	grep -q "^vhost=admin.test req=\"GET http://admin.test/smuggled HTTP/1.1\" .*dn=\"CN=$FORGED\"" "$NGX"
before=$(lines "$NGX")
raw "$NGX_PORT" "GET / HTTP/1.1\\r\\n${H}X_Client_Cert_Subject_DN: CN=$FORGED\\r\\n$CLOSE\\r\\n" >/dev/null
sleep 0.2
check_eq "control: nginx (underscores_in_headers on) reads X_Client_Cert_Subject_DN as the DN" \
	"$(new_lines "$NGX" "$before" | grep -c "dn=\"CN=$FORGED\"")" 1
before=$(lines "$WSGI")
raw "$WSGI_PORT" "GET / HTTP/1.1\\r\\n${WH}X_Client_Cert: $FORGED\\r\\n$CLOSE\\r\\n" >/dev/null
GOT=$(new_lines "$WSGI" "$before")
check_eq "control: wsgiref reads X_Client_Cert as HTTP_X_CLIENT_CERT" "$(env_of HTTP_X_CLIENT_CERT)" "$FORGED"
before=$(lines "$NGX")
raw "$NGX_PORT" "GET http://admin.test/ HTTP/1.1\\r\\n${H}$CLOSE\\r\\n" >/dev/null
sleep 0.2
check_eq "control: nginx routes an absolute-form target by its host, not by Host" \
	"$(new_lines "$NGX" "$before" | grep -c '^vhost=admin')" 1

# --- baseline -----------------------------------------------------------------
attempt "baseline (nginx)" "$NGX" public.test "GET / HTTP/1.1\\r\\n${H}${CLOSE}\\r\\n" 200 1
check_eq "baseline: vhost, origin-form, Host" "$(sed 's/ dn=.*//' <<<"$GOT")" \
	'vhost=public.test req="GET / HTTP/1.1" host=public.test'
check_eq "baseline: X-Forwarded-For is the client's address" "$(field xff)" 127.0.0.1
check_eq "baseline: Forwarded" "$(field fwd)" "for=127.0.0.1;proto=https"
check_eq "baseline: X-Forwarded-Proto" "$(field proto)" https
attempt "baseline (WSGI)" "$WSGI" wpublic.test "GET / HTTP/1.1\\r\\n${WH}${CLOSE}\\r\\n" 200 1
check_eq "baseline (WSGI): X-Forwarded-For" "$(env_of HTTP_X_FORWARDED_FOR)" 127.0.0.1

# --- smuggling ------------------------------------------------------------------
attempt "smuggling behind '0;\\n' chunk framing (the issue's attack)" "$NGX" public.test "$smuggle" 400 head
attempt "smuggling: a request in chunk data stays data (nginx)" "$NGX" public.test \
	"POST /body HTTP/1.1\\r\\n${H}Transfer-Encoding: chunked\\r\\n${CLOSE}\\r\\n5b\\r\\nGET http://admin.test/s HTTP/1.1\\r\\nHost: admin.test\\r\\nX-Client-Cert-Subject-DN: CN=forged\\r\\n\\r\\n\\r\\n0\\r\\n\\r\\n" \
	200 1
check "smuggling: ... nginx got it as the body of the one request" \
	grep -q 'req="POST /body HTTP/1.1".*body="GET http://admin.test/s HTTP/1.1' <<<"$GOT"
attempt "smuggling: bad chunk terminator (xZZ)" "$NGX" public.test \
	"POST /body HTTP/1.1\\r\\n${H}Transfer-Encoding: chunked\\r\\n\\r\\n1\\r\\nxZZ0\\r\\n\\r\\nGET /s HTTP/1.1\\r\\nHost: admin.test\\r\\nX-Client-Cert-Subject-DN: CN=$FORGED\\r\\n\\r\\n" \
	400 head
attempt "smuggling: LF after chunk data" "$NGX" public.test \
	"POST /body HTTP/1.1\\r\\n${H}Transfer-Encoding: chunked\\r\\n\\r\\n1\\r\\nx\\n0\\r\\n\\r\\nGET /s HTTP/1.1\\r\\nHost: admin.test\\r\\n\\r\\n" \
	400 head
attempt "smuggling: bare LF ends a chunk-size line" "$NGX" public.test \
	"POST /body HTTP/1.1\\r\\n${H}Transfer-Encoding: chunked\\r\\n\\r\\n0\\n\\r\\nGET /s HTTP/1.1\\r\\nHost: admin.test\\r\\n\\r\\n" \
	400 head
attempt "smuggling: control byte in a chunk extension" "$NGX" public.test \
	"POST /body HTTP/1.1\\r\\n${H}Transfer-Encoding: chunked\\r\\n\\r\\n1;a=\\x01\\r\\nx\\r\\n0\\r\\n\\r\\n" 400 head
attempt "CL.TE" "$NGX" public.test \
	"POST /body HTTP/1.1\\r\\n${H}Content-Length: 6\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\nGET /s HTTP/1.1\\r\\nHost: admin.test\\r\\n\\r\\n" \
	400 0
attempt "TE.CL" "$NGX" public.test \
	"POST /body HTTP/1.1\\r\\n${H}Transfer-Encoding: chunked\\r\\nContent-Length: 4\\r\\n\\r\\n5c\\r\\nGET /s HTTP/1.1\\r\\nHost: admin.test\\r\\n\\r\\n0\\r\\n\\r\\n" \
	400 0
attempt "duplicate Content-Length" "$NGX" public.test \
	"POST /body HTTP/1.1\\r\\n${H}Content-Length: 3\\r\\nContent-Length: 3\\r\\n\\r\\nabc" 400 0
attempt "conflicting Content-Length" "$NGX" public.test \
	"POST /body HTTP/1.1\\r\\n${H}Content-Length: 3\\r\\nContent-Length: 40\\r\\n\\r\\nabc" 400 0
attempt "Content-Length list" "$NGX" public.test \
	"POST /body HTTP/1.1\\r\\n${H}Content-Length: 3, 3\\r\\n\\r\\nabc" 400 0
attempt "Transfer-Encoding: chunked, identity" "$NGX" public.test \
	"POST /body HTTP/1.1\\r\\n${H}Transfer-Encoding: chunked, identity\\r\\n\\r\\n0\\r\\n\\r\\n" 400 0
attempt "Transfer-Encoding twice" "$NGX" public.test \
	"POST /body HTTP/1.1\\r\\n${H}Transfer-Encoding: chunked\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n0\\r\\n\\r\\n" 400 0
attempt "Transfer_Encoding (underscore) is no framing and does not go upstream" "$NGX" public.test \
	"POST /body HTTP/1.1\\r\\n${H}Transfer_Encoding: chunked\\r\\nContent-Length: 3\\r\\n${CLOSE}\\r\\nabc" 200 1
check_eq "Transfer_Encoding: nginx read the Content-Length body" "$(field body)" abc
attempt "trailers are dropped (identity in a trailer)" "$NGX" public.test \
	"POST /body HTTP/1.1\\r\\n${H}Transfer-Encoding: chunked\\r\\n${CLOSE}\\r\\n3\\r\\nabc\\r\\n0\\r\\nX-Client-Cert-Subject-DN: CN=$FORGED\\r\\n\\r\\n" \
	200 1
check_eq "trailers: body intact" "$(field body)" abc

# --- malformed heads ---------------------------------------------------------------
attempt "LF-only line ends" "$NGX" public.test "GET / HTTP/1.1\\nHost: public.test\\n\\n" 400 0
attempt "bare CR" "$NGX" public.test "GET / HTTP/1.1\\r\\n${H}X: a\\rX-Client-Cert-Subject-DN: CN=$FORGED\\r\\n\\r\\n" 400 0
attempt "NUL in a value" "$NGX" public.test "GET / HTTP/1.1\\r\\n${H}X: a\\x00b\\r\\n\\r\\n" 400 0
attempt "NUL in the target" "$NGX" public.test "GET /a\\x00 HTTP/1.1\\r\\n${H}\\r\\n" 400 0
attempt "obs-fold" "$NGX" public.test "GET / HTTP/1.1\\r\\n${H}X-A: a\\r\\n X-Client-Cert-Subject-DN: CN=$FORGED\\r\\n\\r\\n" 400 0
attempt "head over 16 KiB" "$NGX" public.test "GET / HTTP/1.1\\r\\n${H}X-Big: {PAD:17000}\\r\\n\\r\\n" 431 0
big=""
for i in $(seq 1 130); do big="${big}X-F$i: v\\r\\n"; done
attempt "over 128 fields" "$NGX" public.test "GET / HTTP/1.1\\r\\n${H}${big}\\r\\n" 431 0
attempt "head of 9 KiB (under the bound) passes" "$NGX" public.test \
	"GET / HTTP/1.1\\r\\n${H}X-Big: {PAD:4000}\\r\\nX-Big2: {PAD:4000}\\r\\nX_Client_Cert_Subject_DN: CN=$FORGED\\r\\n${CLOSE}\\r\\n" 200 1
attempt "Upgrade" "$NGX" public.test "GET / HTTP/1.1\\r\\n${H}Connection: upgrade\\r\\nUpgrade: websocket\\r\\n\\r\\n" 501 0
attempt "CONNECT" "$NGX" public.test "CONNECT admin.test:443 HTTP/1.1\\r\\nHost: admin.test:443\\r\\n\\r\\n" 501 0

# --- identity names ---------------------------------------------------------------------
for name in X-Client-Cert-Subject-DN X_Client_Cert_Subject_DN x-client-cert_subject-DN X_CLIENT_CERT_SUBJECT_DN; do
	attempt "$name stripped (nginx)" "$NGX" public.test \
		"GET / HTTP/1.1\\r\\n${H}$name: CN=$FORGED\\r\\n${CLOSE}\\r\\n" 200 1
	check_eq "$name: nginx saw no DN" "$(field dn)" ""
	attempt "$name stripped (WSGI)" "$WSGI" wpublic.test \
		"GET / HTTP/1.1\\r\\n${WH}$name: CN=$FORGED\\r\\n${CLOSE}\\r\\n" 200 1
	check_eq "$name: WSGI saw no DN" "$(env_of HTTP_X_CLIENT_CERT_SUBJECT_DN)" ""
done
attempt "X_Client_Cert stripped (WSGI)" "$WSGI" wpublic.test \
	"GET / HTTP/1.1\\r\\n${WH}X_Client_Cert: $FORGED\\r\\nX-Client-Cert: $FORGED\\r\\n${CLOSE}\\r\\n" 200 1
check_eq "X_Client_Cert: WSGI saw none" "$(env_of HTTP_X_CLIENT_CERT)" ""
attempt "Client_Cert stripped (rfc9440 route)" "$NGX" rfc.test \
	"GET / HTTP/1.1\\r\\nHost: rfc.test\\r\\nClient_Cert: :$FORGED:\\r\\nclient-cert: :$FORGED:\\r\\n${CLOSE}\\r\\n" 200 1
check_eq "Client_Cert: nginx saw none" "$(field rfc)" ""
for name in ' X-Client-Cert-Subject-DN' 'X-Client-Cert-Subject-DN ' 'X-Client-Cert-Subject-DN\t' 'Client Cert' 'X Client Cert Subject DN'; do
	attempt "name '$name' refused" "$NGX" public.test \
		"GET / HTTP/1.1\\r\\n${H}$name: CN=$FORGED\\r\\n${CLOSE}\\r\\n" 400 0
done
attempt "identity names removed from Connection" "$NGX" public.test \
	"GET / HTTP/1.1\\r\\n${H}Connection: close, X-Client-Cert-Subject-DN, x_forwarded_for, Forwarded\\r\\n\\r\\n" 200 1
check_eq "Connection: only close left" "$(field conn)" close

# --- keep-alive and pipelining: every request stripped and counted -------------------------
attempt "pipelined: three requests, each with a forged identity" "$NGX" public.test \
	"GET /1 HTTP/1.1\\r\\n${H}X-Client-Cert-Subject-DN: CN=$FORGED\\r\\n\\r\\nPOST /body HTTP/1.1\\r\\n${H}X_Client_Cert_Subject_DN: CN=$FORGED\\r\\nContent-Length: 2\\r\\n\\r\\nokGET /3 HTTP/1.1\\r\\n${H}x-client-cert-subject-dn: CN=$FORGED\\r\\n${CLOSE}\\r\\n" \
	"200 200 200" 3
check_eq "pipelined: the three requests in order" "$(sed 's/.*req="\([^"]*\)".*/\1/' <<<"$GOT" | tr '\n' '|')" \
	"GET /1 HTTP/1.1|POST /body HTTP/1.1|GET /3 HTTP/1.1|"
attempt "pipelined: chunked then a smuggled request after a bad terminator" "$NGX" public.test \
	"POST /body HTTP/1.1\\r\\n${H}Transfer-Encoding: chunked\\r\\n\\r\\n2\\r\\nokZZ0\\r\\n\\r\\nGET /s HTTP/1.1\\r\\nHost: admin.test\\r\\nX-Client-Cert-Subject-DN: CN=$FORGED\\r\\n\\r\\n" \
	400 head

# --- targets and Host ---------------------------------------------------------------------
attempt "absolute-form of another host than Host" "$NGX" public.test \
	"GET http://admin.test/ HTTP/1.1\\r\\n${H}${CLOSE}\\r\\n" 400 0
attempt "absolute-form with an invalid port" "$NGX" public.test \
	"GET http://admin.test:99999/ HTTP/1.1\\r\\n${H}${CLOSE}\\r\\n" 400 0
attempt "absolute-form of another policy, Host equal" "$NGX" public.test \
	"GET http://admin.test/ HTTP/1.1\\r\\nHost: admin.test\\r\\n${CLOSE}\\r\\n" 421 0
attempt "absolute-form that does not parse" "$NGX" public.test \
	"GET http//admin.test/ HTTP/1.1\\r\\n${H}${CLOSE}\\r\\n" 400 0
attempt "absolute-form with userinfo" "$NGX" public.test \
	"GET http://public.test@admin.test/ HTTP/1.1\\r\\nHost: public.test@admin.test\\r\\n${CLOSE}\\r\\n" 400 0
attempt "absolute-form equal to Host: sent in origin-form" "$NGX" public.test \
	"GET http://public.test/x?y=1 HTTP/1.1\\r\\n${H}${CLOSE}\\r\\n" 200 1
check "absolute-form: nginx got origin-form, public vhost" grep -q '^vhost=public.test req="GET /x?y=1 HTTP/1.1" host=public.test' <<<"$GOT"
attempt "Host of another policy" "$NGX" public.test "GET / HTTP/1.1\\r\\nHost: admin.test\\r\\n${CLOSE}\\r\\n" 421 0
attempt "Host with an invalid port" "$NGX" public.test "GET / HTTP/1.1\\r\\nHost: public.test:99999\\r\\n${CLOSE}\\r\\n" 400 0
attempt "two Host fields" "$NGX" public.test "GET / HTTP/1.1\\r\\n${H}Host: admin.test\\r\\n${CLOSE}\\r\\n" 400 0
attempt "HTTP/1.0 without Host: filled from the SNI" "$NGX" public.test "GET /ten HTTP/1.0\\r\\n\\r\\n" 200 1
check "HTTP/1.0: nginx saw Host public.test" grep -q '^vhost=public.test req="GET /ten HTTP/1.0" host=public.test' <<<"$GOT"
attempt "HTTP/1.0 absolute-form of another policy" "$NGX" public.test "GET http://admin.test/ HTTP/1.0\\r\\n\\r\\n" 421 0
attempt "HTTP/1.0 without Host (WSGI)" "$WSGI" wpublic.test "GET /ten HTTP/1.0\\r\\n\\r\\n" 200 1
check_eq "HTTP/1.0 (WSGI): HTTP_HOST from the SNI" "$(env_of HTTP_HOST)" wpublic.test

# --- forwarding fields ----------------------------------------------------------------------
fwd_forged="X-Forwarded-For: 6.6.6.6\\r\\nX_Forwarded_For: 6.6.6.6\\r\\nForwarded: for=6.6.6.6\\r\\nX-Forwarded-Host: admin.test\\r\\nX-Real-IP: 6.6.6.6\\r\\nX-Forwarded-Proto: http\\r\\n"
attempt "forwarding fields from the client (nginx)" "$NGX" public.test "GET / HTTP/1.1\\r\\n${H}${fwd_forged}${CLOSE}\\r\\n" 200 1
check_eq "forwarding: the proxy's own, nothing of the client's" \
	"$(field xff)|$(field fwd)|$(field proto)|$(field xfh)|$(field realip)" \
	"127.0.0.1|for=127.0.0.1;proto=https|https||"
attempt "forwarding fields from the client (WSGI)" "$WSGI" wpublic.test "GET / HTTP/1.1\\r\\n${WH}${fwd_forged}${CLOSE}\\r\\n" 200 1
check_eq "forwarding (WSGI): the proxy's own, nothing of the client's" \
	"$(env_of HTTP_X_FORWARDED_FOR)|$(env_of HTTP_FORWARDED)|$(env_of HTTP_X_FORWARDED_PROTO)|$(env_of HTTP_X_FORWARDED_HOST)|$(env_of HTTP_X_REAL_IP)" \
	"127.0.0.1|for=127.0.0.1;proto=https|https||"
attempt "forwarded: false route" "$NGX" nofwd.test "GET / HTTP/1.1\\r\\nHost: nofwd.test\\r\\n${fwd_forged}${CLOSE}\\r\\n" 200 1
check_eq "forwarded: false: no forwarding field at all" \
	"$(field xff)|$(field fwd)|$(field proto)|$(field xfh)|$(field realip)" "||||"

# --- a real identity still arrives, and only once -----------------------------------------------
before=$(lines "$NGX")
got=$(raw --tls admin.test --cert "$T/pki/client.crt" --key "$T/pki/client.key" "$FEED_PORT" \
	"GET / HTTP/1.1\\r\\nHost: admin.test\\r\\nX_Client_Cert_Subject_DN: CN=$FORGED\\r\\n${CLOSE}\\r\\n")
sleep 0.2
GOT=$(new_lines "$NGX" "$before")
check_eq "with a certificate: 200" "$got" 200
check_eq "with a certificate: nginx saw the real DN only" "$(field dn)" \
	"$(openssl x509 -in "$T/pki/client.crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')"

tap_end
