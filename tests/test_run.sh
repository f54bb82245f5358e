#!/bin/bash
# `make run` (scripts/run.sh) in a fresh state directory: it comes up in
# records mode, the commands it prints give exactly the promised results,
# and SIGINT / SIGTERM leave nothing attached, pinned, listening or running.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
need_tagger_env "the run suite"

work=$(mktemp -d)
state=$work/state
pins=/sys/fs/bpf/tagshake-run-$$
port=$(free_port)
RUNPID=
trap '[ -n "$RUNPID" ] && kill -TERM "$RUNPID" 2>/dev/null; sleep 1; build/tagshake unload --pin-dir "$pins" >/dev/null 2>&1; rm -rf "$work"' EXIT

# our program's id while it runs (other suites may attach their own taggers)
PROG=
prog_id() { bpftool -j link show pinned "$pins/link" | python3 -c 'import json,sys; print(json.load(sys.stdin)["prog_id"])'; }
attached() { bpftool cgroup show "$TS_CGROUP2" 2>/dev/null | awk -v id="$PROG" '$1 == id' | wc -l; }

# start: run.sh in the background with SIGINT deliverable (a background job
# of a script ignores it otherwise), until it prints its commands
start() {
	: >"$work/out"
	timeout -s TERM 120 env --default-signal=INT scripts/run.sh --no-deps --no-build \
		--state "$state" --port "$port" --pin-dir "$pins" >"$work/out" 2>&1 &
	RUNPID=$!
	for _ in $(seq 300); do
		grep -q '^  cat ' "$work/out" && return 0
		kill -0 "$RUNPID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$work/out" >&2
	return 1
}
# stop SIGNAL: run.sh must exit 0 and clean up everything
stop() {
	kill "-$1" "$RUNPID"
	for _ in $(seq 200); do kill -0 "$RUNPID" 2>/dev/null || break; sleep 0.05; done
	wait "$RUNPID"
	local rc=$?
	RUNPID=
	return $rc
}
# printed COMMENT-PATTERN: the command printed under the comment line
printed() { grep -A1 -- "# $1" "$work/out" | sed -n '2s/^  //p'; }
run_printed() { bash -c "$(printed "$1")" 2>"$work/err"; }
leftovers() {
	echo "attached=$(attached)" "pinned=$(test -e "$pins" && echo yes || echo no)" \
		"listening=$(ss -Hltn "sport = :$port" | wc -l)" \
		"processes=$(pgrep -f -- "$state" | wc -l)" \
		"sockets=$(ls "$state/run" | grep -c '\.sock$')"
}

check "run.sh starts in a fresh state directory" start
PROG=$(prog_id)
check_eq "the tagger (program $PROG) is attached to the root cgroup" "$(attached)" 1
check "it says it runs in records mode (no kTLS here: the proxy runs the record layer)" \
	grep -q "^tagshake-demo: running on 127.0.0.1:$port in records mode (kernel has no kTLS" "$work/out"
check "it created the PKI" grep -q "PKI: created in $state/pki" "$work/out"
check "tagshake check accepts the configuration it wrote" \
	build/tagshake check --quiet "$state/tagshake.yaml"
check_eq "listening on 127.0.0.1:$port" "$(ss -Hltn "sport = :$port" | awk '{print $4}' | sort -u)" "127.0.0.1:$port"

# curl speaks HTTP/2 to the demo's http route (lowercase field names); the
# proxy asks the upstream in HTTP/1.1 and adds the verify status and its
# forwarding fields
ua="user-agent: curl/$(curl --version | awk 'NR == 1 { print $2 }')"
check_eq "none: the upstream echoes the request (curl over h2), no certificate headers, the verify status NONE, the proxy's forwarding fields" \
	"$(run_printed 'none: no CertificateRequest')" \
	"$(printf 'GET / HTTP/1.1\nHost: none.demo.test:%s\n%s\naccept: */*\n%s\n%s\n%s\n%s' "$port" "$ua" \
		'X-Client-Cert-Verify: NONE' 'X-Forwarded-For: 127.0.0.1' 'X-Forwarded-Proto: https' \
		'Forwarded: for=127.0.0.1;proto=https')"

# TLS 1.3: the alert comes after curl's request, so curl reports it as a
# receive (56) or a send (55) failure, or over h2 as an HTTP/2 framing
# layer error (16); s_client names the alert
out=$(run_printed 'require without a client certificate')
rc=$?
case $rc in 55 | 56 | 16) rc=55/56 ;; esac
check_eq "require without a certificate: curl fails, no response" "$rc/$out" "55/56/"
# alert: SNI [openssl options]: the alert s_client reports, if any
alert() {
	local sni=$1
	shift
	printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 openssl s_client -connect "127.0.0.1:$port" \
		-servername "$sni" -CAfile "$state/pki/server-ca.crt" -ign_eof "$@" 2>&1 |
		grep -o 'alert number [0-9]*' | head -1
}
check_eq "... the alert is certificate_required (116)" "$(alert require.demo.test)" "alert number 116"

subject=$(openssl x509 -in "$state/pki/client.crt" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
check_eq "the client certificate's subject" "$subject" "CN=demo-client,O=tagshake demo"
out=$(run_printed 'require with the client certificate')
check_eq "require with the certificate: the upstream echoes its subject" "$(grep '^X-Client-Cert-Subject-DN' <<<"$out")" \
	"X-Client-Cert-Subject-DN: $subject"
check_eq "... and its issuer" \
	"$(grep '^X-Client-Cert-Issuer-DN' <<<"$out")" "X-Client-Cert-Issuer-DN: CN=tagshake demo clients CA,O=tagshake demo"

out=$(run_printed 'reject: closed')
rc=$?
check_eq "reject: curl's handshake fails (35), no response" "$rc/$out" "35/"
o=$(timeout 5 openssl s_client -connect "127.0.0.1:$port" -servername reject.demo.test </dev/null 2>&1)
check "reject: the server sent 0 bytes" grep -q 'SSL handshake has read 0 bytes' <<<"$o"

out=$(run_printed 'wildcard')
check_eq "wildcard: the partner certificate passes" \
	"$(grep '^X-Client-Cert-Subject-DN' <<<"$out")" "X-Client-Cert-Subject-DN: CN=demo-partner,O=tagshake demo"
check_eq "wildcard: the clients-CA certificate is refused (unknown_ca, 48)" \
	"$(alert b.wild.demo.test -cert "$state/pki/client.crt" -key "$state/pki/client.key")" "alert number 48"

# CertificateRequests on the wire, as the client saw them
sc() { timeout 5 openssl s_client -connect "127.0.0.1:$port" -servername "$1" -msg \
	-CAfile "$state/pki/server-ca.crt" </dev/null 2>&1 | grep -c 'Handshake.*CertificateRequest'; }
for i in 1 2 3; do check_eq "none: no CertificateRequest (s_client -msg, round $i)" "$(sc none.demo.test)" 0; done
check_eq "optional: one CertificateRequest" "$(sc optional.demo.test)" 1

# tagshaked --log-connections: one logfmt line per connection outcome
conns=$(grep ' msg=conn ' "$state/run/tagshaked.log" | sed -E 's/^ts=[^ ]+ //; s/ ms=[0-9.]+$//')
check_eq "connection log: one line per connection (12)" "$(wc -l <<<"$conns")" 12
for want in \
	'level=info msg=conn result=ok sni=none.demo.test policy=none.demo.test action=none mode=records resumed=0' \
	'level=info msg=conn result=failed sni=require.demo.test policy=require.demo.test action=require reason="peer did not return a certificate"' \
	'level=info msg=conn result=ok sni=require.demo.test policy=require.demo.test action=require mode=records resumed=0 subject="CN=demo-client,O=tagshake demo"' \
	'level=info msg=conn result=reject sni=reject.demo.test action=reject reason=tag' \
	'level=info msg=conn result=ok sni=a.wild.demo.test policy=*.wild.demo.test action=require mode=records resumed=0 subject="CN=demo-partner,O=tagshake demo"' \
	'level=info msg=conn result=failed sni=b.wild.demo.test policy=*.wild.demo.test action=require reason="certificate verify failed"'; do
	check "connection log: $want" grep -qxF -- "$want" <<<"$conns"
done
check "connection log: RFC 3339 UTC timestamps and a duration in ms" bash -c \
	"grep ' msg=conn ' '$state/run/tagshaked.log' | grep -Evq '^ts=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z .* ms=[0-9]+\.[0-9]{3}\$' && exit 1 || exit 0"

# every connection above went through the tagger: none 4, require 3,
# reject 2, wildcard (require) 2, optional 1
stats=$(bash -c "$(grep -- ' stats --pin-dir ' "$work/out" | sed 's/^  //')")
check_eq "tagshake stats: 12 tags ok" "$(awk '$1 == "status.ok" { print $2 }' <<<"$stats")" 12
check_eq "tagshake stats: by action" \
	"$(awk '$1 ~ /^action\./ { printf "%s=%s ", $1, $2 }' <<<"$stats")" \
	"action.none=4 action.optional=1 action.require=5 action.reject=2 action.request=0 "
dump=$(bash -c "$(grep -- 'bpftool map dump pinned' "$work/out" | sed 's/^  //')")
check_eq "bpftool dump: the seven policy entries with their actions" \
	"$(json_get "$dump" '",".join(sorted(e["value"]["name"] + "=" + str(e["value"]["action"]) for e in d))')" \
	"*.wild.demo.test=2,@default=0,@no-sni=3,none.demo.test=0,optional.demo.test=1,reject.demo.test=3,require.demo.test=2"
st=$(bash -c "$(grep -- '^  cat .*tagshaked.status' "$work/out" | sed 's/^  //')")
check_eq "status file: mode records" "$(awk '$1 == "mode" { print $2 }' <<<"$st")" records

check "SIGINT: run.sh exits 0" stop INT
check "... saying so" grep -q 'stopped: nothing attached, pinned or listening' "$work/out"
check_eq "SIGINT: nothing attached, pinned, listening or running" "$(leftovers)" \
	"attached=0 pinned=no listening=0 processes=0 sockets=0"

check "a second run in the same state directory starts" start
PROG=$(prog_id)
check "... and keeps the PKI" grep -q "PKI: $state/pki (existing)" "$work/out"
check "... and the configuration" grep -q "configuration: $state/tagshake.yaml (existing)" "$work/out"
out=$(run_printed 'require with the client certificate')
check_eq "second run: require with the certificate works" "$(grep '^X-Client-Cert-Subject-DN' <<<"$out")" \
	"X-Client-Cert-Subject-DN: $subject"
check "SIGTERM: run.sh exits 0" stop TERM
check_eq "SIGTERM: nothing attached, pinned, listening or running" "$(leftovers)" \
	"attached=0 pinned=no listening=0 processes=0 sockets=0"

# Ctrl-C in a terminal: `make run` in a tmux pane, C-c reaches the whole
# foreground process group (make, run.sh and the daemons)
tsock=$work/tmux.sock
tmux -S "$tsock" new-session -d -x 200 -y 50 -s run "make -s run RUN_ARGS='--no-deps --no-build \
	--state $state --port $port --pin-dir $pins' > $work/make.out 2>&1"
for _ in $(seq 300); do grep -q '^  cat ' "$work/make.out" 2>/dev/null && break; sleep 0.05; done
check "make run: the stack runs" grep -q "running on 127.0.0.1:$port in records mode" "$work/make.out"
PROG=$(prog_id)
out=$(curl -sS --cacert "$state/pki/server-ca.crt" --resolve "none.demo.test:$port:127.0.0.1" "https://none.demo.test:$port/")
check_eq "make run: none answers" "$(head -1 <<<"$out")" "GET / HTTP/1.1"
tmux -S "$tsock" send-keys -t run C-c
# the pane's shell gets the SIGINT too and may end the session: wait on the output
for _ in $(seq 200); do grep -q '^tagshake-demo: stopped' "$work/make.out" && break; sleep 0.05; done
for _ in $(seq 100); do pgrep -f -- "$state" >/dev/null || break; sleep 0.05; done
check "Ctrl-C: make run stops, saying nothing is left" grep -q 'stopped: nothing attached, pinned or listening' "$work/make.out"
check_eq "Ctrl-C: nothing attached, pinned, listening or running" "$(leftovers)" \
	"attached=0 pinned=no listening=0 processes=0 sockets=0"
check "Ctrl-C: no traceback or error from the children" bash -c "! grep -Eq 'Traceback|rror' '$work/make.out'"
tmux -S "$tsock" kill-server 2>/dev/null

# a busy port is refused before anything is loaded
python3 -c 'import socket,time; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1",'"$port"')); s.listen(); time.sleep(10)' &
holder=$!
for _ in $(seq 100); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.05; done
timeout 20 scripts/run.sh --no-deps --no-build --state "$state" --port "$port" --pin-dir "$pins" >"$work/busy" 2>&1
check_eq "a busy port: run.sh exits 1" "$?" 1
check "... naming the port" grep -q "port $port is already in use" "$work/busy"
kill "$holder"; wait "$holder" 2>/dev/null
check "... having loaded nothing" test ! -e "$pins"

tap_end
