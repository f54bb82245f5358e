#!/bin/bash
# Action request (Kong's TLS Handshake Modifier, nginx's ssl_verify_client
# optional_no_ca) through the real stack: tagshaked, tagshake-proxy, nginx.
#   - the verify status the upstream gets (X-Client-Cert-Verify) is nginx's
#     own $ssl_client_verify for the same certificate: trusted, untrusted,
#     expired, self-signed, none; with a CA set and without; and the
#     certificate bytes are the same;
#   - each metadata mode follows docs/security.md's rule for an unverified
#     certificate: by default nothing but the status, with `unverified:
#     forward` the certificate beside a FAILED status; PROXY v2 carries
#     PP2_CLIENT_* bits and verify as the PROXY protocol defines them;
#   - a resumed session keeps the certificate and its status;
#   - openssl s_client sees a CertificateRequest exactly on request, optional
#     and require names; Chromium on a none name gets its page and no
#     CertificateRequest is sent.
. "$(dirname "$0")/proxy_lib.sh"
. "$ROOT/tests/handshaker_lib.sh"
. "$ROOT/tests/lib.sh"
. "$ROOT/tests/tap.sh"

NGX_TLS=$((BASE + 7))      # nginx: ssl_verify_client optional_no_ca with the CA
NGX_TLS_NOCA=$((BASE + 8)) # nginx: optional_no_ca without any CA

# curl through tagshaked: tls_curl SNI PATH [curl args...] (this suite's server certificate)
tls_curl() {
	local sni=$1 path=$2
	shift 2
	curl -s --max-time 10 --cacert "$T/server.crt" --resolve "$sni:$FEED_PORT:127.0.0.1" \
		"$@" "https://$sni:$FEED_PORT$path"
}

# ---- PKI: a server certificate for *.t.test, a client CA and clients ----
pki_ca "$T" clients /CN=clients
pki_ca "$T" other /CN=other
pki_cert "$T" trusted clients "/O=tagshake test/CN=trusted" "extendedKeyUsage=clientAuth"
pki_cert "$T" untrusted other "/O=tagshake test/CN=untrusted" "extendedKeyUsage=clientAuth"
pki_expired "$T" expired clients "/O=tagshake test/CN=expired"
pki_ca "$T" selfsigned "/CN=self signed client"
pki_ca "$T" server /CN=edge "subjectAltName=DNS:*.t.test"
[ -s "$T/expired.crt" ] && [ -s "$T/trusted.crt" ] || bail "test PKI made (scripts/pki.sh)"

write_config "$FEED_PORT" 1 "$T/no-pins" <<YAML
certificates:
  - { name: edge, chain: server.crt, key: server.key }
ca_sets:
  - { name: clients, files: [clients.crt] }
routes:
  - { name: kong-fwd, upstream: 127.0.0.1:$NGX_PORT, metadata: http, unverified: forward }
  - { name: kong-omit, upstream: 127.0.0.1:$NGX_PORT, metadata: http }
  - { name: xfcc-fwd, upstream: 127.0.0.1:$NGX_PORT, metadata: http, headers: xfcc, unverified: forward }
  - { name: xfcc-omit, upstream: 127.0.0.1:$NGX_PORT, metadata: http, headers: xfcc }
  - { name: rfc-fwd, upstream: 127.0.0.1:$NGX_PORT, metadata: http, headers: rfc9440, unverified: forward }
  - { name: rfc-omit, upstream: 127.0.0.1:$NGX_PORT, metadata: http, headers: rfc9440 }
  - { name: pp-fwd, upstream: "unix:$T/pp2.sock", metadata: proxy-v2, unverified: forward }
  - { name: pp-omit, upstream: "unix:$T/pp2.sock", metadata: proxy-v2 }
  - { name: custom, upstream: 127.0.0.1:$NGX_PORT, metadata: http, verify_header: X-Tls-Verified }
policies:
  - { sni: req.t.test, action: request, ca_set: clients, route: kong-fwd }
  - { sni: omit.t.test, action: request, ca_set: clients, route: kong-omit }
  - { sni: noca.t.test, action: request, route: kong-fwd }
  - { sni: xfcc.t.test, action: request, ca_set: clients, route: xfcc-fwd }
  - { sni: xfcco.t.test, action: request, ca_set: clients, route: xfcc-omit }
  - { sni: rfc.t.test, action: request, ca_set: clients, route: rfc-fwd }
  - { sni: rfco.t.test, action: request, ca_set: clients, route: rfc-omit }
  - { sni: pp.t.test, action: request, ca_set: clients, route: pp-fwd }
  - { sni: ppo.t.test, action: request, ca_set: clients, route: pp-omit }
  - { sni: custom.t.test, action: request, ca_set: clients, route: custom }
  - { sni: none.t.test, action: none, route: kong-omit }
  - { sni: opt.t.test, action: optional, ca_set: clients, route: kong-omit }
  - { sni: reqd.t.test, action: require, ca_set: clients, route: kong-omit }
  - { sni: rej.t.test, action: reject }
defaults:
  default: { action: none, route: kong-omit }
  no-sni: { action: none, route: kong-omit }
logging:
  connections: true
YAML
check "the configuration with request policies and the new route keys is valid" \
	"$ROOT/build/tagshake" check --quiet "$T/tagshake.yaml"

run_nginx <<NGX
    log_format ua '\$host \$request_uri "\$http_user_agent"';
    log_format verify '\$status \$ssl_client_verify|\$ssl_client_escaped_cert';
    access_log $T/nginx/access.log ua;
    server {
        listen 127.0.0.1:$NGX_PORT;
        location /v { return 200 "\$http_x_client_cert_verify|\$http_x_client_cert\n"; }
        location /custom { return 200 "\$http_x_tls_verified|\$http_x_client_cert_verify\n"; }
        location /kong {
            return 200 "\$http_x_client_cert_verify|\$http_x_client_cert_subject_dn|\$http_x_client_cert_serial|\$http_x_client_cert_fingerprint\n";
        }
        location /xfcc { return 200 "\$http_x_client_cert_verify|\$http_x_forwarded_client_cert\n"; }
        location /rfc { return 200 "\$http_x_client_cert_verify|\$http_client_cert\n"; }
        location /page { default_type text/html; return 200 "<html><body>page on a none name</body></html>\n"; }
    }
    server {
        listen 127.0.0.1:$NGX_TLS ssl;
        ssl_certificate $T/server.crt;
        ssl_certificate_key $T/server.key;
        ssl_verify_client optional_no_ca;
        ssl_client_certificate $T/clients.crt;
        access_log $T/nginx/verify.log verify;
        location / { return 200 "ok\n"; }
    }
    server {
        listen 127.0.0.1:$NGX_TLS_NOCA ssl;
        ssl_certificate $T/server.crt;
        ssl_certificate_key $T/server.key;
        ssl_verify_client optional_no_ca;
        access_log $T/nginx/verify.log verify;
        location / { return 200 "ok\n"; }
    }
NGX
python3 "$ROOT/tests/pp2_http_upstream.py" "$T/pp2.sock" 2>>"$T/pp2.log" &
PIDS+=("$!")
start_proxy
"$ROOT/build/tagshaked" --config "$T/tagshake.yaml" --status "$T/status" 2>"$T/handshaker.log" &
PIDS+=("$!")
wait_for "$NGX_PORT" && wait_for "$NGX_TLS" && wait_for "$NGX_TLS_NOCA" && wait_for "$T/pp2.sock" &&
	wait_for "$FEED_PORT" || bail "nginx, the PROXY v2 upstream, the proxy and tagshaked started"

# curl options for a client certificate case: none sends no certificate
cert_args() { [ "$1" = none ] || echo "--cert $T/$1.crt --key $T/$1.key"; }
# nginx's own view, from its access log (it answers 400 to some failures
# optional_no_ca does not tolerate, and logs them too): "$ssl_client_verify|
# $ssl_client_escaped_cert"; NGX_STATUS is the HTTP status it answered.
nginx_says() { # PORT CASE
	local before
	before=$(wc -l <"$T/nginx/verify.log" 2>/dev/null || echo 0)
	# shellcheck disable=SC2046
	curl -s -o /dev/null --max-time 10 --cacert "$T/server.crt" --resolve "x.t.test:$1:127.0.0.1" \
		$(cert_args "$2") "https://x.t.test:$1/"
	for _ in $(seq 1 50); do
		[ "$(wc -l <"$T/nginx/verify.log")" -gt "$before" ] && break
		sleep 0.02
	done
	NGX_STATUS=$(tail -1 "$T/nginx/verify.log" | cut -d' ' -f1)
	tail -1 "$T/nginx/verify.log" | cut -d' ' -f2-
}
# tagshake's: tls_curl through tagshaked and the proxy to nginx
ts_says() { # SNI PATH CASE
	# shellcheck disable=SC2046
	tls_curl "$1" "$2" $(cert_args "$3")
}
# The certificate in a URL-encoded PEM, as the SHA-256 of its DER; "-" when empty.
der_of_pem() {
	python3 -c '
import sys, urllib.parse, base64, hashlib
s = urllib.parse.unquote(sys.argv[1]).strip()
if s in ("", "-"): print("-"); sys.exit()
b = "".join(l for l in s.splitlines() if not l.startswith("-----"))
print(hashlib.sha256(base64.b64decode(b)).hexdigest())' "$1"
}
der_of_file() { openssl x509 -in "$T/$1.crt" -outform DER | sha256sum | cut -d' ' -f1; }

declare -A NGX_WANT=([trusted]=200 [untrusted]=200 [expired]=400 [selfsigned]=200 [none]=200)
declare -A WANT=(
	[trusted]=SUCCESS
	[untrusted]="FAILED:unable to verify the first certificate"
	[expired]="FAILED:certificate has expired"
	[selfsigned]="FAILED:self-signed certificate"
	[none]=NONE
)

# ---- request matches nginx optional_no_ca, case by case ----
for c in trusted untrusted expired selfsigned none; do
	nginx_says "$NGX_TLS" "$c" >"$T/ngx.out"
	ngx=$(cat "$T/ngx.out")
	ts=$(ts_says req.t.test /v "$c")
	# nginx forwards only the failures of a missing CA (ngx_ssl_verify_error_optional);
	# an expired certificate gets 400 there, and goes upstream with its status here
	check_eq "$c: nginx optional_no_ca answers ${NGX_WANT[$c]}" "$NGX_STATUS" "${NGX_WANT[$c]}"
	check_eq "$c, with the CA set: nginx optional_no_ca says ${WANT[$c]}" "${ngx%%|*}" "${WANT[$c]}"
	check_eq "$c, with the CA set: tagshake's request says what nginx says" "${ts%%|*}" "${ngx%%|*}"
	want_der=-
	[ "$c" = none ] || want_der=$(der_of_file "$c")
	check_eq "$c: nginx's certificate is the client's" "$(der_of_pem "${ngx#*|}")" "$want_der"
	check_eq "$c: the upstream gets the same certificate bytes from tagshake (unverified: forward)" \
		"$(der_of_pem "${ts#*|}")" "$want_der"
	ngx=$(nginx_says "$NGX_TLS_NOCA" "$c")
	ts=$(ts_says noca.t.test /v "$c")
	check_eq "$c, without a CA set: tagshake's request says what nginx says (${ngx%%|*})" \
		"${ts%%|*}" "${ngx%%|*}"
done
check_eq "without a CA set nothing verifies: nginx says FAILED for the trusted client" \
	"$(nginx_says "$NGX_TLS_NOCA" trusted | cut -d'|' -f1)" "FAILED:unable to verify the first certificate"

# ---- the rule for unverified certificates, per metadata mode ----
subj=$(openssl x509 -in "$T/trusted.crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
check_eq "kong, verified: status and identity" "$(ts_says omit.t.test /kong trusted | cut -d'|' -f1-2)" \
	"SUCCESS|$subj"
check_eq "kong, unverified (default omit): the status and no identity header at all" \
	"$(ts_says omit.t.test /kong untrusted)" "${WANT[untrusted]}|||"
usubj=$(openssl x509 -in "$T/untrusted.crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
check_eq "kong, unverified with unverified: forward: identity beside FAILED" \
	"$(ts_says req.t.test /kong untrusted | cut -d'|' -f1-2)" "${WANT[untrusted]}|$usubj"
check_eq "kong, no certificate: NONE and nothing else" "$(ts_says omit.t.test /kong none)" "NONE|||"
check_eq "xfcc, unverified (default omit): status only" "$(ts_says xfcco.t.test /xfcc untrusted)" \
	"${WANT[untrusted]}|"
x=$(ts_says xfcc.t.test /xfcc expired)
check_eq "xfcc, unverified with forward: XFCC with the certificate's hash beside FAILED" \
	"${x%%;*}" "${WANT[expired]}|Hash=$(der_of_file expired)"
x=$(ts_says xfcco.t.test /xfcc trusted)
check_eq "xfcc, verified: XFCC with the hash" "${x%%;*}" "SUCCESS|Hash=$(der_of_file trusted)"
check_eq "rfc9440, unverified (default omit): no Client-Cert" "$(ts_says rfco.t.test /rfc selfsigned)" \
	"${WANT[selfsigned]}|"
b64() { openssl x509 -in "$T/$1.crt" -outform DER | base64 -w0; }
check_eq "rfc9440, unverified with forward: Client-Cert beside FAILED" \
	"$(ts_says rfc.t.test /rfc selfsigned)" "${WANT[selfsigned]}|:$(b64 selfsigned):"
check_eq "rfc9440, verified: Client-Cert" "$(ts_says rfco.t.test /rfc trusted)" "SUCCESS|:$(b64 trusted):"
check_eq "verify_header names the status header; the default name is not sent then" \
	"$(ts_says custom.t.test /custom expired)" "${WANT[expired]}|"
check_eq "a forged verify status from the client is replaced" \
	"$(ts_says omit.t.test /v none -H 'X-Client-Cert-Verify: SUCCESS')" "NONE|"

# PROXY v2: client = PP2_CLIENT_SSL (1) | CERT_CONN (2) | CERT_SESS (4); verify 0 only when verified
check_eq "proxy-v2, verified: client=7 verify=0, CN and certificate" "$(ts_says ppo.t.test / trusted)" \
	"client=7 verify=0 cn=trusted cert=$(der_of_file trusted)"
check_eq "proxy-v2, unverified (default omit): client=7, verify=21 (X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE), no CN, no certificate" \
	"$(ts_says ppo.t.test / untrusted)" "client=7 verify=21 cn=- cert=-"
check_eq "proxy-v2, unverified with forward: verify=10 (X509_V_ERR_CERT_HAS_EXPIRED) and the certificate" \
	"$(ts_says pp.t.test / expired)" "client=7 verify=10 cn=expired cert=$(der_of_file expired)"
check_eq "proxy-v2, no certificate: client=1 (SSL only), verify non-zero" \
	"$(ts_says ppo.t.test / none)" "client=1 verify=1 cn=- cert=-"

# ---- connection logs say an unverified subject was not verified ----
ts_says req.t.test /v untrusted >/dev/null
sleep 0.3
check "tagshaked's line: the unverified subject with verify=FAILED:<reason>" grep -qF \
	'subject="CN=untrusted,O=tagshake test" verify="FAILED:unable to verify the first certificate"' \
	"$T/handshaker.log"
check "the proxy's line (unverified: forward): the subject with verify=FAILED:<reason>" grep -qF \
	'route=kong-fwd mode='"$TS_NO_KTLS_MODE"' subject="CN=untrusted,O=tagshake test" verify="FAILED:unable to verify the first certificate"' \
	"$T/proxy.log"
verified=$(grep -h 'sni=req.t.test .*subject="CN=trusted,O=tagshake test"' "$T/handshaker.log" "$T/proxy.log")
check_eq "a verified subject (req.t.test, trusted): both lines, neither with a verify field" \
	"$(grep -c . <<<"$verified"):$(grep -c 'verify=' <<<"$verified")" "2:0"

# ---- resumption keeps the certificate and its status ----
resume() { # SNI CERT OUTFILE-PREFIX: a full handshake, then a resumed one, each one request
	local i
	for i in 1 2; do
		printf 'GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$4" "$1" |
			timeout 10 openssl s_client -connect "127.0.0.1:$FEED_PORT" -servername "$1" \
				-cert "$T/$2.crt" -key "$T/$2.key" -ign_eof \
				$([ $i = 1 ] && echo -sess_out || echo -sess_in) "$T/$3.sess" >"$T/$3.$i" 2>&1
	done
}
resume omit.t.test untrusted rs-kong /v
check "resumed: the second connection resumed the session" grep -q '^Reused' "$T/rs-kong.2"
check_eq "resumed, kong: the same unverified status as the full handshake" \
	"$(grep -a '^FAILED\|^SUCCESS\|^NONE' "$T/rs-kong.2" | cut -d'|' -f1)" "${WANT[untrusted]}"
resume ppo.t.test trusted rs-pp /
check "resumed (proxy-v2): the session was resumed" grep -q '^Reused' "$T/rs-pp.2"
check_eq "resumed, proxy-v2: client=5 (SSL, CERT_SESS without CERT_CONN), verify=0, the certificate" \
	"$(grep -a '^client=' "$T/rs-pp.2")" "client=5 verify=0 cn=trusted cert=$(der_of_file trusted)"

# ---- CertificateRequest exactly where the action asks for a certificate ----
certreqs() { # SNI → number of CertificateRequest messages s_client saw
	timeout 10 openssl s_client -connect "127.0.0.1:$FEED_PORT" -servername "$1" -msg </dev/null 2>&1 |
		grep -c 'CertificateRequest'
}
for s in none.t.test:0 req.t.test:1 noca.t.test:1 opt.t.test:1 reqd.t.test:1 rej.t.test:0 other.t.test:0; do
	check_eq "openssl s_client: ${s#*:} CertificateRequest on ${s%%:*}" "$(certreqs "${s%%:*}")" "${s#*:}"
done
check_eq "the CA names hint: request with a CA set lists it" \
	"$(timeout 10 openssl s_client -connect "127.0.0.1:$FEED_PORT" -servername req.t.test </dev/null 2>&1 |
		sed -n '/^Acceptable client certificate CA names/{n;p}')" "CN = clients"

sleep 1.2 # the status file is rewritten every second
check_eq "counters: no CertificateRequest on none (certreq_none)" "$(stat_get certreq_none)" 0
check "counters: request decisions and CertificateRequests counted (decide_request, certreq_request)" \
	test "$(stat_get decide_request)" -gt 0 -a "$(stat_get certreq_request)" -gt 0

m=$("$ROOT/build/tagshake" metrics --once --handshaker-status "$T/status" --pin-dir "$T/no-pins" 2>/dev/null)
check_eq "tagshake metrics: request decisions and CertificateRequests by action" \
	"$(grep -E '^tagshake_(decisions|policy_certificate_requests)_total\{action="request"\}' <<<"$m" | cut -d' ' -f1)" \
	'tagshake_decisions_total{action="request"}
tagshake_policy_certificate_requests_total{action="request"}'
check_eq "tagshake metrics: the request counts are the status file's" \
	"$(grep -E '^tagshake_decisions_total\{action="request"\}' <<<"$m" | cut -d' ' -f2)" "$(stat_get decide_request)"

# ---- Chromium on a none name: the page, and no CertificateRequest ----
before=$(stat_now cert_requests)
CHROMIUM_TIMEOUT=30 chromium_headless --host-resolver-rules="MAP none.t.test 127.0.0.1" \
	--ignore-certificate-errors "https://none.t.test:$FEED_PORT/page"
check "chromium: its request for the page on none.t.test reached the upstream" \
	grep -q '^none.t.test /page ".*Chrome' "$T/nginx/access.log"
check_eq "chromium: no CertificateRequest was sent (cert_requests unchanged)" \
	"$(stat_now cert_requests)" "$before"

tap_end
