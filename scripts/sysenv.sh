# shellcheck shell=bash
# Where this host keeps what the tagger needs, found rather than assumed
# (source it; tests and scripts share it):
#   ts_cgroup2_root   prints the cgroup v2 mount point: /sys/fs/cgroup on a
#                     pure v2 host (Debian 12's default), /sys/fs/cgroup/unified
#                     on a hybrid one. Read from /proc/self/mountinfo, like
#                     the product does (cli/cli_load.c), so a test attaches
#                     where `tagshake load` attaches.
#   ts_bpffs          makes sure /sys/fs/bpf is a bpffs, mounting one when it
#                     is not (a fresh machine boots without it), and prints it.
#   ts_sysenv         both at once: sets TS_CGROUP2 and TS_BPFFS, returns
#                     non-zero with a message on stderr when either is missing.
#   ts_is_bpffs DIR   whether DIR is on bpffs.

TS_BPFFS_DIR=/sys/fs/bpf

ts_cgroup2_root() { # [MOUNTINFO]: another mountinfo file, for the tests
	# mountinfo: ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - TYPE SOURCE SUPER
	# the first cgroup2 mount whose root is the hierarchy's root
	awk '{
		for (i = 7; i <= NF && $i != "-"; i++) ;
		if ($(i + 1) == "cgroup2" && $4 == "/") { print $5; found = 1; exit }
	} END { exit !found }' "${1:-/proc/self/mountinfo}"
}

# by magic number (BPF_FS_MAGIC): busybox's stat (the test VMs) has no name for it
ts_is_bpffs() { [ "$(stat -f -c %t "$1" 2>/dev/null)" = cafe4a11 ]; }

ts_bpffs() {
	if ! ts_is_bpffs "$TS_BPFFS_DIR"; then
		# several suites (and other checkouts) may start at once: one mounts,
		# the others see its mount instead of stacking a second bpffs on top
		# that would hide the first one's pins
		(
			flock 9
			ts_is_bpffs "$TS_BPFFS_DIR" ||
				mount -t bpf bpf "$TS_BPFFS_DIR"
		) 9>/tmp/tagshake-bpffs.lock || return 1
		ts_is_bpffs "$TS_BPFFS_DIR" || return 1
	fi
	echo "$TS_BPFFS_DIR"
}

ts_sysenv() {
	TS_CGROUP2=$(ts_cgroup2_root) || {
		echo "no cgroup v2 hierarchy is mounted (/proc/self/mountinfo)" >&2
		return 1
	}
	TS_BPFFS=$(ts_bpffs) || {
		echo "$TS_BPFFS_DIR is not a bpffs and mounting one failed" >&2
		return 1
	}
}
