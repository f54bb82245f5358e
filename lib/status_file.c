// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Status files through fresh temporaries (status_file.h). */
#include "status_file.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* Readable by the tools that report it (tagshake metrics, top). */
#define TS_STATUS_MODE 0644

FILE *ts_status_begin(const char *path, char *tmp, size_t tmplen)
{
	FILE *f;
	int fd;

	if ((size_t)snprintf(tmp, tmplen, "%s.tmp", path) >= tmplen) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	/* a leftover of a crash, or something planted: unlink removes a
	 * symlink itself, never its target */
	if (unlink(tmp) < 0 && errno != ENOENT)
		return NULL;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, TS_STATUS_MODE);
	if (fd < 0)
		return NULL;
	f = fdopen(fd, "w");
	if (!f) {
		int err = errno;

		close(fd);
		unlink(tmp);
		errno = err;
	}
	return f;
}

int ts_status_commit(FILE *f, const char *tmp, const char *path)
{
	int err = 0;

	if (fclose(f) != 0)
		err = -errno;
	if (!err && rename(tmp, path) < 0)
		err = -errno;
	if (err)
		unlink(tmp);
	return err;
}
