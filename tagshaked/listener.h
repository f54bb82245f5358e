/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
#ifndef TS_LISTENER_H
#define TS_LISTENER_H

#include <stdint.h>

/* A listening TCP socket (listener.c): SO_REUSEPORT, one per worker. */
int ts_listener_open(const char *address, uint16_t port, int backlog);

#endif /* TS_LISTENER_H */
