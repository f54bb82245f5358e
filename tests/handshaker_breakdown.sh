# shellcheck shell=bash
# Where a server's time goes per connection, for tests/handshaker_bench.sh:
# system calls (strace -c over every thread), context switches (/proc), a
# perf sample split by object (the kernel included) and callgrind
# instructions per connection split by object (an instruction count is
# repeatable on a loaded machine where CPU time is not; this machine has no
# hardware counters, so `perf stat -e instructions` is not supported).
# Sourced, not run. Needs $T, $ROOT and the bench's load() and LOAD.

# nginx_conf FILE PORT [SERVER BLOCKS]: nginx, the peer of the handshaker
# rows: one worker, TLS 1.3, the same ECDSA and RSA certificates, session
# cache and no tickets, and `open.test` answering on PORT; the blocks are
# added inside http {}. Makes $T/nginx/logs.
nginx_conf() {
	local NPORT=$2
	mkdir -p "$T/nginx/logs"
	cat >"$1" <<NGINX
daemon off;
master_process off;
worker_processes 1;
error_log $T/nginx/error.log;
pid $T/nginx/nginx.pid;
events { worker_connections 4096; }
http {
	access_log off;
	ssl_protocols TLSv1.3;
	ssl_certificate $T/edge-ec.crt;
	ssl_certificate_key $T/edge-ec.key;
	ssl_certificate $T/edge-rsa.crt;
	ssl_certificate_key $T/edge-rsa.key;
	ssl_session_cache shared:SSL:10m;
	ssl_session_tickets off;
	server { listen 127.0.0.1:$NPORT ssl; server_name open.test; return 200 "ok\n"; }
$3
}
NGINX
}

# ctxsw PID: voluntary + involuntary context switches of all its threads
ctxsw() {
	cat /proc/"$1"/task/*/status 2>/dev/null |
		awk '/ctxt_switches/ { s += $2 } END { print s + 0 }'
}

conns_of() { # conns_of "handshakes=N ...": completed connections
	sed 's/.*handshakes=\([0-9]*\).*/\1/' <<<"$1"
}

# bd_syscalls PID load-args...: "N (top calls per connection)" under strace
bd_syscalls() {
	local pid=$1 out n st
	shift
	command -v strace >/dev/null || { echo "-"; return; }
	strace -c -f -q -o "$T/strace.out" -p "$pid" &
	st=$!
	sleep 0.5
	out=$(load "$@")
	kill -INT "$st"
	wait "$st" 2>/dev/null
	n=$(conns_of "$out")
	[ "${n:-0}" -gt 0 ] || { echo "-"; return; }
	awk -v n="$n" '
		$NF == "total" { t = $4 }
		$1 ~ /^[0-9.]+$/ && NF >= 5 && $NF != "total" { c[$NF] = $4 }
		END {
			printf "%.1f (", t / n
			k = 0
			for (s in c) order[k++] = s
			for (i = 0; i < k; i++) for (j = i + 1; j < k; j++)
				if (c[order[j]] > c[order[i]]) { x = order[i]; order[i] = order[j]; order[j] = x }
			for (i = 0; i < k && i < 7; i++)
				printf "%s%s %.1f", i ? ", " : "", order[i], c[order[i]] / n
			printf ")"
		}' "$T/strace.out"
}

# bd_perf PID SECONDS load-args...: share of CPU samples per object
bd_perf() {
	local pid=$1 secs=$2 pf
	shift 2
	command -v perf >/dev/null || { echo "-"; return; }
	perf record -q -e cpu-clock -F 2000 -p "$pid" -o "$T/perf.data" -- sleep "$secs" \
		>/dev/null 2>&1 &
	pf=$!
	load "$@" >/dev/null
	wait "$pf"
	perf report -i "$T/perf.data" --sort dso --stdio 2>/dev/null |
		awk '/^# Samples: / { n = $3 }
			$1 ~ /%$/ && k < 6 { d = $2; sub(/.*\//, "", d); sub(/\.so.*/, "", d)
			printf "%s%s %s", k++ ? ", " : "", d, $1 }
			END { printf " (%s samples)", n }'
}

# bd_callgrind PORT LOAD-PORT-ARGS -- server command...: instructions per
# connection (thousands) and their split by object, from a second instance
# of the server under callgrind, counted from after its start-up
bd_callgrind() {
	local port=$1 sni=$2 secs=$3 extra=$4 pid out n f
	shift 5
	command -v valgrind >/dev/null || { echo "-"; return; }
	rm -f "$T"/cg.out*
	taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$T/cg.out" "$@" \
		>/dev/null 2>"$T/cg.err" &
	pid=$!
	for _ in $(seq 600); do
		ss -ltn | grep -q "127.0.0.1:$port " && break
		sleep 0.1
	done
	# a warm-up first: valgrind translates OpenSSL's code on the first
	# handshakes, which may then outlast the handshake timeout
	# shellcheck disable=SC2086
	taskset -c 1 "$ROOT/build/tests/handshaker_load" 127.0.0.1 "$port" "$sni" 2 $extra >/dev/null
	callgrind_control -z "$pid" >/dev/null 2>&1
	# shellcheck disable=SC2086
	out=$(taskset -c 1 "$ROOT/build/tests/handshaker_load" 127.0.0.1 "$port" "$sni" "$secs" $extra)
	callgrind_control -d "$pid" >/dev/null 2>&1
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	n=$(conns_of "$out")
	f=$(ls "$T"/cg.out.*1 2>/dev/null | head -1)
	[ -n "$f" ] && [ "${n:-0}" -gt 0 ] || { echo "-"; return; }
	callgrind_annotate --inclusive=no --threshold=100 "$f" 2>/dev/null | awk -v n="$n" '
		/PROGRAM TOTALS/ { t = $1; gsub(/,/, "", t); total = t + 0 }
		# entries that also count what they call (clone, start_thread,
		# main, an event loop) come near the total: left out
		/\[.*\]$/ { v = $1; gsub(/,/, "", v); v += 0; if (v >= total * 0.9) next; o = $NF; gsub(/[][]/, "", o)
			sub(/.*\//, "", o); sub(/\.so.*/, "", o); obj[o] += v }
		END {
			if (!total) { print "-"; exit }
			printf "%.0f k (", total / n / 1000
			k = 0
			for (s in obj) order[k++] = s
			for (i = 0; i < k; i++) for (j = i + 1; j < k; j++)
				if (obj[order[j]] > obj[order[i]]) { x = order[i]; order[i] = order[j]; order[j] = x }
			for (i = 0; i < k && i < 5; i++)
				printf "%s%s %.0f%%", i ? ", " : "", order[i], 100 * obj[order[i]] / total
			printf "; %d conns)", n
		}'
	bd_crypto_split "$f" "$n"
}

# bd_crypto_split CALLGRIND-FILE CONNS: the OpenSSL operations every TLS 1.3
# handshake makes, in instructions per connection (inclusive): the same
# library doing the same operations costs the same in any server, which is
# the floor that no process layout goes below
bd_crypto_split() {
	callgrind_annotate --inclusive=yes --threshold=100 "$1" 2>/dev/null | awk -v n="$2" '
		function add(name, v) { if (!(name in got)) { got[name] = v; order[k++] = name } }
		{ v = $1; gsub(/,/, "", v) }
		/:EVP_PKEY_generate / { add("key share generation", v) }
		/:EVP_PKEY_derive / { add("key exchange", v) }
		/:EVP_KDF_derive / { add("key schedule (HKDF)", v) }
		/:EVP_DigestSign / { add("signature", v) }
		END {
			if (!k || !n) exit
			printf "; OpenSSL operations:"
			for (i = 0; i < k; i++)
				printf "%s %s %.0f k", i ? "," : "", order[i], got[order[i]] / n / 1000
		}'
}
