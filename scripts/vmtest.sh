#!/bin/bash
# Boots a Debian kernel in qemu with a busybox initramfs, runs COMMAND inside
# it from the project root and exits with COMMAND's exit status.
#
#   scripts/vmtest.sh [--kernel NAME|FILE.deb] [--timeout S] [--module M]...
#                     FILE... -- COMMAND [ARG...]
#
# NAME is 6.1 (metapackage linux-image-cloud-amd64) or 6.12
# (linux-image-6.12-cloud-amd64); the real package behind the metapackage is
# downloaded with apt and unpacked once into $TAGSHAKE_CACHE/kernels
# (default /var/cache/tagshake). FILEs relative to the project root keep their
# relative path (build/tagshake stays build/tagshake); absolute FILEs keep
# their absolute path; directories are copied whole; ELF files bring the
# libraries ldd lists. The guest always has busybox, ip (iproute2), openssl,
# tls.ko and the crypto modules kTLS needs, veth, and proc, sysfs, devtmpfs,
# bpffs (/sys/fs/bpf), cgroup2 (/sys/fs/cgroup) and debugfs mounted.
#
# Exit status: COMMAND's, or 124 on timeout, or 125 when the VM itself failed
# (no kernel, qemu error, panic, COMMAND never reported back).
#
# Environment: TAGSHAKE_CACHE, TAGSHAKE_VM_MEM (default 512M),
# TAGSHAKE_VM_SMP (default 2), TAGSHAKE_VM_CONSOLE (keep the kernel console
# log in this file), TAGSHAKE_VM_MODULES (extra modules to load),
# TAGSHAKE_VM_TIMING=1 (print where the time went on stderr).
set -euo pipefail

readonly EXIT_TIMEOUT=124
readonly EXIT_VM=125
here=$(cd "$(dirname "$0")" && pwd)
project=$(cd "$here/.." && pwd)
cache=${TAGSHAKE_CACHE:-/var/cache/tagshake}
# Modules the guest loads at boot: kTLS, its AEADs (generic and x86 SIMD
# versions, which only udev would load otherwise) and veth for netns tests.
modules="tls gcm ccm chacha20poly1305 aesni_intel ghash_clmulni_intel
	chacha_x86_64 poly1305_x86_64 veth ${TAGSHAKE_VM_MODULES:-}"

die_vm() {
	echo "vmtest: $*" >&2
	exit $EXIT_VM
}

usage() {
	sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2
	exit $EXIT_VM
}

kernel=6.1
timeout=300
files=()
while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=${2:?}; shift 2 ;;
	--timeout) timeout=${2:?}; shift 2 ;;
	--module) modules="$modules ${2:?}"; shift 2 ;;
	-h | --help) usage ;;
	--) shift; break ;;
	*) files+=("$1"); shift ;;
	esac
done
[ $# -gt 0 ] || usage

# shellcheck source=scripts/vm/kernel.sh
source "$here/vm/kernel.sh"
# shellcheck source=scripts/vm/initramfs.sh
source "$here/vm/initramfs.sh"

tmp=$(mktemp -d /tmp/tagshake-vm.XXXXXX)
qemu_pid=
# shellcheck disable=SC2317 # called by the trap
cleanup() {
	[ -n "$qemu_pid" ] && kill "$qemu_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit $EXIT_VM' INT TERM

t0=$EPOCHREALTIME
kdir=$(ts_kernel_dir "$kernel") || die_vm "cannot get kernel $kernel"
tk=$EPOCHREALTIME
kver=$(ls "$kdir/lib/modules")
ts_initramfs "$tmp/root" "$tmp/initrd.cpio" "$kdir" "$kver" "$@" ||
	die_vm "cannot build the initramfs"
t1=$EPOCHREALTIME

accel="-accel tcg,thread=multi -cpu max"
if grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ]; then
	accel="-accel kvm -cpu host"
fi
mkfifo "$tmp/out"
cat "$tmp/out" &
cat_pid=$!
console=$tmp/console.log
: >"$console"
# shellcheck disable=SC2086 # $accel is a list of options
timeout -k 5 "$timeout" qemu-system-x86_64 $accel \
	-M pc -nodefaults -no-user-config -display none -no-reboot \
	-smp "${TAGSHAKE_VM_SMP:-2}" -m "${TAGSHAKE_VM_MEM:-512M}" -nic none \
	-kernel "$kdir/vmlinuz" -initrd "$tmp/initrd.cpio" \
	-append "console=ttyS0 quiet panic=-1 rdinit=/init" \
	-serial "file:$console" -chardev "file,id=out,path=$tmp/out" \
	-serial chardev:out </dev/null &
qemu_pid=$!
set +e
wait $qemu_pid
qrc=$?
set -e
qemu_pid=
# Opening a FIFO read-write never blocks: this releases cat if qemu failed
# before it opened its end.
exec 3<>"$tmp/out"
exec 3>&-
wait $cat_pid
[ -n "${TAGSHAKE_VM_CONSOLE:-}" ] && cp "$console" "$TAGSHAKE_VM_CONSOLE"
if [ -n "${TAGSHAKE_VM_TIMING:-}" ]; then
	# The guest's own clock says when COMMAND started and ended.
	awk -v t0="$t0" -v tk="$tk" -v t1="$t1" -v t2="$EPOCHREALTIME" -v sz="$(stat -c %s "$tmp/initrd.cpio")" \
		-v start="$(sed -n 's/^\[ *\([0-9.]*\)\] TAGSHAKE_VM_START.*/\1/p' "$console")" \
		-v end="$(sed -n 's/^\[ *\([0-9.]*\)\] TAGSHAKE_VM_EXIT.*/\1/p' "$console")" \
		'BEGIN { printf "vmtest: timing: kernel %.2f s, initramfs %.2f s (%.0f MB), qemu %.2f s: boot %.2f s, command %.2f s\n",
			tk - t0, t1 - tk, sz / 1048576, t2 - t1, start, end - start }' >&2
fi

if [ $qrc -eq 124 ] || [ $qrc -eq 137 ]; then
	echo "vmtest: timeout after $timeout s (kernel $kernel)" >&2
	tail -n 20 "$console" >&2
	exit $EXIT_TIMEOUT
fi
rc=$(sed -n 's/.*TAGSHAKE_VM_EXIT=\([0-9]*\).*/\1/p' "$console" | tail -n 1)
if [ -z "$rc" ]; then
	echo "vmtest: the VM stopped without a result (qemu status $qrc); console:" >&2
	tail -n 40 "$console" >&2
	exit $EXIT_VM
fi
exit "$rc"
