#!/bin/bash
# The tagshake CLI on bad input and failures: one clear line, the right exit
# status, and nothing left pinned or attached.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
need_tagger_env "the CLI suite"

pins=/sys/fs/bpf/tagshake-cli-$$
work=$(mktemp -d)
# a child cgroup of our own for the loads that must fail: no other tagger
# (other suites, other checkouts) attaches there, so its count is exact
cg=$TS_CGROUP2/tagshake-cli-$$
mkdir "$cg" || bail "a child cgroup under $TS_CGROUP2"
trap 'build/tagshake unload --pin-dir "$pins" >/dev/null 2>&1; rm -rf "$pins" "$work"; rmdir "$cg"' EXIT

# expect STATUS PATTERN DESCRIPTION -- COMMAND...: exit status and one stderr line
expect() {
	local want=$1 pattern=$2 what=$3
	shift 4
	"$@" >"$work/out" 2>"$work/err"
	local rc=$? lines
	lines=$(wc -l <"$work/err")
	if [ "$rc" -eq "$want" ] && grep -q -- "$pattern" "$work/err" && [ "$lines" -eq 1 ]; then
		ok "$what"
	else
		not_ok "$what (status $rc, stderr: $(head -c 300 "$work/err"))"
	fi
}

# taggers attached to our child cgroup
attached_cg() { bpftool cgroup show "$cg" 2>/dev/null | grep -c ts_tagger; }
# our program (by the id of its pinned link) attached to the cgroup v2 root
# (`tagshake load` without --cgroup); other taggers there are not counted
PROG=
prog_id() { bpftool -j link show pinned "$pins/link" | python3 -c 'import json,sys; print(json.load(sys.stdin)["prog_id"])'; }
attached() { bpftool cgroup show "$TS_CGROUP2" 2>/dev/null | awk -v id="$PROG" '$1 == id && /ts_tagger/' | wc -l; }

for cmd in load unload status policy stats parse; do
	out=$(build/tagshake "$cmd" --help)
	check "$cmd --help prints its usage and exits 0" grep -q "usage: tagshake $cmd" <<<"$out"
done
check "tagshake --help lists every command" bash -c \
	'out=$(build/tagshake --help); for c in load unload status policy stats parse; do grep -q "  $c" <<<"$out" || exit 1; done'

expect 2 "unknown command 'frobnicate'" "unknown command" -- build/tagshake frobnicate
expect 2 "invalid port '0'" "port 0 is refused" -- build/tagshake load --port 0 --cgroup "$cg" --pin-dir "$pins"
expect 2 "invalid port 'x'" "port x is refused" -- build/tagshake load --port x --cgroup "$cg" --pin-dir "$pins"
expect 1 "/tmp is not a cgroup v2 directory" "a directory that is no cgroup" -- \
	build/tagshake load --cgroup /tmp --pin-dir "$pins"
expect 1 "must be on bpffs" "a pin directory outside bpffs" -- \
	build/tagshake load --cgroup "$cg" --pin-dir "$work/pins"
expect 1 "needs root" "load as an unprivileged user" -- \
	setpriv --reuid=65534 --regid=65534 --clear-groups build/tagshake load --cgroup "$cg" --pin-dir "$pins"
expect 1 "is the tagger loaded" "policy list with nothing loaded" -- \
	build/tagshake policy list --pin-dir "$pins"
expect 1 "cannot read $work/missing.bin" "parse of a missing file" -- \
	build/tagshake parse --userspace "$work/missing.bin"
expect 2 "parse needs at least one FILE" "parse without files" -- build/tagshake parse
check_eq "failed loads attached nothing" "$(attached_cg)" 0
check "failed loads pinned nothing" test ! -e "$pins"

# A failure half-way through pinning: a foreign pin named like ours.
mkdir -p "$pins"
bpftool map create "$pins/counters" type array key 4 value 4 entries 1 name foreign
expect 1 "load failed: File exists; nothing left attached or pinned" "load with a pin in the way" -- \
	build/tagshake load --port 18701 --cgroup "$cg" --pin-dir "$pins"
check_eq "only the foreign pin is left" "$(ls "$pins")" "counters"
check_eq "the half-done load detached" "$(attached_cg)" 0
rm -f "$pins/counters"
rmdir "$pins"

# --cgroup: a child cgroup of the v2 hierarchy holds the attachment
check "load --cgroup into a child cgroup" build/tagshake load --port 18702 --cgroup "$cg" --pin-dir "$pins"
PROG=$(prog_id)
check_eq "attached to that cgroup (and the count above can see it)" "$(attached_cg)" 1
check_eq "not attached to the root" "$(attached)" 0
check "unload from the child cgroup" build/tagshake unload --pin-dir "$pins"
check_eq "detached from the child cgroup" "$(attached_cg)" 0

check "load" build/tagshake load --port 18701 --pin-dir "$pins"
PROG=$(prog_id)
check_eq "our program attached to the cgroup v2 root ($TS_CGROUP2)" "$(attached)" 1
expect 1 "already loaded at $pins" "a second load" -- build/tagshake load --port 18701 --pin-dir "$pins"
expect 2 "invalid policy name 'bad..name'" "policy add of an invalid name" -- \
	build/tagshake policy add bad..name none --pin-dir "$pins"
expect 2 "invalid action 'maybe'" "policy add of an invalid action" -- \
	build/tagshake policy add good.name maybe --pin-dir "$pins"
expect 2 "invalid id '70000'" "policy add of an id out of range" -- \
	build/tagshake policy add good.name none --cert 70000 --pin-dir "$pins"
expect 1 "no policy named absent.name" "policy del of an absent name" -- \
	build/tagshake policy del absent.name --pin-dir "$pins"
check "policy add of a mixed-case name with a trailing dot" \
	build/tagshake policy add Mixed.Case.Example. require --ca 1 --pin-dir "$pins"
check_eq "stored normalised" \
	"$(build/tagshake policy list --json --pin-dir "$pins")" '[{"name":"mixed.case.example","action":"require","cert":0,"ca":1,"route":0}]'
printf 'policies: [\n' >"$work/bad.yaml"
expect 1 "bad.yaml" "import of a broken file names the file" -- \
	build/tagshake policy import "$work/bad.yaml" --pin-dir "$pins"
check_eq "a failed import leaves the policy as it was" "$(build/tagshake policy list --json --pin-dir "$pins" | head -c 29)" \
	'[{"name":"mixed.case.example"'
check "unload" build/tagshake unload --pin-dir "$pins"
check_eq "unload detached" "$(attached)" 0
check "unload removed the pin directory" test ! -e "$pins"
tap_end
