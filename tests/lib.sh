# Shared shell helpers for the suites: TAP output (tests/tap.sh), the host's
# cgroup v2 root and bpffs (scripts/sysenv.sh), the test PKI builder
# (scripts/pki.sh), real clients, namespaces.
# Source it; it expects to run from the project root.

. tests/tap.sh
. scripts/sysenv.sh
. scripts/pki.sh

need_root() {
	[ "$(id -u)" -eq 0 ] || bail "$1 needs root"
}

# need_tagger_env WHAT: root, the cgroup v2 root in TS_CGROUP2 and bpffs at
# TS_BPFFS (mounted when absent), or the suite stops with a failure.
need_tagger_env() {
	need_root "$1"
	ts_sysenv || bail "$1: no cgroup v2 or bpffs here"
}

# free_port: a TCP port free on 127.0.0.1 now (the kernel's pick)
free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
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

# stop_demo PINS: stops the demo stack start_demo started (SIGTERM, waited
# for) and unloads what it left pinned at PINS.
stop_demo() {
	[ -n "$RUNPID" ] && kill -TERM "$RUNPID" 2>/dev/null && wait "$RUNPID"
	build/tagshake unload --pin-dir "$1" >/dev/null 2>&1
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
