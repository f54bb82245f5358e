/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Upstream addresses of the configured routes, resolved once at start, and
 * non-blocking connects to them. */
#ifndef TS_PROXY_UPSTREAM_H
#define TS_PROXY_UPSTREAM_H

#include <sys/socket.h>

#include "config.h"

struct px_upstream {
	struct sockaddr_storage addr;
	socklen_t len;
};

/* Resolves every route of cfg into ups[i] (route id i + 1). Returns 0, or a
 * negative errno with the route named in err. */
int px_upstreams_resolve(const struct ts_config *cfg, struct px_upstream *ups, char *err,
			 size_t errlen);
/* Starts a non-blocking connect. Returns the fd (connected or in
 * progress: wait for EPOLLOUT and read SO_ERROR) or a negative errno. */
int px_upstream_connect(const struct px_upstream *u);

#endif /* TS_PROXY_UPSTREAM_H */
