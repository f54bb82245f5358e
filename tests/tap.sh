# shellcheck shell=bash
# The one TAP library of the shell suites (source it). Every check prints one
# TAP line; tap_end prints the plan and fails when any check failed. A skip is
# reported as "ok N - what # SKIP why" and the runner counts it as a skip, never
# as a pass, and a skip fails the run unless the suite is allowed to skip on
# this machine (tests/skip-allowed.list, empty: in CI nothing may skip).

TAP_N=0
TAP_FAILED=0

ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $*"; }

# skip WHAT WHY
skip() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $1 # SKIP $2"; }

# check WHAT COMMAND...: passes when the command exits 0.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# check_fails WHAT COMMAND...: passes when the command exits non-zero.
check_fails() {
	local what=$1
	shift
	if "$@"; then not_ok "$what (succeeded)"; else ok "$what"; fi
}

# check_eq WHAT GOT WANT: exact string comparison, both shown on failure.
check_eq() {
	if [ "$2" = "$3" ]; then ok "$1"; else
		not_ok "$1"
		echo "#   want: $(printf '%q' "$3" | head -c 600)"
		echo "#   got:  $(printf '%q' "$2" | head -c 600)"
	fi
}

# bail WHAT: a setup step failed; report it and stop the suite.
bail() {
	not_ok "$1"
	tap_end
	exit 1
}

tap_end() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}
