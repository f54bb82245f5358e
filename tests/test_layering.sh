#!/bin/bash
# The handshaker's files call each other in layers, never in a cycle
# (issue 13): scripts/call-graph.sh reads the built objects' symbol tables.
# Its negative control: two objects that call each other are a cycle.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

layers() { scripts/call-graph.sh "$1" >"$work/graph" 2>&1; }

[ -e build/obj/tagshaked/conn.o ] || bail "tagshaked is built (make)"
check "tagshaked: no cycle among its files" layers build/obj/tagshaked
check_eq "tagshaked: the connection state machine sits above the hand-off link and the relay" \
	"$(scripts/call-graph.sh build/obj/tagshaked | grep -cE '^(handoff_link|relay|conn_close) -> conn ')" 0

printf 'void b(void);\nvoid a(void) { b(); }\n' >"$work/a.c"
printf 'void a(void);\nvoid b(void) { a(); }\n' >"$work/b.c"
printf 'void c(void) {}\n' >"$work/c.c"
(cd "$work" && cc -c a.c b.c c.c) || bail "control objects compiled"
check_fails "negative control: a.o and b.o calling each other are reported as a cycle" \
	layers "$work"
tap_end
