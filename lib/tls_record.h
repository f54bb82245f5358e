/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The TLS 1.3 record layer of one server connection whose handshake another
 * process (tagshaked) finished: what kTLS does in the kernel, done in the
 * receiving process when the kernel has no kTLS (hand-off mode
 * TS_MODE_RECORDS, include/ts_handoff.h). One process then carries the
 * connection's bytes, as nginx stream does, instead of tagshaked relaying
 * them through a socketpair.
 *
 * Suites: TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 and
 * TLS_CHACHA20_POLY1305_SHA256 (the ones kTLS takes). Keys and IVs are
 * derived from the traffic secrets (RFC 8446 7.1, 7.3), so a KeyUpdate in
 * either direction is followed (7.2, 4.6.3).
 *
 * Usage, on a non-blocking TCP socket fd:
 *   ts_rec_new(&r, &params);      params then cleansed by the caller
 *   ts_rec_recv(r, fd, buf, len)  like recv(): plaintext; 0 at the peer's
 *                                 close_notify or EOF; -1 with errno
 *                                 (EAGAIN: no whole record yet; EBADMSG: a
 *                                 record failed authentication or broke the
 *                                 protocol; ECONNRESET: a fatal alert)
 *   ts_rec_send(r, fd, buf, len)  like send(): plaintext bytes taken (they
 *                                 are encrypted at once; what the socket
 *                                 did not take waits inside, see
 *                                 ts_rec_want_write()); -1 with errno
 *   ts_rec_flush(r, fd)           sends what waits: 0 when nothing is left,
 *                                 -1 with errno (EAGAIN: wait for EPOLLOUT)
 *   ts_rec_close_notify(r, fd)    queues the close_notify alert and flushes
 *                                 (then shutdown(fd, SHUT_WR) is the
 *                                 caller's, once ts_rec_want_write() is 0)
 *   ts_rec_free(r)                cleanses keys and buffers
 *
 * Readiness: plaintext can wait inside after a recv that filled the
 * caller's buffer, where epoll cannot see it: ts_rec_has_input() says so,
 * and the caller reads again before waiting for EPOLLIN.
 *
 * Memory: buffers are held only while bytes are in flight (a connection
 * held idle keeps none), so an idle connection costs the struct and two
 * cipher contexts.
 */
#ifndef TS_TLS_RECORD_H
#define TS_TLS_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The suites, the secrets and sequence numbers: include/ts_records.h. */
#include "ts_records.h"

struct ts_rec;

/* true when the suite is one of TS_REC_*. */
bool ts_rec_suite_supported(uint16_t suite);

/* 0, -EINVAL (suite or secret length) or -ENOMEM. */
int ts_rec_new(struct ts_rec **out, const struct ts_rec_params *p);
void ts_rec_free(struct ts_rec *r);

ssize_t ts_rec_recv(struct ts_rec *r, int fd, void *buf, size_t len);
ssize_t ts_rec_send(struct ts_rec *r, int fd, const void *buf, size_t len);
int ts_rec_flush(struct ts_rec *r, int fd);
int ts_rec_close_notify(struct ts_rec *r, int fd);

/* Plaintext (or a whole record) is waiting inside: read before polling. */
bool ts_rec_has_input(const struct ts_rec *r);
/* Protected bytes are waiting for the socket: poll for EPOLLOUT. */
bool ts_rec_want_write(const struct ts_rec *r);
/* The alert that ended the peer's side: its description (0 close_notify),
 * or -1 when none came (yet, or the connection ended with a bare EOF). */
int ts_rec_peer_alert(const struct ts_rec *r);
/* Bytes of buffer memory the connection holds now (0 when idle). */
size_t ts_rec_buffer_bytes(const struct ts_rec *r);

#endif /* TS_TLS_RECORD_H */
