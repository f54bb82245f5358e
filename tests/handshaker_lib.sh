# Shared by tests/test_handshaker*.sh: a test PKI made with the openssl CLI,
# a configuration, and start/stop of tagshaked and the hand-off sink.
# Sourced, not run. Needs: $T (temp dir), $ROOT (repo). TAP output comes
# from tests/tap.sh, the cgroup v2 root and bpffs from scripts/sysenv.sh.

. "$ROOT/tests/tap.sh"
. "$ROOT/scripts/sysenv.sh"

# CA NAME: self-signed ECDSA CA in $T/NAME.{key,crt}
mk_ca() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-keyout "$T/$1.key" -out "$T/$1.crt" -subj "/CN=$1" 2>/dev/null
}

# leaf NAME CA EXT [openssl ca dates...]: key + cert signed by CA with extensions EXT
mk_leaf() {
	local name=$1 ca=$2 ext=$3 keyalg=${4:-ec}
	if [ "$keyalg" = rsa ]; then
		openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$T/$name.key" 2>/dev/null
	else
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/$name.key" 2>/dev/null
	fi
	openssl req -new -key "$T/$name.key" -subj "/O=tagshake test/CN=$name" -out "$T/$name.csr" 2>/dev/null
	printf '%s\n' "$ext" > "$T/$name.ext"
	openssl x509 -req -in "$T/$name.csr" -CA "$T/$ca.crt" -CAkey "$T/$ca.key" \
		-CAcreateserial -days 30 -extfile "$T/$name.ext" -out "$T/$name.crt" 2>/dev/null
}

# An expired client certificate: `openssl ca` is the CLI that sets past dates.
mk_expired() {
	local name=$1 ca=$2
	mkdir -p "$T/ca-db"
	: > "$T/ca-db/index.txt"
	echo 1000 > "$T/ca-db/serial"
	cat > "$T/ca-db/ca.cnf" <<CNF
[ ca ]
default_ca = d
[ d ]
database = $T/ca-db/index.txt
serial = $T/ca-db/serial
new_certs_dir = $T/ca-db
default_md = sha256
policy = p
unique_subject = no
copy_extensions = none
[ p ]
commonName = supplied
organizationName = optional
[ ext ]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
CNF
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/$name.key" 2>/dev/null
	openssl req -new -key "$T/$name.key" -subj "/O=tagshake test/CN=$name" -out "$T/$name.csr" 2>/dev/null
	openssl ca -batch -config "$T/ca-db/ca.cnf" -cert "$T/$ca.crt" -keyfile "$T/$ca.key" \
		-in "$T/$name.csr" -out "$T/$name.crt" -extensions ext \
		-startdate 20200101000000Z -enddate 20200201000000Z 2>/dev/null
}

make_pki() {
	mk_ca server-ca
	mk_ca partners-ca
	mk_ca other-ca
	local san="subjectAltName=DNS:api.test,DNS:open.test,DNS:opt.test,DNS:*.wild.test,DNS:gone.test,DNS:localhost"
	mk_leaf edge-ec server-ca "$san"
	mk_leaf edge-rsa server-ca "$san" rsa
	mk_leaf client1 partners-ca "extendedKeyUsage=clientAuth"
	mk_leaf stranger other-ca "extendedKeyUsage=clientAuth"
	mk_expired oldclient partners-ca
}

# write_config PORT [extra yaml]: the policies every suite uses
write_config() {
	cat > "$T/tagshake.yaml" <<YAML
listeners:
  - address: 127.0.0.1
    port: $1
    workers: 2
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
handoff:
  socket: $T/handoff.sock
timeouts:
  handshake: 2s
  handoff: 500ms
bpf:
  pin_dir: ${PIN_DIR:-$T/no-bpf}
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
