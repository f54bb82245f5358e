#!/bin/bash
# Before/after of two tagshaked builds beside nginx, without strace: both
# builds and nginx run at once (one worker each, pinned to CPU 0; load
# generator and hand-off sink on CPU 1) and take turns, ROUNDS times, in
# the rows full `none` ECDSA, reject and full `none` RSA (nginx: the two
# full rows). Per run: server CPU ms per connection, system calls per
# connection counted by `perf stat` on the syscall tracepoints (strace
# slows the server enough to change what it does: under strace the
# ClientHello is already queued at accept far more often) and context
# switches per connection. Then the medians and the ratios of each round.
# With the tagger loaded on both builds' ports unless NOTAGGER=1.
# Not part of `make test`: run by hand.
#   BASE=older/tagshaked [NOTAGGER=1] tests/handshaker_ab.sh [ROUNDS] [SECONDS]
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
T=$(mktemp -d)
. "$ROOT/tests/handshaker_lib.sh"
. "$ROOT/tests/handshaker_breakdown.sh"
ROUNDS=${1:-5}
SECS=${2:-3}
NEW=$ROOT/build/tagshaked
BASE=${BASE:?BASE=path/to/the/older/tagshaked}
ts_sysenv || { echo "cgroup v2 and bpffs not found" >&2; exit 1; }
PIN_DIR=$TS_BPFFS/tagshake-hs-ab-$$
NEWP='' BASEP='' NGP=''
cleanup() {
	stop_all
	for p in $NEWP $BASEP $NGP; do kill "$p" 2>/dev/null; done
	[ -e "$PIN_DIR" ] && "$ROOT/build/tagshake" unload --pin-dir "$PIN_DIR" >/dev/null
	rm -rf "$T"
}
trap cleanup EXIT
PORT=$(free_port)
BPORT=$(free_port)
NPORT=$(free_port)
make_pki
hs_config "$PORT"
sed -i 's/workers: 2/workers: 1/' "$T/tagshake.yaml"
if [ -z "${NOTAGGER:-}" ]; then
	"$ROOT/build/tagshake" load --pin-dir "$PIN_DIR" --port "$PORT" --port "$BPORT" >/dev/null &&
		"$ROOT/build/tagshake" policy import --pin-dir "$PIN_DIR" "$T/tagshake.yaml" >/dev/null ||
		exit 1
	sed -i "s|pin_dir: .*|pin_dir: $PIN_DIR|" "$T/tagshake.yaml"
fi
sed "s/port: $PORT\$/port: $BPORT/" "$T/tagshake.yaml" >"$T/tagshake-base.yaml"
start_sink
taskset -p -c 1 "$SINK" >/dev/null
"$NEW" --config "$T/tagshake.yaml" --status "$T/status" 2>"$T/new.err" &
NEWP=$!
"$BASE" --config "$T/tagshake-base.yaml" --status "$T/status-base" 2>"$T/base.err" &
BASEP=$!
nginx_conf "$T/nginx.conf" "$NPORT"
taskset -c 0 nginx -p "$T/nginx" -c "$T/nginx.conf" 2>/dev/null &
NGP=$!
sleep 0.7
taskset -a -p -c 0 "$NEWP" >/dev/null
taskset -a -p -c 0 "$BASEP" >/dev/null
HZ=$(getconf CLK_TCK)
CALLS="accept4 bpf ioctl epoll_wait epoll_ctl close read write getpid shutdown getsockname getpeername socketpair sendmsg"
EVENTS=raw_syscalls:sys_enter$(for s in $CALLS; do printf ",syscalls:sys_enter_%s" "$s"; done)

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# run WHO ROW PID PORT SNI [load args]: one line "WHO ROW n= cpu_ms= sys= ctx= load= (calls)"
run() {
	local who=$1 row=$2 pid=$3 port=$4 sni=$5 t0 t1 c0 c1 out n ps f
	shift 5
	t0=$(ticks "$pid")
	c0=$(ctxsw "$pid")
	perf stat -x, -e "$EVENTS" -p "$pid" -o "$T/perf.out" &
	ps=$!
	out=$(taskset -c 1 "$ROOT/build/tests/handshaker_load" 127.0.0.1 "$port" "$sni" "$SECS" "$@")
	kill -INT "$ps"
	wait "$ps" 2>/dev/null
	t1=$(ticks "$pid")
	c1=$(ctxsw "$pid")
	n=$(conns_of "$out")
	# rejected connections count as "failed" on the client
	f=${out#*failed=}
	[ "${n:-0}" -eq 0 ] && n=${f%% *}
	if [ "${n:-0}" -eq 0 ] 2>/dev/null || [ -z "$n" ]; then
		echo "# $who $row: no connection completed or refused (load said: $out)"
		return
	fi
	awk -F, -v who="$who" -v row="$row" -v n="$n" -v t=$((t1 - t0)) -v hz="$HZ" \
		-v c=$((c1 - c0)) -v load="$(cut -d' ' -f1 /proc/loadavg)" '
		$3 == "raw_syscalls:sys_enter" { total = $1 }
		$3 ~ /sys_enter_/ && $1 > 0 { sub(/.*sys_enter_/, "", $3); calls = calls sprintf(" %s %.2f", $3, $1 / n) }
		END { printf "%s %s n=%d cpu_ms=%.4f sys=%.2f ctx=%.2f load=%s (%s )\n",
			who, row, n, (t / hz) * 1000 / n, total / n, c / n, load, calls }' "$T/perf.out"
}

for _ in $(seq "$ROUNDS"); do
	run new full-ec "$NEWP" "$PORT" open.test
	run new reject "$NEWP" "$PORT" gone.test
	run new full-rsa "$NEWP" "$PORT" open.test -R
	run base full-ec "$BASEP" "$BPORT" open.test
	run base reject "$BASEP" "$BPORT" gone.test
	run base full-rsa "$BASEP" "$BPORT" open.test -R
	run nginx full-ec "$NGP" "$NPORT" open.test
	run nginx full-rsa "$NGP" "$NPORT" open.test -R
done | tee "$T/runs"
echo
# medians, and the ratios of each round (runs of one round are adjacent in time)
python3 - "$T/runs" <<'PY'
import collections, re, statistics as st, sys
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    m = re.match(r"(\S+) (\S+) n=(\d+) cpu_ms=([\d.]+) sys=([\d.]+) ctx=([\d.]+) load=([\d.]+)", line)
    if m:
        runs[m[1], m[2]].append([float(x) for x in m.groups()[3:]])
def med(k, i): return st.median(r[i] for r in runs[k])
print("| server | row | runs | server CPU ms/conn (median) | syscalls/conn | context switches/conn | load average |")
print("|---|---|---:|---:|---:|---:|---|")
for k in sorted(runs):
    loads = [r[3] for r in runs[k]]
    print(f"| {k[0]} | {k[1]} | {len(runs[k])} | {med(k, 0):.3f} | {med(k, 1):.1f} | {med(k, 2):.2f} | {min(loads)}–{max(loads)} |")
print()
def ratio(a, b):
    r = [x[0] / y[0] for x, y in zip(runs[a], runs[b])]
    return f"{st.median(r):.3f} (rounds {min(r):.2f}–{max(r):.2f})"
for row in ("full-ec", "full-rsa"):
    for who in ("new", "base"):
        print(f"- {who} / nginx, {row}: {ratio((who, row), ('nginx', row))}")
for who in ("new", "base"):
    print(f"- {who}: reject / full-ec: {ratio((who, 'reject'), (who, 'full-ec'))}")
PY
