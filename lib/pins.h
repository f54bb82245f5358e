/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The pin directory on bpffs where the loader leaves maps and the link. */
#ifndef TS_PINS_H
#define TS_PINS_H

#include <stddef.h>

/* Writes DIR/NAME into out; -ENAMETOOLONG when it does not fit. */
int ts_pin_path(const char *dir, const char *name, char *out, size_t len);
/* Mounts bpffs at /sys/fs/bpf when DIR's parent is not on bpffs, creates DIR. */
int ts_pin_dir_prepare(const char *dir);
/* Opens DIR/NAME; returns an fd or a negative errno. */
int ts_pin_open(const char *dir, const char *name);
/* Removes DIR/NAME; a missing pin is not an error. */
int ts_pin_remove(const char *dir, const char *name);

#endif /* TS_PINS_H */
