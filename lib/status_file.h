/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Status files (tagshaked --status, tagshake-proxy --status), replaced
 * whole: written to PATH.tmp, then renamed over PATH. The temporary is
 * created fresh (O_CREAT|O_EXCL|O_NOFOLLOW): a file or symlink planted at
 * PATH.tmp is removed, never written through, so a daemon running as root
 * cannot be made to truncate another file.
 */
#ifndef TS_STATUS_FILE_H
#define TS_STATUS_FILE_H

#include <stddef.h>
#include <stdio.h>

/* Opens the temporary for path; its name goes to tmp. NULL with errno set. */
FILE *ts_status_begin(const char *path, char *tmp, size_t tmplen);
/* Closes f and renames tmp over path. 0 or a negative errno (then the
 * temporary is removed). */
int ts_status_commit(FILE *f, const char *tmp, const char *path);

#endif /* TS_STATUS_FILE_H */
