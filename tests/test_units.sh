#!/bin/bash
# `make install PREFIX=...` and the systemd units: installed with their
# paths filled in, `systemd-analyze verify` clean, hardening measured with
# `systemd-analyze security --offline`, and what each unit promises.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest=$work/root
make -s install PREFIX="$dest/usr" CONFDIR="$dest/etc/tagshake" >"$work/make.out" 2>&1
same "$?" 0 "make install PREFIX=... succeeds"
for b in tagshake tagshaked tagshake-proxy; do
	check "installed $b runs --help" bash -c "\"$dest/usr/bin/$b\" --help | grep -q usage"
done
units=$dest/usr/lib/systemd/system
same "$(ls "$units" | tr '\n' ' ')" \
	"tagshake-metrics.service tagshake-proxy.service tagshake-tagger.service tagshaked.service " \
	"four units installed"
same "$(grep -l '@[A-Z]*DIR@' "$units"/* | wc -l)" 0 "every @DIR@ placeholder is filled in"

for u in "$units"/*.service; do
	out=$(systemd-analyze verify "$u" 2>&1)
	same "$?: $out" "0: " "systemd-analyze verify $(basename "$u"): no finding"
	level=$(systemd-analyze security --offline=true "$u" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\) .*/\1/p')
	check "$(basename "$u"): exposure $level (systemd-analyze security) is at most 4.0" \
		awk -v l="$level" 'BEGIN { exit !(l != "" && l <= 4.0) }'
done

# the negative control: verify does catch a wrong key and a missing binary
sed -e 's/^Restart=on-failure/Restart=on-failure\nFrobnicate=yes/' \
	-e "s|/bin/tagshaked |/bin/missing |" "$units/tagshaked.service" >"$work/broken.service"
out=$(systemd-analyze verify "$work/broken.service" 2>&1)
check "verify reports an unknown key in a broken unit" grep -q "Unknown key 'Frobnicate'" <<<"$out"
check "verify reports a missing binary in a broken unit" grep -q 'missing is not executable' <<<"$out"

# what the units promise
key() { sed -n "s/^$2=//p" "$units/$1"; }
same "$(key tagshake-tagger.service Type)/$(key tagshake-tagger.service RemainAfterExit)" "oneshot/yes" \
	"tagger: oneshot that stays active"
same "$(key tagshake-tagger.service ExecStop)" \
	"$dest/usr/bin/tagshake unload --pin-dir /sys/fs/bpf/tagshake" "tagger: ExecStop unloads"
same "$(key tagshake-tagger.service ExecStartPost)" \
	"$dest/usr/bin/tagshake policy import --pin-dir /sys/fs/bpf/tagshake $dest/etc/tagshake/tagshake.yaml" \
	"tagger: policies imported from the configuration"
# the daemons do not call sd_notify: Type=notify would be a lie
same "$(grep -l 'sd_notify\|NOTIFY_SOCKET' user/*.c | wc -l)" 0 "the daemons do not call sd_notify"
for u in tagshaked.service tagshake-proxy.service tagshake-metrics.service; do
	same "$(key $u Type)/$(key $u Restart)" "simple/on-failure" "$u: Type=simple, Restart=on-failure"
	same "$(key $u NoNewPrivileges)/$(key $u ProtectSystem)" "yes/strict" "$u: NoNewPrivileges, ProtectSystem=strict"
done
same "$(key tagshake-proxy.service CapabilityBoundingSet)" "" "proxy: no capability at all"
same "$(key tagshaked.service CapabilityBoundingSet)" "CAP_NET_BIND_SERVICE CAP_BPF" \
	"tagshaked: port binding and the pinned maps only"
same "$(key tagshaked.service ExecReload)" '/bin/kill -HUP $MAINPID' "tagshaked: reload is SIGHUP"
same "$(key tagshaked.service ExecStartPre)" \
	"$dest/usr/bin/tagshake check --quiet $dest/etc/tagshake/tagshake.yaml" "tagshaked: configuration checked first"
tap_end
