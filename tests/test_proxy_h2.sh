#!/bin/bash
# HTTP/2 on http routes: tagshaked offers h2 (per-route alpn:), the proxy
# terminates it with nghttp2 and speaks HTTP/1.1 upstream. Real clients
# (curl --http2, nghttp, h2load, Chromium) against nginx and an echo upstream
# that shows the request head exactly as it arrived; identity headers on
# every stream; 421/400/502 per stream; bodies and trailers; hostile clients
# (rapid reset, CONTINUATION flood, SETTINGS flood, header list size,
# concurrent streams) closed with nothing left behind.
. "$(dirname "$0")/proxy_lib.sh"
. "$ROOT/tests/tap.sh"

PY=/usr/bin/python3 # Debian's, with python3-h2's hyperframe and hpack
ECHO_PORT=$((BASE + 7))
h2peer() { timeout 40 "$PY" "$ROOT/tests/h2_peers.py" "$@" "$T/pki/server.crt" 2>>"$T/peers.log"; }

command -v nghttp >/dev/null && "$PY" -c 'import hyperframe, hpack' 2>/dev/null ||
	bail "nghttp2-client and python3-h2 are installed (scripts/deps.d/proxy.list)"

make_certs
write_config "$FEED_PORT" 1 <<YAML
certificates:
  - { name: edge, chain: pki/server.crt, key: pki/server.key }
ca_sets:
  - { name: clients, files: [pki/ca.crt, pki/root.crt] }
routes:
  - { name: kong, upstream: 127.0.0.1:$NGX_PORT, metadata: http, headers: kong }
  - { name: xfcc, upstream: 127.0.0.1:$NGX_PORT, metadata: http, headers: xfcc }
  - { name: rfc9440, upstream: 127.0.0.1:$NGX_PORT, metadata: http, headers: rfc9440 }
  - { name: echo, upstream: 127.0.0.1:$ECHO_PORT, metadata: http, headers: kong }
  - { name: down-http, upstream: 127.0.0.1:$DEAD_PORT, metadata: http }
  - { name: h1only, upstream: 127.0.0.1:$ECHO_PORT, metadata: http, alpn: [http/1.1] }
  - { name: raw, upstream: "unix:$T/echo.sock", metadata: raw }
policies:
  - { sni: kong.test, action: require, ca_set: clients, route: kong }
  - { sni: xfcc.test, action: require, ca_set: clients, route: xfcc }
  - { sni: rfc.test, action: require, ca_set: clients, route: rfc9440 }
  - { sni: open.test, action: none, route: kong }
  - { sni: opt.test, action: optional, ca_set: clients, route: echo }
  - { sni: down.test, action: none, route: down-http }
  - { sni: secure.test, action: none, route: h1only }
  - { sni: raw.test, action: none, route: raw }
defaults:
  default: { action: none, route: raw }
  no-sni: { action: none, route: raw }
timeouts:
  idle: 3s
YAML
start_nginx
"$PY" "$ROOT/tests/h2_peers.py" echo-upstream "$ECHO_PORT" "$T/echo.log" 2>>"$T/peers.log" &
PIDS+=("$!")
wait_for "$ECHO_PORT" || bail "echo upstream started"
start_proxy
start_handshaker

crt=$T/pki/client.crt
serial=$(openssl x509 -in "$crt" -noout -serial | sed 's/^serial=//')
subject=$(openssl x509 -in "$crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
b64=$(openssl x509 -in "$crt" -outform DER | base64 -w0)
der64() { openssl x509 -in "$T/pki/$1" -outform DER | base64 -w0; }
h2curl() { tls_curl "$@" --http2; }
proxy_fds() { ls "/proc/$PROXY_PID/fd" | wc -l; }
# the echo upstream's record of the last request: "REQUEST LINE | field|field..."
last_echo() { tail -1 "$T/echo.log"; }

# --- ALPN: offered per route ---------------------------------------------------
alpn_of() { # SNI OFFERED
	timeout 5 openssl s_client -connect "127.0.0.1:$FEED_PORT" -servername "$1" -alpn "$2" \
		</dev/null 2>/dev/null | sed -n 's/^ALPN protocol: //p'
}
check_eq "http route, default alpn: h2 selected when offered" "$(alpn_of open.test h2,http/1.1)" h2
check_eq "http route, default alpn: http/1.1 when only it is offered" "$(alpn_of open.test http/1.1)" http/1.1
check_eq "http route with alpn: [http/1.1]: h2 not selected" "$(alpn_of secure.test h2,http/1.1)" http/1.1
check_eq "raw route: h2 not selected (the proxy does not parse it)" "$(alpn_of raw.test h2)" ""

# --- identity on HTTP/2, at a real nginx ---------------------------------------
check_eq "curl --http2: HTTP/2 negotiated end to end" \
	"$(h2curl open.test /all -o /dev/null -w '%{http_version} %{http_code}')" "2 200"
check_eq "kong over h2: serial and subject DN from the hand-off, forged copies replaced" \
	"$(h2curl kong.test /kong "${CLIENT_CERT[@]}" -H 'X-Client-Cert-Serial: 00' -H 'x-client-cert-subject-dn: CN=admin' | sed -n 's/^\(serial\|subject\)=//p' | tr '\n' '|')" \
	"$serial|$subject|"
check_eq "xfcc over h2: Hash and URI of the client certificate" \
	"$(h2curl xfcc.test /xfcc "${CLIENT_CERT[@]}" -H 'X-Forwarded-Client-Cert: Hash=00' | grep -o 'URI=[^;]*')" \
	"URI=spiffe://tagshake.test/client"
check_eq "rfc9440 over h2: Client-Cert and Client-Cert-Chain, a forged chain replaced" \
	"$(h2curl rfc.test /rfc --cert "$T/pki/chain.pem" --key "$T/pki/leaf.key" -H 'Client-Cert-Chain: :AAAA:')" \
	"cert=:$(der64 leaf.crt):
chain=:$(der64 inter.crt):"
check_eq "no certificate (none policy): no identity header, forged ones removed" \
	"$(h2curl open.test /all -H 'X-Client-Cert: forged' -H 'Client-Cert: :AAAA:' -H 'X-Forwarded-Client-Cert: x')" "||||"

# --- the upstream request, as framed by the proxy ---------------------------------
h2curl opt.test '/echo?a=1' "${CLIENT_CERT[@]}" -H 'X-Forwarded-For: 6.6.6.6' -H 'Forwarded: for=6.6.6.6' \
	-H 'x_client_cert_serial: forged' -H 'X-Real-IP: 6.6.6.6' -H 'Cookie: a=1' -H 'Cookie: b=2' \
	-H 'X-Custom: kept' -o /dev/null
rec=$(last_echo)
check_eq "request line in origin-form, HTTP/1.1" "${rec%% |*}" "GET /echo?a=1 HTTP/1.1"
fields=$(tr '|' '\n' <<<"${rec#* | }")
check_eq "Host from :authority (with its port, as HTTP/1 passes Host), first" "$(head -1 <<<"$fields")" "Host: opt.test:$FEED_PORT"
check_eq "client's forwarding fields replaced by the proxy's" \
	"$(grep -i '^\(x-forwarded\|forwarded\|x-real-ip\)' <<<"$fields")" \
	"X-Forwarded-For: 127.0.0.1
X-Forwarded-Proto: https
Forwarded: for=127.0.0.1;proto=https"
check_eq "identity by canonical name: x_client_cert_serial removed, the real serial once" \
	"$(grep -i '^x.client.cert.serial' <<<"$fields")" "X-Client-Cert-Serial: $serial"
check_eq "cookie crumbs joined into one Cookie field (RFC 9113, 8.2.3)" \
	"$(grep -i '^cookie' <<<"$fields")" "Cookie: a=1; b=2"
check_eq "other client fields kept" "$(grep -i '^x-custom' <<<"$fields")" "x-custom: kept"
check_eq "response: the upstream's hop-by-hop fields (Connection and what it names) removed" \
	"$(h2curl opt.test /echo -D - -o /dev/null | grep -ci '^\(x-hop\|connection\)')" 0

check_eq "HEAD: the upstream's head only, its Content-Length kept, no body" \
	"$(h2curl opt.test /echo -I -w '%{size_download}' | tr -d '\r' | grep -ci '^content-length: [1-9]'; h2curl opt.test /echo -I -o /dev/null -w '%{http_code} %{size_download}')" "1
200 0"

# --- bodies ------------------------------------------------------------------------
out=$(h2curl opt.test /post --data-binary 'hello=world' -o - | tail -c 11)
check_eq "POST with content-length: body through, Content-Length restated" "$out" "hello=world"
check_eq "... upstream saw Content-Length: 11" "$(last_echo | tr '|' '\n' | grep -i '^content-length')" "Content-Length: 11"
head -c 200000 /dev/urandom | base64 -w0 >"$T/big"
out=$(h2curl opt.test /post -T - <"$T/big" | tail -c "$(wc -c <"$T/big")" | cmp - "$T/big" && echo same)
check_eq "body without content-length (266 KB, over the stream window): chunked by the proxy, intact" "$out" same
check_eq "... upstream saw Transfer-Encoding: chunked" \
	"$(last_echo | tr '|' '\n' | grep -i '^transfer-encoding')" "Transfer-Encoding: chunked"

# nghttp takes its SNI from the URI: a private /etc/hosts in its own mount
# namespace names the test hosts
printf '127.0.0.1 opt.test kong.test open.test\n' >"$T/hosts"
nghttp_at() { timeout 20 unshare -m sh -c 'mount --bind "$0" /etc/hosts && exec nghttp "$@"' "$T/hosts" "$@"; }

check_eq "request trailers: dropped (as in HTTP/1), the body before them delivered chunked" \
	"$(h2peer request-trailers "$FEED_PORT" opt.test)" "status=200 trailer_upstream=False body_end=part1-part2"

# --- trailers (gRPC style) -----------------------------------------------------------
out=$(nghttp_at -v --no-verify-peer -H 'te: trailers' "https://opt.test:$FEED_PORT/trailers" 2>&1)
check "nghttp: te: trailers reaches the upstream as TE: trailers" grep -q 'TE: trailers' <<<"$(last_echo | tr '|' '\n')"
check "nghttp: response trailers come back as a HEADERS frame after DATA (grpc-status: 0)" \
	grep -q 'grpc-status: 0' <<<"$out"
check_eq "nghttp: the body before the trailers" "$(grep -c '^hello' <<<"$out")" 1

# --- per-stream answers of the proxy ---------------------------------------------------
check_eq ":authority of another policy → 421 on that stream (the browser retries elsewhere)" \
	"$(h2curl open.test /all -H 'Host: xfcc.test' -o /dev/null -w '%{http_code}')" 421
check_eq "421 on one stream only: the streams before and after it, and a later one, are served on the same connection" \
	"$(h2peer two-authorities "$FEED_PORT" opt.test xfcc.test)" "1=200 3=421 5=200 7=200"
check_eq "upstream down → 502 on the stream" "$(h2curl down.test / -o /dev/null -w '%{http_code}')" 502
check_eq "an asterisk-form :path (OPTIONS *) → 400" \
	"$(h2curl open.test / -X OPTIONS --request-target '*' -o /dev/null -w '%{http_code}')" 400

# --- many streams on one connection, identity on each ------------------------------------
before=$(grep -c 'uri=/kong' "$T/nginx/access.log")
# h2load has no client certificate option: open.test (no identity)
out=$(timeout 30 h2load -n 200 -c 1 -m 20 --connect-to "127.0.0.1:$FEED_PORT" \
	"https://open.test/kong" 2>&1 | grep -o '[0-9]* succeeded')
check_eq "h2load: 200 requests, 20 streams at a time on one connection, all succeeded" "$out" "200 succeeded"
urls=()
for i in $(seq 1 10); do urls+=("https://kong.test:$FEED_PORT/kong?s=$i"); done
nghttp_at --no-verify-peer --cert "$crt" --key "$T/pki/client.key" -H 'x-client-cert-subject-dn: CN=admin' \
	"${urls[@]}" >/dev/null 2>&1
sleep 0.3
check_eq "nghttp, 10 concurrent streams with a client certificate: nginx saw the subject DN on each" \
	"$(grep -cF "subject=\"${subject//\\/\\x5C}\" host=kong.test uri=/kong?s=" "$T/nginx/access.log")" 10

# --- upstream keep-alive: a bounded pool per HTTP/2 connection ---------------------------
: >"$T/echo.log"
out=$(timeout 30 h2load -n 50 -c 1 -m 1 --connect-to "127.0.0.1:$FEED_PORT" "https://opt.test/echo" 2>&1 | grep -o '[0-9]* succeeded')
check_eq "50 sequential streams: all succeeded" "$out" "50 succeeded"
check_eq "... over one kept-alive upstream connection" "$(grep -o 'port=[0-9]*' "$T/echo.log" | sort -u | wc -l)" 1
: >"$T/echo.log"
out=$(timeout 30 h2load -n 20 -c 1 -m 1 --connect-to "127.0.0.1:$FEED_PORT" "https://opt.test/close" 2>&1 | grep -o '[0-9]* succeeded')
check_eq "an upstream closing after each answer: a closed pooled connection is never reused, 20 succeeded" "$out" "20 succeeded"
check_eq "... 20 upstream connections" "$(grep -o 'port=[0-9]*' "$T/echo.log" | sort -u | wc -l)" 20

# --- Chromium: h2 by itself, with a client certificate, sub-requests multiplexed ----------
# Its certificate from an NSS database in a private HOME, picked without a
# dialog by the AutoSelectCertificateForUrls policy, from a policy directory
# bind-mounted over /etc/chromium in chromium's own mount namespace only.
chromium_cert() { # URL
	mkdir -p "$T/home/.pki/nssdb" "$T/etc-chromium/policies/managed"
	certutil -N -d "sql:$T/home/.pki/nssdb" --empty-password &&
		openssl pkcs12 -export -in "$crt" -inkey "$T/pki/client.key" -out "$T/client.p12" \
			-passout pass: -name client &&
		pk12util -i "$T/client.p12" -d "sql:$T/home/.pki/nssdb" -W '' >/dev/null || return 1
	cp /etc/chromium/master_preferences "$T/etc-chromium/" 2>/dev/null
	printf '{"AutoSelectCertificateForUrls": ["{\\"pattern\\":\\"https://opt.test:%s\\",\\"filter\\":{}}"]}\n' \
		"$FEED_PORT" >"$T/etc-chromium/policies/managed/tagshake-test.json"
	HOME=$T/home timeout 60 unshare -m sh -c 'mount --bind "$0" /etc/chromium && exec "$@"' "$T/etc-chromium" \
		chromium --headless=new --no-sandbox --disable-gpu --user-data-dir="$T/chrome" \
		--ignore-certificate-errors --host-resolver-rules="MAP *.test 127.0.0.1" --disable-quic \
		--virtual-time-budget=5000 --dump-dom "$1" 2>"$T/chrome.log"
}
if ! command -v chromium >/dev/null; then
	not_ok "chromium headless: chromium is not installed"
elif ! command -v pk12util >/dev/null; then
	not_ok "chromium headless with a client certificate: pk12util and certutil (libnss3-tools) are not installed"
else
	: >"$T/echo.log"
	out=$(chromium_cert "https://opt.test:$FEED_PORT/page" | grep -o 'proto=[a-z][a-z0-9/.]*\|subs=[0-9][0-9]*' | tr '\n' ' ')
	check_eq "chromium headless: the page came over h2 and its 4 fetches were answered" "$out" "proto=h2 subs=4 "
	check_eq "chromium: the page and its 4 sub-requests each reached the upstream with the client certificate's serial and subject DN" \
		"$(grep "^GET /\(page\|sub?[1-4]\) HTTP/1.1 | Host: opt.test:$FEED_PORT|" "$T/echo.log" |
			grep -F "|X-Client-Cert-Serial: $serial|" | grep -cF "|X-Client-Cert-Subject-DN: $subject|")" 5
	check_eq "chromium: and with the proxy's forwarding fields" \
		"$(grep -c "^GET /\(page\|sub?[1-4]\) HTTP/1.1 | .*|X-Forwarded-For: 127.0.0.1|X-Forwarded-Proto: https|" "$T/echo.log")" 5
fi

# --- h2c stays refused ----------------------------------------------------------------------
out=$(peers tls-client "$FEED_PORT" open.test "$T/pki/server.crt" "$crt" "$T/pki/client.key" \
	'GET / HTTP/1.1\r\nHost: open.test\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAoAAAAAIAAAAA\r\n\r\n' | head -1 | tr -d '\r')
check_eq "Upgrade: h2c on HTTP/1.1 → 501" "$out" "HTTP/1.1 501 Not Implemented"
out=$(peers tls-client "$FEED_PORT" open.test "$T/pki/server.crt" "$crt" "$T/pki/client.key" \
	'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n' | head -1 | tr -d '\r')
check_eq "the h2 preface on an http/1.1 connection (prior knowledge) → 400" "$out" "HTTP/1.1 400 Bad Request"

# --- hostile clients: each closed, nothing left behind --------------------------------------
sleep 3.5 # idle connections of the cases above are gone
base_fds=$(proxy_fds)
before=$(stat http_requests)
# nghttp2's RST_STREAM token bucket (burst PX_H2_RESET_BURST) ends it with
# GOAWAY INTERNAL_ERROR, as upstream nghttp2 does
check_eq "rapid reset (1000 × HEADERS+RST_STREAM): GOAWAY, closed at once" \
	"$(h2peer rapid-reset "$FEED_PORT" opt.test 1000)" "goaway=INTERNAL_ERROR closed quickly"
sleep 0.3
got=$(($(stat http_requests) - before))
check "rapid reset: at most the reset burst (200) of streams reached an upstream (got $got)" test "$got" -le 201
# a peer that floods without reading may not even be sent the GOAWAY
check_eq "CONTINUATION flood (one header block, 1000 frames): closed at once (max 8 CONTINUATION)" \
	"$(h2peer continuation-flood "$FEED_PORT" opt.test 1000 | cut -d' ' -f2-)" "closed quickly"
check_eq "SETTINGS flood (20000 frames, ACKs never read): closed at once (1000 queued ACKs at most)" \
	"$(h2peer settings-flood "$FEED_PORT" opt.test 20000 | cut -d' ' -f2-)" "closed quickly"
check_eq "header list over 16 KiB → 431 on the stream" \
	"$(h2peer big-headers "$FEED_PORT" opt.test 20000)" "status=431"
out=$(h2peer streams "$FEED_PORT" opt.test 150 /slow | tail -1)
check_eq "150 streams at once: the 50 over SETTINGS_MAX_CONCURRENT_STREAMS (100) refused" "$out" "refused=50"
sleep 0.5
check_eq "after the hostile clients: the proxy's fds back to the baseline" "$(proxy_fds)" "$base_fds"
check "the proxy is still serving" test "$(h2curl open.test /all)" = "||||"
check_eq "idle timeout (3 s): GOAWAY NO_ERROR, then closed" \
	"$(h2peer idle "$FEED_PORT" opt.test | cut -d' ' -f1-2)" "goaway=NO_ERROR closed"

# --- SIGTERM: open HTTP/2 connections are told to go ------------------------------------------
h2peer idle "$FEED_PORT" opt.test >"$T/idle.out" &
idle_pid=$!
sleep 0.7
kill -TERM "$PROXY_PID"
wait "$idle_pid"
check_eq "SIGTERM (drain): an idle HTTP/2 connection gets GOAWAY NO_ERROR and is closed at once" \
	"$(cat "$T/idle.out")" "goaway=NO_ERROR closed quickly"
wait_exit "$PROXY_PID" 5
check_eq "... and the proxy exits 0 without waiting for the drain timeout" "$EXIT_STATUS" 0
tap_end
