#!/bin/bash
# The configuration's logging: section honoured by the real daemons:
# tagshaked's level and connection log at start and after SIGHUP, its
# rate limit on a burst of identical errors (broken reloads), and
# tagshake-proxy's level. openssl s_client as the client, the hand-off sink
# as the proxy for tagshaked.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
. "$ROOT/tests/handshaker_lib.sh"
trap 'stop_all; [ -n "${PROXY:-}" ] && kill "$PROXY" 2>/dev/null; rm -rf "$T"' EXIT
PORT=$(free_port)

# wait_grep PATTERN FILE: up to 3 s
wait_grep() {
	for _ in $(seq 60); do grep -q "$1" "$2" && return 0; sleep 0.05; done
	return 1
}
hello() { # a full handshake on open.test, handed off to the sink
	echo | timeout 10 openssl s_client -connect "127.0.0.1:$PORT" -servername open.test \
		-CAfile "$T/server-ca.crt" >/dev/null 2>&1
}

make_pki
hs_config "$PORT" "logging: { level: error }"
start_sink
start_daemon || bail "daemon started"
hello
sleep 0.3
check_eq "level error, connections off (default): nothing on stderr after start and a handshake" \
	"$(cat "$T/daemon.err")" ""

hs_config "$PORT" "logging: { level: info, connections: true }"
kill -HUP "$DAEMON"
wait_grep "loaded generation 2" "$T/daemon.err"
check_eq "SIGHUP to level info: the reload is logged" \
	"$(cat "$T/daemon.err")" "tagshaked: loaded generation 2 from $T/tagshake.yaml"
hello
wait_grep 'msg=conn' "$T/daemon.err"
check_eq "connections: true after SIGHUP: one connection line" \
	"$(grep 'msg=conn' "$T/daemon.err" | sed 's/^ts=[^ ]* //; s/ ms=[0-9.]*$//')" \
	"level=info msg=conn result=ok sni=open.test policy=open.test action=none mode=$TS_NO_KTLS_MODE resumed=0"

# 10 broken reloads within a fraction of a second: at most 5 identical lines a
# second, the rest counted on a "suppressed" line once the second is over
hs_config "$PORT" "logging: { level: loud }"
line=$(grep -n 'logging:' "$T/tagshake.yaml" | cut -d: -f1)
# the limiter counts per second of CLOCK_MONOTONIC (lib/log.c): the 10
# signals start just after such a second begins, so they fall into one
# second and not 5 + 5 into two (python's monotonic clock is the same clock).
# Each waits for the status file the reload rewrites (a new inode), so no
# two signals merge into one reload on a loaded machine.
python3 -c '
import os, signal, sys, time
pid, status = int(sys.argv[1]), sys.argv[2]
time.sleep(1 - time.monotonic() % 1 + 0.005)
for _ in range(10):
    ino = os.stat(status).st_ino
    os.kill(pid, signal.SIGHUP)
    end = time.monotonic() + 1
    while os.stat(status).st_ino == ino and time.monotonic() < end:
        time.sleep(0.002)
' "$DAEMON" "$T/status"
sleep 2.2
failed_lines=$(grep -c '^tagshaked: reload failed, keeping generation 2$' "$T/daemon.err")
suppressed=$(sed -n 's/^tagshaked: suppressed \([0-9]*\) more of: reload failed, keeping generation 2$/\1/p' \
	"$T/daemon.err" | awk '{ s += $1 } END { print s + 0 }')
check_eq "10 identical errors: lines written + suppressed = 10" "$((failed_lines + suppressed))" 10
check "10 identical errors: at least one 'suppressed K more of' line, at most 5 lines a second" \
	test "$suppressed" -ge 1 -a "$failed_lines" -le 9
check_eq "the error names file, line and key" \
	"$(grep -m1 'logging.level' "$T/daemon.err")" \
	"tagshaked: $T/tagshake.yaml:$line: logging.level: unknown value 'loud'"
kill -0 "$DAEMON" 2>/dev/null
check "tagshaked still runs generation 2" [ $? -eq 0 ]
stop_all

# tagshake-proxy: its start line is info
proxy_start() { # level → the proxy's stderr once its socket listens
	hs_config "$PORT" "logging: { level: $1 }"
	sed -i "s|$T/handoff.sock|$T/proxy.sock|" "$T/tagshake.yaml"
	"$ROOT/build/tagshake-proxy" --config "$T/tagshake.yaml" --workers 1 2>"$T/proxy.err" &
	PROXY=$!
	for _ in $(seq 100); do [ -S "$T/proxy.sock" ] && break; sleep 0.05; done
	sleep 0.2
	kill "$PROXY" && wait "$PROXY" 2>/dev/null
	PROXY=
	# the counters it prints on exit are no diagnostics
	grep -v -e '^tagshake-proxy: draining$' -e '^tagshake-proxy stats: ' "$T/proxy.err"
}
check_eq "proxy, level warn: no start line" "$(proxy_start warn)" ""
check_eq "proxy, level info: the start line, with the policy generation it serves" \
	"$(proxy_start info)" \
	"tagshake-proxy: 1 workers on $T/proxy.sock, 1 routes, splice, policy generation $("$ROOT/build/tagshake" check --generation "$T/tagshake.yaml")"
tap_end
