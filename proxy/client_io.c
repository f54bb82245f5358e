// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The client side's transport (client_io.h): each call is the plain
 * socket's system call, or the record layer's (lib/tls_record.h) when the
 * hand-off was TS_MODE_RECORDS. */
#include "client_io.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

void px_cio_init_plain(struct px_client_io *io, int fd)
{
	*io = (struct px_client_io){ .fd = fd, .shut = PX_CIO_OPEN };
}

int px_cio_init_records(struct px_client_io *io, int fd, const struct ts_rec_params *p)
{
	px_cio_init_plain(io, fd);
	return ts_rec_new(&io->rec, p);
}

/* A failure that ends the record layer's stream (not "try again"). */
static ssize_t note(struct px_client_io *io, ssize_t n)
{
	if (n < 0 && errno != EAGAIN)
		io->failed = true;
	return n;
}

/* The record layer hands out one recv()'s worth of records per call: read
 * on until buf is full or the socket is empty, so that a short read means
 * what it means on a plain socket. The stream's end (EOF, close_notify, an
 * error) met behind bytes delivered waits for the next call, which the
 * record layer answers with it again. */
static ssize_t records_recv(struct px_client_io *io, char *buf, size_t len)
{
	size_t got = 0;

	io->end_waits = false;
	while (got < len) {
		ssize_t n = ts_rec_recv(io->rec, io->fd, buf + got, len - got);
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		if (!got)
			return note(io, n);
		io->end_waits = n == 0 || errno != EAGAIN;
		break;
	}
	return (ssize_t)got;
}

ssize_t px_cio_recv(struct px_client_io *io, void *buf, size_t len)
{
	ssize_t n = io->rec ? records_recv(io, buf, len) : recv(io->fd, buf, len, MSG_DONTWAIT);

	if (n == 0)
		io->ended = true;
	return n;
}

ssize_t px_cio_send(struct px_client_io *io, const void *buf, size_t len)
{
	if (io->rec)
		return note(io, ts_rec_send(io->rec, io->fd, buf, len));
	return send(io->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
}

int px_cio_flush(struct px_client_io *io)
{
	if (io->rec && note(io, ts_rec_flush(io->rec, io->fd)) < 0)
		return -1;
	if (io->shut == PX_CIO_CLOSING) {
		/* a failure means the client is gone: its reads say so */
		(void)shutdown(io->fd, SHUT_WR);
		io->shut = PX_CIO_SHUT;
	}
	return 0;
}

void px_cio_shutdown_write(struct px_client_io *io)
{
	if (io->shut != PX_CIO_OPEN)
		return;
	io->shut = PX_CIO_CLOSING;
	/* records: the close_notify is queued even when the socket is full; a
	 * failed write shows in the flush the caller does next */
	if (io->rec && note(io, ts_rec_close_notify(io->rec, io->fd)) < 0)
		return;
	px_cio_flush(io);
}

bool px_cio_input_ended(const struct px_client_io *io)
{
	return io->ended;
}

bool px_cio_has_input(const struct px_client_io *io)
{
	return io->rec && (io->end_waits || ts_rec_has_input(io->rec));
}

bool px_cio_want_write(const struct px_client_io *io)
{
	return io->rec && ts_rec_want_write(io->rec);
}

bool px_cio_can_splice(const struct px_client_io *io)
{
	return !io->rec;
}

void px_cio_close(struct px_client_io *io)
{
	if (io->rec && !io->failed) {
		if (io->shut == PX_CIO_OPEN)
			(void)ts_rec_close_notify(io->rec, io->fd); /* best effort */
		else
			(void)ts_rec_flush(io->rec, io->fd);
	}
	ts_rec_free(io->rec);
	io->rec = NULL;
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
}
