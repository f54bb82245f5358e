#!/bin/sh
# Which of a program's files call functions defined in which others, from
# the objects' symbol tables (nm: undefined in one, defined in another), and
# whether those calls form a cycle. Prints "caller -> callee (symbols)" per
# edge, then the files in layers (each calls only files in lower layers),
# or the cycle and exit status 1.
#
#   scripts/call-graph.sh [OBJDIR]    (default build/obj/tagshaked)
set -eu
dir=${1:-build/obj/tagshaked}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for o in "$dir"/*.o; do
	f=$(basename "$o" .o)
	nm -g --defined-only "$o" | awk -v f="$f" 'NF == 3 { print $3, f }'
done | sort >"$tmp/defs"
for o in "$dir"/*.o; do
	f=$(basename "$o" .o)
	nm -u "$o" | awk -v f="$f" '{ print $NF, f }'
done | sort >"$tmp/uses"

# symbol caller callee -> "caller callee symbol", without self-edges
join "$tmp/uses" "$tmp/defs" | awk '$2 != $3 { print $2, $3, $1 }' | sort >"$tmp/edges"
awk '{ e = $1 " -> " $2; s[e] = s[e] (s[e] ? "," : "") $3 }
     END { for (e in s) print e " (" s[e] ")" }' "$tmp/edges" | sort

# every file is a node, also those that use or are used by no other
for o in "$dir"/*.o; do f=$(basename "$o" .o); echo "$f $f"; done >"$tmp/pairs"
awk '{ print $1, $2 }' "$tmp/edges" | sort -u >>"$tmp/pairs"
if ! tsort "$tmp/pairs" >/dev/null 2>"$tmp/loop"; then
	echo "cycle:"
	sed -n 's/^tsort: //p' "$tmp/loop"
	exit 1
fi
# layers: a file's layer is one above the highest of those it calls
awk '{ n[$1]; n[$2]; if ($1 != $2) { out[$1] = out[$1] " " $2 } }
     END {
	left = 0; for (f in n) left++
	for (l = 0; left > 0; l++) {
		line = ""
		for (f in n) {
			if (f in layer) continue
			k = split(out[f], c, " "); ok = 1
			for (i = 1; i <= k; i++) if (!(c[i] in layer)) ok = 0
			if (ok) next_layer[f] = l
		}
		for (f in next_layer) { layer[f] = l; left--; print l, f }
		delete next_layer
	}
     }' "$tmp/pairs" | sort -k1,1n -k2 |
	awk 'NR == 1 || $1 != l { if (NR > 1) print line; l = $1; line = "layer " $1 ":" }
	     { line = line " " $2 } END { print line }'
