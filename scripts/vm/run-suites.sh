#!/bin/sh
# Runs inside a kernel matrix VM (tests/test_vm_matrix.sh): each argument is
# a shell command, run from the project root; its output passes through
# between "# vm-suite: CMD" and "# vm-suite-end: rc=N" markers that the host
# turns into TAP results per kernel.
export CMOCKA_MESSAGE_OUTPUT=TAP
for cmd in "$@"; do
	echo "# vm-suite: $cmd"
	start=$(date +%s)
	sh -c "$cmd" 2>&1
	rc=$?
	echo "# vm-suite-end: rc=$rc time=$(($(date +%s) - start))s"
done
