/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef TS_SOURCE_H
#define TS_SOURCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

/* Handshakes in flight per client address, shared by all workers
 * (source.c): a table of counters indexed by a keyed hash of the address
 * (an IPv6 client by its /64). Returns false, counting nothing, when the
 * bucket is at limit. */
bool ts_source_take(const struct sockaddr_storage *ss, unsigned limit, uint32_t *bucket);
void ts_source_put(uint32_t bucket);

#endif /* TS_SOURCE_H */
