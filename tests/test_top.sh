#!/bin/bash
# `tagshake top` under tmux against the demo stack (scripts/run.sh): it
# renders every section, updates totals and rates after traffic, redraws on
# resize and exits cleanly on q (status 0, terminal restored).
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh
need_tagger_env "the top suite"

work=$(mktemp -d)
state=$work/state
pins=/sys/fs/bpf/tagshake-top-$$
sock=$work/tmux.sock
port=$(free_port)
RUNPID=
T() { tmux -S "$sock" "$@"; }
cleanup() {
	T kill-server 2>/dev/null
	stop_demo "$pins"
	rm -rf "$work"
}
trap cleanup EXIT

start_demo "$state" "$port" "$pins" "$work/run.out"
check "the demo stack runs" grep -q 'running on' "$work/run.out"
run=$state/run

# top runs in a tmux pane; when it exits the pane's shell writes its status
T new-session -d -x 100 -y 60 -s top "build/tagshake top --pin-dir $pins \
	--handshaker-status $run/tagshaked.status --proxy-status $run/proxy.status \
	--log $run/tagshaked.log; \
	echo \"top exited \$?\" > $work/exit; sleep 30"
screen() { T capture-pane -p -t top; }
# row LABEL: the numbers after a row's label on the current screen
row() { screen | awk -v l="$1" 'index($0, "  " l " ") == 1 { $0 = substr($0, length(l) + 3); print $1, $2, $3, $4 }'; }
# until SECONDS COMMAND...: poll the screen
until_ok() {
	local n=$(($1 * 10))
	shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.1; done
	return 1
}

check "renders: the title with the mode" until_ok 5 bash -c "tmux -S $sock capture-pane -p -t top | grep -q '^tagshake top .* mode records '"
for s in "POLICY ACTION" "SNI (since top started)" HANDSHAKER TAGGER PROXY; do
	check "renders: section $s" grep -q "^$s " <<<"$(screen)"
done
check_eq "before traffic: require decided 0, tagged 0" "$(row require)" "0 0.0 0 0.0"

C="curl -sS -o /dev/null --cacert $state/pki/server-ca.crt"
for _ in 1 2 3 4; do
	$C --resolve "require.demo.test:$port:127.0.0.1" --cert "$state/pki/client.crt" \
		--key "$state/pki/client.key" "https://require.demo.test:$port/"
done
$C --resolve "reject.demo.test:$port:127.0.0.1" "https://reject.demo.test:$port/" 2>/dev/null

check "updates: require decided 4 and tagged 4" until_ok 5 bash -c \
	"[ \"\$(tmux -S $sock capture-pane -p -t top | awk 'index(\$0, \"  require \") == 1 { print \$2, \$4 }')\" = '4 4' ]"
check_eq "updates: 4 CertificateRequests" "$(row 'CertificateRequests sent' | cut -d' ' -f1)" 4
check_eq "updates: 1 reject on the tag" "$(row 'rejects on the tag' | cut -d' ' -f1)" 1
check_eq "updates: 0 tag disagreements" "$(row 'tag disagree' | cut -d' ' -f1)" 0
check_eq "updates: the proxy received 4 hand-offs" "$(row 'hand-offs received' | cut -d' ' -f1)" 4
# per SNI, from the connection log: conns, rate, ok, failed, rejected
check_eq "per SNI: require.demo.test 4 connections, 4 ok" "$(row require.demo.test | cut -d' ' -f1,3,4)" "4 4 0"
check_eq "per SNI: reject.demo.test 1 connection, not ok, not failed" "$(row reject.demo.test | cut -d' ' -f1,3,4)" "1 0 0"
check_eq "per SNI: ... 1 rejected" "$(screen | awk 'index($0, "  reject.demo.test ") == 1 { print $NF }')" 1
# a rate is shown for the interval the traffic fell in, then goes back to 0
check "rates: require falls back to 0.0/s once traffic stops" until_ok 5 bash -c \
	"[ \"\$(tmux -S $sock capture-pane -p -t top | awk 'index(\$0, \"  require \") == 1 { print \$2, \$3 }')\" = '4 0.0' ]"

# steady none traffic for about 3 s: its rate shows above zero meanwhile
( end=$((SECONDS + 3)); while [ $SECONDS -lt $end ]; do
	$C --resolve "none.demo.test:$port:127.0.0.1" "https://none.demo.test:$port/"; done ) &
check "rates: none shows a rate above 0/s under steady traffic" until_ok 5 bash -c \
	"tmux -S $sock capture-pane -p -t top | awk 'index(\$0, \"  none \") == 1 { exit !(\$3 > 0) }'"
wait $!
check "per SNI: none.demo.test is the busiest, listed first" bash -c \
	"tmux -S $sock capture-pane -p -t top | grep -A1 '^SNI (since top started)' | tail -1 | grep -q '^  none.demo.test '"

T resize-window -t top -x 50 -y 12
check "resize: redrawn within the new size" until_ok 5 bash -c \
	"tmux -S $sock capture-pane -p -t top | grep -q '^\\.\\.\\. (enlarge the window for more)'"
check_eq "resize: no line wider than 50 columns" "$(screen | awk 'length($0) > 50' | wc -l)" 0
T resize-window -t top -x 100 -y 60
check "resize back: every section again" until_ok 5 bash -c "tmux -S $sock capture-pane -p -t top | grep -q '^PROXY '"

T send-keys -t top q
check "q: top exits" until_ok 5 test -s "$work/exit"
check_eq "q: exit status 0" "$(cat "$work/exit")" "top exited 0"
check "q: the terminal is restored (no top screen left)" bash -c "! tmux -S $sock capture-pane -p -t top | grep -q '^tagshake top '"
tap_end
