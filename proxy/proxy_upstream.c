// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Upstream resolution and connection for the proxy's routes. */
#include "proxy_upstream.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

static int resolve_one(const struct ts_cfg_route *r, struct px_upstream *u)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *res = NULL;
	char port[8];
	int rc;

	memset(u, 0, sizeof(*u));
	if (r->unix_path[0]) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&u->addr;
		sun->sun_family = AF_UNIX;
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", r->unix_path);
		u->len = sizeof(*sun);
		return 0;
	}
	snprintf(port, sizeof(port), "%u", r->port);
	rc = getaddrinfo(r->host, port, &hints, &res);
	if (rc)
		return -EHOSTUNREACH;
	memcpy(&u->addr, res->ai_addr, res->ai_addrlen);
	u->len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

int px_upstreams_resolve(const struct ts_config *cfg, struct px_upstream *ups, char *err,
			 size_t errlen)
{
	for (int i = 0; i < cfg->nroutes; i++) {
		int rc = resolve_one(&cfg->routes[i], &ups[i]);
		if (rc) {
			snprintf(err, errlen, "%s:%d: routes: %s: cannot resolve upstream %s",
				 cfg->path, cfg->routes[i].line, cfg->routes[i].name,
				 cfg->routes[i].upstream);
			return rc;
		}
	}
	return 0;
}

int px_upstream_connect(const struct px_upstream *u)
{
	int family = u->addr.ss_family, one = 1;
	int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* small request heads and PROXY headers must not wait for Nagle */
	if (family != AF_UNIX)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&u->addr, u->len) == 0 || errno == EINPROGRESS)
		return fd;
	int err = errno == EAGAIN ? ECONNREFUSED : errno; /* unix backlog full */
	close(fd);
	return -err;
}
