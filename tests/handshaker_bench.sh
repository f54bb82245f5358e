#!/bin/bash
# Server CPU per connection of tagshaked (one worker pinned to CPU 0, load
# generator and hand-off sink on CPU 1), TLS 1.3, X25519, with Debian's
# nginx and HAProxy on the same core for the same rows. tagshake's server
# CPU is tagshaked's plus the hand-off sink's (the stand-in for
# tagshake-proxy, which carries the connection's bytes after the
# hand-off): in relay mode it reads the relayed plaintext, in records mode
# it runs the TLS record layer itself. The first tagshaked runs in relay
# mode (handoff.records: false) and serves every row; the full handshakes
# also run in records mode, the default (a second tagshaked on its own
# port and core 0), interleaved with nginx.
# Not part of `make test`: run by hand, prints a markdown table.
#   [BASE=older/tagshaked] [ROUNDS=3] [FULL_ONLY=1] [BREAKDOWN=0] \
#     tests/handshaker_bench.sh [SECONDS]
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
. "$ROOT/tests/handshaker_lib.sh"
. "$ROOT/tests/handshaker_breakdown.sh"
cleanup() {
	local p
	stop_all
	for p in ${NGINX_PID:-} ${BASE_PID:-} ${RECORDS_PID:-}; do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
SECS=${1:-5}
PORT=$(free_port)
LOAD="taskset -c 1 $ROOT/build/tests/handshaker_load 127.0.0.1 $PORT"
HZ=$(getconf CLK_TCK)

make_pki
# relay mode here; the records-mode tagshaked below says so itself
TS_HANDOFF_RECORDS=0 hs_config "$PORT"
sed -i 's/workers: 2/workers: 1/' "$T/tagshake.yaml"
start_sink
taskset -p -c 1 "$SINK" >/dev/null
"$ROOT/build/tagshaked" --config "$T/tagshake.yaml" --status "$T/status" 2>"$T/daemon.err" &
DAEMON=$!
taskset -a -p -c 0 "$DAEMON" >/dev/null
sleep 0.5

# CPU ticks (user + system, all threads, live and exited) of the PIDs
ticks_of() {
	local p t=0
	for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
	echo "$t"
}
# the server's: DAEMON's, plus ALSO's (tagshake's hand-off sink)
cpu_ticks() { ticks_of "$DAEMON" ${ALSO:-}; }

# PAR clients at once (default 1: one connection at a time, so that every
# connection pays the server's sleep and wake-up; more amortise them)
load() {
	local i
	for i in $(seq "${PAR:-1}"); do $LOAD "$@" & done | awk -F'[= ]' \
		'{ h += $2; r += $4; f += $6; if ($8 > s) s = $8 }
		END { printf "handshakes=%d resumed=%d failed=%d seconds=%.2f\n", h, r, f, s }'
	wait
}

row() { # row LABEL load-args...
	local label=$1 t0 t1 c0 c1 a0 a1 out n f
	shift
	t0=$(cpu_ticks)
	a0=$(ticks_of ${ALSO:-})
	c0=$(ctxsw "$DAEMON")
	out=$(load "$@")
	t1=$(cpu_ticks)
	a1=$(ticks_of ${ALSO:-})
	c1=$(ctxsw "$DAEMON")
	n=$(sed 's/.*handshakes=\([0-9]*\).*/\1/' <<<"$out")
	f=$(sed 's/.*failed=\([0-9]*\).*/\1/' <<<"$out")
	[ "$n" -eq 0 ] && n=$f # rejected connections count as "failed" on the client
	awk -v l="$label" -v o="$out" -v t=$((t1 - t0)) -v hz="$HZ" -v n="$n" -v s="$SECS" \
		-v c=$((c1 - c0)) -v a=$((a1 - a0)) -v also="${ALSO:-}" \
		'BEGIN { printf "| %s | %s | %.0f | %.3f | %s | %.1f |\n", l, o, n / s,
			 (t / hz) * 1000 / n, also == "" ? "" : sprintf("%.3f", (a / hz) * 1000 / n), c / n }'
}

# median_row ROWS...: the row whose CPU per connection is the median
median_row() {
	printf '%s\n' "$@" | sort -t'|' -k5,5n | sed -n "$((($# + 1) / 2))p"
}

# A reject flood: bench/conn_load sends a ClientHello recorded from openssl
# s_client for gone.test (no crypto on the client, so it keeps the server
# busier than handshaker_load can) from PROCS processes on CPU 1
record_hello() { # record_hello SNI FILE
	python3 - "$1" "$2" <<'PY'
import socket, subprocess, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
c = subprocess.Popen(["openssl", "s_client", "-connect", "127.0.0.1:%d" % s.getsockname()[1],
                      "-servername", sys.argv[1]], stdin=subprocess.DEVNULL,
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
a, _ = s.accept()
a.settimeout(5)
d = b""
while len(d) < 5 or len(d) < 5 + int.from_bytes(d[3:5], "big"):
    d += a.recv(65536)
open(sys.argv[2], "wb").write(d)
c.kill()
PY
}
flood_row() { # flood_row LABEL PROCS
	local t0 t1 out n before
	[ -x "$ROOT/build/bench/conn_load" ] || return 0
	[ -s "$T/gone.hello" ] || record_hello gone.test "$T/gone.hello"
	before=$(stat_now reject_tag)
	t0=$(cpu_ticks)
	out=$(taskset -c 1 "$ROOT/build/bench/conn_load" -a 127.0.0.1 -p "$PORT" -f "$T/gone.hello" \
		-c "$2" -d "$SECS")
	t1=$(cpu_ticks)
	# the server's RST ends each connection: conn_load counts it "failed"
	n=$(awk '{ print $2 + $4 }' <<<"$out")
	out="$out, reject_tag +$(($(stat_now reject_tag) - before))"
	awk -v l="$1" -v o="$out" -v t=$((t1 - t0)) -v hz="$HZ" -v n="$n" -v s="$SECS" \
		'BEGIN { printf "| %s | %s | %.0f | %.3f | | |\n", l, o, n / s, (t / hz) * 1000 / n }'
}

# Debian's nginx on the same core with the same certificates and OpenSSL:
# one process, TLS 1.3, session cache on and tickets off (like tagshaked's
# default), a fixed 200 answer. Started before the first row, so that its
# full-handshake rows interleave with tagshaked's (idle, it costs nothing).
NGINX_PID=
if command -v nginx >/dev/null; then
	NPORT=$(free_port)
	nginx_conf "$T/nginx.conf" "$NPORT" "$(cat <<SERVERS
	server {
		listen 127.0.0.1:$NPORT ssl; server_name api.test;
		ssl_client_certificate $T/partners-ca.crt;
		ssl_verify_client on;
		return 200 "ok\n";
	}
SERVERS
)"
	taskset -c 0 nginx -p "$T/nginx" -c "$T/nginx.conf" 2>/dev/null &
	NGINX_PID=$!
	sleep 0.5
fi
TS_LOAD=$LOAD
# tagshaked in records mode (handoff.records), same sink, own port
RPORT=$(free_port)
sed -e "s/port: $PORT\$/port: $RPORT/" -e 's/^  records: false$/  records: true/' \
	"$T/tagshake.yaml" >"$T/tagshake-records.yaml"
"$ROOT/build/tagshaked" --config "$T/tagshake-records.yaml" --status "$T/status-records" \
	2>"$T/records.err" &
RECORDS_PID=$!
taskset -a -p -c 0 "$RECORDS_PID" >/dev/null
sleep 0.5
REC_LOAD="taskset -c 1 $ROOT/build/tests/handshaker_load 127.0.0.1 $RPORT"
NG_LOAD="taskset -c 1 $ROOT/build/tests/handshaker_load 127.0.0.1 ${NPORT:-0}"

# BASE=path/to/an/older/tagshaked: it runs beside this build, on its own
# port with the same configuration, and takes its turn in the interleaved
# full rows (a before/after from one machine state)
BASE_PID=
if [ -n "${BASE:-}" ]; then
	BPORT=$(free_port)
	sed "s/port: $PORT\$/port: $BPORT/" "$T/tagshake.yaml" >"$T/tagshake-base.yaml"
	"$BASE" --config "$T/tagshake-base.yaml" --status "$T/status-base" 2>"$T/base.err" &
	BASE_PID=$!
	taskset -a -p -c 0 "$BASE_PID" >/dev/null
	sleep 0.5
fi
BASE_LOAD="taskset -c 1 $ROOT/build/tests/handshaker_load 127.0.0.1 ${BPORT:-0}"

# on SERVER ROW-ARGS...: one row against tagshaked (ts, relay mode; rec,
# records mode; base) or nginx (ng)
on() {
	local who=$1 saved=$DAEMON
	shift
	if [ "$who" = ng ]; then
		LOAD=$NG_LOAD DAEMON=$NGINX_PID ALSO= row "$@"
	elif [ "$who" = base ]; then
		LOAD=$BASE_LOAD DAEMON=$BASE_PID row "$@"
	elif [ "$who" = rec ]; then
		LOAD=$REC_LOAD DAEMON=$RECORDS_PID row "$@"
	else
		LOAD=$TS_LOAD row "$@"
	fi
	DAEMON=$saved
}
# tagshake's rows count the sink too; nginx and HAProxy answer themselves
ALSO=$SINK

echo "| row | client result | conn/s | server CPU ms per connection (tagshake: tagshaked + hand-off sink) | of which the sink | server's context switches per connection (tagshake: tagshaked's) |"
echo "|---|---|---:|---:|---:|---:|"
# The full handshakes, tagshaked's and nginx's runs interleaved ROUNDS
# times (3 by default); each row is the run with the median CPU: the machine
# is shared, and interleaving spreads its load over both servers alike
ROUNDS=${ROUNDS:-3}
declare -A runs
CERT=(-c "$T/client1.crt" -k "$T/client1.key")
for _ in $(seq "$ROUNDS"); do
	for who in ts rec ${NGINX_PID:+ng} ${BASE_PID:+base}; do
		runs[$who-ec]+="$(on "$who" "$who" open.test "$SECS")"$'\n'
		runs[$who-rsa]+="$(on "$who" "$who" open.test "$SECS" -R)"$'\n'
		runs[$who-req]+="$(on "$who" "$who" api.test "$SECS" "${CERT[@]}")"$'\n'
	done
done
for who in ts rec ${NGINX_PID:+ng} ${BASE_PID:+base}; do
	prefix="relay mode: "
	[ "$who" = rec ] && prefix="records mode: "
	[ "$who" = ng ] && prefix="nginx: "
	[ "$who" = base ] && prefix="base build: "
	mapfile -t r <<<"${runs[$who-ec]%$'\n'}"
	median_row "${r[@]}" | sed "s/^| $who |/| ${prefix}none, ECDSA P-256 (median of $ROUNDS) |/"
	mapfile -t r <<<"${runs[$who-rsa]%$'\n'}"
	median_row "${r[@]}" | sed "s/^| $who |/| ${prefix}none, RSA-2048 (median of $ROUNDS) |/"
	mapfile -t r <<<"${runs[$who-req]%$'\n'}"
	median_row "${r[@]}" | sed "s/^| $who |/| ${prefix}require + client cert, ECDSA (median of $ROUNDS) |/"
done
# Where the time goes in those rows (tests/handshaker_breakdown.sh), kept
# for after the table; BREAKDOWN=0 skips it
breakdown() { # breakdown SERVER LABEL LOAD-EXTRA
	local who=$1 label=$2 extra=$3 pid=$DAEMON cport sys pf cg
	local name=tagshaked cmd
	cport=$(free_port)
	if [ "$who" = ng ]; then
		name=nginx pid=$NGINX_PID
		sed "s/:$NPORT /:$cport /g; s|nginx.pid|nginx-cg.pid|" "$T/nginx.conf" >"$T/nginx-cg.conf"
		cmd=(nginx -p "$T/nginx" -c "$T/nginx-cg.conf")
	else
		sed "s/port: $PORT\$/port: $cport/" "$T/tagshake.yaml" >"$T/tagshake-cg.yaml"
		cmd=("$ROOT/build/tagshaked" --config "$T/tagshake-cg.yaml" --status "$T/status-cg")
		LOAD=$TS_LOAD
	fi
	if [ "$who" = base ]; then
		name="tagshaked (base build)" pid=$BASE_PID cmd[0]=$BASE LOAD=$BASE_LOAD
	fi
	[ "$who" = ng ] && LOAD=$NG_LOAD
	# shellcheck disable=SC2086
	sys=$(bd_syscalls "$pid" open.test 2 $extra)
	# shellcheck disable=SC2086
	pf=$(bd_perf "$pid" 2 open.test 2 $extra)
	cg=$(bd_callgrind "$cport" open.test "${CG_SECS:-4}" "$extra" -- "${cmd[@]}")
	LOAD=$TS_LOAD
	echo "| $name | $label | $sys | $pf | $cg |"
}
if [ "${BREAKDOWN:-1}" != 0 ]; then
	{
		echo
		echo "Where the time goes per connection in the full \`none\` rows (tests/handshaker_breakdown.sh, the same servers right after those rows): system calls per connection under \`strace -c -f\` (the most frequent in brackets), the server's CPU samples by object (\`perf record -e cpu-clock\`, the kernel included; this machine has no hardware counters), and user-space instructions per connection under callgrind (a second instance of the server, counted from after its start-up), split by object."
		echo
		echo "| server | row | system calls per connection | CPU samples by object | instructions per connection (callgrind) |"
		echo "|---|---|---|---|---|"
		for who in ${BASE_PID:+base} ts ${NGINX_PID:+ng}; do
			breakdown "$who" "none, ECDSA P-256" ""
			breakdown "$who" "none, RSA-2048" "-R"
		done
	} >"$T/breakdown.md"
fi
# FULL_ONLY=1: only the interleaved full rows and their breakdown (a
# before/after of the full handshake with BASE=, more ROUNDS for less noise)
if [ -n "${FULL_ONLY:-}" ]; then
	[ -s "$T/breakdown.md" ] && cat "$T/breakdown.md"
	exit 0
fi
row "require, resumed (session cache, the default)" api.test "$SECS" -c "$T/client1.crt" -k "$T/client1.key" -r
if [ -n "$NGINX_PID" ]; then
	on ng "nginx: require, resumed (session cache)" api.test "$SECS" -c "$T/client1.crt" -k "$T/client1.key" -r
fi
printf 'tls:\n  resumption: tickets\n' >> "$T/tagshake.yaml"
kill -HUP "$DAEMON"
sleep 0.5
row "require, resumed (stateless tickets)" api.test "$SECS" -c "$T/client1.crt" -k "$T/client1.key" -r
row "reject, no tagger (closed in the ClientHello callback)" gone.test "$SECS"

# Debian's HAProxy the same way: one thread on the same core, the same
# certificates (ECDSA and RSA for each SNI, chosen by the client's signature
# algorithms) and OpenSSL, TLS 1.3, session cache on (its default) and
# tickets off, client certificates required on api.test only (crt-list
# options per SNI), a fixed 200 answer
if command -v haproxy >/dev/null; then
	HPORT=$(free_port)
	for k in ec rsa; do cat "$T/edge-$k.crt" "$T/edge-$k.key" > "$T/haproxy-$k.pem"; done
	cat > "$T/haproxy.crtlist" <<CRTLIST
$T/haproxy-ec.pem open.test
$T/haproxy-rsa.pem open.test
$T/haproxy-ec.pem [verify required ca-file $T/partners-ca.crt] api.test
$T/haproxy-rsa.pem [verify required ca-file $T/partners-ca.crt] api.test
CRTLIST
	cat > "$T/haproxy.cfg" <<HAPROXY
global
	nbthread 1
	log stderr format raw local0 emerg
defaults
	mode http
	timeout connect 5s
	timeout client 10s
	timeout server 10s
frontend edge
	bind 127.0.0.1:$HPORT ssl crt-list $T/haproxy.crtlist ssl-min-ver TLSv1.3 no-tls-tickets
	http-request return status 200 content-type text/plain string "ok"
HAPROXY
	taskset -c 0 haproxy -db -f "$T/haproxy.cfg" 2>"$T/haproxy.err" &
	HAPROXY_PID=$!
	sleep 0.5
	LOAD="taskset -c 1 $ROOT/build/tests/handshaker_load 127.0.0.1 $HPORT"
	SAVED=$DAEMON
	DAEMON=$HAPROXY_PID
	ALSO=
	row "haproxy: none, ECDSA P-256" open.test "$SECS"
	row "haproxy: none, RSA-2048" open.test "$SECS" -R
	row "haproxy: require + client cert, ECDSA" api.test "$SECS" -c "$T/client1.crt" -k "$T/client1.key"
	row "haproxy: require, resumed (session cache)" api.test "$SECS" -c "$T/client1.crt" -k "$T/client1.key" -r
	DAEMON=$SAVED
	ALSO=$SINK
	kill "$HAPROXY_PID"
	wait "$HAPROXY_PID" 2>/dev/null
	LOAD="taskset -c 1 $ROOT/build/tests/handshaker_load 127.0.0.1 $PORT"
fi

# with the tagger, reject closes on the tag before any OpenSSL object
ts_sysenv || { echo "cgroup v2 and bpffs not found" >&2; exit 1; }
PIN_DIR=$TS_BPFFS/tagshake-hs-bench-$$
if [ "$(id -u)" -eq 0 ] && [ -x "$ROOT/build/tagshake" ] &&
	"$ROOT/build/tagshake" load --pin-dir "$PIN_DIR" --port "$PORT" >/dev/null &&
	"$ROOT/build/tagshake" policy import --pin-dir "$PIN_DIR" "$T/tagshake.yaml" >/dev/null; then
	sed -i "s|pin_dir: .*|pin_dir: $PIN_DIR|" "$T/tagshake.yaml"
	kill -HUP "$DAEMON"
	sleep 0.5
	row "none, ECDSA P-256, tagger loaded" open.test "$SECS"
	before=$(stat_now handshakes)
	row "reject, tagger loaded (closed on the tag)" gone.test "$SECS"
	PAR=4 row "reject, tagger loaded, 4 clients at once" gone.test "$SECS"
	flood_row "reject, tagger loaded, flood of a recorded ClientHello (4 processes)" 4
	PAR=4 row "none, ECDSA P-256, tagger loaded, 4 clients at once" open.test "$SECS"
	[ -n "${DEBUG:-}" ] && { echo "handshakes before $before"; sleep 1.1; cat "$T/status"; tail -3 "$T/sink.out"; }
	# BASE=path/to/an/older/tagshaked: its reject rows in the same run,
	# alternating with this build's, for a before/after on one machine state
	if [ -n "${BASE:-}" ]; then
		for bin in "$BASE" "$ROOT/build/tagshaked" "$BASE" "$ROOT/build/tagshaked"; do
			kill "$DAEMON" && wait "$DAEMON" 2>/dev/null
			"$bin" --config "$T/tagshake.yaml" --status "$T/status" 2>>"$T/daemon.err" &
			DAEMON=$!
			taskset -a -p -c 0 "$DAEMON" >/dev/null
			sleep 0.5
			name=this
			[ "$bin" = "$BASE" ] && name=base
			row "reject, tagger loaded, $name build" gone.test "$SECS"
			PAR=4 row "reject, tagger loaded, 4 clients at once, $name build" gone.test "$SECS"
			flood_row "reject, tagger loaded, flood (4 processes), $name build" 4
		done
	fi
	"$ROOT/build/tagshake" unload --pin-dir "$PIN_DIR" >/dev/null
fi
[ -s "$T/breakdown.md" ] && cat "$T/breakdown.md"
