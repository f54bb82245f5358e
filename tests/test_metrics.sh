#!/bin/bash
# `tagshake metrics`: scrapes the exporter over HTTP before and after known
# traffic through the demo stack (scripts/run.sh) and checks exact deltas,
# the text format (Debian's prometheus_client parser) and the naming rules.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
need_tagger_env "the metrics suite"

work=$(mktemp -d)
state=$work/state
pins=/sys/fs/bpf/tagshake-metrics-$$
port=$(free_port)
mport=$(free_port)
RUNPID= MXPID=
cleanup() {
	[ -n "$MXPID" ] && kill "$MXPID" 2>/dev/null
	stop_demo "$pins"
	rm -rf "$work"
}
trap cleanup EXIT

start_demo "$state" "$port" "$pins" "$work/run.out"
check "the demo stack runs" grep -q 'running on' "$work/run.out"
run=$state/run

build/tagshake metrics --listen "127.0.0.1:$mport" --pin-dir "$pins" \
	--status "$run/tagshaked.status" --status "$run/proxy.status" 2>"$work/mx.err" &
MXPID=$!
for _ in $(seq 100); do ss -Hltn "sport = :$mport" | grep -q . && break; sleep 0.05; done

scrape() { curl -sS "http://127.0.0.1:$mport/metrics"; }
# value SCRAPE SAMPLE: the value of one exact sample line (name{labels})
value() { awk -v k="$2" '/^[^#]/ { v = $NF; $NF = ""; sub(/ $/, ""); if ($0 == k) print v }' <<<"$1"; }
# a full status-file rewrite after the traffic: both daemons write every second
settle() { sleep 2.2; }

settle
before=$(scrape)
check "scrape answers" test -n "$before"

C="curl -sS -o /dev/null --cacert $state/pki/server-ca.crt"
get() { # SNI [curl options]
	local sni=$1
	shift
	$C --resolve "$sni:$port:127.0.0.1" "$@" "https://$sni:$port/" 2>/dev/null
}
for _ in 1 2 3; do get none.demo.test; done
get optional.demo.test
get require.demo.test --cert "$state/pki/client.crt" --key "$state/pki/client.key"
get require.demo.test --cert "$state/pki/client.crt" --key "$state/pki/client.key"
printf 'GET / HTTP/1.0\r\n\r\n' | timeout 5 openssl s_client -connect "127.0.0.1:$port" \
	-servername require.demo.test -CAfile "$state/pki/server-ca.crt" -ign_eof >/dev/null 2>&1
get reject.demo.test
get reject.demo.test
settle
after=$(scrape)

# delta SAMPLE WANT: exact increase of one sample between the two scrapes
delta() {
	local b a
	b=$(value "$before" "$1")
	a=$(value "$after" "$1")
	check_eq "$1 +$2" "$((${a:-0} - ${b:-0}))" "$2"
}
# traffic: none 3, optional 1, require 2 with a certificate + 1 without, reject 2
delta 'tagshake_tagger_tags_total{status="ok"}' 9
delta 'tagshake_tagger_decisions_total{action="none"}' 3
delta 'tagshake_tagger_decisions_total{action="optional"}' 1
delta 'tagshake_tagger_decisions_total{action="require"}' 3
delta 'tagshake_tagger_decisions_total{action="reject"}' 2
delta 'tagshake_connections_accepted_total' 9
delta 'tagshake_rejects_total{stage="tag"}' 2
delta 'tagshake_rejects_total{stage="clienthello"}' 0
delta 'tagshake_decisions_total{action="none"}' 3
delta 'tagshake_decisions_total{action="optional"}' 1
delta 'tagshake_decisions_total{action="require"}' 3
delta 'tagshake_decisions_total{action="reject"}' 2
delta 'tagshake_tag_checks_total{result="agree"}' 7
delta 'tagshake_tag_checks_total{result="disagree"}' 0
delta 'tagshake_tag_checks_total{result="missing"}' 0
delta 'tagshake_certificate_requests_total' 4
delta 'tagshake_handshakes_total{result="ok"}' 6
delta 'tagshake_handshakes_total{result="failed"}' 1
delta 'tagshake_handshakes_client_certificate_total' 2
delta 'tagshake_policy_handshakes_total{action="none",result="ok"}' 3
delta 'tagshake_policy_handshakes_total{action="optional",result="ok"}' 1
delta 'tagshake_policy_handshakes_total{action="require",result="ok"}' 2
delta 'tagshake_policy_handshakes_total{action="require",result="failed"}' 1
delta 'tagshake_policy_handshakes_total{action="none",result="failed"}' 0
delta 'tagshake_policy_certificate_requests_total{action="none"}' 0
delta 'tagshake_policy_certificate_requests_total{action="optional"}' 1
delta 'tagshake_policy_certificate_requests_total{action="require"}' 3
delta 'tagshake_handoffs_total{result="ok"}' 6
# the demo runs the default configuration: records mode without kTLS
delta "tagshake_handoff_modes_total{mode=\"records\"}" 6
delta 'tagshake_handoff_modes_total{mode="ktls"}' 0
delta 'tagshake_proxy_handoffs_total' 6
delta 'tagshake_proxy_http_requests_total' 6
delta 'tagshake_proxy_closes_total{reason="done"}' 6
delta 'tagshake_handshake_duration_seconds_count' 6
delta 'tagshake_handshake_duration_seconds_bucket{le="+Inf"}' 6
delta 'tagshake_proxy_upstream_ready_seconds_count' 6
delta 'tagshake_proxy_upstream_ready_seconds_bucket{le="+Inf"}' 6
check_eq "mode: records, with the reason" "$(value "$after" "tagshake_handshaker_mode{mode=\"records\",reason=\"kernel has no kTLS (no tls ULP)\"}")" \
	1
check_eq "every source up" \
	"$(value "$after" tagshake_tagger_up)/$(value "$after" tagshake_handshaker_up)/$(value "$after" tagshake_proxy_up)" "1/1/1"
check_eq "no relay left open" "$(value "$after" tagshake_relays_open)" 0
# the buckets are cumulative and the sum is in seconds: 6 loopback handshakes
# take more than 0 and less than 6 s
check "handshake histogram: buckets never decrease" awk -F'[ ]' \
	'/^tagshake_handshake_duration_seconds_bucket/ { if ($2 < last) exit 1; last = $2 }' <<<"$after"
check "handshake histogram: the sum is in seconds" awk -v b="$(value "$before" tagshake_handshake_duration_seconds_sum)" \
	-v a="$(value "$after" tagshake_handshake_duration_seconds_sum)" 'BEGIN { exit !(a - b > 0 && a - b < 6) }' 

# the format: Debian's prometheus_client parses it; conventions hold
fmt=$(/usr/bin/python3 - "$after" <<'PY'
import re, sys
from prometheus_client.parser import text_string_to_metric_families
fams = list(text_string_to_metric_families(sys.argv[1]))
bad = []
for f in fams:
    if not re.fullmatch(r"tagshake_[a-z0-9_]+", f.name):
        bad.append("name " + f.name)
    if f.type == "unknown":
        bad.append("untyped " + f.name)
    if not f.documentation:
        bad.append("no help " + f.name)
    for s in f.samples:
        if f.type == "counter" and not s.name.endswith("_total"):
            bad.append("counter without _total " + s.name)
        if re.search(r"_(ms|us|milliseconds|microseconds)(_|$)", s.name):
            bad.append("not a base unit " + s.name)
print("families=%d bad=%s" % (len(fams), ",".join(bad) or "none"))
PY
)
check_eq "text format parses; names, types, help and units follow the conventions" "${fmt#*bad=}" none
check "... with at least 40 families" test "$(sed 's/families=\([0-9]*\).*/\1/' <<<"$fmt")" -ge 40

h=$(curl -sS -D - -o /dev/null "http://127.0.0.1:$mport/metrics" | tr -d '\r')
check "Content-Type is the text format 0.0.4" grep -qx 'Content-Type: text/plain; version=0.0.4; charset=utf-8' <<<"$h"
check_eq "other paths: 404" "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/")" 404
check_eq "POST: 405" "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$mport/metrics")" 405
# a client that never sends a request does not block the next scrape
exec 3<>"/dev/tcp/127.0.0.1/$mport"
check_eq "a silent client is dropped after its timeout, the next scrape is served" "$(timeout 5 curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$mport/metrics")" \
	200
exec 3>&-

# the names each program lists are the names it reports, in the same order
check_eq "tagshaked --list-counters: the status file's counters" \
	"$(build/tagshaked --list-counters | tr '\n' ' ')" \
	"$(awk 'NR == FNR { want[$1] = 1; next } $1 in want { printf "%s ", $1 }' \
		<(build/tagshaked --list-counters) "$run/tagshaked.status")"
check_eq "tagshake-proxy --list-counters: the status file's counters" \
	"$(build/tagshake-proxy --list-counters | tr '\n' ' ')" \
	"$(awk 'NR == FNR { want[$1] = 1; next } $1 in want { printf "%s ", $1 }' \
		<(build/tagshake-proxy --list-counters) "$run/proxy.status")"
check_eq "tagshake stats --list: the names stats prints" "$(build/tagshake stats --list | tr '\n' ' ')" \
	"$(build/tagshake stats --pin-dir "$pins" | awk '{ printf "%s ", $1 }')"

# sources that are gone: up 0, the exporter keeps serving
kill -TERM "$RUNPID"
wait "$RUNPID"
RUNPID=
rm -f "$run/tagshaked.status" "$run/proxy.status"
gone=$(scrape)
check_eq "stack stopped: every source reports up 0" \
	"$(value "$gone" tagshake_tagger_up)/$(value "$gone" tagshake_handshaker_up)/$(value "$gone" tagshake_proxy_up)" "0/0/0"
kill -TERM "$MXPID"
wait "$MXPID"
check_eq "SIGTERM: the exporter exits 0" "$?" 0
MXPID=
check_eq "... and no longer listens" "$(ss -Hltn "sport = :$mport" | wc -l)" 0
tap_end
