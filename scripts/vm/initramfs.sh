# shellcheck shell=bash disable=SC2154 # globals of scripts/vmtest.sh
# Initramfs assembly for scripts/vmtest.sh (sourced).
#
# ts_initramfs STAGE OUT KDIR KVER COMMAND... builds an uncompressed newc
# archive OUT (the kernel unpacks it fastest) holding busybox, ip, openssl,
# the modules in $modules with their dependencies, the host files in
# ${files[@]} with their libraries, the guest init and COMMAND.

# Copies host path P to STAGE/P, following a chain of symlinks so that both
# the links and what they point at exist in the guest.
ts_stage_path() {
	local stage=$1 p=$2 target n=0
	while [ -L "$p" ] && [ $n -lt 16 ]; do
		mkdir -p "$stage/$(dirname "$p")"
		cp -P "$p" "$stage/$p"
		target=$(readlink "$p")
		case $target in
		/*) p=$target ;;
		*) p=$(dirname "$p")/$target ;;
		esac
		n=$((n + 1))
	done
	[ -e "$stage/$p" ] && return 0
	mkdir -p "$stage/$(dirname "$p")"
	cp -a "$p" "$stage/$p"
}

ts_is_elf() {
	[ -f "$1" ] && [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]
}

# Every shared library an ELF file loads, with the interpreter.
ts_stage_libs() {
	local stage=$1 f=$2 lib
	for lib in $(ldd "$f" 2>/dev/null | sed -n 's/.*=> \(\/[^ ]*\).*/\1/p; s/^[[:space:]]*\(\/[^ ]*\) (.*/\1/p'); do
		ts_stage_path "$stage" "$lib"
	done
}

# A FILE argument: relative to the project root, or absolute.
ts_stage_file() {
	local stage=$1 f=$2 src dst elf
	case $f in
	/*) src=$f dst=$f ;;
	*) src=$project/$f dst=$project/$f ;;
	esac
	[ -e "$src" ] || { echo "vmtest: no such file: $f" >&2; return 1; }
	mkdir -p "$stage/$(dirname "$dst")"
	cp -a "$src" "$stage/$dst"
	if [ -d "$src" ]; then
		while IFS= read -r -d '' elf; do
			ts_is_elf "$elf" && ts_stage_libs "$stage" "$elf"
		done < <(find "$src" -type f -print0)
	elif ts_is_elf "$src"; then
		ts_stage_libs "$stage" "$src"
	fi
	return 0
}

# Module files for $modules and their dependencies, decompressed (busybox
# modprobe reads plain .ko), then depmod on the guest's tree.
ts_stage_modules() {
	local stage=$1 kdir=$2 kver=$3 m path rel
	local mdir=lib/modules/$kver
	mkdir -p "$stage/$mdir"
	cp "$kdir/$mdir"/modules.order "$kdir/$mdir"/modules.builtin* "$stage/$mdir/"
	for m in $modules; do
		modprobe -d "$kdir" -S "$kver" --show-depends "$m" >"$stage/.deps" ||
			{ echo "vmtest: kernel $kver has no module $m" >&2; return 1; }
		while read -r _ path _; do
			case $path in /*) ;; *) continue ;; esac
			rel=${path#"$kdir"/}
			rel=${rel%.xz}
			rel=${rel%.zst}
			[ -e "$stage/$rel" ] && continue
			mkdir -p "$stage/$(dirname "$rel")"
			case $path in
			*.xz) xz -dc "$path" >"$stage/$rel" ;;
			*.zst) zstd -qdc "$path" >"$stage/$rel" ;;
			*) cp "$path" "$stage/$rel" ;;
			esac
		done <"$stage/.deps"
	done
	rm -f "$stage/.deps"
	depmod -b "$stage" "$kver"
}

ts_initramfs() {
	local stage=$1 out=$2 kdir=$3 kver=$4 f
	shift 4
	mkdir -p "$stage"/{proc,sys,dev,tmp,run,root,etc,bin,sbin,usr/bin,usr/sbin}
	# The host's sh and bash: busybox's ash would run its own applets (ip,
	# modprobe...) in preference to the real tools on PATH.
	for f in /bin/busybox /bin/sh /bin/bash /sbin/ip /usr/bin/openssl \
		/etc/ssl/openssl.cnf /usr/lib/ssl/openssl.cnf; do
		ts_stage_path "$stage" "$f" || return 1
		ts_is_elf "$f" && ts_stage_libs "$stage" "$f"
	done
	ts_stage_modules "$stage" "$kdir" "$kver" || return 1
	for f in "${files[@]}"; do
		ts_stage_file "$stage" "$f" || return 1
	done
	mkdir -p "$stage/$project"
	cp "$here/vm/init.sh" "$stage/init"
	printf '127.0.0.1 localhost\n::1 localhost ip6-localhost\n' >"$stage/etc/hosts"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$stage/etc/passwd"
	printf 'root:x:0:\n' >"$stage/etc/group"
	{
		printf 'TS_VM_ROOT=%q\n' "$project"
		printf 'TS_VM_MODULES=%q\n' "$(echo "$modules" | tr -s ' \t\n' ' ')"
	} >"$stage/etc/tagshake-vm.conf"
	printf '%q ' "$@" >"$stage/etc/tagshake-vm.cmd"
	echo >>"$stage/etc/tagshake-vm.cmd"
	(cd "$stage" && find . -mindepth 1 | busybox cpio -o -H newc -R 0:0 2>/dev/null) >"$out"
}
