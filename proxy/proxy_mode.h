/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Per-route metadata modes of the proxy: proxy-v2, http, raw. */
#ifndef TS_PROXY_MODE_H
#define TS_PROXY_MODE_H

#include "proxy.h"

/* Prepares c->up for c->route's mode from the hand-off metadata: queues
 * the PROXY v2 header, or installs the http filter. Returns 0 or a negative
 * errno (-EBADMSG: metadata that cannot be forwarded). */
int px_mode_setup(struct px_conn *c, const struct ts_handoff *h);

#endif /* TS_PROXY_MODE_H */
