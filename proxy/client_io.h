/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The client side's transport: the one place where the proxy reads and
 * writes a client's bytes, chosen at the hand-off.
 *   plain    the fd carries plaintext (kTLS mode's TCP socket, relay mode's
 *            socketpair end): recv, send, shutdown; the kernel may splice it.
 *   records  the fd is the TCP socket and carries TLS 1.3 records, which
 *            this process protects and opens (lib/tls_record.h, hand-off
 *            mode TS_MODE_RECORDS): every byte toward the client goes
 *            through the record layer, so the fd is never spliced, and the
 *            end of output is a close_notify before shutdown(SHUT_WR).
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

#include "tls_record.h"

/* The client's write side: open, shutdown asked but output still waiting
 * inside, shut. */
enum px_cio_shut { PX_CIO_OPEN, PX_CIO_CLOSING, PX_CIO_SHUT };

struct px_client_io {
	int fd;              /* -1 once closed */
	struct ts_rec *rec;  /* records; NULL: plain */
	enum px_cio_shut shut;
	bool failed;         /* records: a read or write failed (no close_notify then) */
	bool end_waits;      /* records: the stream's end was read behind bytes delivered */
	bool ended;          /* the client ended its input (a recv said 0) */
};

/* The hand-off's fd, carrying plaintext. */
void px_cio_init_plain(struct px_client_io *io, int fd);
/* The hand-off's TCP socket with the record layer built from p (which the
 * caller cleanses). Returns 0, -EINVAL (suite or secret length) or -ENOMEM
 * (then the fd is still the caller's). */
int px_cio_init_records(struct px_client_io *io, int fd, const struct ts_rec_params *p);

/* Plaintext from the client, like recv(MSG_DONTWAIT): 0 at its end (EOF,
 * or the TLS close_notify), -1 with errno (EAGAIN: nothing yet; records:
 * EBADMSG, ECONNRESET). A short read means the socket had nothing more. */
ssize_t px_cio_recv(struct px_client_io *io, void *buf, size_t len);
/* Plaintext to the client, like send(MSG_DONTWAIT | MSG_NOSIGNAL): the
 * bytes taken, or -1 with errno (EAGAIN: wait for EPOLLOUT). */
ssize_t px_cio_send(struct px_client_io *io, const void *buf, size_t len);
/* Sends what waits inside: 0 when nothing is left, -1 with errno (EAGAIN:
 * wait for EPOLLOUT). Completes a shutdown that was waiting. */
int px_cio_flush(struct px_client_io *io);
/* No more output: shutdown(SHUT_WR) now, or once what waits is flushed
 * (records: after the close_notify). */
void px_cio_shutdown_write(struct px_client_io *io);
/* The client ended its input: EOF, or the TLS close_notify. */
bool px_cio_input_ended(const struct px_client_io *io);
/* Input waits inside, which epoll does not report. */
bool px_cio_has_input(const struct px_client_io *io);
/* Output waits inside for the socket. */
bool px_cio_want_write(const struct px_client_io *io);
/* The kernel may splice to and from the fd: its bytes are the plaintext. */
bool px_cio_can_splice(const struct px_client_io *io);
/* Closes the fd; records: a close_notify first when none was sent and
 * nothing failed (best effort: the connection closes either way), and the
 * record layer's keys and buffers are cleansed. */
void px_cio_close(struct px_client_io *io);

#endif /* TS_CLIENT_IO_H */
