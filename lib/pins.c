// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "pins.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>
#include <bpf/bpf.h>

#define TS_BPFFS_MOUNT "/sys/fs/bpf"

int ts_pin_path(const char *dir, const char *name, char *out, size_t len)
{
	int n = snprintf(out, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int on_bpffs(const char *path)
{
	struct statfs st;

	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

int ts_pin_dir_prepare(const char *dir)
{
	char parent[PATH_MAX];

	if (strlen(dir) >= sizeof(parent))
		return -ENAMETOOLONG;
	strcpy(parent, dir);
	dirname(parent);
	if (!on_bpffs(parent)) {
		if (strcmp(parent, TS_BPFFS_MOUNT) != 0)
			return -ENOTDIR; /* a custom directory must already be on bpffs */
		if (mount("bpf", TS_BPFFS_MOUNT, "bpf", 0, "mode=0700") != 0)
			return -errno;
	}
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return -errno;
	return on_bpffs(dir) ? 0 : -ENOTDIR;
}

int ts_pin_open(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int err = ts_pin_path(dir, name, path, sizeof(path));
	int fd;

	if (err)
		return err;
	fd = bpf_obj_get(path);
	return fd < 0 ? -errno : fd;
}

int ts_pin_remove(const char *dir, const char *name)
{
	char path[PATH_MAX];
	int err = ts_pin_path(dir, name, path, sizeof(path));

	if (err)
		return err;
	return unlink(path) == 0 || errno == ENOENT ? 0 : -errno;
}
