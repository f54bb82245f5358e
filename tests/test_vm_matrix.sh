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
# ("ok 7 - 6.12: tls1.3 aes-128-gcm: ..."; a skip inside stays a skip); a
# suite that exits non-zero without a failing line, prints no result, prints
# a plan that does not match its results, or never finishes counts as a
# failure, and so does a VM that fails to boot, times out or reports nothing.
# Before the VMs boot, the report is run on made-up broken VM output (an
# empty log, a short plan) and must fail: the negative controls.
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
. tests/tap.sh

tap() { # STATUS TEXT
	if [ "$1" = ok ]; then ok "$2"; else not_ok "$2"; fi
}

# Non-comment, non-blank lines of a list file.
list() {
	[ -f "$1" ] && sed -e 's/[[:space:]]*#.*//' -e '/^[[:space:]]*$/d' "$1"
	return 0
}

command -v qemu-system-x86_64 >/dev/null ||
	bail "kernel matrix: qemu-system-x86_64 missing (run scripts/deps.sh)"
[ -x "$conformance" ] || bail "kernel matrix: $conformance is not built (make)"

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
	local k=$1 line cmd="" pass=0 fail=0 plan="" rc secs results=0
	local re_result='^(not ok|ok)( [0-9]+)?( -)? ?(.*)$'
	read -r rc secs <"$out/$k.rc"
	while IFS= read -r line; do
		if [[ $line =~ ^"# vm-suite: "(.*)$ ]]; then
			cmd=${BASH_REMATCH[1]} pass=0 fail=0 plan=""
			echo "# $k: suite $cmd"
		elif [[ $line =~ ^"# vm-suite-end: rc="([0-9]+)" time="(.*)$ ]]; then
			local src=${BASH_REMATCH[1]}
			if [ "$src" -ne 0 ] && [ $fail -eq 0 ]; then
				tap "not ok" "$k: $cmd exited with status $src"
			elif [ $((pass + fail)) -eq 0 ]; then
				tap "not ok" "$k: $cmd printed no TAP result"
			elif [ "$plan" != $((pass + fail)) ]; then
				tap "not ok" "$k: $cmd planned ${plan:-no} results and reported $((pass + fail))"
			fi
			echo "# $k: suite $cmd: $pass passed, $fail failed in ${BASH_REMATCH[2]}"
			cmd=""
		elif [ -n "$cmd" ] && [[ $line =~ ^1\.\.([0-9]+) ]]; then
			plan=${BASH_REMATCH[1]}
			echo "# $k: $line"
		elif [[ $line =~ $re_result ]]; then
			results=$((results + 1))
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
	[ "$results" -gt 0 ] || tap "not ok" "$k: the VM reported no result"
	case $rc in
	0) ;;
	124) tap "not ok" "$k: VM timed out after $vm_timeout s" ;;
	125) tap "not ok" "$k: VM failed (boot, qemu or initramfs)" ;;
	*) [ "$(grep -c '^# vm-suite-end' "$out/$k.log")" -eq $((${#suites[@]} + 1)) ] ||
		tap "not ok" "$k: VM run ended with status $rc" ;;
	esac
	echo "# $k: VM boot+suites took $secs s"
}

# Negative controls: report on made-up VM output must fail. An empty log
# with status 0 (the case that used to end the matrix green with nothing
# run), then a suite whose plan promises more than it reported.
control() { # NAME LOG RC: the report's failures on that output
	printf '%b' "$2" >"$out/$1.log"
	: >"$out/$1.err"
	echo "$3 0" >"$out/$1.rc"
	(TAP_N=0 TAP_FAILED=0; report "$1" >/dev/null; echo "$TAP_FAILED")
}
check_eq "(control) a VM that reports nothing fails the matrix" "$(control ctl-empty '' 0)" 1
check_eq "(control) a suite whose plan does not match fails the matrix" \
	"$(suites=(x) control ctl-plan '# vm-suite: x\n1..2\nok 1 - a\n# vm-suite-end: rc=0 time=0s\n# vm-suite: y\n1..1\nok 1 - b\n# vm-suite-end: rc=0 time=0s\n' 0)" 1

if [ "${TAGSHAKE_VM_PARALLEL:-1}" = 1 ]; then
	smp=1
	for k in $kernels; do run_vm "$k" & done
	wait
else
	smp=2
	for k in $kernels; do run_vm "$k"; done
fi
for k in $kernels; do report "$k"; done
echo "# kernel matrix: $TAP_N results, $TAP_FAILED failed"
tap_end
