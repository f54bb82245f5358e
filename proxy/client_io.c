// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The client side's transport (client_io.h). */
#include "client_io.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

void px_cio_init_plain(struct px_client_io *io, int fd)
{
	*io = (struct px_client_io){ .fd = fd, .shut = PX_CIO_OPEN };
}

ssize_t px_cio_recv(struct px_client_io *io, void *buf, size_t len)
{
	return recv(io->fd, buf, len, MSG_DONTWAIT);
}

ssize_t px_cio_send(struct px_client_io *io, const void *buf, size_t len)
{
	return send(io->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

int px_cio_flush(struct px_client_io *io)
{
	(void)io;
	return 0;
}

void px_cio_shutdown_write(struct px_client_io *io)
{
	if (io->shut != PX_CIO_OPEN)
		return;
	/* a failure means the client is gone: its reads and writes say so */
	(void)shutdown(io->fd, SHUT_WR);
	io->shut = PX_CIO_SHUT;
}

bool px_cio_has_input(const struct px_client_io *io)
{
	(void)io;
	return false;
}

bool px_cio_want_write(const struct px_client_io *io)
{
	(void)io;
	return false;
}

bool px_cio_can_splice(const struct px_client_io *io)
{
	(void)io;
	return true;
}

void px_cio_close(struct px_client_io *io)
{
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
}
