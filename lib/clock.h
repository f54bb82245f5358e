/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Monotonic time for timeouts and latencies, shared by tagshaked and the
 * proxy. */
#ifndef TS_CLOCK_H
#define TS_CLOCK_H

#include <stdint.h>

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t ts_now_ms(void);
/* CLOCK_MONOTONIC in microseconds. */
uint64_t ts_now_us(void);

#endif /* TS_CLOCK_H */
