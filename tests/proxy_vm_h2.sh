#!/bin/bash
# HTTP/2 with kTLS, inside a kernel-matrix VM (the host has no kTLS, so
# test_proxy_h2.sh covers relay mode only): tagshaked negotiates h2 by ALPN,
# installs kTLS and hands off the TCP socket; the proxy terminates HTTP/2 on
# the kTLS socket and speaks HTTP/1.1 to busybox httpd, whose CGI prints the
# request headers exactly as they arrived. Real client: curl --http2 with and
# without a client certificate. Prints TAP.
cd "$(dirname "$0")/.." || exit 1
. tests/vm_lib.sh

UP=9001
pki_ca "$T" ca "/CN=VM Client CA" &&
	pki_ca "$T" s /CN=edge.test "subjectAltName=DNS:mtls.test,DNS:open.test,DNS:other.test" &&
	pki_cert "$T" client ca "/CN=vm client" || bail "test PKI"
write_config 8443 1 <<YAML
certificates:
  - { name: edge, chain: $T/s.crt, key: $T/s.key }
ca_sets:
  - { name: clients, files: [$T/ca.crt] }
routes:
  - { name: web, upstream: 127.0.0.1:$UP, metadata: http, headers: kong }
  - { name: other, upstream: 127.0.0.1:$UP, metadata: http, headers: kong }
policies:
  - { sni: mtls.test, action: require, ca_set: clients, route: web }
  - { sni: open.test, action: none, route: web }
  - { sni: other.test, action: none, route: other }
defaults:
  default: { action: reject }
YAML

# the upstream: busybox httpd; its CGI echoes the head it received
mkdir -p "$T/www/cgi-bin"
cat >"$T/www/cgi-bin/echo" <<'CGI'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
echo "method=$REQUEST_METHOD"
env | grep '^HTTP_' | sort
CGI
chmod +x "$T/www/cgi-bin/echo"
busybox httpd -f -p "127.0.0.1:$UP" -h "$T/www" &
PIDS+=("$!")
build/tagshake-proxy --config "$T/tagshake.yaml" --workers 1 2>"$T/proxy.log" &
PROXY=$!
PIDS+=("$PROXY")
wait_file "$T/handoff.sock" || bail "proxy started"
build/tagshaked --config "$T/tagshake.yaml" --status "$T/status" 2>"$T/hs.log" &
PIDS+=("$!")
wait_file "$T/status" || bail "tagshaked started"
sleep 0.5

h2get() { # SNI PATH [CURL ARGS...]
	local sni=$1 path=$2
	shift 2
	timeout 10 curl -sk --http2 --resolve "$sni:8443:127.0.0.1" "$@" "https://$sni:8443$path"
}
field() { sed -n "s/^$1=//p"; }

check_eq "tagshaked hands off with kTLS" "$(sed -n 's/^mode //p' "$T/status")" ktls
check_eq "open SNI: HTTP/2 negotiated end to end on the kTLS socket" \
	"$(h2get open.test /cgi-bin/echo -o /dev/null -w '%{http_version} %{http_code}')" "2 200"
out=$(h2get open.test /cgi-bin/echo -H 'X-Client-Cert-Verify: SUCCESS' -H 'X-Client-Cert-Serial: 01')
check_eq "open SNI over h2: forged identity headers replaced by the proxy's verify status" \
	"$(echo "$out" | field HTTP_X_CLIENT_CERT_VERIFY)|$(echo "$out" | field HTTP_X_CLIENT_CERT_SERIAL)" "NONE|"
check_eq "open SNI over h2: :authority arrives upstream as Host" "$(echo "$out" | field HTTP_HOST)" open.test:8443

serial=$(openssl x509 -in "$T/client.crt" -noout -serial | sed 's/^serial=//')
out=$(h2get mtls.test /cgi-bin/echo --cert "$T/client.crt" --key "$T/client.key")
check_eq "require SNI over h2 with a verified certificate: verify status and serial reach the upstream" \
	"$(echo "$out" | field HTTP_X_CLIENT_CERT_VERIFY)|$(echo "$out" | field HTTP_X_CLIENT_CERT_SERIAL)" \
	"SUCCESS|$serial"
check_eq "require SNI without a certificate: no HTTP/2 response" \
	"$(h2get mtls.test /cgi-bin/echo -o /dev/null -w '%{http_code}')" "000"
check_eq "h2 stream whose :authority belongs to another policy: 421" \
	"$(h2get open.test /cgi-bin/echo -H 'Host: other.test' -o /dev/null -w '%{http_code}')" 421

# several streams on one connection (curl multiplexes when it may), each answered
url=https://open.test:8443/cgi-bin/echo
codes=$(h2get open.test /cgi-bin/echo --parallel -w '%{http_code} %{num_connects}\n' \
	-o /dev/null -o /dev/null -o /dev/null "$url" "$url" 2>/dev/null | sort | uniq -c | tr -s ' ')
check_eq "three parallel h2 requests on the kTLS socket: all 200 over one connection" "$codes" \
	"$(printf ' 2 200 0\n 1 200 1')"

kill -USR1 "$PROXY"
sleep 0.3
stats=$(grep stats: "$T/proxy.log" | tail -1 | tr ' ' '\n')
v() { echo "$stats" | sed -n "s/^$1=//p"; }
check_eq "no connection closed by an error" "$(v close_client_error) $(v close_upstream_error)" "0 0"
tap_end
