#!/bin/bash
# `make install PREFIX=...` and the systemd units: installed with their
# paths filled in, `systemd-analyze verify` clean, hardening measured with
# `systemd-analyze security --offline`, and what each unit promises.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/root
make -s install PREFIX="$dest/usr" CONFDIR="$dest/etc/tagshake" >"$work/make.out" 2>&1
check_eq "make install PREFIX=... succeeds" "$?" 0
for b in tagshake tagshaked tagshake-proxy; do
	check "installed $b runs --help" bash -c "\"$dest/usr/bin/$b\" --help | grep -q usage"
done
units=$dest/usr/lib/systemd/system
check_eq "four units installed" \
	"$(ls "$units" | tr '\n' ' ')" \
	"tagshake-metrics.service tagshake-proxy.service tagshake-tagger.service tagshaked.service "
check_eq "every @DIR@ placeholder is filled in" "$(grep -l '@[A-Z]*DIR@' "$units"/* | wc -l)" 0

for u in "$units"/*.service; do
	out=$(systemd-analyze verify "$u" 2>&1)
	rc=$?
	check_eq "systemd-analyze verify ${u##*/}: no finding" "$rc: $out" "0: "
	level=$(systemd-analyze security --offline=true "$u" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p')
	check "$(basename "$u"): exposure $level (systemd-analyze security) is at most 4.0" \
		awk -v l="$level" 'BEGIN { exit !(l != "" && l <= 4.0) }'
done

# the negative control: verify does catch a wrong key and a missing binary
sed -e 's/^Restart=on-failure/Restart=on-failure\nFrobnicate=yes/' \
	-e "s|/bin/tagshaked |/bin/missing |" "$units/tagshaked.service" >"$work/broken.service"
out=$(systemd-analyze verify "$work/broken.service" 2>&1)
check "verify reports an unknown key in a broken unit" grep -q "Unknown key 'Frobnicate'" <<<"$out"
check "verify reports a missing binary in a broken unit" grep -q 'missing is not executable' <<<"$out"

# what the units promise
key() { sed -n "s/^$2=//p" "$units/$1"; }
check_eq "tagger: oneshot that stays active" "$(key tagshake-tagger.service Type)/$(key tagshake-tagger.service RemainAfterExit)" \
	"oneshot/yes"
check_eq "tagger: ExecStop unloads" \
	"$(key tagshake-tagger.service ExecStop)" "$dest/usr/bin/tagshake unload --pin-dir /sys/fs/bpf/tagshake"
check_eq "tagger: policies imported from the configuration" \
	"$(key tagshake-tagger.service ExecStartPost)" \
	"$dest/usr/bin/tagshake policy import --pin-dir /sys/fs/bpf/tagshake $dest/etc/tagshake/tagshake.yaml"
for u in tagshaked.service tagshake-proxy.service tagshake-metrics.service; do
	check_eq "$u: NoNewPrivileges, ProtectSystem=strict" "$(key $u NoNewPrivileges)/$(key $u ProtectSystem)" "yes/strict"
done
check_eq "proxy: no capability at all" "$(key tagshake-proxy.service CapabilityBoundingSet)" ""
check_eq "tagshaked: port binding and the pinned maps only" "$(key tagshaked.service CapabilityBoundingSet)" \
	"CAP_NET_BIND_SERVICE CAP_BPF"
check_eq "tagshaked: reload is SIGHUP" "$(key tagshaked.service ExecReload)" '/bin/kill -HUP $MAINPID'
check_eq "tagshaked: configuration checked first" \
	"$(key tagshaked.service ExecStartPre)" "$dest/usr/bin/tagshake check --quiet $dest/etc/tagshake/tagshake.yaml"

# Readiness: both daemons speak the sd_notify protocol, so the units are
# Type=notify. A datagram socket stands in for systemd's NOTIFY_SOCKET and
# the demo stack (scripts/run.sh) runs with it in its environment.
for u in tagshaked.service tagshake-proxy.service; do
	check_eq "$u: Type=notify, Restart=on-failure" "$(key $u Type)/$(key $u Restart)" "notify/on-failure"
done
check_eq "tagshake-metrics.service: Type=simple (no readiness protocol)" "$(key tagshake-metrics.service Type)" simple
if [ "$(id -u)" -eq 0 ]; then
	port=$(free_port)
	# each message is logged with whether, at that moment, the TLS port was
	# listening (/proc/net/tcp, state 0A) and the hand-off socket existed
	/usr/bin/python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
def listening(port):
    with open("/proc/net/tcp") as f:
        return any(l.split()[1].endswith(":%04X" % port) and l.split()[3] == "0A" for l in f.readlines()[1:])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        m = s.recv(4096).decode().replace("\n", " ")
        out.write("%s port=%s handoff=%s\n" % (m, "up" if listening(int(sys.argv[3])) else "down",
                                             "up" if os.path.exists(sys.argv[4]) else "down"))
' "$work/notify.sock" "$work/notify.log" "$port" "$work/state/run/handoff.sock" &
	rx=$!
	for _ in $(seq 100); do [ -S "$work/notify.sock" ] && break; sleep 0.05; done
	ts_bpffs >/dev/null || not_ok "bpffs at /sys/fs/bpf"
	pins=/sys/fs/bpf/tagshake-units-$$
	state=$work/state
	NOTIFY_SOCKET=$work/notify.sock timeout -s TERM 60 scripts/run.sh --no-deps --no-build \
		--state "$state" --port "$port" --pin-dir "$pins" >"$work/run.out" 2>&1 &
	runpid=$!
	for _ in $(seq 300); do grep -q '^  cat ' "$work/run.out" && break; sleep 0.05; done
	hs=$(pgrep -f -- "tagshaked --config $state/")
	px=$(pgrep -f -- "tagshake-proxy --config $state/")
	check_eq "one message from each daemon at start" "$(grep -c "MAINPID=$hs " "$work/notify.log")/$(grep -c "MAINPID=$px " "$work/notify.log")" \
		"1/1"
	# run.sh starts the proxy first, then tagshaked
	check_eq "tagshake-proxy: READY=1 with its pid once the hand-off socket exists" "$(grep "MAINPID=$px " "$work/notify.log")" \
		"READY=1 MAINPID=$px port=down handoff=up"
	check_eq "tagshaked: READY=1 with its pid once its port listens" "$(grep "MAINPID=$hs " "$work/notify.log")" \
		"READY=1 MAINPID=$hs port=up handoff=up"
	kill -HUP "$hs"
	for _ in $(seq 100); do [ "$(grep -c "MAINPID=$hs " "$work/notify.log")" -ge 3 ] && break; sleep 0.05; done
	check_eq "tagshaked: SIGHUP reload reports RELOADING=1 then READY=1" \
		"$(grep "MAINPID=$hs " "$work/notify.log" | tail -2 | cut -d' ' -f1 | tr '\n' ' ')" "RELOADING=1 READY=1 "
	kill -TERM "$runpid"
	wait "$runpid"
	# the daemons are gone within milliseconds of SIGTERM; the receiver
	# above reads /proc/net/tcp per message and may still be behind
	for _ in $(seq 100); do
		grep -q "^STOPPING=1 MAINPID=$hs " "$work/notify.log" &&
			grep -q "^STOPPING=1 MAINPID=$px " "$work/notify.log" && break
		sleep 0.05
	done
	check_eq "tagshaked: STOPPING=1 on SIGTERM" "$(grep "MAINPID=$hs " "$work/notify.log" | tail -1 | cut -d' ' -f1,2)" "STOPPING=1 MAINPID=$hs"
	check_eq "tagshake-proxy: STOPPING=1 on SIGTERM" "$(grep "MAINPID=$px " "$work/notify.log" | tail -1 | cut -d' ' -f1,2)" "STOPPING=1 MAINPID=$px"
	kill "$rx"
	wait "$rx" 2>/dev/null
	build/tagshake unload --pin-dir "$pins" >/dev/null 2>&1
fi
tap_end
