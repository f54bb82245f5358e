# shellcheck shell=bash disable=SC2154 # globals of scripts/vmtest.sh
# Kernel resolution and cache for scripts/vmtest.sh (sourced).
#
# ts_kernel_dir NAME|FILE.deb prints a directory holding vmlinuz and
# lib/modules/VERSION (with modules.dep) for that kernel, downloading and
# unpacking it first when the cache does not have it. Exact package versions
# vanish from the archive after security updates, so NAME goes through the
# metapackage every time; the last resolved directory is remembered as
# $cache/kernels/NAME so an offline run still finds it.

ts_kernel_meta() {
	case $1 in
	6.1) echo linux-image-cloud-amd64 ;;
	6.12) echo linux-image-6.12-cloud-amd64 ;;
	*) echo "vmtest: unknown kernel name '$1' (6.1, 6.12 or a .deb)" >&2; return 1 ;;
	esac
}

# The linux-image-* package the metapackage depends on.
ts_kernel_pkg() {
	apt-cache depends --no-recommends --no-suggests "$1" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[^ ]*\)$/\1/p' | head -n 1
}

ts_kernel_candidate() {
	apt-cache policy "$1" 2>/dev/null | sed -n 's/^ *Candidate: //p' | grep -v '(none)'
}

# Unpacks DEB into DIR: vmlinuz plus the module tree with depmod run on it.
ts_kernel_unpack() {
	local deb=$1 dir=$2 part=$2.part.$$
	rm -rf "$part"
	mkdir -p "$part/x"
	dpkg-deb -x "$deb" "$part/x" || return 1
	mv "$part"/x/boot/vmlinuz-* "$part/vmlinuz" || return 1
	mkdir -p "$part/lib"
	if [ -d "$part/x/usr/lib/modules" ]; then
		mv "$part/x/usr/lib/modules" "$part/lib/modules"
	else
		mv "$part/x/lib/modules" "$part/lib/modules"
	fi
	cp "$part"/x/boot/config-* "$part/config"
	rm -rf "$part/x"
	depmod -b "$part" "$(ls "$part/lib/modules")" || return 1
	rm -rf "$dir"
	mv "$part" "$dir"
}

ts_kernel_from_deb() {
	local deb=$1 pkg ver dir
	pkg=$(dpkg-deb -f "$deb" Package) && ver=$(dpkg-deb -f "$deb" Version) || return 1
	dir=$cache/kernels/${pkg}_$ver
	[ -f "$dir/vmlinuz" ] || ts_kernel_unpack "$deb" "$dir" >&2 || return 1
	echo "$dir"
}

ts_kernel_download() {
	local pkg=$1 ver=$2 dl
	dl=$(mktemp -d)
	# apt drops privileges to _apt: let it write there.
	chmod 777 "$dl"
	if ! (cd "$dl" && apt-get download -qq "$pkg=$ver") >&2; then
		# The lists may predate a security update that removed that version.
		apt-get update -qq >&2 || true
		ver=$(ts_kernel_candidate "$pkg")
		(cd "$dl" && apt-get download -qq "$pkg=$ver") >&2 || { rm -rf "$dl"; return 1; }
	fi
	ts_kernel_from_deb "$dl"/*.deb
	local rc=$?
	rm -rf "$dl"
	return $rc
}

ts_kernel_by_name() {
	local name=$1 meta pkg ver dir
	meta=$(ts_kernel_meta "$name") || return 1
	# apt answers the same until its lists change: skip it (1-2 s) then.
	if [ -f "$cache/kernels/$name/vmlinuz" ] && [ "$cache/kernels/$name.resolved" -nt /var/lib/apt/lists ]; then
		readlink -f "$cache/kernels/$name"
		return 0
	fi
	pkg=$(ts_kernel_pkg "$meta")
	if [ -z "$pkg" ]; then
		apt-get update -qq >&2 || true
		pkg=$(ts_kernel_pkg "$meta")
	fi
	ver=$([ -n "$pkg" ] && ts_kernel_candidate "$pkg") || ver=
	if [ -z "$ver" ]; then
		if [ -f "$cache/kernels/$name/vmlinuz" ]; then
			echo "vmtest: apt cannot resolve $meta; using the cached kernel" >&2
			readlink -f "$cache/kernels/$name"
			return 0
		fi
		echo "vmtest: apt cannot resolve $meta and nothing is cached" >&2
		return 1
	fi
	dir=$cache/kernels/${pkg}_$ver
	[ -f "$dir/vmlinuz" ] || dir=$(ts_kernel_download "$pkg" "$ver") || return 1
	ln -sfn "$(basename "$dir")" "$cache/kernels/$name"
	touch "$cache/kernels/$name.resolved"
	echo "$dir"
}

ts_kernel_dir() {
	mkdir -p "$cache/kernels" || return 1
	# One resolver at a time: parallel VMs share the cache.
	exec 9>"$cache/kernels/.lock"
	flock 9
	local rc=0
	case $1 in
	*.deb) ts_kernel_from_deb "$(readlink -f "$1")" || rc=$? ;;
	*) ts_kernel_by_name "$1" || rc=$? ;;
	esac
	exec 9>&-
	return $rc
}
