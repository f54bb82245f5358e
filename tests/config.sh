# shellcheck shell=bash
# The one writer of the suites' tagshake configuration (source it; needs $T).
# write_config PORT WORKERS [PIN_DIR] <BODY
#   writes $T/tagshake.yaml: one listener on 127.0.0.1:PORT with WORKERS
#   workers, then BODY (the suite's certificates, CA sets, routes, policies,
#   defaults, timeouts, limits... as YAML on stdin), then the hand-off socket
#   $T/handoff.sock and, when PIN_DIR is given, the tagger's pin directory.
# The listener takes four lines (line 5 is the body's first), so errors about
# the body have stable line numbers.
# Suites keep their policies as data next to their checks:
#   write_config "$PORT" 1 "$PINS" <<YAML
#   policies:
#     - { sni: open.test, action: none, route: raw }
#   YAML
write_config() {
	{
		printf 'listeners:\n  - address: 127.0.0.1\n    port: %s\n    workers: %s\n' "$1" "$2"
		cat
		printf 'handoff:\n  socket: %s\n' "$T/handoff.sock"
		[ -z "${3:-}" ] || printf 'bpf:\n  pin_dir: %s\n' "$3"
	} >"$T/tagshake.yaml"
}
