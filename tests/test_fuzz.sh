#!/bin/bash
# Fuzz regression suite: replays every input kept in fuzz/regressions/ and
# the seeds through their harness (ASan + UBSan + the harness invariants),
# then runs each harness for a few seconds (TS_FUZZ_SECONDS, default 4) so
# new breakage shows up in `make test`. `make fuzz` runs them for longer.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
. fuzz/lib.sh

seconds=${TS_FUZZ_SECONDS:-4}
harnesses="hello config handoff http differential"
[ "$(id -u)" -eq 0 ] || harnesses="hello config handoff http"
mkdir -p "$bin/replay"

# replay HARNESS: every input of build/fuzz/replay/HARNESS once; log aside.
replay() {
	"$bin/fuzz_$1" -runs=0 -max_len="$(max_len "$1")" "$bin/replay/$1" >"$bin/replay-$1.log" 2>&1
}

for h in $harnesses; do
	# seeds and kept crashes, each run exactly once
	rm -rf "$bin/replay/$h"
	mkdir -p "$bin/replay/$h"
	seed "$h"
	cp "$bin/corpus/$h"/* "$bin/replay/$h/" 2>/dev/null
	[ -d "fuzz/regressions/$h" ] && cp fuzz/regressions/"$h"/* "$bin/replay/$h/" 2>/dev/null
	kept=$(ls fuzz/regressions/"$h" 2>/dev/null | wc -l)
	check "fuzz_$h: $(ls "$bin/replay/$h" | wc -l) inputs ($kept kept regressions) replay clean" \
		replay "$h"
done
[ "$(id -u)" -eq 0 ] || not_ok "fuzz_differential needs root (skipped)"
for h in $harnesses; do
	run_one "$h" "$seconds"
done
tap_end
