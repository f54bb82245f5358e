#!/bin/bash
# scripts/sysenv.sh finds the cgroup v2 root on both host layouts (hybrid:
# /sys/fs/cgroup/unified; pure v2, Debian 12's default: /sys/fs/cgroup) from
# mountinfo, refuses when there is none, and leaves /sys/fs/bpf a bpffs.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/tap.sh
. scripts/sysenv.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat >"$work/hybrid" <<'M'
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
M
cat >"$work/pure" <<'M'
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:8 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
33 25 0:30 / /sys/fs/bpf rw,nosuid,nodev,noexec,relatime shared:13 - bpf bpf rw,mode=700
M
# a container's view: its own cgroup is bind-mounted (root not "/") before
# the real hierarchy
cat >"$work/nested" <<'M'
50 40 0:24 /system.slice/x.service /run/cg rw,relatime - cgroup2 cgroup2 rw
51 40 0:24 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw
M
grep -v cgroup2 "$work/hybrid" >"$work/v1only"

check_eq "hybrid host: the v2 root is /sys/fs/cgroup/unified" "$(ts_cgroup2_root "$work/hybrid")" /sys/fs/cgroup/unified
check_eq "pure v2 host: the v2 root is /sys/fs/cgroup" "$(ts_cgroup2_root "$work/pure")" /sys/fs/cgroup
check_eq "a bind mount of a sub-cgroup is not the root" "$(ts_cgroup2_root "$work/nested")" /sys/fs/cgroup
check_fails "(control) no cgroup2 mount: no answer, non-zero" ts_cgroup2_root "$work/v1only"
check_eq "this host: the v2 root is a cgroup2 mount" "$(stat -f -c %T "$(ts_cgroup2_root)")" cgroup2fs
check_fails "(control) /tmp is no bpffs" ts_is_bpffs /tmp
check_eq "ts_bpffs: /sys/fs/bpf, a bpffs afterwards (mounted when absent)" \
	"$(ts_bpffs)/$(stat -f -c %T /sys/fs/bpf)" /sys/fs/bpf/bpf_fs
tap_end
