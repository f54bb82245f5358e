/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One snapshot of every counter tagshake exposes: the tagger's pinned
 * per-CPU `counters` map and the "name value" status files that tagshaked
 * (--status) and tagshake-proxy (--status) rewrite every second. Rendered
 * as Prometheus text by `tagshake metrics`, shown live by `tagshake top`.
 */
#ifndef TS_METRICS_H
#define TS_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "tagshake.h"

/* Most "name value" lines kept from one status file. */
#define TS_MX_KV_MAX 128

struct ts_mx_kv {
	char name[48];
	char value[128]; /* numbers, or text such as mode_reason */
};

struct ts_mx_status {
	bool present; /* the file could be read */
	int n;
	struct ts_mx_kv kv[TS_MX_KV_MAX];
};

struct ts_mx_sources {
	const char *pin_dir;   /* NULL: no tagger counters */
	const char *hs_status; /* tagshaked --status FILE, or NULL */
	const char *px_status; /* tagshake-proxy --status FILE, or NULL */
};

struct ts_mx_snapshot {
	bool tagger; /* the counters map could be read */
	uint64_t bpf[TS_CTR_COUNT];
	struct ts_mx_status hs, px;
};

/* Reads every configured source; a source that cannot be read is marked
 * absent (the daemon may be stopped), never an error. */
void ts_mx_read(const struct ts_mx_sources *src, struct ts_mx_snapshot *snap);
/* A value from a status file: its number, or 0 when absent. */
uint64_t ts_mx_get(const struct ts_mx_status *st, const char *name);
/* The text of a value (mode, mode_reason), or "" when absent. */
const char *ts_mx_text(const struct ts_mx_status *st, const char *name);
/* Writes the snapshot in the Prometheus text exposition format 0.0.4. */
void ts_mx_render(FILE *f, const struct ts_mx_snapshot *snap);
/* Reads a "name value" status file; -errno when it cannot be read. */
int ts_mx_status_read(const char *path, struct ts_mx_status *st);

#endif /* TS_METRICS_H */
