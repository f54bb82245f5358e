#!/bin/bash
# The tagger on whatever kernel runs it (the host here, and Debian's 6.1 and
# 6.12 inside the kernel-matrix VMs): the verifier accepts the program, the
# in-kernel parse equals the userspace build on captured real hellos in
# several segment sizes, and a live connection on loopback gets its tag.
# Needs only bash, grep, openssl and the project's binaries (no python3, so
# it fits the VM's initramfs).
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
need_tagger_env "the kernel tagger suite"

kernel=$(uname -r)
pins=/sys/fs/bpf/tagshake-kernel-$$
port=18901
work=$(mktemp -d)
trap 'build/tagshake unload --pin-dir "$pins" >/dev/null 2>&1; rm -rf "$work"' EXIT
hellos=(tests/data/hellos/*.bin)

build/tagshake parse --json --userspace "${hellos[@]}" >"$work/user.json"
for seg in 1460 97 1; do
	build/tagshake parse --json --segment "$seg" "${hellos[@]}" >"$work/kernel.json" 2>"$work/err"
	check "$kernel: in-kernel parse equals userspace on ${#hellos[@]} real hellos, $seg-byte segments" \
		cmp -s "$work/user.json" "$work/kernel.json"
done
for f in "${hellos[@]}"; do
	client=$(basename "$f" .bin)
	want="\"status\":\"ok\",\"sni\":\"$client.fixture.test\""
	[ "$client" = openssl-nosni ] && want='"status":"no-sni","sni":null'
	check "$kernel: $client hello parses to $want" grep -qF "$want" "$work/kernel.json"
done
check "$kernel: openssl -max_send_frag 512 spans three records" \
	grep -q 'openssl-frag512.bin".*"records":3,' "$work/kernel.json"

check "$kernel: load" build/tagshake load --port "$port" --pin-dir "$pins"
build/tagshake policy add live.kernel.test require --cert 1 --ca 2 --route 3 --pin-dir "$pins"
build/tagshake policy add '*.kernel.test' optional --cert 4 --pin-dir "$pins"
build/tagshake policy add @default reject --pin-dir "$pins"
start_server "$work/probe" build/tests/tag_probe --port "$port" --pin-dir "$pins" --count 3
probe=$SERVER_PID
for name in Live.Kernel.Test other.kernel.test kernel.test; do
	timeout 5 openssl s_client -connect "127.0.0.1:$port" -servername "$name" </dev/null \
		>/dev/null 2>&1
done
wait "$probe"
check "$kernel: live tag: ok, normalised SNI, exact policy with its ids" grep -qF \
	'"live":{"status":"ok","sni":"live.kernel.test","alpn":[],"records":1,"bytes":' "$work/probe"
check "$kernel: live tag carries the decision" grep -qF \
	'"action":"require","match":"exact","cert":1,"ca":2,"route":3}' "$work/probe"
# One large segment (loopback MSS is 64 KB) with 20 KB after the hello.
{ cat tests/data/hellos/curl.bin; head -c 20000 /dev/zero; } >"$work/big.bin"
start_server "$work/probe-big" build/tests/tag_probe --port "$port" --pin-dir "$pins"
probe=$SERVER_PID
timeout 5 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"; cat "$2" >&3; sleep 1' _ "$port" "$work/big.bin"
wait "$probe"
check "$kernel: a hello followed by 20 KB in one segment is tagged" grep -qF \
	'"live":{"status":"ok","sni":"curl.fixture.test"' "$work/probe-big"
stats=$(build/tagshake stats --pin-dir "$pins")
check "$kernel: wildcard when no exact entry" grep -qF \
	'"sni":"other.kernel.test","alpn":[],"records":1,"bytes":' "$work/probe"
check "$kernel: wildcard decision" grep -qF '"action":"optional","match":"wildcard","cert":4' "$work/probe"
check "$kernel: the parent itself falls to @default" grep -qF \
	'"action":"reject","match":"default"' "$work/probe"
check "$kernel: counters saw four ok tags" grep -qE '^status\.ok +4$' <<<"$stats"
check "$kernel: unload" build/tagshake unload --pin-dir "$pins"
check "$kernel: nothing left pinned" test ! -e "$pins"
tap_end
