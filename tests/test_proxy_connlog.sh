#!/bin/bash
# tagshake-proxy's connection log (logging.connections: true): one logfmt
# line per connection when it closes, with the hand-off's SNI, policy,
# action and client subject, the route, the mode, the bytes each way (equal
# to the proxy's own byte counters) and the HTTP requests; an upstream
# that is down gives result=http_502 (http) or upstream_down (raw). Real tagshaked, curl and nginx.
. "$(dirname "$0")/proxy_lib.sh"

make_certs
proxy_config
printf 'logging:\n  level: info\n  connections: true\n' >>"$T/tagshake.yaml"
start_nginx
start_proxy
start_handshaker

# conn_lines: the proxy's connection lines without ts= and ms= (times)
conn_lines() { grep 'msg=proxy_conn' "$T/proxy.log" | sed 's/^ts=[^ ]* //; s/ ms=[0-9.]*$//'; }
# wait_lines N: until N lines were written (closes follow the client's exit)
wait_lines() {
	for _ in $(seq 1 100); do
		[ "$(conn_lines | wc -l)" -ge "$1" ] && return 0
		sleep 0.02
	done
}

subject=$(openssl x509 -in "$T/pki/client.crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
# logfmt escapes the DN's backslash (O=Example\, Inc.) inside the quotes
subject_q=${subject//\\/\\\\}
up0=$(proxy_stat bytes_up) down0=$(proxy_stat bytes_down)
tls_curl kong.test /kong "${CLIENT_CERT[@]}" >/dev/null
wait_lines 1
up=$(($(proxy_stat bytes_up) - up0)) down=$(($(proxy_stat bytes_down) - down0))
check_eq "require + client certificate, http route: one line, bytes equal the proxy's counters" \
	"$(conn_lines | sed -n 1p)" \
	"level=info msg=proxy_conn result=done sni=kong.test policy=kong.test action=require route=kong mode=$TS_NO_KTLS_MODE subject=\"$subject_q\" up=$up down=$down requests=1"

tls_curl open.test /kong -o /dev/null -H 'Connection: keep-alive' --next \
	--cacert "$T/pki/server.crt" --resolve "open.test:$FEED_PORT:127.0.0.1" -s -o /dev/null "https://open.test:$FEED_PORT/kong"
wait_lines 2
check_eq "none, no certificate: no subject, two requests on one connection" \
	"$(conn_lines | sed -n 2p | sed 's/ up=[0-9]* down=[0-9]*//; s/^level=info msg=proxy_conn //')" \
	"result=done sni=open.test policy=open.test action=none route=kong mode=$TS_NO_KTLS_MODE requests=2"

tls_curl down.test / >/dev/null
wait_lines 3
check_eq "upstream down on an http route: result=http_502" \
	"$(conn_lines | sed -n 3p | sed 's/ up=.*//')" \
	"level=info msg=proxy_conn result=http_502 sni=down.test policy=down.test action=none route=down-http mode=$TS_NO_KTLS_MODE"

printf 'hello raw\n' | timeout 5 openssl s_client -quiet -connect "127.0.0.1:$FEED_PORT" \
	-servername raw.test -CAfile "$T/pki/server.crt" >/dev/null 2>&1
wait_lines 4
check_eq "raw route, its unix upstream absent: result=upstream_down, nothing relayed, no requests field" \
	"$(conn_lines | sed -n 4p)" \
	"level=info msg=proxy_conn result=upstream_down sni=raw.test policy=raw.test action=none route=raw mode=$TS_NO_KTLS_MODE up=0 down=0"
check_eq "each line carries ts= (UTC, ms) first and ms= last" "$(grep 'msg=proxy_conn' "$T/proxy.log" | grep -cE '^ts=[0-9-]{10}T[0-9:]{8}\.[0-9]{3}Z .* ms=[0-9]+\.[0-9]{3}$')" \
	4
check_eq "one line per close counted" "$(($(proxy_stat close_done) + $(proxy_stat close_http_502) + $(proxy_stat close_upstream_down)))" 4
tap_end
