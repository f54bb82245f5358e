#!/bin/bash
# The CI-like check of the host layout: runs the layout-sensitive suites
# (tests/layout.list, or the list file given as argument) again in a private
# mount namespace that looks like a fresh machine with the other cgroup layout:
#   - bpffs is not mounted at /sys/fs/bpf (a fresh boot has none), so the
#     suites must find that out and mount it (scripts/sysenv.sh) and the
#     product must cope;
#   - the cgroup v2 hierarchy is the only one, at /sys/fs/cgroup (Debian 12's
#     default) when this host is hybrid (v2 at /sys/fs/cgroup/unified), and
#     the hybrid layout when this host is pure v2, so every `make test` runs
#     the tagger suites on both layouts.
# Mount propagation is private: nothing done inside reaches the host (the
# host's bpffs and its pins stay as they are). The hierarchy is the same
# kernel object either way, so the suites' child cgroups and attachments are
# real; only where it is mounted changes.
# Why only a list of suites: the others do not touch cgroups or bpffs, and
# running everything twice would take `make test` past its 10-minute budget.
# Output: the runner's, ending in "N passed, N failed, N skipped in T s".
set -u
cd "$(dirname "$0")/.." || exit 1
fail_setup() {
	echo "not ok - fresh-check: $1"
	echo "0 passed, 1 failed, 0 skipped in 0 s"
	exit 1
}
# Inside the namespace (this script again, with --inside).
if [ "${1:-}" = --inside ]; then
	list=$2
	. scripts/sysenv.sh
	# bpffs: gone, stacked mounts included
	had_bpffs=no
	while ts_is_bpffs /sys/fs/bpf; do
		had_bpffs=yes
		umount /sys/fs/bpf || fail_setup "umount /sys/fs/bpf"
	done
	was=$(ts_cgroup2_root) || fail_setup "no cgroup v2 hierarchy on this host"
	if [ "$was" = /sys/fs/cgroup ]; then
		# pure v2 host: make it hybrid (tmpfs, v2 at unified)
		umount -R /sys/fs/cgroup && mount -t tmpfs -o mode=755 tmpfs /sys/fs/cgroup &&
			mkdir /sys/fs/cgroup/unified && mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified ||
			fail_setup "hybrid cgroup layout"
		want=/sys/fs/cgroup/unified
	else
		# hybrid host: only v2, at /sys/fs/cgroup
		umount -R /sys/fs/cgroup && mount -t cgroup2 cgroup2 /sys/fs/cgroup ||
			fail_setup "pure cgroup v2 layout"
		want=/sys/fs/cgroup
	fi
	now=$(ts_cgroup2_root)
	[ "$now" = "$want" ] || fail_setup "cgroup v2 root is $now, want $want"
	ts_is_bpffs /sys/fs/bpf && fail_setup "bpffs still mounted"
	echo "# fresh-check: the host has cgroup v2 at $was and bpffs mounted: $had_bpffs;" \
		"here cgroup v2 is at $now and /sys/fs/bpf is no bpffs"
	exec scripts/run-tests.sh --no-fresh --list "$list"
fi

list=${1:-tests/layout.list}
[ "$(id -u)" -eq 0 ] || fail_setup "needs root (a mount namespace)"
[ -f "$list" ] || fail_setup "no suite list $list"
exec unshare --mount --propagation private "$0" --inside "$list"
