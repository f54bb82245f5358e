#!/bin/bash
# The tagger on real traffic: a server namespace and a client namespace
# joined by a veth pair with MTU 576, the program loaded and attached, real
# clients sending real ClientHellos (nsenter, not "ip netns exec", which
# hides /sys/fs/bpf behind a fresh /sys). tag_probe reads each socket's tag by fd
# and the userspace parse of the same bytes; they must agree exactly.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
. tests/clients.sh
need_tagger_env "the live tagger suite"

id=$$
srv=ts-srv-$id
cli=ts-cli-$id
pins=/sys/fs/bpf/tagshake-live-$id
port=18601
work=$(mktemp -d)
cleanup() {
	build/tagshake unload --pin-dir "$pins" >/dev/null 2>&1
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$srv" && ip netns add "$cli" &&
	ip link add vs$id netns "$srv" mtu 576 type veth peer vc$id netns "$cli" mtu 576 &&
	ip -n "$srv" addr add 10.201.0.1/24 dev vs$id && ip -n "$cli" addr add 10.201.0.2/24 dev vc$id &&
	ip -n "$srv" link set vs$id up && ip -n "$cli" link set vc$id up &&
	ip -n "$srv" link set lo up && ip -n "$cli" link set lo up
check "namespaces joined by a veth pair with MTU 576" test $? -eq 0
# veth passes a sender's TSO/GSO super-packets whole: switch segmentation
# offloads off so a 2 KB hello really crosses the wire as MTU-sized segments.
nsenter --net=/run/netns/"$cli" ethtool -K vc$id tso off gso off

# Segments from the unowned 10.201.0.3 (the out-of-order client) go to vc.
ip -n "$srv" neigh add 10.201.0.3 lladdr "$(cat /sys/class/net/lo/address 2>/dev/null;
	ip -n "$cli" -br link show vc$id | awk '{print $3}')" dev vs$id 2>/dev/null ||
	ip -n "$srv" neigh replace 10.201.0.3 lladdr "$(ip -n "$cli" -br link show vc$id | awk '{print $3}')" dev vs$id

out=$(build/tagshake load --port "$port" --pin-dir "$pins" 2>&1)
check "load: $out" test $? -eq 0
build/tagshake policy add a.live.test require --cert 1 --ca 2 --route 3 --pin-dir "$pins"
build/tagshake policy add '*.live.test' optional --cert 4 --pin-dir "$pins"
build/tagshake policy add @default reject --pin-dir "$pins"
build/tagshake policy add @no-sni none --cert 9 --pin-dir "$pins"

# probe CLIENT NAME [probe options]: one connection, its JSON line in $probe_out.
probe() {
	local client=$1 name=$2
	shift 2
	start_server "$work/probe" nsenter --net=/run/netns/"$srv" build/tests/tag_probe \
		--port "$port" --pin-dir "$pins" "$@"
	local pid=$SERVER_PID
	nsenter --net=/run/netns/"$cli" bash -c ". tests/lib.sh; . tests/clients.sh; run_client $client 10.201.0.1 $port $name" \
		>/dev/null 2>&1
	wait "$pid"
	probe_out=$(cat "$work/probe")
}

# live and userspace views of the same bytes must be identical
same_as_user() {
	json_get "$probe_out" '[d["live"][k]==d["user"][k] for k in ("status","sni","alpn","records","bytes")]'
}

for c in $TS_CLIENTS; do
	probe "$c" "b.live.test"
	check_eq "$c: live tag is ok with the SNI" "$(json_get "$probe_out" 'd["live"]["status"]+" "+d["live"]["sni"]')" \
		"ok b.live.test"
	check_eq "$c: live tag equals the userspace parse" "$(same_as_user)" "[true,true,true,true,true]"
	check_eq "$c: policy by wildcard" "$(json_get "$probe_out" 'd["live"]["action"]+" "+d["live"]["match"]')" \
		"optional wildcard"
	if [ "$c" = chromium ]; then
		segs=$(json_get "$probe_out" 'd["live"]["segments"]')
		check "chromium: its $(json_get "$probe_out" 'd["live"]["bytes"]')-byte hello crossed $segs >= 4 segments" \
			test "$segs" -ge 4
	fi
	[ "$c" = openssl-frag512 ] && check_eq "openssl -max_send_frag 512: three records live" "$(json_get "$probe_out" 'd["live"]["records"]')" \
		3
	# Reassembly storage (bpf/reasm_hold.h): none for a hello whole in one
	# segment, none left once the tag is final.
	if [ "$(json_get "$probe_out" 'd["live"]["segments"]')" = 1 ]; then
		check_eq "$c: one segment, no reassembly storage at any time" \
			"$(json_get "$probe_out" '"%d %d" % (d["hold_seen"], d["holds_left"])')" "0 0"
	else
		check_eq "$c: $(json_get "$probe_out" 'd["live"]["segments"]') segments, no reassembly storage left once the tag is final" \
			"$(json_get "$probe_out" 'd["holds_left"]')" 0
	fi
done

before=$(build/tagshake stats --json --pin-dir "$pins")
probe openssl-tls13 a.live.test
check_eq "exact beats wildcard, ids carried" \
	"$(json_get "$probe_out" '"%s %s %d %d %d" % (d["live"]["action"], d["live"]["match"], d["live"]["cert"], d["live"]["ca"], d["live"]["route"])')" "require exact 1 2 3"
probe openssl-tls13 elsewhere.test
check_eq "no match: @default" "$(json_get "$probe_out" 'd["live"]["action"]+" "+d["live"]["match"]')" \
	"reject default"
probe openssl-nosni ""
check_eq "no SNI: @no-sni" \
	"$(json_get "$probe_out" '"%s %s %s %d" % (d["live"]["status"], d["live"]["action"], d["live"]["match"], d["live"]["cert"])')" "no-sni none no-sni 9"
after=$(build/tagshake stats --json --pin-dir "$pins")
check_eq "counters: exact deltas by status and action for three connections" \
	"$(python3 -c '
import json, sys
b, a = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(" ".join("%s=%d" % (k, a[k] - b[k]) for k in sorted(a) if a[k] != b[k] and k != "segments"))' "$before" "$after")" \
	"action.none=1 action.reject=1 action.require=1 status.no-sni=1 status.ok=2"

# Out-of-order: the hello's three segments sent last first.
start_server "$work/capture" nsenter --net=/run/netns/"$cli" python3 tests/capture_hello.py \
	--port 18699 --out "$work/hello.bin"
cap=$SERVER_PID
nsenter --net=/run/netns/"$cli" openssl s_client -connect 127.0.0.1:18699 -servername ooo.live.test </dev/null >/dev/null 2>&1
wait $cap
before=$(build/tagshake stats --json --pin-dir "$pins")
start_server "$work/probe" nsenter --net=/run/netns/"$srv" build/tests/tag_probe --port "$port" \
	--pin-dir "$pins"
pid=$SERVER_PID
nsenter --net=/run/netns/"$cli" /usr/bin/python3 tests/ooo_client.py --src 10.201.0.3 --dst 10.201.0.1 --port "$port" \
	--hello "$work/hello.bin" --segments 3
wait $pid
probe_out=$(cat "$work/probe")
after=$(build/tagshake stats --json --pin-dir "$pins")
check_eq "segments in reverse order: tag ok after 3 segments" \
	"$(json_get "$probe_out" 'd["live"]["status"]+" "+d["live"]["sni"]+" "+str(d["live"]["segments"])')" "ok ooo.live.test 3"
check_eq "two segments counted as out of order" "$(( $(json_get "$after" 'd["out_of_order"]') - $(json_get "$before" 'd["out_of_order"]') ))" \
	2

# probe_split FILE N [TAG_PROBE ARGS...]: one connection that sends FILE's
# first N bytes, pauses 0.3 s, then the rest; the probe's JSON in probe_out
probe_split() {
	local file=$1 split=$2 pid
	shift 2
	start_server "$work/probe" nsenter --net=/run/netns/"$srv" build/tests/tag_probe \
		--port "$port" --pin-dir "$pins" "$@"
	pid=$SERVER_PID
	nsenter --net=/run/netns/"$cli" python3 -c '
import socket, sys, time
hello = open(sys.argv[1], "rb").read()
n = int(sys.argv[3])
s = socket.create_connection(("10.201.0.1", int(sys.argv[2])))
s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
s.send(hello[:n]); time.sleep(0.3); s.send(hello[n:]); time.sleep(0.5)
' "$file" "$port" "$split"
	wait "$pid"
	probe_out=$(cat "$work/probe")
}

# A hello in two parts 0.3 s apart: while it waits, its bytes sit in the
# smallest hold that fits its record (1 KiB for openssl's ~300 bytes),
# which is gone once the tag is final.
probe_split "$work/hello.bin" 100
check_eq "hello in two parts: ok, held in the 1 KiB class meanwhile, nothing held after" \
	"$(json_get "$probe_out" '"%s %d %d %d" % (d["live"]["status"], d["live"]["segments"], d["hold_seen"], d["holds_left"])')" \
	"ok 2 1024 0"

# Its first 3 bytes alone: the 1 KiB hold (only a record header's worth is
# known), then Chromium's 2 KB record moves it to the 2 KiB class.
probe_split tests/data/hellos/chromium.bin 3
check_eq "3 bytes, then a 2 KB record: the hold grows; tag equals the userspace parse, nothing held after" \
	"$(json_get "$probe_out" '"%s %d %d %s" % (d["live"]["status"], d["hold_seen"] >= 1024, d["holds_left"], all(d["live"][k] == d["user"][k] for k in ("status","sni","alpn","records","bytes")))')" \
	"ok 1 0 True"

# Data that reaches the listener before the child socket exists: the hello
# creates the child under TCP_DEFER_ACCEPT, so no tag; bytes that follow on
# the child find bytes_received > 0 and tag it missed. Never a guess.
before=$(build/tagshake stats --json --pin-dir "$pins")
probe openssl-tls13 b.live.test --defer-accept --timeout-ms 500
after=$(build/tagshake stats --json --pin-dir "$pins")
check_eq "TCP_DEFER_ACCEPT: no tag for a child made by data" "$(json_get "$probe_out" 'd["tag_found"]')" "false"
check_eq "TCP_DEFER_ACCEPT: the segment is counted as listener data" "$(( $(json_get "$after" 'd["listener_data"]') - $(json_get "$before" 'd["listener_data"]') ))" \
	1
probe_split "$work/hello.bin" 100 --defer-accept
check_eq "bytes after a missed start: tag says missed" "$(json_get "$probe_out" 'd["live"]["status"]')" "missed"

dump=$(bpftool map dump pinned "$pins/policy")
check "bpftool map dump shows policy fields by name" \
	bash -c 'grep -q "\"name\": \"a.live.test\"" <<<"$1" && grep -q "\"route_id\": 3" <<<"$1"' _ "$dump"

# our program by id (other suites may have their own taggers attached):
# attached at the cgroup v2 root, or held by any link
prog=$(bpftool -j link show pinned "$pins/link" | python3 -c 'import json,sys; print(json.load(sys.stdin)["prog_id"])')
prog_attached() {
	bpftool cgroup show "$TS_CGROUP2" | awk -v id="$prog" '$1 == id { f = 1 } END { exit !f }' ||
		bpftool -j link show | python3 -c 'import json,sys; sys.exit(not any(l.get("prog_id") == int(sys.argv[1]) for l in json.load(sys.stdin)))' "$prog"
}
check "(control) while loaded, program $prog is seen attached" prog_attached
out=$(build/tagshake unload --pin-dir "$pins")
check "unload" test $? -eq 0
check "unload leaves nothing pinned" test ! -e "$pins"
check_fails "unload leaves nothing attached (program $prog: not at $TS_CGROUP2, in no link)" prog_attached
tap_end
