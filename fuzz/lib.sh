# shellcheck shell=bash
# Functions shared by fuzz/run.sh (`make fuzz`) and tests/test_fuzz.sh.
# Source after tests/lib.sh, from the project root.
bin=build/fuzz
shared_corpus=${TS_CORPUS:-../shared/corpus/clienthello}

# Longest input each harness takes: beyond the bound it checks.
max_len() {
	case $1 in
	hello) echo 17000 ;;         # TS_HELLO_MAX and then some: too-big
	differential) echo 17409 ;;  # same, plus the control byte
	config) echo 8192 ;;
	handoff) echo 33000 ;;       # TS_HANDOFF_MAX and then some
	http) echo 40000 ;;          # two heads of TS_HTTP_HEAD_MAX
	esac
}

# Fills build/fuzz/corpus/<harness> with the seeds (idempotent).
seed() {
	local h=$1 dir=$bin/corpus/$1 f b c
	mkdir -p "$dir"
	case $h in
	hello)
		cp tests/data/hellos/*.bin "$dir/"
		[ -d "$shared_corpus" ] && cp "$shared_corpus"/*.bin "$dir/" 2>/dev/null
		;;
	differential)
		# the control byte: segment size (bits 0-2), swapped pairs (bit 3),
		# retransmitted segments (bit 4)
		for f in tests/data/hellos/*.bin; do
			b=$(basename "$f" .bin)
			for c in 00 01 0a 0d 11 1d; do
				{ printf "\x$c"; cat "$f"; } >"$dir/$b-$c"
			done
		done
		if [ -d "$shared_corpus" ]; then
			for f in "$shared_corpus"/*.bin; do
				{ printf '\x00'; cat "$f"; } >"$dir/shared-$(basename "$f")"
			done
		fi
		;;
	handoff) "$bin/handoff_seeds" "$dir" ;;
	config | http) cp fuzz/seeds/"$h"/* "$dir/" ;;
	esac
	return 0
}

# run_one HARNESS SECONDS: one TAP line.
run_one() {
	local h=$1 seconds=$2 log=$bin/logs/$1.log art=$bin/artifacts/$1 runs rc corpus
	mkdir -p "$bin/logs" "$art"
	rm -f "$art"/*
	seed "$h"
	"$bin/fuzz_$h" -max_total_time="$seconds" -max_len="$(max_len "$h")" -timeout=10 \
		-artifact_prefix="$art/" -print_final_stats=1 "$bin/corpus/$h" >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	corpus=$(ls "$bin/corpus/$h" | wc -l)
	if [ "$rc" -eq 0 ] && [ -z "$(ls "$art")" ]; then
		ok "fuzz_$h: ${runs:-?} executions in ${seconds} s, corpus $corpus inputs, no crash"
		return
	fi
	mkdir -p "fuzz/regressions/$h"
	cp "$art"/* "fuzz/regressions/$h/" 2>/dev/null
	not_ok "fuzz_$h: exit $rc after ${runs:-?} executions, input kept in fuzz/regressions/$h (log $log)"
	grep -m3 -E 'ERROR|invariant|runtime error' "$log" | sed 's/^/# /'
}

