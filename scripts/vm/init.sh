#!/bin/busybox sh
# shellcheck shell=dash disable=SC1091
# PID 1 inside a tagshake test VM (see scripts/vmtest.sh). Mounts what the
# project's suites need, loads the kTLS crypto modules, runs the command from
# the project root with its output on ttyS1 (the host's stdout) and reports
# its exit status on the kernel console, which the host parses.
/bin/busybox --install -s
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=dumb LANG=C.UTF-8 TMPDIR=/tmp
. /etc/tagshake-vm.conf

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm /run /tmp /root
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
mount -t bpf bpf /sys/fs/bpf
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t debugfs debugfs /sys/kernel/debug
ln -sf /proc/self/fd /dev/fd
hostname tagshake-vm
ip link set lo up

# Nothing loads these without udev: without the crypto modules TLS_TX/TLS_RX
# fail with ENOENT and OpenSSL silently stays in userspace.
for m in $TS_VM_MODULES; do
	modprobe "$m" || echo "<3>tagshake-vm: modprobe $m failed" >/dev/kmsg
done

# Raw mode: the host gets the command's bytes unchanged (no CR added).
stty -F /dev/ttyS1 raw -echo
echo "<2>TAGSHAKE_VM_START" >/dev/kmsg
cd "$TS_VM_ROOT" || echo "<3>tagshake-vm: no $TS_VM_ROOT" >/dev/kmsg
# bash: the file holds the arguments quoted by bash's printf %q.
/bin/bash /etc/tagshake-vm.cmd </dev/null >/dev/ttyS1 2>&1
rc=$?
# stty sets the mode with TCSADRAIN: returns once ttyS1 has sent everything.
stty -F /dev/ttyS1 raw -echo
echo "<2>TAGSHAKE_VM_EXIT=$rc" >/dev/kmsg
poweroff -f
