#!/bin/bash
# The runner (scripts/run-tests.sh) tells the truth: it is run on small fake
# suites in a scratch tree, each broken in one way (a skip, a missing or
# wrong plan, no result, a bad exit status), and must fail the run for each
# one while it passes the well-behaved suite and an allowed skip. These are
# the negative controls of the runner's own checks.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/scripts" "$work/tests"
cp scripts/run-tests.sh "$work/scripts/"
: >"$work/tests/skip-allowed.list"

# suite NAME BODY: a fake suite printing BODY (printf format)
suite() {
	printf '#!/bin/sh\nprintf '\''%s'\''\n' "$2" >"$work/tests/test_$1.sh"
	chmod +x "$work/tests/test_$1.sh"
}
suite good 'ok 1 - a\nok 2 - b\n1..2\n'
suite skips 'ok 1 - a\nok 2 - b # SKIP no qemu\n1..2\n'
suite planfirst '1..2\nok 1 - a\nok 2 - b\n'
suite noplan 'ok 1 - a\n'
suite shortplan 'ok 1 - a\nok 2 - b\n1..3\n'
suite twoplans '1..1\nok 1 - a\n1..1\n'
suite silent ''
suite failing 'ok 1 - a\nnot ok 2 - b\n1..2\n'
printf '#!/bin/sh\necho "ok 1 - a"\necho "1..1"\nexit 3\n' >"$work/tests/test_status.sh"
chmod +x "$work/tests/test_status.sh"

# run FILTER [env...]: the runner's last line (time cut), its output in $work/out
run() {
	local filter=$1
	shift
	(cd "$work" && env "$@" scripts/run-tests.sh "$filter" 2>&1) >"$work/out"
	tail -1 "$work/out" | sed 's/ in [0-9]* s$//'
}
# status FILTER [env...]: the runner's exit status
status() { (cd "$work" && env "${@:2}" scripts/run-tests.sh "$1" >/dev/null 2>&1); echo $?; }

check_eq "a good suite passes" "$(run test_good) $(status test_good)" "2 passed, 0 failed, 0 skipped 0"
check_eq "a plan first is as good as a plan last" "$(status test_planfirst)" 0
check_eq "a skip is counted as skipped, not passed, and fails the run" \
	"$(run test_skips) $(status test_skips)" "1 passed, 1 failed, 1 skipped 1"
check "... naming the suite that must not skip" \
	grep -q "^not ok - tests/test_skips.sh skipped 1 checks and must not skip on this machine" "$work/out"
check_eq "a skip allowed by TS_ALLOW_SKIP is still no pass, and does not fail the run" \
	"$(run test_skips TS_ALLOW_SKIP=test_skips.sh) $(status test_skips TS_ALLOW_SKIP=test_skips.sh)" \
	"1 passed, 0 failed, 1 skipped 0"
echo "test_skips.sh  the reason" >"$work/tests/skip-allowed.list"
check_eq "a skip allowed by tests/skip-allowed.list: the same" "$(status test_skips)" 0
: >"$work/tests/skip-allowed.list"
check_eq "no plan: fails" "$(run test_noplan) $(status test_noplan)" "1 passed, 1 failed, 0 skipped 1"
check "... saying so" grep -q "^not ok - tests/test_noplan.sh printed 0 plan lines" "$work/out"
check_eq "a plan that does not match the results: fails" "$(status test_shortplan)" 1
check "... saying so" bash -c "cd '$work' && scripts/run-tests.sh test_shortplan | grep -q 'planned 3 results and reported 2'"
check_eq "two plans: fail" "$(status test_twoplans)" 1
check_eq "a suite that reports nothing: fails" "$(run test_silent) $(status test_silent)" \
	"0 passed, 2 failed, 0 skipped 1"
check_eq "a failing check fails the run" "$(status test_failing)" 1
check_eq "an exit status without a failing line fails the run" "$(run test_status) $(status test_status)" \
	"1 passed, 1 failed, 0 skipped 1"
tap_end
