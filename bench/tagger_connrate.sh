#!/bin/bash
# Connection + ClientHello rate with the tagger attached versus detached, in
# the same run: a server and a load generator in two network namespaces
# joined by a veth pair (created here, removed on exit), for each MTU,
# alternating detached/attached phases over several rounds (the order
# rotates every round, so drift does not favour one side). A third phase
# runs bench_tag_only (bpf/tagger_bench.bpf.c): the floor of any design
# that creates a tag per socket, without reassembly or parse; a fourth runs
# bench_empty, a program that returns at once: what attaching any
# cgroup_skb program costs. Prints a markdown table on stdout.
#
# usage: bench/tagger_connrate.sh [-r ROUNDS] [-d SECONDS] [-c PROCS] [-m "576 1500"] HELLO
# Needs root. The tagger is loaded once, with its own pin directory, and
# attached to a cgroup "on" created for the bench; a sibling cgroup "floor"
# has bench_tag_only, "empty" bench_empty and "off" has no program. Each phase starts the server
# in one of them, so switching costs no program load and nothing else on
# the machine is touched.
set -eu
cd "$(dirname "$0")/.."

rounds=4
seconds=3
procs=2
mtus="576 1500"
while getopts "r:d:c:m:" opt; do
	case $opt in
	r) rounds=$OPTARG ;;
	d) seconds=$OPTARG ;;
	c) procs=$OPTARG ;;
	m) mtus=$OPTARG ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || { echo "usage: $0 [-r ROUNDS] [-d SECONDS] [-c PROCS] [-m MTUS] HELLO" >&2; exit 2; }
hello=$1
hello_bytes=$(stat -c %s "$hello")

BUILD=${BUILD:-build}
tagshake=$BUILD/tagshake
server=$BUILD/bench/conn_server
load=$BUILD/bench/conn_load
port=8443
tag=tsb$$
srv=$tag-srv
cli=$tag-cli
. "$(dirname "$0")/../scripts/sysenv.sh"
ts_sysenv || exit 1
cg=$TS_CGROUP2/tagshake-bench-$$
pins=/sys/fs/bpf/tagshake-bench-$$
floor_pins=/sys/fs/bpf/tagshake-bench-floor-$$
bench_obj=$BUILD/tagger_bench.bpf.o
srv_ip=10.201.$(($$ % 250)).1
cli_ip=10.201.$(($$ % 250)).2
work=$(mktemp -d)
server_pid=
stats_was=$(sysctl -n kernel.bpf_stats_enabled)

cleanup() {
	set +e
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	sysctl -qw kernel.bpf_stats_enabled="$stats_was"
	[ -e "$pins/link" ] && "$tagshake" unload --pin-dir "$pins" >/dev/null
	rmdir "$pins" 2>/dev/null
	[ -e "$floor_pins/progs/bench_tag_only" ] &&
		bpftool cgroup detach "$cg/floor" cgroup_inet_ingress pinned "$floor_pins/progs/bench_tag_only"
	[ -e "$floor_pins/progs/bench_empty" ] &&
		bpftool cgroup detach "$cg/empty" cgroup_inet_ingress pinned "$floor_pins/progs/bench_empty"
	rm -rf "$floor_pins"
	rmdir "$cg/on" "$cg/off" "$cg/floor" "$cg/empty" "$cg" 2>/dev/null
	ip netns del "$srv" 2>/dev/null
	ip netns del "$cli" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

setup() {
	ip netns add "$srv"
	ip netns add "$cli"
	ip link add "$tag-s" netns "$srv" type veth peer name "$tag-c" netns "$cli"
	ip -n "$srv" addr add "$srv_ip/24" dev "$tag-s"
	ip -n "$cli" addr add "$cli_ip/24" dev "$tag-c"
	for ns in "$srv" "$cli"; do
		ip -n "$ns" link set lo up
	done
	ip -n "$srv" link set "$tag-s" up
	ip -n "$cli" link set "$tag-c" up
	# A veth pair passes a TSO/GSO buffer through whole: the server would
	# see a 2 KB hello as one packet whatever the MTU. Segment at the
	# client, as a client across a network does.
	ip netns exec "$cli" ethtool -K "$tag-c" tso off gso off >/dev/null
	# Many short connections: every client port, server TIME_WAITs bounded.
	ip netns exec "$cli" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
	ip netns exec "$srv" sysctl -qw net.ipv4.tcp_max_tw_buckets=4096
	ip netns exec "$srv" sysctl -qw net.core.somaxconn=4096
	mkdir "$cg" "$cg/on" "$cg/off" "$cg/floor" "$cg/empty"
}

set_mtu() {
	ip -n "$srv" link set "$tag-s" mtu "$1"
	ip -n "$cli" link set "$tag-c" mtu "$1"
}

attach() { "$tagshake" load --cgroup "$cg/on" --port $port --pin-dir "$pins" >/dev/null; }

# bench_tag_only with its own maps, watching the same port; bench_empty.
attach_floor() {
	mkdir -p "$floor_pins"
	bpftool prog loadall "$bench_obj" "$floor_pins/progs" pinmaps "$floor_pins/maps"
	bpftool map update pinned "$floor_pins/maps/ports" key $((port & 255)) $((port >> 8)) value 1
	bpftool cgroup attach "$cg/floor" cgroup_inet_ingress pinned "$floor_pins/progs/bench_tag_only"
	bpftool cgroup attach "$cg/empty" cgroup_inet_ingress pinned "$floor_pins/progs/bench_empty"
}

# The server joins the bench cgroup before it creates its listening socket.
# nsenter, not "ip netns exec", which mounts a new /sys without the bpffs
# that holds the pinned tags map.
start_server() {
	local group=$cg/off tags=$pins/tags
	case $1 in
	attached) group=$cg/on ;;
	floor) group=$cg/floor tags=$floor_pins/maps/tags ;;
	empty) group=$cg/empty tags=$floor_pins/maps/tags ;;
	esac
	sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$group" \
		nsenter --net=/run/netns/"$srv" "$server" -p $port -n "$hello_bytes" -t "$tags" \
		>"$work/server.out" &
	server_pid=$!
	for _ in $(seq 100); do
		ip netns exec "$srv" ss -Hltn "sport = :$port" | grep -q . && return 0
		sleep 0.05
	done
	echo "tagger_connrate: server did not start" >&2
	return 1
}

# Leaves the server's last line in $work/server.out.
stop_server() {
	kill "$server_pid"
	wait "$server_pid" || true
	server_pid=
}

# One phase: prints the rate, the CPU microseconds per connection of the
# load generator and the server together (system time includes the softirq
# work, and so the tagger, of the packets each of them sends) and the
# segments per hello. Checks that the sampled sockets' tags are all ok when
# a program is attached and that there are none when detached.
phase() {
	local mode=$1 out srv_out rate sampled ok conns cpu segs
	start_server "$mode"
	out=$(ip netns exec "$cli" "$load" -a "$srv_ip" -p $port -f "$hello" -c "$procs" -d "$seconds")
	stop_server
	srv_out=$(cat "$work/server.out")
	rate=$(echo "$out" | awk '{print $8}')
	conns=$(echo "$out" | awk '{print $2}')
	cpu=$(echo "$out $srv_out" | awk -v n="$conns" '{printf "%.2f", ($10 + $18) / n}')
	sampled=$(echo "$srv_out" | awk '{print $4}')
	ok=$(echo "$srv_out" | awk '{print $6}')
	segs=$(echo "$srv_out" | awk '{print $10}')
	echo "# mtu $mtu round $r $mode: $out; server: $srv_out" >&2
	if [ "$sampled" -eq 0 ]; then
		echo "tagger_connrate: no connection sampled" >&2
		exit 1
	elif [ "$mode" = attached ] || [ "$mode" = floor ]; then
		if [ "$ok" -ne "$sampled" ]; then
			echo "tagger_connrate: $mode, but $ok of $sampled sampled tags are ok" >&2
			exit 1
		fi
	elif [ "$ok" -ne 0 ]; then
		echo "tagger_connrate: $mode, but $ok sockets were tagged" >&2
		exit 1
	fi
	echo "$rate $cpu $segs"
}

# BPF time per connection, from the kernel's per-program run statistics,
# in a phase of its own (the statistics cost time themselves). The sysctl is
# global: it is put back as it was found.
bpf_time() {
	local prog before after runs ns conns
	prog=$(bpftool link show pinned "$pins/link" -j | python3 -c 'import json,sys; print(json.load(sys.stdin)["prog_id"])')
	sysctl -qw kernel.bpf_stats_enabled=1
	before=$(bpftool prog show id "$prog" -j)
	start_server attached
	conns=$(ip netns exec "$cli" "$load" -a "$srv_ip" -p $port -f "$hello" -c "$procs" -d 1 | awk '{print $2}')
	stop_server
	after=$(bpftool prog show id "$prog" -j)
	sysctl -qw kernel.bpf_stats_enabled="$stats_was"
	python3 - "$before" "$after" "$conns" <<-'EOF'
	import json, sys
	b, a, conns = json.loads(sys.argv[1]), json.loads(sys.argv[2]), int(sys.argv[3])
	ns = a.get("run_time_ns", 0) - b.get("run_time_ns", 0)
	runs = a.get("run_cnt", 0) - b.get("run_cnt", 0)
	print(f"{ns / max(runs, 1):.0f} {runs / max(conns, 1):.1f} {ns / max(conns, 1):.0f}")
	EOF
}

# Median of the numbers in column $1 of stdin.
median() { awk -v c="${1:-1}" '{print $c}' | sort -n | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

setup
attach
attach_floor
echo "| MTU | hello bytes | segments per hello | conn/s detached | conn/s attached | rate attached/detached | CPU µs/conn detached | CPU µs/conn attached | CPU attached/detached | BPF ns/run | BPF runs/conn | BPF ns/conn | tag-only floor: rate ratio | floor: CPU ratio | empty program: rate ratio | empty: CPU ratio |"
echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
modes=(detached attached floor empty)
for mtu in $mtus; do
	set_mtu "$mtu"
	for m in "${modes[@]}"; do : >"$work/$m"; done
	for r in $(seq "$rounds"); do
		for i in 0 1 2 3; do
			m=${modes[$(((r + i) % 4))]}
			phase "$m" >>"$work/$m"
		done
	done
	off=$(median 1 <"$work/detached")
	on=$(median 1 <"$work/attached")
	cpu_off=$(median 2 <"$work/detached")
	cpu_on=$(median 2 <"$work/attached")
	segs=$(median 3 <"$work/attached")
	bpf_time >"$work/bpf"
	read -r per_run runs per_conn <"$work/bpf"
	# Ratios are medians of each round's ratio: a round's phases are
	# adjacent in time, so load from elsewhere hits them alike.
	rate_ratio=$(paste "$work/attached" "$work/detached" | awk '{print $1 / $4}' | median)
	cpu_ratio=$(paste "$work/attached" "$work/detached" | awk '{print $2 / $5}' | median)
	floor_rate=$(paste "$work/floor" "$work/detached" | awk '{print $1 / $4}' | median)
	floor_cpu=$(paste "$work/floor" "$work/detached" | awk '{print $2 / $5}' | median)
	empty_rate=$(paste "$work/empty" "$work/detached" | awk '{print $1 / $4}' | median)
	empty_cpu=$(paste "$work/empty" "$work/detached" | awk '{print $2 / $5}' | median)
	printf "| %s | %s | %s | %.0f | %.0f | %.3f | %.1f | %.1f | %.3f | %s | %s | %s | %.3f | %.3f | %.3f | %.3f |\n" \
		"$mtu" "$hello_bytes" "$segs" "$off" "$on" "$rate_ratio" "$cpu_off" "$cpu_on" \
		"$cpu_ratio" "$per_run" "$runs" "$per_conn" "$floor_rate" "$floor_cpu" "$empty_rate" "$empty_cpu"
done
