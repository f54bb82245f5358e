# Shared by tests/test_handshaker*.sh: a test PKI made with the openssl CLI,
# a configuration, and start/stop of tagshaked and the hand-off sink.
# Sourced, not run. Needs: $T (temp dir), $ROOT (repo). TAP output comes
# from tests/tap.sh, the cgroup v2 root and bpffs from scripts/sysenv.sh.

. "$ROOT/tests/tap.sh"
. "$ROOT/scripts/sysenv.sh"
. "$ROOT/scripts/pki.sh"
. "$ROOT/tests/config.sh"

# The PKI the handshaker suites use, in $T (scripts/pki.sh): three CAs, an
# ECDSA and an RSA server certificate for every test name, a client of the
# partners CA, a stranger of another CA and an expired client.
make_pki() {
	local san="subjectAltName=DNS:api.test,DNS:open.test,DNS:opt.test,DNS:*.wild.test,DNS:gone.test,DNS:localhost"
	pki_ca "$T" server-ca /CN=server-ca &&
		pki_ca "$T" partners-ca /CN=partners-ca &&
		pki_ca "$T" other-ca /CN=other-ca &&
		pki_cert "$T" edge-ec server-ca "/O=tagshake test/CN=edge-ec" "$san" &&
		pki_cert "$T" edge-rsa server-ca "/O=tagshake test/CN=edge-rsa" "$san" rsa &&
		pki_cert "$T" client1 partners-ca "/O=tagshake test/CN=client1" "extendedKeyUsage=clientAuth" &&
		pki_cert "$T" stranger other-ca "/O=tagshake test/CN=stranger" "extendedKeyUsage=clientAuth" &&
		pki_expired "$T" oldclient partners-ca "/O=tagshake test/CN=oldclient"
}

# hs_config PORT [EXTRA-YAML [WORKERS]]: the policies every handshaker suite
# uses, written by write_config (tests/config.sh); 2 workers by default
hs_config() {
	write_config "$1" "${3:-2}" "${PIN_DIR:-$T/no-bpf}" <<YAML
certificates:
  - name: edge
    pairs:
      - { chain: edge-ec.crt, key: edge-ec.key }
      - { chain: edge-rsa.crt, key: edge-rsa.key }
ca_sets:
  - name: partners
    files: partners-ca.crt
  - name: others
    files: other-ca.crt
routes:
  - name: app
    upstream: 127.0.0.1:9
policies:
  - { sni: open.test, action: none, certificate: edge, route: app }
  - { sni: opt.test, action: optional, certificate: edge, ca_set: partners, route: app }
  - { sni: api.test, action: require, certificate: edge, ca_set: partners, route: app }
  - { sni: '*.wild.test', action: require, certificate: edge, ca_set: others, route: app }
  - { sni: gone.test, action: reject }
defaults:
  default: { action: none, certificate: edge }
  no-sni: { action: reject }
timeouts:
  handshake: 2s
  handoff: 500ms
${2:-}
YAML
}

start_sink() {
	"$ROOT/build/tests/handoff_sink" "$T/handoff.sock" > "$T/sink.out" 2>"$T/sink.err" &
	SINK=$!
	for _ in $(seq 50); do [ -S "$T/handoff.sock" ] && return 0; sleep 0.05; done
	return 1
}

start_daemon() {
	"$ROOT/build/tagshaked" --config "$T/tagshake.yaml" --status "$T/status" 2>"$T/daemon.err" &
	DAEMON=$!
	for _ in $(seq 100); do
		[ -s "$T/status" ] && ss -ltn | grep -q "127.0.0.1:$PORT " && return 0
		sleep 0.05
	done
	return 1
}

# stat_now NAME: a counter from the status file as it is after what the
# suite just did. tagshaked rewrites the file every second by rename (a new
# inode each time), so the next write after this call holds every count
# made before it: wait for the inode to change (at most 3 s), then read.
stat_now() {
	local before
	before=$(stat -c %i "$T/status" 2>/dev/null)
	for _ in $(seq 60); do
		[ "$(stat -c %i "$T/status" 2>/dev/null)" != "$before" ] && break
		sleep 0.05
	done
	stat_get "$1"
}
# stat_get NAME: a counter from the status file as it is now
stat_get() { awk -v k="$1" '$1 == k { print $2 }' "$T/status"; }

stop_all() {
	[ -n "${DAEMON:-}" ] && kill "$DAEMON" 2>/dev/null && wait "$DAEMON" 2>/dev/null
	[ -n "${SINK:-}" ] && kill "$SINK" 2>/dev/null && wait "$SINK" 2>/dev/null
	DAEMON=
	SINK=
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
