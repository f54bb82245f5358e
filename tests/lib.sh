# Shared shell helpers for the suites: TAP output, real clients, namespaces.
# Source it; it expects to run from the project root.

TAP_N=0
TAP_FAILED=0

ok() { TAP_N=$((TAP_N + 1)); echo "ok $TAP_N - $*"; }
not_ok() { TAP_N=$((TAP_N + 1)); TAP_FAILED=$((TAP_FAILED + 1)); echo "not ok $TAP_N - $*"; }

# check DESCRIPTION COMMAND...: one TAP line from the command's exit status.
check() {
	local what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# same VALUE EXPECTED DESCRIPTION: exact string comparison.
same() {
	if [ "$1" = "$2" ]; then ok "$3"; else not_ok "$3 (got '$1', want '$2')"; fi
}

tap_end() {
	echo "1..$TAP_N"
	[ "$TAP_FAILED" -eq 0 ]
}

need_root() {
	if [ "$(id -u)" -ne 0 ]; then
		not_ok "$1 needs root"
		tap_end
		exit 1
	fi
}

# json_get JSON EXPR: a value from a JSON document, with a python3 expression
# over `d` (the parsed document), printed compactly.
json_get() {
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); v=eval(sys.argv[2]); print(v if isinstance(v,str) else json.dumps(v,separators=(",",":")))' "$1" "$2"
}

# start_server OUT COMMAND...: starts a test server (tag_probe,
# capture_hello.py) in the background, its pid in SERVER_PID and its stdout
# in OUT, and returns once it says on stderr that it listens.
start_server() {
	local out=$1
	shift
	"$@" >"$out" 2>"$out.err" &
	SERVER_PID=$!
	for _ in $(seq 100); do
		grep -q listening "$out.err" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# start_demo STATE PORT PINS OUT: starts the demo stack (scripts/run.sh) in
# the background, its pid in RUNPID and its output in OUT, and returns once
# it has printed the commands to try (or after 15 s).
start_demo() {
	timeout -s TERM 120 scripts/run.sh --no-deps --no-build --state "$1" --port "$2" \
		--pin-dir "$3" >"$4" 2>&1 &
	RUNPID=$!
	for _ in $(seq 300); do
		grep -q '^  cat ' "$4" && return 0
		sleep 0.05
	done
	return 1
}

# Headless Chromium with the flags this closed machine needs.
chromium_headless() {
	local profile
	profile=$(mktemp -d)
	timeout "${CHROMIUM_TIMEOUT:-20}" chromium --headless --no-sandbox --disable-gpu \
		--disable-quic --no-first-run --disable-background-networking \
		--disable-component-update --disable-sync --disable-dev-shm-usage \
		--user-data-dir="$profile" "$@" >/dev/null 2>&1
	rm -rf "$profile"
}
