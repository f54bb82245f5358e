# shellcheck shell=bash
# The one writer of the suites' tagshake configuration (source it; needs $T).
# write_config PORT WORKERS [PIN_DIR] <BODY
#   writes $T/tagshake.yaml: one listener on 127.0.0.1:PORT with WORKERS
#   workers, then BODY (the suite's certificates, CA sets, routes, policies,
#   defaults, timeouts, limits... as YAML on stdin), then the hand-off socket
#   $T/handoff.sock and, when PIN_DIR is given, the tagger's pin directory.
# handoff.records comes from TS_HANDOFF_RECORDS (below): every suite runs
# either way from this one switch.
# The listener takes four lines (line 5 is the body's first), so errors about
# the body have stable line numbers.
# Suites keep their policies as data next to their checks:
#   write_config "$PORT" 1 "$PINS" <<YAML
#   policies:
#     - { sni: open.test, action: none, route: raw }
#   YAML
# Where the kernel has no kTLS, tagshaked hands a connection off in records
# mode (handoff.records: true; the proxy runs the TLS record layer) or in
# relay mode (false; tagshaked relays plaintext through a socketpair).
# TS_HANDOFF_RECORDS=1 or 0 in the environment writes that key; unset, the
# key is left out (a suite may add it) and the daemon's default applies:
# records, DEFAULT_HANDOFF_RECORDS in lib/config_schema.c (when that flips,
# flip the `:-1` of TS_NO_KTLS_MODE below with it).
TS_HANDOFF_RECORDS=${TS_HANDOFF_RECORDS:-}
# The mode's name in the proxy's connection log and counters (mode_*).
TS_NO_KTLS_MODE=$([ "${TS_HANDOFF_RECORDS:-1}" = 1 ] && echo records || echo relay)

write_config() {
	{
		printf 'listeners:\n  - address: 127.0.0.1\n    port: %s\n    workers: %s\n' "$1" "$2"
		cat
		printf 'handoff:\n  socket: %s\n' "$T/handoff.sock"
		case $TS_HANDOFF_RECORDS in
		1) printf '  records: true\n' ;;
		0) printf '  records: false\n' ;;
		esac
		[ -z "${3:-}" ] || printf 'bpf:\n  pin_dir: %s\n' "$3"
	} >"$T/tagshake.yaml"
}
