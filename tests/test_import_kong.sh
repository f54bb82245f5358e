#!/bin/bash
# tagshake import-kong: Kong declarative fixtures (tests/data/kong/, written
# from Kong's documented format, deck's ${{ env "DECK_..." }} placeholders
# filled in here as deck would) for the four cases of Kong's mtls-auth docs
# (plugin global; on a service whose routes have no SNIs; on routes without
# SNIs; on routes that all have SNIs), wildcard, trailing-wildcard and regex
# hosts, two mtls-auth CA sets, a name two routes share. Each is converted,
# its report checked, the result validated by `tagshake check`, and driven
# through the real stack: tagshaked, tagshake-proxy and an nginx upstream.
# A fixture with fields Kong does not have is refused, each field named.
. "$(dirname "$0")/proxy_lib.sh"
. "$ROOT/tests/handshaker_lib.sh"
. "$ROOT/tests/tap.sh"

TS=$ROOT/build/tagshake
FIX=$ROOT/tests/data/kong

pki_ca "$T" clients /CN=clients
pki_ca "$T" other /CN=other
pki_cert "$T" trusted clients "/O=tagshake test/CN=trusted" "extendedKeyUsage=clientAuth"
pki_cert "$T" stranger other "/O=tagshake test/CN=stranger" "extendedKeyUsage=clientAuth"
pki_ca "$T" server "/CN=kong edge" "subjectAltName=DNS:*.kong.test,DNS:*.partners.kong.test"
[ -s "$T/trusted.crt" ] && [ -s "$T/server.crt" ] || bail "test PKI made (scripts/pki.sh)"

DECK_SERVER_CERT=$(cat "$T/server.crt") DECK_SERVER_KEY=$(cat "$T/server.key")
DECK_CLIENT_CA=$(cat "$T/clients.crt") DECK_OTHER_CA=$(cat "$T/other.crt")
DECK_UPSTREAM_PORT=$NGX_PORT
export DECK_SERVER_CERT DECK_SERVER_KEY DECK_CLIENT_CA DECK_OTHER_CA DECK_UPSTREAM_PORT
# deck's environment substitution: ${{ env "DECK_X" }} → the value (a YAML string)
deck_env() {
	python3 -c '
import json, os, re, sys
def sub(m):
    v = os.environ[m.group(1)]
    return v if v.isdigit() else json.dumps(v)
sys.stdout.write(re.sub(r"\$\{\{\s*env\s+\"([A-Z0-9_]+)\"\s*\}\}", sub, open(sys.argv[1]).read()))' "$1"
}

run_nginx <<NGX
    access_log off;
    server {
        listen 127.0.0.1:$NGX_PORT;
        location / {
            return 200 "\$host|\$http_x_client_cert_verify|\$http_x_client_cert_subject_dn|\$http_x_partner_subject|\$http_x_partner_cert\n";
        }
    }
NGX
wait_for "$NGX_PORT" || bail "nginx upstream started"

STACK=()
# import FIXTURE: converts it into $T/FIXTURE.yaml, the report into $T/FIXTURE.report
import() {
	deck_env "$FIX/$1.yaml" >"$T/$1.kong.yaml"
	(cd "$T" && "$TS" import-kong "$1.kong.yaml" -o "$T/$1.yaml" --listen "127.0.0.1:$FEED_PORT" \
		--pem-dir "$T/pem-$1" --handoff "$T/$1.sock" --pin-dir "$T/no-pins") \
		>"$T/$1.report" 2>"$T/$1.err"
}
start_stack() { # FIXTURE
	"$ROOT/build/tagshake-proxy" --config "$T/$1.yaml" --workers 1 2>"$T/$1.proxy.log" &
	STACK+=("$!")
	PIDS+=("$!")
	wait_for "$T/$1.sock" || return 1
	"$ROOT/build/tagshaked" --config "$T/$1.yaml" 2>"$T/$1.hs.log" &
	STACK+=("$!")
	PIDS+=("$!")
	wait_for "$FEED_PORT"
}
stop_stack() {
	local p
	for p in "${STACK[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${STACK[@]}"; do wait "$p" 2>/dev/null; done
	STACK=()
	for _ in $(seq 1 100); do ss -Htln "sport = :$FEED_PORT" | grep -q . || break; sleep 0.05; done
}
certreqs() { # SNI → CertificateRequest messages openssl s_client saw
	timeout 10 openssl s_client -connect "127.0.0.1:$FEED_PORT" -servername "$1" -msg </dev/null 2>&1 |
		grep -c 'CertificateRequest'
}
get() { # SNI [curl args]: one request through the stack
	local sni=$1
	shift
	curl -s --max-time 10 --cacert "$T/server.crt" --resolve "$sni:$FEED_PORT:127.0.0.1" "$@" \
		"https://$sni:$FEED_PORT/"
}
CERT=(--cert "$T/trusted.crt" --key "$T/trusted.key")
STRANGER=(--cert "$T/stranger.crt" --key "$T/stranger.key")
subject() { openssl x509 -in "$T/$1.crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//'; }
headline() { head -1 "$T/$1.report"; }
line_of() { grep -E "^  $2 " "$T/$1.report" | tr -s ' '; }
# converted, valid, and the stack starts on it
converted() { # FIXTURE
	import "$1"
	check "$1: converted" test -s "$T/$1.yaml"
	check "$1: tagshake check accepts the result" "$TS" check --quiet "$T/$1.yaml"
	start_stack "$1" || bail "$1: tagshake-proxy and tagshaked start on the converted configuration"
}

# ---- case 1: the plugin is global ----
converted global
check_eq "global: headline" "$(headline global)" \
	"global.kong.yaml: Kong requests a client certificate on every handshake (1 route has no SNIs); this configuration requests one on 2 of 2 names"
check_eq "global: www.kong.test gets request, from its host" "$(line_of global www.kong.test)" \
	" www.kong.test request - tls-handshake-modifier global; host of route 'www'"
check_eq "global: a CertificateRequest on www.kong.test" "$(certreqs www.kong.test)" 1
check_eq "global: a CertificateRequest on api.kong.test (SNI route)" "$(certreqs api.kong.test)" 1
check_eq "global: a name no route serves is rejected before TLS: no CertificateRequest" \
	"$(certreqs nothing.kong.test)" 0
check_eq "global: request without a CA set (Kong's plugin verifies nothing): the certificate goes upstream, marked FAILED" \
	"$(get www.kong.test "${CERT[@]}" | cut -d'|' -f1-3)" \
	"www.kong.test|FAILED:unable to verify the first certificate|$(subject trusted)"
check_eq "global: an untrusted certificate goes upstream too (Kong's semantics), marked FAILED" \
	"$(get www.kong.test "${STRANGER[@]}" | cut -d'|' -f1-3)" \
	"www.kong.test|FAILED:unable to verify the first certificate|$(subject stranger)"
stop_stack

# ---- case 1 again, every route on its SNIs: Kong still asks everywhere ----
converted global-snis
check_eq "global-snis: headline" "$(headline global-snis)" \
	"global-snis.kong.yaml: Kong requests a client certificate on every handshake (a certificate plugin is global); this configuration requests one on 2 of 2 names"
for s in one.kong.test:1 two.kong.test:1 three.kong.test:0; do
	check_eq "global-snis: ${s#*:} CertificateRequest on ${s%%:*}" "$(certreqs "${s%%:*}")" "${s#*:}"
done
stop_stack

# ---- case 2: mtls-auth on a service whose routes have no SNIs ----
converted service
check_eq "service: headline" "$(headline service)" \
	"service.kong.yaml: Kong requests a client certificate on every handshake (2 routes have no SNIs); this configuration requests one on 1 of 3 names"
check_eq "service: billing.kong.test requires a certificate of the CA set" \
	"$(line_of service billing.kong.test)" \
	" billing.kong.test require kong-ca-set-1 mtls-auth on its service; host of route 'billing-api'"
check_eq "service: public.kong.test: no certificate plugin" "$(line_of service public.kong.test)" \
	" public.kong.test none - no certificate plugin; host of route 'public-site'"
check "service: paths reported as not carried over" \
	grep -q "route 'billing-api': paths: not carried over" "$T/service.report"
for s in billing.kong.test:1 public.kong.test:0 www.kong.test:0; do
	check_eq "service: ${s#*:} CertificateRequest on ${s%%:*}" "$(certreqs "${s%%:*}")" "${s#*:}"
done
check_eq "service: the public host gets its page with no certificate" \
	"$(get public.kong.test)" "public.kong.test|NONE|||"
check_eq "service: billing with a trusted certificate: verified identity upstream" \
	"$(get billing.kong.test "${CERT[@]}" | cut -d'|' -f1-3)" "billing.kong.test|SUCCESS|$(subject trusted)"
check_fails "service: billing without a certificate: handshake refused" get billing.kong.test -f
check_eq "service: Host of the public name on the billing connection: 421" \
	"$(get billing.kong.test "${CERT[@]}" -o /dev/null -w '%{http_code}' -H 'Host: public.kong.test')" 421
check_eq "service: Host of billing on a public connection: 421 (no way around the certificate)" \
	"$(get public.kong.test -o /dev/null -w '%{http_code}' -H 'Host: billing.kong.test')" 421
stop_stack

# ---- case 3: plugins on routes without SNIs ----
converted routes
check_eq "routes: headline" "$(headline routes)" \
	"routes.kong.yaml: Kong requests a client certificate on every handshake (2 routes have no SNIs); this configuration requests one on 1 of 2 names"
check "routes: the top-level SNI entity gives the policies their certificate" \
	grep -q "certificate: kong-cert-1" "$T/routes.yaml"
check "routes: the route's Kong header names and unverified: forward in the result" \
	grep -q "kong_headers: { cert: 'X-Partner-Cert', subject_dn: 'X-Partner-Subject' }" "$T/routes.yaml"
for s in partner.kong.test:1 site.kong.test:0; do
	check_eq "routes: ${s#*:} CertificateRequest on ${s%%:*}" "$(certreqs "${s%%:*}")" "${s#*:}"
done
x=$(get partner.kong.test "${STRANGER[@]}")
check_eq "routes: partner with an unverified certificate: Kong's names carry it, the status says FAILED" \
	"$(echo "$x" | cut -d'|' -f1-2,4)" \
	"partner.kong.test|FAILED:unable to verify the first certificate|$(subject stranger)"
check "routes: partner: X-Partner-Cert carries the URL-encoded PEM" \
	test "$(echo "$x" | cut -d'|' -f5 | cut -c1-29)" = "-----BEGIN%20CERTIFICATE-----"
check_eq "routes: partner with no certificate: NONE" "$(get partner.kong.test)" "partner.kong.test|NONE|||"
check_eq "routes: site: no certificate asked, page served" "$(get site.kong.test)" "site.kong.test|NONE|||"
stop_stack

# ---- case 4: every plugin route has SNIs ----
converted snis
check_eq "snis: headline" "$(headline snis)" \
	"snis.kong.yaml: Kong requests a client certificate only on the SNIs of its 1 certificate route; this configuration requests one on 1 of 2 names"
check "snis: send_ca_dn → send_names: true" grep -q "send_names: true" "$T/snis.yaml"
for s in secure.kong.test:1 open.kong.test:0; do
	check_eq "snis: ${s#*:} CertificateRequest on ${s%%:*}" "$(certreqs "${s%%:*}")" "${s#*:}"
done
check_eq "snis: secure with a trusted certificate" \
	"$(get secure.kong.test "${CERT[@]}" | cut -d'|' -f1-2)" "secure.kong.test|SUCCESS"
check_fails "snis: secure with a certificate of another CA: refused" get secure.kong.test -f "${STRANGER[@]}"
stop_stack

# ---- wildcard, trailing wildcard and regex hosts; two CA sets; a shared name ----
converted hosts
check_eq "hosts: headline" "$(headline hosts)" \
	"hosts.kong.yaml: Kong requests a client certificate on every handshake (6 routes have no SNIs); this configuration requests one on 3 of 4 names"
check_eq "hosts: a leading wildcard host becomes a *. policy" "$(line_of hosts '\*.partners.kong.test')" \
	" *.partners.kong.test require kong-ca-set-1 mtls-auth on the route; host of route 'partners-wild'"
check_eq "hosts: mtls-auth with anonymous → optional, on its own CA set" "$(line_of hosts staff.kong.test)" \
	" staff.kong.test optional kong-ca-set-2 mtls-auth (anonymous) on the route; host of route 'staff'"
check "hosts: the trailing wildcard is reported, not guessed" \
	grep -q "host 'partners.\*' is a trailing wildcard: no SNI key can match it, not carried over" "$T/hosts.report"
check "hosts: the regex host is reported, not guessed" \
	grep -qF "host '~^v[0-9]+\.staff\.kong\.test\$' is not a host name or *.parent" "$T/hosts.report"
check "hosts: the shared name gets the stronger action, reported" \
	grep -q "shared.kong.test: routes 'shared-docs' (none) and 'shared-upload' (request) share it: the stronger, request, and route 'shared-upload' win" "$T/hosts.report"
check "hosts: consumers reported as not carried over" \
	grep -q "top level: consumers: not carried over" "$T/hosts.report"
for s in a.partners.kong.test:1 staff.kong.test:1 shared.kong.test:1 www.kong.test:0 v1.staff.kong.test:0; do
	check_eq "hosts: ${s#*:} CertificateRequest on ${s%%:*}" "$(certreqs "${s%%:*}")" "${s#*:}"
done
check_eq "hosts: partners accept the clients CA" \
	"$(get a.partners.kong.test "${CERT[@]}" | cut -d'|' -f1-2)" "a.partners.kong.test|SUCCESS"
check_fails "hosts: partners refuse the other CA" get a.partners.kong.test -f "${STRANGER[@]}"
check_eq "hosts: staff (the other CA set) accepts the other CA's client" \
	"$(get staff.kong.test "${STRANGER[@]}" | cut -d'|' -f1-2)" "staff.kong.test|SUCCESS"
check_fails "hosts: staff refuses the clients CA's client" get staff.kong.test -f "${CERT[@]}"
check_eq "hosts: staff without a certificate (optional): NONE" "$(get staff.kong.test)" "staff.kong.test|NONE|||"
stop_stack

# ---- fields Kong does not have: refused, nothing written ----
import unknown
check_eq "unknown: exit status 1 and no configuration written" \
	"$?:$([ -e "$T/unknown.yaml" ] && echo written || echo none)" "1:none"
check_eq "unknown: each problem named by file, line, entity and field" "$(cat "$T/unknown.err")" \
	"tagshake: unknown.kong.yaml:10: route 'r': unknown field 'sni' (not in Kong's declarative format)
tagshake: unknown.kong.yaml:15: plugin 'mtls-auth': config: unknown field 'verify_depth' (not in Kong's declarative format)
tagshake: unknown.kong.yaml:12: plugin 'mtls-auth': ca_certificates: 'no-such-ca' is not in the file's ca_certificates
tagshake: unknown.kong.yaml: 3 problems: nothing written"

tap_end
