#!/bin/bash
# `tagshake check FILE`: a valid file exits 0 with a summary; each kind of
# error exits 1 with one line "FILE:LINE: KEY: reason"; nothing is loaded.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
TS=$OLDPWD/build/tagshake
touch a.crt a.key ca.pem
base='listeners:
  - port: 443
certificates:
  - { name: c, chain: a.crt, key: a.key }
ca_sets:
  - { name: s, files: ca.pem }
routes:
  - { name: r, upstream: 127.0.0.1:80 }
policies:
  - { sni: a.test, action: require, certificate: c, ca_set: s, route: r }
'
printf '%s' "$base" >good.yaml
out=$("$TS" check good.yaml 2>&1)
check_eq "a valid file: exit 0" "$?" 0
check_eq "... with the summary and the policy table" "$out" "good.yaml: ok: 1 listener, 1 certificate, 1 CA set, 1 route, 1 policy
  a.test                                   require  cert=1 ca=1 route=1"
check_eq "--quiet prints nothing" "$("$TS" check --quiet good.yaml 2>&1)" ""
# the shipped example points at /etc/tagshake: its first unreadable file is named
err=$("$TS" check "$OLDPWD/docs/tagshake.example.yaml" 2>&1)
check_eq "the shipped example outside /etc/tagshake: exit 1" "$?" 1
check "... naming file, line and key" grep -Eq \
	"^tagshake: $OLDPWD/docs/tagshake.example.yaml:[0-9]+: certificates\[0\]\.pairs\[0\]\.chain: cannot read '/etc/tagshake/" <<<"$err"

# bad TEXT WANT WHAT: the file fails with exactly that stderr line and exit 1
bad() {
	printf '%s' "$1" >bad.yaml
	local err rc
	err=$("$TS" check bad.yaml 2>&1 >/dev/null)
	rc=$?
	check_eq "$3" "$rc: $err" "1: tagshake: $2"
}
bad "$base  - { sni: b.test, action: maybe }
" "bad.yaml:11: policies[1].action: unknown action 'maybe' (none, request, optional, require, reject)" "unknown action"
bad "$base  - { sni: b.test, action: require, ca_set: nope }
" "bad.yaml:11: policies[1].ca_set: no ca_set named 'nope'" "reference to a missing CA set"
bad "$base  - { sni: b.test, action: none, route: r2 }
" "bad.yaml:11: policies[1].route: no route named 'r2'" "reference to a missing route"
bad "$base  - { sni: b.test, action: optional }
" "bad.yaml:11: policies[1]: action optional needs a ca_set" "optional without a CA set"
bad "$base  - { sni: 'b..test', action: none }
" "bad.yaml:11: policies[1].sni: 'b..test' is not a host name or *.parent" "invalid SNI"
bad "$base  - { sni: A.Test., action: none }
" "bad.yaml:11: policies: 'a.test' already defined at line 10" "duplicate SNI after normalisation"
bad "$base  - { sni: b.test, action: none, colour: red }
" "bad.yaml:11: policies[1].colour: unknown key" "unknown key"
bad "${base}frobs: 1
" "bad.yaml:11: frobs: unknown section" "unknown section"
bad "$base  - { sni: b.test, action: none
" "bad.yaml:12: (yaml): did not find expected ',' or '}' while parsing a flow mapping" "YAML syntax error"
bad "${base/ca.pem/missing.pem}" \
	"bad.yaml:6: ca_sets[0].files: cannot read './missing.pem': No such file or directory" "unreadable CA file"
bad "${base/127.0.0.1:80/127.0.0.1:99999}" \
	"bad.yaml:8: routes[0].upstream: expected host:port or unix:/path, got '127.0.0.1:99999'" "invalid upstream"
bad "${base}timeouts: { handshake: 10 }
" "bad.yaml:11: timeouts.handshake: expected a duration like 500ms, 10s, 2m or 1h, got '10'" "duration without a unit"

check_eq "a missing file: exit 1" "$("$TS" check missing.yaml 2>&1; echo "rc=$?")" "tagshake: missing.yaml: No such file or directory
rc=1"
check_eq "no FILE: usage error, exit 2" "$("$TS" check 2>&1; echo "rc=$?")" "tagshake: check needs exactly one FILE (see --help)
rc=2"
check "check --help" bash -c '"$0" check --help | grep -q "^usage: tagshake check"' "$TS"
# unprivileged: proves it touches no kernel object
chmod -R a+rX "$work"
check_eq "works without privileges (no BPF, no kernel state)" \
	"$(setpriv --reuid=65534 --regid=65534 --clear-groups "$TS" check --quiet good.yaml 2>&1; echo "rc=$?")" "rc=0"
tap_end
