#!/bin/bash
# The headline ratios of one `make bench` run as a markdown table (stdout)
# and its comparisons as PNG plots drawn by gnuplot (gnuplot-nox):
#   bench/summary.sh TAGGER.md HANDSHAKER.md PROXY.md OUTDIR
# reads the tables that bench/run.sh, tests/handshaker_bench.sh and
# bench/proxy_bench.sh print, writes OUTDIR/{handshake_rate,throughput,
# tagger_connrate}.png. A benchmark that printed no table gives no rows.
set -eu
tagger=$1 hs=$2 proxy=$3 outdir=$4
dat=$(mktemp -d)
trap 'rm -rf "$dat"' EXIT

# cell FILE ROW-REGEX COLUMN: a table cell (columns counted from 1 after
# the leading '|') of the first row whose first cell matches
cell() {
	awk -F'|' -v re="$2" -v c="$3" '
		/^\|/ { k = $2; gsub(/^ +| +$/, "", k)
			if (k ~ re) { v = $(c + 1); gsub(/^ +| +$/, "", v); print v; exit } }' "$1"
}
num() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" <<<"$2"; } # num KEY "k=v k=v"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }

echo "## Summary"
echo
echo "Each row puts tagshake next to its peer measured in the same run on the same machine; the ratio is tagshake / peer. Full tables: the tagger below, the handshaker in [handshaker_results.md](handshaker_results.md), the proxy in [proxy_results.md](proxy_results.md)."
echo
echo "| comparison | tagshake | peer | ratio | better |"
echo "|---|---:|---:|---:|---|"
# issue17_targets ROWS: issue 17's rows against their targets, read from
# the summary rows above (the ratio column), in the default data path of a
# kernel without kTLS (records mode; relay mode's rows stay in the summary);
# bench/limits.md says what limits each row that is not met, with the
# measurement that shows it
issue17_targets() {
	local t
	echo "### Issue 17: each row against its target"
	echo
	echo "In the default data path of a kernel without kTLS (records mode); the summary above has relay mode's rows too."
	echo
	echo "| row | target | ratio in this run | met |"
	echo "|---|---|---:|---|"
	while IFS='|' read -r re op goal; do
		awk -F'|' -v re="$re" -v op="$op" -v goal="$goal" '
			$2 ~ re { r = $5; gsub(/ /, "", r); row = $2; gsub(/^ +| +$/, "", row)
				met = (r == "-") ? "-" : (op == ">=" ? r + 0 >= goal + 0 : r + 0 <= goal + 0) ? "yes" : "no"
				printf "| %s | %s %s | %s | %s |\n", row, op == ">=" ? "≥" : "≤", goal, r, met }' "$1"
	done <<'TARGETS'
^ tagger: conn \+ hello rate, [0-9]+ B hello in 1 segment|>=|0.97
^ tagger: conn \+ hello rate, [0-9]+ B hello in 4 segment|>=|0.93
^ handshaker: full: none, ECDSA P-256, records mode .*peer: nginx|<=|0.90
^ handshaker: full: none, RSA-2048, records mode .*peer: nginx|<=|0.90
^ handshaker: reject on the tag|<=|0.05
^ proxy: handshake done → first upstream byte, median, records mode \(|<=|1.0
^ proxy: upload throughput, records mode|>=|1.0
^ proxy: upload, records mode, server CPU|<=|1.0
^ proxy: download throughput, records mode|>=|1.0
^ proxy: download, records mode, server CPU|<=|1.0
^ proxy: connections held|>=|1.0
TARGETS
	echo
	echo "What limits each row that is not met, and the measurement that shows it: [limits.md](limits.md)."
	echo
}

summary_rows() {

# Tagger: connection + hello rate and CPU per connection, attached vs
# detached, one row per (MTU, hello) of the rate table
awk -F'|' '/^\| [0-9]+ \| [0-9]+ \|/ {
	for (i = 2; i <= NF; i++) gsub(/^ +| +$/, "", $i)
	printf "%s %s %s %s %s %s %s %s %s\n", $2, $3, $5, $6, $8, $9, $4, $7, $10 }' "$tagger" >"$dat/tagger"
# the ratios are the table's: medians of each round's ratio
while read -r mtu bytes det att cdet catt segs rr cr; do
	echo "| tagger: conn + hello rate, $bytes B hello in $segs segment(s), MTU $mtu (conn/s, median; peer: no program) | $att | $det | $rr | higher (target > 0.97) |"
	echo "| tagger: CPU per connection, same (µs, median; peer: no program) | $catt | $cdet | $cr | lower |"
done <"$dat/tagger"
awk -F'|' '$2 ~ /^ BPF parse $/ && $5 ~ /1 \(whole\)/ {
	for (i = 2; i <= NF; i++) gsub(/^ +| +$/, "", $i)
	print $3, $4, $6 }' "$tagger" | while read -r hello bytes ns; do
	us=$(awk -F'|' -v h="$hello" '$2 ~ /userspace build/ && $3 ~ " " h " " { gsub(/ /, "", $6); print $6 }' "$tagger")
	echo "| tagger: parse + decision of a $bytes B hello (ns; peer: the same parser in userspace) | $ns | $us | $(ratio "$ns" "$us") | lower (target < 1000 ns) |"
done

# Handshaker: the full rows run in both hand-off modes of a kernel without
# kTLS ("records mode: " and "relay mode: " prefixes; tagshake's CPU counts
# tagshaked and the hand-off sink) and on nginx and HAProxy ("nginx: ",
# "haproxy: "); the resumed row runs on the relay-mode tagshaked. Label,
# then a regex for the row name without its prefix.
hs_rows=(
	"full: none, ECDSA P-256|none, ECDSA P-256( \\(median of [0-9]+\\))?$"
	"full: none, RSA-2048|none, RSA-2048( \\(median of [0-9]+\\))?$"
	"full: require + client cert|require \\+ client cert, ECDSA( \\(median of [0-9]+\\))?$"
	"resumed: require (cache)|require, resumed \\(session cache(, the default)?\\)$"
)
: >"$dat/rate"
for r in "${hs_rows[@]}"; do
	label=${r%%|*} re=${r#*|}
	ng_rate=$(cell "$hs" "^nginx: $re" 3) ng_cpu=$(cell "$hs" "^nginx: $re" 4)
	ha_rate=$(cell "$hs" "^haproxy: $re" 3) ha_cpu=$(cell "$hs" "^haproxy: $re" 4)
	for mode in "records mode" "relay mode" ""; do
		ts_rate=$(cell "$hs" "^${mode:+$mode: }$re" 3) ts_cpu=$(cell "$hs" "^${mode:+$mode: }$re" 4)
		[ -n "$ts_rate" ] || continue
		m=${mode:-relay mode}
		[ "$m" = "records mode" ] || [ -z "$mode" ] &&
			echo "\"$label\" $ts_rate ${ng_rate:-0} ${ha_rate:-0} $ts_cpu ${ng_cpu:-0} ${ha_cpu:-0}" >>"$dat/rate"
		[ -n "$ng_cpu" ] && echo "| handshaker: $label, $m (server CPU ms per connection; peer: nginx) | $ts_cpu | $ng_cpu | $(ratio "$ts_cpu" "$ng_cpu") | lower |"
		[ -n "$ha_cpu" ] && echo "| handshaker: $label, $m (server CPU ms per connection; peer: HAProxy) | $ts_cpu | $ha_cpu | $(ratio "$ts_cpu" "$ha_cpu") | lower |"
	done
done
rej=$(cell "$hs" "^reject, tagger loaded \(closed on the tag\)" 4)
full=$(cell "$hs" "^none, ECDSA P-256, tagger loaded$" 4)
[ -n "$rej" ] && [ -n "$full" ] &&
	echo "| handshaker: reject on the tag vs a full \`none\` handshake, tagger loaded, relay mode (server CPU ms per connection) | $rej | $full | $(ratio "$rej" "$full") | lower (target 0.05) |"

# Proxy: throughput and latency, tagshake vs nginx (medians of interleaved
# rounds), with where the time goes: wake-ups and syscalls per MB or per
# connection; then connections held per process at the fd limit
: >"$dat/tput"
first() { echo "${1%% *}"; } # "0.95 (0.57 + 0.38)" -> 0.95
calls() { echo "${1%% (*}"; } # "152 (splice 61, ...)" -> 152
for mode in records relay; do
	for d in "upload:^relay upload .*, $mode mode$:MB/s:higher:MB" \
		"download:^relay download .*, $mode mode$:MB/s:higher:MB" \
		"handshake done → first upstream byte, median:^handshake done.*, $mode mode$:µs:lower:connection"; do
		IFS=: read -r name re unit better per <<<"$d"
		t=$(cell "$proxy" "$re" 2) p=$(cell "$proxy" "$re" 3)
		[ -n "$t" ] || continue
		wake=$(cell "$proxy" "$re" 8) st=$(calls "$(cell "$proxy" "$re" 9)") sn=$(calls "$(cell "$proxy" "$re" 10)")
		why="wake-ups per $per $wake, syscalls per $per $st / $sn"
		case $name in upload | download) label="$name throughput" ;; *) label=$name ;; esac
		echo "| proxy: $label, $mode mode ($unit; peer: nginx stream ssl; $why) | $t | $p | $(ratio "$t" "$p") | $better |"
		tc=$(first "$(cell "$proxy" "$re" 5)") nc=$(cell "$proxy" "$re" 6)
		echo "| proxy: $name, $mode mode, server CPU s (tagshaked + proxy; peer: nginx) | $tc | $nc | $(ratio "$tc" "$nc") | lower |"
		[ "$mode" = records ] && case $name in upload | download) echo "$name $t $p" >>"$dat/tput" ;; esac
	done
done
th=$(cell "$proxy" "^tagshake-proxy \(" 4) nh=$(cell "$proxy" "^nginx stream worker" 4)
[ -n "$th" ] && [ -n "$nh" ] &&
	echo "| proxy: connections held per process at the 20,000 fd limit ($(cell "$proxy" "^tagshake-proxy \(" 2) vs $(cell "$proxy" "^nginx stream worker" 2) fds, $(cell "$proxy" "^tagshake-proxy \(" 3) vs $(cell "$proxy" "^nginx stream worker" 3) B RSS per held connection; peer: nginx stream) | $th | $nh | $(ratio "$th" "$nh") | higher |"
}
summary_rows | tee "$dat/rows"
echo
issue17_targets "$dat/rows"
echo

# Plots: clustered bars, one PNG per comparison
plot() { # plot FILE TITLE YLABEL DATA USING...
	local file=$1 title=$2 ylabel=$3 data=$4
	shift 4
	gnuplot <<GP
set terminal pngcairo size 1100,560 font "DejaVu Sans,11"
set output "$file"
set title "$title" font ",14"
set ylabel "$ylabel"
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top right
set grid ytics
set yrange [0:*]
set offsets 0, 0, graph 0.15, 0
set xrange [-0.6:*]
set xtics nomirror font ",10"
plot $(printf '%s' "$*" | sed "s|DATA|'$data'|g")
GP
}
# the handshaker's breakdown of its full rows, when the run made one
if grep -q '^Where the time goes per connection' "$hs"; then
	echo
	echo "Handshaker, full handshakes: where the time goes (from [handshaker_results.md](handshaker_results.md))."
	sed -n '/^| server | row | system calls/,/^$/p' "$hs"
	echo
fi
if [ -s "$dat/rate" ]; then
	plot "$outdir/handshake_rate.png" "Handshakes per second, one server core (higher is better)" "connections / s" "$dat/rate" \
		"DATA using 2:xtic(1) title 'tagshaked' lc rgb '#1f77b4', DATA using 3 title 'nginx' lc rgb '#2ca02c', DATA using 4 title 'HAProxy' lc rgb '#ff7f0e'"
	plot "$outdir/handshake_cpu.png" "Server CPU per connection, one server core (lower is better)" "ms per connection" "$dat/rate" \
		"DATA using 5:xtic(1) title 'tagshaked' lc rgb '#1f77b4', DATA using 6 title 'nginx' lc rgb '#2ca02c', DATA using 7 title 'HAProxy' lc rgb '#ff7f0e'"
	echo "![handshake rate](handshake_rate.png) ![server CPU per handshake](handshake_cpu.png)"
fi
if [ "$(wc -l <"$dat/tput")" = 2 ]; then
	plot "$outdir/throughput.png" "Plaintext throughput through the TLS edge (higher is better)" "MB/s" "$dat/tput" \
		"DATA using 2:xtic(1) title 'tagshaked + tagshake-proxy' lc rgb '#1f77b4', DATA using 3 title 'nginx stream ssl' lc rgb '#2ca02c'"
	echo "![throughput](throughput.png)"
fi
if [ -s "$dat/tagger" ]; then
	awk '{ printf "\"MTU %s, %s B\" %s %s\n", $1, $2, $3, $4 }' "$dat/tagger" >"$dat/tagger2"
	plot "$outdir/tagger_connrate.png" "Connection + ClientHello rate, tagger detached vs attached (higher is better)" "connections / s" "$dat/tagger2" \
		"DATA using 2:xtic(1) title 'no program' lc rgb '#2ca02c', DATA using 3 title 'tagger attached' lc rgb '#1f77b4'"
	echo "![tagger connection rate](tagger_connrate.png)"
fi
