# shellcheck shell=bash
# The start of the proxy's kernel-matrix suites (tests/proxy_vm_*.sh), run
# from the project root inside a VM: a temporary directory, the TAP, PKI
# and config helpers, every process in PIDS killed at exit, and wait_file.
# Sourced, not run.
set -u
T=$(mktemp -d)
PIDS=()
. tests/tap.sh
. scripts/pki.sh
. tests/config.sh
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; wait; rm -rf "$T"' EXIT
# wait_file PATH: up to 5 s for PATH to appear
wait_file() { for _ in $(seq 1 100); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
