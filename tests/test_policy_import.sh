#!/bin/bash
# `policy import` is atomic for the program: while imports swap between two
# policy sets as fast as they can, every tag of a stream of connections comes
# whole from one set or the other, never from a mix.
#   set A: *.mix.test -> require, CA set 1     (a.mix.test matches by wildcard)
#   set B: a.mix.test -> optional, CA set 2    (a.mix.test matches exactly)
# A mix (exact lookup in A, wildcard lookup in B) would give "nothing".
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
need_tagger_env "the policy import suite"

pins=/sys/fs/bpf/tagshake-import-$$
port=18951
conns=${TS_IMPORT_CONNS:-400}
work=$(mktemp -d)
trap 'kill $importer 2>/dev/null; build/tagshake unload --pin-dir "$pins" >/dev/null 2>&1; rm -rf "$work"' EXIT
importer=

pki_ca "$work" ca /CN=import-ca || bail "a CA made (scripts/pki.sh)"
for set in A B; do
	cat >"$work/$set.yaml" <<YAML
listeners:
  - port: $port
ca_sets:
  - name: one
    files: [$work/ca.crt]
  - name: two
    files: [$work/ca.crt]
policies:
YAML
done
cat >>"$work/A.yaml" <<'YAML'
  - sni: '*.mix.test'
    action: require
    ca_set: one
YAML
cat >>"$work/B.yaml" <<'YAML'
  - sni: a.mix.test
    action: optional
    ca_set: two
YAML

start_server "$work/capture" python3 tests/capture_hello.py --port $((port + 1)) --out "$work/hello.bin"
openssl s_client -connect 127.0.0.1:$((port + 1)) -servername a.mix.test </dev/null >/dev/null 2>&1
wait

check "load" build/tagshake load --port "$port" --pin-dir "$pins"
check "import A" build/tagshake policy import "$work/A.yaml" --pin-dir "$pins"
check_eq "A is the whole policy" \
	"$(build/tagshake policy list --json --pin-dir "$pins")" '[{"name":"*.mix.test","action":"require","cert":0,"ca":1,"route":0}]'
check "import B" build/tagshake policy import "$work/B.yaml" --pin-dir "$pins"
check_eq "B replaced A whole" \
	"$(build/tagshake policy list --json --pin-dir "$pins")" '[{"name":"a.mix.test","action":"optional","cert":0,"ca":2,"route":0}]'

(
	while :; do
		build/tagshake policy import "$work/A.yaml" --pin-dir "$pins" >/dev/null
		build/tagshake policy import "$work/B.yaml" --pin-dir "$pins" >/dev/null
		: >"$work/cycled"
	done
) &
importer=$!
# the connections start once the importer swaps (a loaded machine may start
# it late, and 400 connections all on B would show nothing)
for _ in $(seq 200); do [ -e "$work/cycled" ] && break; sleep 0.05; done

start_server "$work/probe" build/tests/tag_probe --port "$port" --pin-dir "$pins" --count "$conns"
probe=$SERVER_PID
python3 - "$port" "$conns" "$work/hello.bin" <<'PY'
import socket, sys
port, n, hello = int(sys.argv[1]), int(sys.argv[2]), open(sys.argv[3], "rb").read()
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(hello)
    try:
        s.recv(1)  # the probe closes once it has read the tag
    except ConnectionResetError:
        pass
    s.close()
PY
wait "$probe"
kill "$importer"
wait "$importer" 2>/dev/null
importer=

summary=$(python3 -c '
import collections, json, sys
c = collections.Counter()
for line in open(sys.argv[1]):
    d = json.loads(line)["live"]
    c["%s/%s/ca%d" % (d["match"], d["action"], d["ca"])] += 1
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))' "$work/probe")
check "$conns tags during imports: $summary" python3 -c '
import sys
pairs = dict(kv.split("=") for kv in sys.argv[1].split())
allowed = {"wildcard/require/ca1", "exact/optional/ca2"}
sys.exit(0 if set(pairs) <= allowed and sum(map(int, pairs.values())) == int(sys.argv[2]) else 1)' \
	"$summary" "$conns"
check "both sets were seen during the run" bash -c '[[ "$1" == *wildcard/require* && "$1" == *exact/optional* ]]' _ "$summary"
check "unload" build/tagshake unload --pin-dir "$pins"
tap_end
