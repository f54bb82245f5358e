// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The edge listener: one SO_REUSEPORT socket per worker so the kernel spreads
 * connections without a shared accept lock. No TCP_DEFER_ACCEPT and no TCP
 * Fast Open: data arriving before the child socket exists escapes the
 * tagger (its tag would be `missed`), so the listener stays plain.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "listener.h"

static int make_addr(const char *address, uint16_t port, struct sockaddr_storage *ss,
		     socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, address, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons(port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, address, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons(port);
		*len = sizeof(*in6);
		return 0;
	}
	return -EINVAL;
}

int ts_listener_open(const char *address, uint16_t port, int backlog)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1, err = make_addr(address, port, &ss, &len);

	if (err)
		return err;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* Handshake flights and relayed records go out at once (Nagle held
	 * small relayed writes for up to 40 ms, proxy bench). Accepted sockets
	 * inherit TCP_NODELAY from the listener: no setsockopt per connection,
	 * which a rejected one would pay for nothing. */
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}
