#!/bin/bash
# Differential test of the ClientHello parser: every hello goes through the
# BPF program inside the kernel (BPF_PROG_TEST_RUN) and through the
# userspace build, at several segment sizes; the JSON must match exactly.
# Hellos are captured here from real clients on loopback, plus truncated
# and corrupted copies, plus the project's corpus of real-world hellos
# (tests/data/corpus/clienthello, with its manifest.tsv; in the repository so
# a clean clone has it: the suite fails without it, it never skips it).
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
. tests/clients.sh
need_root "the in-kernel parse"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
port=18501
corpus=${TS_CORPUS:-tests/data/corpus/clienthello}

capture() {
	local client=$1 name=$2 out=$work/$1.bin
	start_server "$work/capture" python3 tests/capture_hello.py --port "$port" --out "$out"
	local cap=$SERVER_PID
	run_client "$client" 127.0.0.1 "$port" "$name" >/dev/null 2>&1
	wait "$cap"
	port=$((port + 1))
}

for c in $TS_CLIENTS; do
	capture "$c" "$c.capture.test"
	check "$c: a hello was captured" test -s "$work/$c.bin"
done

# What each client's hello must parse to.
for c in $TS_CLIENTS; do
	out=$(build/tagshake parse --json --userspace "$work/$c.bin")
	check_eq "$c: status and SNI" "$(json_get "$out" 'd["status"]+" "+d["sni"]')" "ok $c.capture.test"
done
out=$(build/tagshake parse --json --userspace "$work/openssl-frag512.bin")
check_eq "openssl -max_send_frag 512: three records" "$(json_get "$out" 'd["records"]')" 3
check_eq "openssl -max_send_frag 512: no ALPN" "$(json_get "$out" 'd["alpn"]')" '[]'
out=$(build/tagshake parse --json --userspace "$work/openssl-tls12.bin")
check_eq "openssl -tls1_2: ALPN list" "$(json_get "$out" 'd["alpn"]')" '["h2","http/1.1"]'
out=$(build/tagshake parse --json --userspace "$work/chromium.bin")
check "chromium: post-quantum hello is over 1500 bytes" \
	test "$(json_get "$out" 'd["bytes"]')" -gt 1500

# Crafted variants: every 37th truncation point and seeded byte flips.
python3 - "$work" <<'PY'
import os, random, sys
work = sys.argv[1]
rng = random.Random(20261126)
for name in sorted(os.listdir(work)):
    if not name.endswith(".bin"):
        continue
    data = open(os.path.join(work, name), "rb").read()
    base = name[:-4]
    for cut in range(1, len(data), 37):
        open(os.path.join(work, f"{base}.cut{cut}.var"), "wb").write(data[:cut])
    for i in range(20):
        b = bytearray(data)
        pos = rng.randrange(len(b))
        b[pos] ^= 1 << rng.randrange(8)
        open(os.path.join(work, f"{base}.flip{i}.var"), "wb").write(bytes(b))
PY

files=("$work"/*.bin "$work"/*.var)
[ -f "$corpus/manifest.tsv" ] || bail "corpus: $corpus/manifest.tsv is there"
files+=("$corpus"/*.bin)
build/tagshake parse --json --userspace "${files[@]}" >"$work/user.json"
for seg in 1460 536 97 1; do
	build/tagshake parse --json --segment "$seg" "${files[@]}" >"$work/kernel.json"
	check "kernel and userspace agree on ${#files[@]} hellos in $seg-byte segments" \
		cmp -s "$work/user.json" "$work/kernel.json"
done
check "truncations are never ok" \
	bash -c "! grep '\\.cut[0-9]*\\.var' '$work/user.json' | grep -q '\"status\":\"ok\"'"

cat >"$work/manifest.py" <<'PY'
import csv, json, os, sys
manifest, results = sys.argv[1], sys.argv[2]
rows = {r["file"]: r for r in csv.DictReader(open(manifest), delimiter="\t")}
def esc(s):
    return "".join(c if 0x21 <= ord(c) <= 0x7e and c not in ",\\" else "\\x%02x" % ord(c) for c in s)
seen = 0
for line in open(results):
    d = json.loads(line)
    name = os.path.basename(d["file"])
    if name not in rows:
        continue
    m = rows[name]
    seen += 1
    want = (m["expect"], None if m["sni"] == "-" else m["sni"].lower(),
            [] if m["alpn"] == "-" else m["alpn"].split(","), int(m["records"]), int(m["bytes"]))
    got = (d["status"], d["sni"], [esc(a) for a in d["alpn"]], d["records"], d["bytes"])
    if want != got:
        print("#", name, want, got)
        sys.exit(1)
sys.exit(0 if seen == len(rows) else 1)
PY
check_eq "corpus: $(ls "$corpus"/*.bin | wc -l) hellos, one manifest row each" \
	"$(($(wc -l <"$corpus/manifest.tsv") - 1))" "$(ls "$corpus"/*.bin | wc -l)"
check "corpus: status, SNI, ALPN, records and bytes match manifest.tsv" \
	python3 "$work/manifest.py" "$corpus/manifest.tsv" "$work/user.json"
# negative control: the same comparison against a manifest with one SNI
# changed must fail
awk -F '\t' -v OFS='\t' 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == "sni") c = i }
	NR == 2 { $c = "x" $c } 1' \
	"$corpus/manifest.tsv" >"$work/broken.tsv"
check_fails "(control) a manifest with one SNI changed does not match" \
	python3 "$work/manifest.py" "$work/broken.tsv" "$work/user.json"
tap_end
