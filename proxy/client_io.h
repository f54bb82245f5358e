/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The client side's transport: the one place where the proxy reads and
 * writes a client's bytes, chosen at the hand-off. Plain: the fd carries
 * plaintext (kTLS mode's TCP socket, relay mode's socketpair end): recv,
 * send and shutdown, and the kernel may splice it.
 *
 * Readiness, for every caller: input can wait inside the transport where
 * epoll cannot see it (px_cio_has_input(): read again before waiting for
 * EPOLLIN), and output can wait inside for the socket
 * (px_cio_want_write(): wait for EPOLLOUT, then px_cio_flush()).
 */
#ifndef TS_CLIENT_IO_H
#define TS_CLIENT_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The client's write side: open, shutdown asked but output still waiting
 * inside, shut. */
enum px_cio_shut { PX_CIO_OPEN, PX_CIO_CLOSING, PX_CIO_SHUT };

struct px_client_io {
	int fd; /* -1 once closed */
	enum px_cio_shut shut;
};

/* The hand-off's fd, carrying plaintext. */
void px_cio_init_plain(struct px_client_io *io, int fd);

/* Plaintext from the client, like recv(MSG_DONTWAIT): 0 at its end, -1
 * with errno (EAGAIN: nothing yet). */
ssize_t px_cio_recv(struct px_client_io *io, void *buf, size_t len);
/* Plaintext to the client, like send(MSG_DONTWAIT | MSG_NOSIGNAL): the
 * bytes taken, or -1 with errno (EAGAIN: wait for EPOLLOUT). */
ssize_t px_cio_send(struct px_client_io *io, const void *buf, size_t len);
/* Sends what waits inside: 0 when nothing is left, -1 with errno (EAGAIN:
 * wait for EPOLLOUT). Completes a shutdown that was waiting. */
int px_cio_flush(struct px_client_io *io);
/* No more output: shutdown(SHUT_WR) now, or once what waits is flushed. */
void px_cio_shutdown_write(struct px_client_io *io);
/* Input waits inside, which epoll does not report. */
bool px_cio_has_input(const struct px_client_io *io);
/* Output waits inside for the socket. */
bool px_cio_want_write(const struct px_client_io *io);
/* The kernel may splice to and from the fd: its bytes are the plaintext. */
bool px_cio_can_splice(const struct px_client_io *io);
/* Closes the fd. */
void px_cio_close(struct px_client_io *io);

#endif /* TS_CLIENT_IO_H */
