#!/bin/bash
# Hostile clients against the running stack on loopback: the BPF tagger
# (when root; in a child cgroup), tagshaked (relay mode), tagshake-proxy and
# an echo upstream, with a generated PKI and short timeouts. Each
# misbehaviour must end by timeout or a clean close, counted under its
# reason in the tagger's, tagshaked's and the proxy's counters, and both
# daemons' fd counts and RSS must come back to their baseline.
. "$(dirname "$0")/proxy_lib.sh"

[ -x "$ROOT/build/tagshaked" ] && [ -x "$ROOT/build/tagshake-proxy" ] || {
	not_ok "build/tagshaked and build/tagshake-proxy are built"
	tap_end
	exit 1
}
HANDSHAKE_S=2 # timeouts.handshake below: accept to Finished
PORT=$FEED_PORT
hostile() { timeout 60 python3 "$ROOT/tests/hostile_clients.py" "$1" "$PORT" "${@:2}"; }
TS=$ROOT/build/tagshake
PINS=/sys/fs/bpf/tagshake-hostile-$$
TAGGER=0
[ "$(id -u)" -eq 0 ] && [ -z "${TS_HOSTILE_NO_TAGGER:-}" ] && TAGGER=1
if [ "$TAGGER" = 1 ]; then
	ts_sysenv || bail "cgroup v2 and bpffs found"
	CG=$TS_CGROUP2/tagshake-hostile-$$
fi
# tagger_check_eq WHAT GOT WANT: a tagger check, reported as skipped (never
# passed) when the suite runs without the tagger
tagger_check_eq() {
	if [ "$TAGGER" = 1 ]; then check_eq "$@"; else skip "$1" "no tagger (not root or TS_HOSTILE_NO_TAGGER)"; fi
}
cleanup_hostile() {
	cleanup
	if [ "$TAGGER" = 1 ]; then
		"$TS" unload --pin-dir "$PINS" >/dev/null 2>&1
		rmdir "$CG" 2>/dev/null
	fi
}
trap cleanup_hostile EXIT

# hs_now NAME: a counter from tagshaked's status file (rewritten every second)
hs_now() { awk -v k="$1" '$1 == k { print $2 }' "$T/status"; }
# hs_delta NAME: counter change since the last `mark`
mark() { cp "$T/status" "$T/status.mark"; }
hs_delta() {
	echo $(($(hs_now "$1") - $(awk -v k="$1" '$1 == k { print $2 }' "$T/status.mark")))
}
# the tagger's counters: tg_mark, then tg_delta "status.ok action.reject ..."
tg_stats() { "$TS" stats --json --pin-dir "$PINS"; }
tg_mark() { [ "$TAGGER" = 1 ] && tg_stats >"$T/tagger.mark"; }
tg_delta() {
	python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.loads(sys.argv[2])
print(" ".join(str(b[k] - a[k]) for k in sys.argv[3].split()))' "$T/tagger.mark" "$(tg_stats)" "$1"
}
# the tagger's statuses that changed since tg_mark, as "name+N ..."
tg_changed() {
	python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.loads(sys.argv[2])
print(" ".join("%s+%d" % (k, b[k] - a[k]) for k in sorted(b) if k.startswith("status.") and b[k] != a[k]))' \
		"$T/tagger.mark" "$(tg_stats)"
}
fds() { ls "/proc/$1/fd" | wc -l; }
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
# settle: wait for the status file to show no connection in flight
settle() {
	for _ in $(seq 1 40); do
		sleep 0.5
		[ "$(hs_now inflight)" = 0 ] && [ "$(hs_now relays_open)" = 0 ] &&
			[ "$(hs_now handoff_waiting)" = 0 ] && break
	done
	sleep 1.1 # one more rewrite: the counters of the last closes
}

make_certs
# The configuration: one policy per action, short timeouts so the suite
# stays fast.
{
	raw_stack
	cat <<YAML
policies:
  - { sni: open.test, action: none, route: raw }
  - { sni: secure.test, action: require, ca_set: clients, route: raw }
  - { sni: gone.test, action: reject }
defaults:
  default: { action: none, route: raw }
  no-sni: { action: none, route: raw }
timeouts:
  handshake: ${HANDSHAKE_S}s
  handoff: 500ms
  idle: 3s
YAML
} | write_config "$PORT" 1 "$PINS"
start_peer echo-server "$T/echo.sock"
wait_for "$T/echo.sock"
start_proxy
if [ "$TAGGER" = 1 ]; then
	mkdir -p "$CG"
	"$TS" load --port "$PORT" --cgroup "$CG" --pin-dir "$PINS" >/dev/null 2>&1 &&
		"$TS" policy import "$T/tagshake.yaml" --pin-dir "$PINS" >/dev/null
	check_eq "tagger loaded in a child cgroup, policies imported" "$?" 0
	# tagshaked in the tagger's cgroup: its sockets are the tagged ones
	sh -c "echo \$\$ >'$CG/cgroup.procs' && exec '$ROOT/build/tagshaked' --config '$T/tagshake.yaml' \
		--status '$T/status'" 2>"$T/handshaker.log" &
else
	echo "# not root: without the tagger"
	"$ROOT/build/tagshaked" --config "$T/tagshake.yaml" --status "$T/status" 2>"$T/handshaker.log" &
fi
HS_PID=$!
PIDS+=("$HS_PID")
wait_for "$PORT"
wait_for "$T/status"

# A normal connection first: the path works, and the baseline is taken
# with everything initialised.
same_echo=$(printf 'ping\n' | timeout 10 openssl s_client -quiet -connect "127.0.0.1:$PORT" \
	-servername open.test -CAfile "$T/pki/server.crt" 2>/dev/null | head -c 4)
check_eq "a well-behaved client gets its bytes echoed" "$same_echo" "ping"
settle
base_hs_fd=$(fds "$HS_PID") base_px_fd=$(fds "$PROXY_PID")
base_hs_rss=$(rss_kb "$HS_PID") base_px_rss=$(rss_kb "$PROXY_PID")
echo "# baseline: tagshaked $base_hs_fd fds ${base_hs_rss} KiB, proxy $base_px_fd fds ${base_px_rss} KiB"

# ends "what" OUTPUT EXPECTED LOW HIGH: OUTPUT reads EXPECTED once its
# "after N s" is replaced by "after T s", and N lies in [LOW, HIGH].
ends() {
	local t got
	t=$(sed -n 's/.*after \([0-9.]*\) s.*/\1/p' <<<"$2")
	got=$(sed 's/after [0-9.]* s/after T s/' <<<"$2")
	got="$got, $(awk -v t="${t:--1}" -v lo="$4" -v hi="$5" \
		'BEGIN { print (t >= lo && t <= hi) ? "in time" : "after " t " s" }')"
	check_eq "$1 (${t:-?} s)" "$got" "$3, in time"
}

# --- misbehaviours the handshake timeout must end -------------------------
T_LO=$HANDSHAKE_S T_HI=$((HANDSHAKE_S + 2))
mark
tg_mark
hostile silent 20 "$T/silent.ready" >"$T/silent.out" &
p1=$!
hostile slow open.test >"$T/slow.out" &
p2=$!
hostile half open.test >"$T/half.out" &
p3=$!
hostile hello-silence open.test >"$T/hello.out" &
p4=$!
for _ in $(seq 1 30); do [ -s "$T/silent.ready" ] && break; sleep 0.05; done
sleep 0.2 # accepted by now: loopback, an idle worker
held_fd=$(fds "$HS_PID")
wait $p1 $p2 $p3 $p4
ends "20 silent connections: closed by the server without a byte" "$(cat "$T/silent.out")" \
	"20 of 20 closed with nothing sent, last after T s" "$T_LO" "$T_HI"
ends "one byte per second (slowloris): cut off at the handshake timeout" "$(cat "$T/slow.out")" \
	"stopped early; closed after T s, server sent nothing" "$T_LO" "$T_HI"
ends "half a ClientHello then silence: timeout, nothing sent" "$(cat "$T/half.out")" \
	"closed after T s, server sent nothing" "$T_LO" "$T_HI"
ends "a whole ClientHello then silence: ServerHello, then the timeout" "$(cat "$T/hello.out")" \
	"closed after T s, server sent handshake" "$T_LO" "$T_HI"
# the 20 silent ones at least, the 3 others if their clients started already
check_eq "while they were held: one fd each in tagshaked ($((held_fd - base_hs_fd)))" "$([ "$held_fd" -ge $((base_hs_fd + 20)) ] && [ "$held_fd" -le $((base_hs_fd + 23)) ] && echo yes)" \
	yes
settle
check_eq "handshake_timeout counted 23 (20 silent, slow, half, hello+silence)" "$(hs_delta handshake_timeout)" \
	23
check_eq "no other reason counted for them" "$(hs_delta handshake_failed) $(hs_delta reject_policy) $(hs_delta handshakes) $(hs_delta overload)" \
	"0 0 0 0"
tagger_check_eq "tagger: only the whole hello got a final tag (the others stay pending)" \
	"$(tg_changed)" "status.ok+1"

# --- misbehaviours OpenSSL refuses at once --------------------------------
mark
tg_mark
ends "plain HTTP and 4 KiB of garbage: closed at once" "$(hostile garbage 4096)" \
	"closed after T s, server sent nothing" 0 1
# OpenSSL takes ClientHellos up to 128 KiB; the tagger's bound is 16 KiB
# (too-big), so tagshaked decides from OpenSSL's SNI: the handshake goes on.
check_eq "a 20 KB ClientHello in 2 records: the server answers (tag too-big, OpenSSL decides)" \
	"$(hostile big open.test 20000 | sed 's/ after.*//')" "2 records, server answered handshake"
settle
check_eq "garbage and the client gone after the big hello: 2 handshake_failed" "$(hs_delta handshake_failed) $(hs_delta tag_missing)" \
	"2 1"
tagger_check_eq "tagger: the garbage not-tls, the 20 KB hello too-big" \
	"$(tg_changed)" "status.not-tls+1 status.too-big+1"

# --- thousands of connections for a reject SNI ----------------------------
mark
tg_mark
check_eq "5000 connections for a reject SNI: all closed without a byte" \
	"$(hostile reject gone.test 5000 8 | sed 's/ in .*//')" "5000 of 5000 closed with nothing sent"
settle
# with the tagger they close on the tag (no OpenSSL object), else in the
# ClientHello callback
want_tag=0 want_policy=5000
[ "$TAGGER" = 1 ] && want_tag=5000 want_policy=0
check_eq "rejects counted (reject_tag reject_policy decide_reject), no handshake, no failure" \
	"$(hs_delta reject_tag) $(hs_delta reject_policy) $(hs_delta decide_reject) $(hs_delta handshakes) $(hs_delta handshake_failed)" \
	"$want_tag $want_policy 5000 0 0"
tagger_check_eq "tagger: 5000 ok tags with action reject" "$(tg_delta "status.ok action.reject")" \
	"5000 5000"

# --- after the handshake: renegotiation and KeyUpdate flood ---------------
mark
out=$( (echo R; sleep 1; echo after) | timeout 10 openssl s_client -tls1_2 -connect "127.0.0.1:$PORT" \
	-servername open.test -CAfile "$T/pki/server.crt" 2>&1)
check_eq "TLS 1.2 renegotiation: refused with a no_renegotiation alert" "$(grep -q RENEGOTIATING <<<"$out" && grep -q 'no renegotiation' <<<"$out" && echo yes)" \
	yes
settle
check_eq "the relay closed it, counted relay_error" "$(hs_delta handshakes) $(hs_delta relay_error)" "1 1"
mark
# stdin stays open until the echo of the data is back (at most 5 s), not
# a fixed second that a loaded machine may not meet
: >"$T/ku.out"
(sleep 0.5; for _ in $(seq 200); do echo K; sleep 0.005; done; echo after-keyupdates
	for _ in $(seq 100); do grep -q '^after-keyupdates' "$T/ku.out" && break; sleep 0.05; done) |
	timeout 20 openssl s_client -connect "127.0.0.1:$PORT" -servername open.test \
		-CAfile "$T/pki/server.crt" >"$T/ku.out" 2>&1
# s_client takes a command only when it reads the line alone; a few lines
# read together go out as data, so the count sent varies a little.
ku=$(grep -c '^KEYUPDATE' "$T/ku.out")
check_eq "$ku KeyUpdates (update_requested) then data: 150+ sent, data echoed" "$([ "$ku" -ge 150 ] && echo yes) $(grep -c '^after-keyupdates' "$T/ku.out")" \
	"yes 1"
settle
if [ "$TS_NO_KTLS_MODE" = records ]; then
	# the proxy's record layer followed them; tagshaked handed it off once
	check_eq "handed off in records mode, none relayed or in error" \
		"$(hs_delta records) $(hs_delta relay) $(hs_delta relay_error)" "1 0 0"
else
	check_eq "and closed cleanly when the client left (relay_closed)" "$(hs_delta relay_closed) $(hs_delta relay_error)" \
		"1 0"
fi

# --- client certificates --------------------------------------------------
# A bad signature: the client certificate's signature with bits flipped.
openssl x509 -in "$T/pki/client.crt" -outform DER -out "$T/client.der"
python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[-3] ^= 0x55
open(sys.argv[1], "wb").write(d)' "$T/client.der"
openssl x509 -inform DER -in "$T/client.der" -out "$T/pki/badsig.crt"
# A huge chain: the leaf and 300 unrelated CA certificates (~170 KB).
{ cat "$T/pki/client.crt"; for _ in $(seq 300); do cat "$T/pki/other-ca.crt"; done; } \
	>"$T/pki/hugechain.crt"
cert() { hostile cert secure.test "$T/pki/server.crt" "$T/pki/$1.crt" "$T/pki/client.key"; }
mark
check_eq "require, a valid client certificate: handshake and echo" "$(cert client)" echoed
check_eq "require, a certificate with a bad signature: decrypt_error alert" \
	"$(cert badsig)" "alert TLSV1_ALERT_DECRYPT_ERROR"
# Beyond OpenSSL's max_cert_list (100 KiB): an illegal_parameter alert, or
# a reset when the server closes while the client is still writing.
check_eq "require, a 170 KB chain: refused during the handshake" "$(cert hugechain | sed -E 's/^(reset|alert SSLV3_ALERT_ILLEGAL_PARAMETER)$/refused/')" \
	refused
settle
check_eq "1 handshake with a verified certificate, 2 failed, 1 hand-off" "$(hs_delta handshakes) $(hs_delta client_certs) $(hs_delta handshake_failed) $(hs_delta handoff_ok)" \
	"1 1 2 1"

# --- a broken or hostile handshaker on the hand-off socket ----------------
# (root here: the socket's owner; other users cannot connect, see
# tests/test_privilege.sh). Every fd sent must be closed by the proxy.
bad_before=$(proxy_stat handoff_bad)
check_eq "malformed hand-offs: refused, every fd received closed by the proxy" \
	"$(timeout 60 python3 "$ROOT/tests/hostile_clients.py" bad-handoffs "$T/handoff.sock")" \
	"truncated TLV: closed; bad SSL TLV: closed; no fd: -; three fds: closed,closed,closed; 40 KB message: closed; empty message: closed"
check_eq "counted handoff_bad, one per message" $(($(proxy_stat handoff_bad) - bad_before)) 6

# --- every connection accounted, resources back to the baseline -----------
settle
total=$(( $(hs_now reject_tag) + $(hs_now reject_policy) + $(hs_now handshake_failed) +
	$(hs_now handshake_timeout) + $(hs_now handshakes) ))
check_eq "tagshaked: every accepted connection has one close reason" "$total" "$(hs_now accepted)"
check_eq "tagshaked: every handshake was handed off" "$(( $(hs_now handoff_ok) + $(hs_now handoff_timeout) + $(hs_now handoff_error) ))" \
	"$(hs_now handshakes)"
check_eq "tagshaked: every relay closed with a reason" "$(( $(hs_now relay_closed) + $(hs_now relay_idle) + $(hs_now relay_error) ))" \
	"$(hs_now relay)"
check_eq "proxy: every hand-off closed with a reason" "$(proxy_closes)" "$(proxy_stat handoffs)"
check_eq "tagshaked fds back to the baseline" "$(fds "$HS_PID")" "$base_hs_fd"
check_eq "proxy fds back to the baseline" "$(fds "$PROXY_PID")" "$base_px_fd"
hs_rss=$(rss_kb "$HS_PID") px_rss=$(rss_kb "$PROXY_PID")
echo "# RSS: tagshaked ${base_hs_rss} -> ${hs_rss} KiB, proxy ${base_px_rss} -> ${px_rss} KiB"
# malloc keeps freed arenas; within 2 MiB of the baseline after 5,000+
# connections is no per-connection leak (45 KiB per handshake in flight).
check_eq "tagshaked RSS within 2 MiB of the baseline" "$([ $((hs_rss - base_hs_rss)) -lt 2048 ] && echo yes)" \
	yes
check_eq "proxy RSS within 2 MiB of the baseline" "$([ $((px_rss - base_px_rss)) -lt 2048 ] && echo yes)" yes
check_eq "both daemons still running" "$(kill -0 "$HS_PID" && echo yes) $(kill -0 "$PROXY_PID" && echo yes)" \
	"yes yes"

tap_end
