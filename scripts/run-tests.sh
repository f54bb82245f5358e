#!/bin/bash
# Runs every test suite and ends with one line: "N passed, N failed".
# A suite is an executable build/tests/test_* or tests/test_*.sh that prints
# TAP lines ("ok ..." / "not ok ..."). A suite that exits non-zero without
# reporting a failure counts as one failure. An optional argument selects
# suites whose name contains it.
set -u
cd "$(dirname "$0")/.."
filter=${1:-}
passed=0
failed=0
suites=$(ls build/tests/test_* tests/test_*.sh 2>/dev/null | grep -v '\.o$' | grep -F -- "$filter")
for suite in $suites; do
	[ -x "$suite" ] || continue
	echo "# suite $suite"
	out=$(mktemp)
	start=$(date +%s)
	CMOCKA_MESSAGE_OUTPUT=TAP "$suite" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^ok ' "$out")
	f=$(grep -c '^not ok ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "not ok - $suite exited with status $rc"
		f=1
	fi
	echo "# suite $suite: $p passed, $f failed in $(($(date +%s) - start)) s"
	passed=$((passed + p))
	failed=$((failed + f))
	rm -f "$out"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
