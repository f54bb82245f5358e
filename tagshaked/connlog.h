/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* One logfmt line per connection outcome on stderr (tagshaked
 * --log-connections): what operators grep and ship to a log store. */
#ifndef TS_CONNLOG_H
#define TS_CONNLOG_H

#include <stdbool.h>

struct ts_conn;

/* Set once at start, read by every worker. */
extern bool ts_connlog_enabled;

/* Logs the outcome of c: result is ok, reject, failed, timeout,
 * handoff_timeout or handoff_error; reason may be NULL. No-op unless
 * enabled. */
void ts_connlog(const struct ts_conn *c, const char *result, const char *reason);

#endif /* TS_CONNLOG_H */
