#!/bin/bash
# Runs every test suite and ends with one line: "N passed, N failed, N skipped".
# A suite is an executable build/tests/test_* or tests/test_*.sh that prints
# TAP: "ok N - what", "not ok N - what", "ok N - what # SKIP why" and one plan
# line "1..N" (first or last). The runner believes none of it blindly:
#   - a skip is counted as skipped, never as passed;
#   - a suite that reported no result, printed no plan, printed two plans, or
#     whose plan does not match its number of results fails (one failure);
#   - a suite that exits non-zero without a failing line fails (one failure);
#   - a suite that skips fails the run unless it is allowed to skip here (see
#     below), because a skip hides exactly what the suite was written to show.
# Options and arguments:
#   FILTER          run only suites whose path contains FILTER
#   --list FILE     run only the suites named in FILE (one basename a line)
#   --no-fresh      do not run scripts/fresh-check.sh after a full run
# Environment: TS_ALLOW_SKIP="suite ..." allows those suites to skip (for a
# developer machine without, say, qemu or Chromium; never set in CI).
#
# Which skips are allowed: none by default. Every suite's dependencies (root,
# cgroup v2, bpffs, which scripts/sysenv.sh mounts when absent, qemu,
# Chromium, nginx, haproxy) are installed by scripts/deps.sh and present in
# CI, so on a machine `make test` prepared, a skip is a defect, not a state.
# The explicit allow-list tests/skip-allowed.list (suite basename, then the
# reason) is where a reasoned exception goes; it is empty on purpose.
#
# A full run (no FILTER, no --list) also runs scripts/fresh-check.sh: the
# layout-sensitive suites again, in a private mount namespace where bpffs is
# not mounted and the cgroup v2 root is /sys/fs/cgroup (Debian 12's default),
# so both host layouts are tested by every `make test`. Its counts are added.
set -u
cd "$(dirname "$0")/.." || exit 1
filter=
list=
fresh=1
while [ $# -gt 0 ]; do
	case $1 in
	--list) list=$2; shift ;;
	--no-fresh) fresh=0 ;;
	*) filter=$1 ;;
	esac
	shift
done
[ -n "$filter" ] || [ -n "$list" ] && fresh=0

# Non-comment, non-blank first words of a list file.
words() { sed -e 's/[[:space:]]*#.*//' -e '/^[[:space:]]*$/d' "$1" | awk '{print $1}'; }

allowed_skip() { # SUITE-BASENAME
	local s
	for s in ${TS_ALLOW_SKIP:-} $(words tests/skip-allowed.list 2>/dev/null); do
		[ "$s" = "$1" ] && return 0
	done
	return 1
}

passed=0
failed=0
skipped=0
run_start=$(date +%s)
suites=$(ls build/tests/test_* tests/test_*.sh 2>/dev/null | grep -v '\.o$' | grep -F -- "$filter")
if [ -n "$list" ]; then
	wanted=$(words "$list")
	suites=$(for s in $suites; do grep -qxF "$(basename "$s")" <<<"$wanted" && echo "$s"; done)
fi
for suite in $suites; do
	[ -x "$suite" ] || continue
	name=$(basename "$suite")
	echo "# suite $suite"
	out=$(mktemp)
	start=$(date +%s)
	CMOCKA_MESSAGE_OUTPUT=TAP "$suite" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	f=$(grep -c '^not ok\b' "$out")
	s=$(grep -ciE '^ok\b.*#[[:space:]]*skip' "$out")
	p=$(($(grep -c '^ok\b' "$out") - s))
	results=$((p + f + s))
	plans=$(grep -cE '^1\.\.[0-9]+' "$out")
	plan=$(grep -m1 -oE '^1\.\.[0-9]+' "$out" | cut -d. -f3)
	verdict=()
	if [ "$results" -eq 0 ] && ! grep -qiE '^1\.\.0[[:space:]]*#[[:space:]]*skip' "$out"; then
		verdict+=("$suite reported no result")
	fi
	if [ "$plans" -ne 1 ]; then
		verdict+=("$suite printed $plans plan lines (want exactly one 1..N)")
	elif [ "$plan" -ne "$results" ]; then
		verdict+=("$suite planned $plan results and reported $results")
	fi
	if grep -qiE '^1\.\.0[[:space:]]*#[[:space:]]*skip' "$out"; then
		s=$((s + 1)) # a whole-suite skip counts as one skip
	fi
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		verdict+=("$suite exited with status $rc")
	fi
	if [ "$s" -gt 0 ]; then
		if allowed_skip "$name"; then
			echo "# $suite: $s skipped (allowed here: TS_ALLOW_SKIP or tests/skip-allowed.list)"
		else
			verdict+=("$suite skipped $s checks and must not skip on this machine")
		fi
	fi
	for v in "${verdict[@]}"; do
		echo "not ok - $v"
		f=$((f + 1))
	done
	echo "# suite $suite: $p passed, $f failed, $s skipped in $(($(date +%s) - start)) s"
	passed=$((passed + p))
	failed=$((failed + f))
	skipped=$((skipped + s))
	rm -f "$out"
done

if [ "$fresh" = 1 ]; then
	echo "# suite scripts/fresh-check.sh (the other host layout)"
	out=$(mktemp)
	scripts/fresh-check.sh 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	# its last line is this runner's summary, from inside the namespace
	read -r fp _ ff _ fs _ < <(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$out" | tail -1)
	if [ -z "${fp:-}" ]; then
		echo "not ok - scripts/fresh-check.sh printed no summary (status $rc)"
		fp=0 ff=1 fs=0
	elif [ "$rc" -ne 0 ] && [ "$ff" -eq 0 ]; then
		echo "not ok - scripts/fresh-check.sh exited with status $rc"
		ff=1
	fi
	passed=$((passed + fp))
	failed=$((failed + ff))
	skipped=$((skipped + fs))
	rm -f "$out"
fi

echo "$passed passed, $failed failed, $skipped skipped in $(($(date +%s) - run_start)) s"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
