#!/bin/bash
# Action request in the kernel's policy set: `tagshake policy add NAME
# request`, `policy import` of a configuration with a request policy, what
# bpftool and `policy list` show, the live tag a connection gets, the
# tagger's per-action counter, and tagshaked deciding from that tag (a
# CertificateRequest on the name, none elsewhere).
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
. tests/config.sh
need_tagger_env "the request tagger suite"

pins=$TS_BPFFS/tagshake-request-$$
work=$(mktemp -d)
T=$work
port=$((20000 + RANDOM % 12000))
while ss -Htln "sport = :$port" | grep -q .; do port=$((port + 1)); done
HS_PID=
cleanup() {
	[ -n "$HS_PID" ] && kill "$HS_PID" 2>/dev/null && wait "$HS_PID" 2>/dev/null
	build/tagshake unload --pin-dir "$pins" >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT

check "load the tagger on port $port" build/tagshake load --port "$port" --pin-dir "$pins"
check "policy add NAME request" \
	build/tagshake policy add req.bpf.test request --ca 1 --route 2 --pin-dir "$pins"
check_eq "policy list names the action" "$(build/tagshake policy list --json --pin-dir "$pins")" \
	'[{"name":"req.bpf.test","action":"request","cert":0,"ca":1,"route":2}]'
check_eq "bpftool: action 4 (TS_ACTION_REQUEST) with its ids and name" \
	"$(bpftool map dump pinned "$pins/policy" | tr -d ' \n' | grep -o '"value":{[^}]*}')" \
	'"value":{"action":4,"pad":0,"cert_id":0,"ca_id":1,"route_id":2,"generation":0,"name":"req.bpf.test"}'

start_server "$work/probe" build/tests/tag_probe --port "$port" --pin-dir "$pins" --count 1
probe=$SERVER_PID
timeout 5 openssl s_client -connect "127.0.0.1:$port" -servername req.bpf.test </dev/null >/dev/null 2>&1
wait "$probe"
check "the live tag carries request" grep -qF '"action":"request","match":"exact","cert":0,"ca":1,"route":2}' \
	"$work/probe"
check_eq "the tagger counted one request decision" \
	"$(build/tagshake stats --pin-dir "$pins" | awk '$1 == "action.request" { print $2 }')" 1

# policy import from a configuration, then tagshaked on the tagged port
pki_ca "$work" server /CN=edge || bail "a server certificate made (scripts/pki.sh)"
cp "$work/server.crt" "$work/ca.crt"
write_config "$port" 1 "$pins" <<YAML
certificates:
  - { name: edge, chain: server.crt, key: server.key }
ca_sets:
  - { name: clients, files: [ca.crt] }
routes:
  - { name: raw, upstream: "unix:$work/none.sock", metadata: raw }
policies:
  - { sni: req.bpf.test, action: request, route: raw }
  - { sni: reqca.bpf.test, action: request, ca_set: clients, route: raw }
  - { sni: open.bpf.test, action: none, route: raw }
defaults:
  default: { action: none, route: raw }
YAML
check "policy import of a configuration with request policies" \
	build/tagshake policy import "$work/tagshake.yaml" --pin-dir "$pins"
check_eq "the imported set" "$(build/tagshake policy list --json --pin-dir "$pins" |
	python3 -c 'import json,sys; print(" ".join(sorted("%s=%s/%d" % (e["name"], e["action"], e["ca"]) for e in json.load(sys.stdin))))')" \
	"@default=none/0 open.bpf.test=none/0 req.bpf.test=request/0 reqca.bpf.test=request/1"
build/tagshaked --config "$work/tagshake.yaml" --status "$work/status" 2>"$work/hs.log" &
HS_PID=$!
for _ in $(seq 100); do ss -Htln "sport = :$port" | grep -q . && break; sleep 0.05; done
certreqs() {
	timeout 5 openssl s_client -connect "127.0.0.1:$port" -servername "$1" -msg </dev/null 2>&1 |
		grep -c CertificateRequest
}
check_eq "tagshaked on the tag: a CertificateRequest on req.bpf.test" "$(certreqs req.bpf.test)" 1
check_eq "tagshaked on the tag: a CertificateRequest on reqca.bpf.test" "$(certreqs reqca.bpf.test)" 1
check_eq "tagshaked on the tag: none on open.bpf.test" "$(certreqs open.bpf.test)" 0
sleep 1.2
check_eq "tagshaked decided from agreeing tags (tag_agree), request twice (decide_request)" \
	"$(awk '$1 == "tag_agree" || $1 == "decide_request" { printf "%s=%s ", $1, $2 }' "$work/status")" \
	"tag_agree=3 decide_request=2 "
check_eq "CA names hint only where the request policy has a CA set" \
	"$(timeout 5 openssl s_client -connect "127.0.0.1:$port" -servername reqca.bpf.test </dev/null 2>&1 |
		sed -n '/^Acceptable client certificate CA names/{n;p}')|$(timeout 5 openssl s_client \
		-connect "127.0.0.1:$port" -servername req.bpf.test </dev/null 2>&1 |
		grep -c '^Acceptable client certificate CA names')" "CN = edge|0"
tap_end
