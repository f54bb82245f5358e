#!/bin/bash
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# `make run`: from a fresh Debian 12 machine to a running tagshake edge on
# 127.0.0.1:8443 with a demo PKI and one SNI per action. Ctrl-C (or
# SIGTERM) stops everything and leaves nothing attached, pinned or
# listening. See docs/operations.md.
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)

usage() {
	cat <<'EOF'
usage: scripts/run.sh [--state DIR] [--port N] [--pin-dir DIR] [--no-deps] [--no-build]

Installs missing Debian packages (scripts/deps.sh), builds, creates a demo
PKI and configuration in the state directory (kept between runs), loads the
BPF tagger, starts tagshaked, tagshake-proxy and an upstream that echoes the
headers it receives, and prints commands to try. Ctrl-C stops everything.

  --state DIR    state directory (default $TAGSHAKE_STATE, else /var/lib/tagshake-demo)
  --port N       TLS listener port on 127.0.0.1 (default 8443)
  --pin-dir DIR  bpffs directory for the tagger (default /sys/fs/bpf/tagshake-demo)
  --no-deps      do not run scripts/deps.sh
  --no-build     do not run make
Needs root (the BPF tagger).
EOF
}

STATE=${TAGSHAKE_STATE:-/var/lib/tagshake-demo}
PORT=8443
PIN_DIR=/sys/fs/bpf/tagshake-demo
DEPS=1
BUILD=1
while [ $# -gt 0 ]; do
	case $1 in
	--state) STATE=${2:?--state needs a directory}; shift 2 ;;
	--port) PORT=${2:?--port needs a number}; shift 2 ;;
	--pin-dir) PIN_DIR=${2:?--pin-dir needs a directory}; shift 2 ;;
	--no-deps) DEPS=0; shift ;;
	--no-build) BUILD=0; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "run.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
done

say() { echo "tagshake-demo: $*"; }
die() { echo "tagshake-demo: $*" >&2; exit 1; }

case $PORT in '' | *[!0-9]*) die "invalid port '$PORT'" ;; esac
[ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "invalid port '$PORT'"
[ "$(id -u)" -eq 0 ] || die "needs root: the BPF tagger is loaded with CAP_BPF and CAP_NET_ADMIN"

TS=$ROOT/build/tagshake
RUN=$STATE/run
PKI=$STATE/pki
CONFIG=$STATE/tagshake.yaml
PIDS=()

# ---- the PKI: three CAs (server, clients, partners), an ECDSA server
# certificate for every demo name, one client certificate per client CA
. "$ROOT/scripts/pki.sh"
new_ca() { PKI_DAYS=365 pki_ca "$PKI" "$1" "/O=tagshake demo/CN=$2"; }
new_leaf() { PKI_DAYS=365 pki_cert "$PKI" "$@"; } # NAME CA SUBJECT EXTENSIONS
make_pki() {
	[ -s "$PKI/partner.crt" ] && { say "PKI: $PKI (existing)"; return 0; }
	mkdir -p "$PKI" && chmod 700 "$PKI" || return 1
	new_ca server-ca "tagshake demo server CA" &&
		new_ca clients-ca "tagshake demo clients CA" &&
		new_ca partners-ca "tagshake demo partners CA" &&
		new_leaf server server-ca "/O=tagshake demo/CN=demo.test" \
			"subjectAltName=DNS:none.demo.test,DNS:optional.demo.test,DNS:require.demo.test,DNS:reject.demo.test,DNS:*.wild.demo.test,DNS:localhost
extendedKeyUsage=serverAuth" &&
		new_leaf client clients-ca "/O=tagshake demo/CN=demo-client" "extendedKeyUsage=clientAuth" &&
		new_leaf partner partners-ca "/O=tagshake demo/CN=demo-partner" "extendedKeyUsage=clientAuth" ||
		return 1
	say "PKI: created in $PKI"
}

# ---- the configuration: written once, the operator may edit it
write_demo_config() {
	[ -s "$CONFIG" ] && { say "configuration: $CONFIG (existing)"; return 0; }
	cat >"$CONFIG" <<YAML
# tagshake demo configuration, written by scripts/run.sh (edit freely: it is
# kept between runs). Reference: docs/tagshake.example.yaml.
listeners:
  - address: 127.0.0.1
    port: $PORT
    workers: 2
certificates:
  - name: demo
    chain: pki/server.crt
    key: pki/server.key
ca_sets:
  - name: clients
    files: pki/clients-ca.crt
  - name: partners
    files: pki/partners-ca.crt
routes:
  - name: echo
    upstream: unix:$RUN/upstream.sock
    metadata: http
    headers: kong
policies:
  - { sni: none.demo.test, action: none, certificate: demo, route: echo }
  - { sni: optional.demo.test, action: optional, certificate: demo, ca_set: clients, route: echo }
  - { sni: require.demo.test, action: require, certificate: demo, ca_set: clients, route: echo }
  - { sni: reject.demo.test, action: reject }
  - { sni: '*.wild.demo.test', action: require, certificate: demo, ca_set: partners, route: echo }
defaults:
  default: { action: none, certificate: demo, route: echo }
  no-sni: { action: reject }
handoff:
  socket: $RUN/handoff.sock
timeouts:
  handshake: 10s
  handoff: 2s
  idle: 5m
bpf:
  pin_dir: $PIN_DIR
YAML
	say "configuration: written to $CONFIG"
}

# ---- stopping: every child, then the tagger; safe to run twice
cleanup() {
	trap '' INT TERM
	local pid
	for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	PIDS=()
	"$TS" unload --pin-dir "$PIN_DIR" >/dev/null 2>&1
	rm -f "$RUN/upstream.sock" "$RUN/handoff.sock" "$RUN"/*.status.tmp
	if [ -e "$PIN_DIR" ]; then
		echo "tagshake-demo: $PIN_DIR is still there" >&2
	else
		say "stopped: nothing attached, pinned or listening"
	fi
}
stop() {
	echo
	say "stopping"
	cleanup
	exit 0
}
fail() {
	echo "tagshake-demo: $*" >&2
	cleanup
	exit 1
}

# wait_for WHAT COMMAND...: up to 10 s
wait_for() {
	local what=$1
	shift
	for _ in $(seq 200); do
		"$@" && return 0
		sleep 0.05
	done
	fail "$what did not come up (logs in $RUN)"
}
listening() { ss -Hltn "sport = :$1" | grep -q .; }
alive() { kill -0 "$1" 2>/dev/null; }

if [ "$DEPS" = 1 ]; then
	"$ROOT/scripts/deps.sh" || die "installing dependencies failed"
fi
if [ "$BUILD" = 1 ]; then
	make -C "$ROOT" -s -j"$(nproc)" build/tagshake build/tagshaked build/tagshake-proxy ||
		die "build failed"
fi
listening "$PORT" && die "port $PORT is already in use (another run? ss -ltnp \"sport = :$PORT\")"
if [ -e "$PIN_DIR" ]; then
	say "removing a stale tagger at $PIN_DIR (an earlier run that did not stop)"
	"$TS" unload --pin-dir "$PIN_DIR" >/dev/null 2>&1 || rm -rf "$PIN_DIR"
fi
mkdir -p "$STATE" "$RUN" || die "cannot create $STATE"
make_pki || die "creating the PKI failed"
write_demo_config
"$TS" check "$CONFIG" >/dev/null 2>"$RUN/check.err" || {
	# `tagshake check` names the file and line of the first error
	cat "$RUN/check.err" >&2
	die "the configuration is not valid"
}

trap stop INT TERM
"$TS" load --port "$PORT" --pin-dir "$PIN_DIR" >"$RUN/load.log" 2>&1 ||
	fail "loading the tagger failed: $(cat "$RUN/load.log")"
"$TS" policy import --pin-dir "$PIN_DIR" "$CONFIG" >>"$RUN/load.log" 2>&1 ||
	fail "importing the policies failed: $(cat "$RUN/load.log")"
say "tagger: attached for port $PORT, maps pinned in $PIN_DIR"

python3 "$ROOT/dist/demo/echo-upstream.py" "$RUN/upstream.sock" 2>"$RUN/upstream.log" &
PIDS+=($!)
wait_for "the echo upstream" test -S "$RUN/upstream.sock"
rm -f "$RUN/proxy.status"
"$ROOT/build/tagshake-proxy" --config "$CONFIG" --workers 2 --status "$RUN/proxy.status" \
	2>"$RUN/proxy.log" &
PIDS+=($!)
wait_for "tagshake-proxy" test -S "$RUN/handoff.sock"
rm -f "$RUN/tagshaked.status"
"$ROOT/build/tagshaked" --config "$CONFIG" --status "$RUN/tagshaked.status" --log-connections \
	2>"$RUN/tagshaked.log" &
PIDS+=($!)
wait_for "tagshaked" bash -c "[ -s '$RUN/tagshaked.status' ] && ss -Hltn 'sport = :$PORT' | grep -q ."
for pid in "${PIDS[@]}"; do alive "$pid" || fail "a daemon exited at start (logs in $RUN)"; done

mode=$(awk '$1 == "mode" { print $2 }' "$RUN/tagshaked.status")
why=$(sed -n 's/^mode_reason //p' "$RUN/tagshaked.status")
R="--resolve"
CURL="curl -sS --cacert $PKI/server-ca.crt"
cat <<EOF
tagshake-demo: running on 127.0.0.1:$PORT in $mode mode ($why)
tagshake-demo: logs and status in $RUN; Ctrl-C stops everything

Try:
  # none: no CertificateRequest, the upstream echoes the request it got
  $CURL $R none.demo.test:$PORT:127.0.0.1 https://none.demo.test:$PORT/
  # require without a client certificate: the handshake fails
  $CURL $R require.demo.test:$PORT:127.0.0.1 https://require.demo.test:$PORT/
  # require with the client certificate: the upstream echoes its subject
  $CURL $R require.demo.test:$PORT:127.0.0.1 --cert $PKI/client.crt --key $PKI/client.key https://require.demo.test:$PORT/
  # reject: closed before any TLS byte
  $CURL $R reject.demo.test:$PORT:127.0.0.1 https://reject.demo.test:$PORT/
  # wildcard *.wild.demo.test: require with the partners CA
  $CURL $R a.wild.demo.test:$PORT:127.0.0.1 --cert $PKI/partner.crt --key $PKI/partner.key https://a.wild.demo.test:$PORT/
  # counters and the policy map
  $TS stats --pin-dir $PIN_DIR
  bpftool map dump pinned $PIN_DIR/policy
  cat $RUN/tagshaked.status
  tail -f $RUN/tagshaked.log      # one logfmt line per connection
  # the live view (q quits) and the Prometheus text
  $TS top --pin-dir $PIN_DIR --handshaker-status $RUN/tagshaked.status --proxy-status $RUN/proxy.status --log $RUN/tagshaked.log
  $TS metrics --once --pin-dir $PIN_DIR --status $RUN/tagshaked.status --status $RUN/proxy.status
EOF

# Children may die on their own: then stop the rest too.
while :; do
	wait -n "${PIDS[@]}" 2>/dev/null
	for pid in "${PIDS[@]}"; do
		alive "$pid" || fail "a daemon exited unexpectedly (logs in $RUN)"
	done
done
