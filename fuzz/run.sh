#!/bin/bash
# Runs the libFuzzer harnesses: `fuzz/run.sh SECONDS [HARNESS...]`.
# Each harness starts from its seeds (committed seeds, the real-client
# hellos, hand-off blocks from the builder, ../shared/corpus/clienthello when
# present) plus what earlier runs kept in build/fuzz/corpus/<harness>, runs
# for SECONDS, and prints one TAP line with the executions done. A crashing
# input is copied to fuzz/regressions/<harness>/ so the suite replays it from
# then on (commit it with the fix). Needs root for `differential`.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
. fuzz/lib.sh

seconds=${1:?usage: fuzz/run.sh SECONDS [HARNESS...]}
shift
harnesses=${*:-hello config handoff http differential}

for h in $harnesses; do
	if [ "$h" = differential ] && [ "$(id -u)" -ne 0 ]; then
		not_ok "fuzz_differential needs root"
		continue
	fi
	run_one "$h" "$seconds"
done
tap_end
