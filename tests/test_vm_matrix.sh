#!/bin/bash
# Kernel matrix: for each of Debian's 6.1 and 6.12 cloud kernels, one VM boot
# (scripts/vmtest.sh) runs build/tests/ktls_conformance and then every
# command in tests/vm-suites.list, from the project root inside the VM.
#
# How other components add suites:
#   tests/vm-suites.list  one shell command per line ('#' comments); it must
#                         print TAP and exit 0 when everything passed.
#   tests/vm-files.list   the files those commands need, one path per line,
#                         relative to the project root or absolute.
# Each result comes out as one TAP line prefixed with the kernel name
# ("ok 7 - 6.12: tls1.3 aes-128-gcm: ..."); a suite that exits non-zero
# without a failing line, prints no result, or never finishes counts as a
# failure, and so does a VM that fails to boot or times out.
#
# Both VMs run at the same time, one vCPU each (TCG: one host core each);
# one at a time they get two vCPUs.
# Environment: TAGSHAKE_VM_KERNELS (default "6.1 6.12"), TAGSHAKE_VM_TIMEOUT
# (seconds per VM, default 240: a hung VM still ends the matrix within about
# 4 minutes), TAGSHAKE_VM_PARALLEL=0 to run one at a time.
set -u
cd "$(dirname "$0")/.." || exit 1
kernels=${TAGSHAKE_VM_KERNELS:-6.1 6.12}
vm_timeout=${TAGSHAKE_VM_TIMEOUT:-240}
conformance=build/tests/ktls_conformance
n=0
failed=0

tap() { # STATUS TEXT
	n=$((n + 1))
	echo "$1 $n - $2"
	[ "$1" = ok ] || failed=$((failed + 1))
}

# Non-comment, non-blank lines of a list file.
list() {
	[ -f "$1" ] && sed -e 's/[[:space:]]*#.*//' -e '/^[[:space:]]*$/d' "$1"
	return 0
}

if ! command -v qemu-system-x86_64 >/dev/null; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "# SKIP kernel matrix: qemu-system-x86 is not installed and scripts/deps.sh needs root"
		exit 0
	fi
	tap "not ok" "kernel matrix: qemu-system-x86_64 missing (run scripts/deps.sh)"
	exit 1
fi
if [ ! -x "$conformance" ]; then
	tap "not ok" "kernel matrix: $conformance is not built (make)"
	exit 1
fi

mapfile -t suites < <(list tests/vm-suites.list)
mapfile -t files < <(list tests/vm-files.list)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

run_vm() { # KERNEL
	local start=$SECONDS rc
	TAGSHAKE_VM_SMP=$smp scripts/vmtest.sh --kernel "$1" --timeout "$vm_timeout" \
		"$conformance" scripts/vm/run-suites.sh "${files[@]}" -- \
		scripts/vm/run-suites.sh "$conformance" "${suites[@]}" >"$out/$1.log" 2>"$out/$1.err"
	rc=$?
	echo "$rc $((SECONDS - start))" >"$out/$1.rc"
}

# Turns one VM's output into TAP lines prefixed with the kernel name.
report() { # KERNEL
	local k=$1 line cmd="" pass=0 fail=0 rc secs
	local re_result='^(not ok|ok)( [0-9]+)?( -)? ?(.*)$'
	read -r rc secs <"$out/$k.rc"
	while IFS= read -r line; do
		if [[ $line =~ ^"# vm-suite: "(.*)$ ]]; then
			cmd=${BASH_REMATCH[1]} pass=0 fail=0
			echo "# $k: suite $cmd"
		elif [[ $line =~ ^"# vm-suite-end: rc="([0-9]+)" time="(.*)$ ]]; then
			local src=${BASH_REMATCH[1]}
			if [ "$src" -ne 0 ] && [ $fail -eq 0 ]; then
				tap "not ok" "$k: $cmd exited with status $src"
			elif [ $((pass + fail)) -eq 0 ]; then
				tap "not ok" "$k: $cmd printed no TAP result"
			fi
			echo "# $k: suite $cmd: $pass passed, $fail failed in ${BASH_REMATCH[2]}"
			cmd=""
		elif [[ $line =~ $re_result ]]; then
			if [ "${BASH_REMATCH[1]}" = ok ]; then
				pass=$((pass + 1))
				tap ok "$k: ${BASH_REMATCH[4]}"
			else
				fail=$((fail + 1))
				tap "not ok" "$k: ${BASH_REMATCH[4]}"
			fi
		else
			echo "# $k: $line"
		fi
	done <"$out/$k.log"
	sed "s/^/# $k: /" "$out/$k.err"
	[ -n "$cmd" ] && tap "not ok" "$k: $cmd did not finish"
	case $rc in
	0) ;;
	124) tap "not ok" "$k: VM timed out after $vm_timeout s" ;;
	125) tap "not ok" "$k: VM failed (boot, qemu or initramfs)" ;;
	*) [ "$(grep -c '^# vm-suite-end' "$out/$k.log")" -eq $((${#suites[@]} + 1)) ] ||
		tap "not ok" "$k: VM run ended with status $rc" ;;
	esac
	echo "# $k: VM boot+suites took $secs s"
}

if [ "${TAGSHAKE_VM_PARALLEL:-1}" = 1 ]; then
	smp=1
	for k in $kernels; do run_vm "$k" & done
	wait
else
	smp=2
	for k in $kernels; do run_vm "$k"; done
fi
for k in $kernels; do report "$k"; done
echo "# kernel matrix: $n results, $failed failed"
[ $failed -eq 0 ]
