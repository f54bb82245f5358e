/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Kernel TLS for a TCP socket whose handshake OpenSSL has just completed.
 *
 * Debian 12's OpenSSL 3.0 offloads TLS 1.2 in both directions and TLS 1.3
 * only for sending. ts_ktls_install() keeps what OpenSSL did and installs
 * the TLS 1.3 receive key itself (HKDF-Expand-Label from the traffic secret
 * kept by the keylog hook, secrets.h), then reports, per
 * direction, whether the kernel really holds the keys.
 *
 * Usage:
 *   ts_ktls_ctx_init(ctx);                 once per SSL_CTX, before SSL_new
 *   SSL_do_handshake(ssl) == 1
 *   ts_ktls_install(ssl, fd, &st);         before any SSL_read
 *   both on (return 0): read()/write()/splice()/sendfile() on fd carry
 *   plaintext; otherwise keep using SSL_read/SSL_write (a direction that is
 *   on still goes through the kernel inside OpenSSL).
 *
 * Limits: the kernels of the matrix (6.1, 6.12) do not rekey TLS 1.3 receive
 * state, so a peer's KeyUpdate ends the connection with an error on read; a
 * TLS 1.3 client sees the server's NewSessionTicket messages as non-data
 * records (recvmsg() with a TLS_GET_RECORD_TYPE cmsg; plain read() fails
 * with EIO).
 */
#ifndef TS_KTLS_H
#define TS_KTLS_H

#include <stdint.h>
#include <openssl/ssl.h>

/* Who put the keys of one direction into the kernel. */
enum ts_ktls_by {
	TS_KTLS_OFF = 0,
	TS_KTLS_BY_OPENSSL,
	TS_KTLS_BY_TAGSHAKE,
};

struct ts_ktls_dir {
	enum ts_ktls_by by;
	int err; /* why it is off (negative errno), 0 when on */
};

struct ts_ktls_status {
	uint16_t version;     /* TLS_1_2_VERSION or TLS_1_3_VERSION (linux/tls.h), 0 for others */
	uint16_t cipher_type; /* TLS_CIPHER_* of linux/tls.h, 0 when the kernel has none */
	struct ts_ktls_dir tx;
	struct ts_ktls_dir rx;
};

/*
 * Enables OpenSSL's kTLS and the keylog hook that keeps the TLS 1.3 traffic
 * secrets (a keylog callback already set stays called). 0 or negative errno.
 */
int ts_ktls_ctx_init(SSL_CTX *ctx);

/*
 * After a completed handshake on fd: fills st and returns 0 when both
 * directions are in the kernel, else the error of the first direction that
 * is off (-EOPNOTSUPP: the suite has no kernel cipher; -ENOENT: no tls
 * module or no crypto module for the cipher; -EBUSY: OpenSSL already holds
 * received bytes). The connection stays usable through SSL_* in every case:
 * the TLS 1.3 receive key is installed only when OpenSSL sends with kTLS
 * (OpenSSL 3.0 does not for TLS 1.3 AES-128-CCM), so a failure never leaves
 * plaintext on the socket for SSL_read. The traffic secrets are wiped when
 * both directions are on; otherwise they stay for a records hand-off, and
 * the caller forgets them (ts_secrets_forget()).
 */
int ts_ktls_install(SSL *ssl, int fd, struct ts_ktls_status *st);

/*
 * What the kernel holds for fd in direction optname (TLS_TX or TLS_RX),
 * read back with getsockopt(SOL_TLS): 0 with version and cipher_type set,
 * or negative errno (-ENOTCONN or -EBUSY style values from the kernel when
 * that direction has no keys).
 */
int ts_ktls_sock_info(int fd, int optname, uint16_t *version, uint16_t *cipher_type);

/* "off", "openssl" or "tagshake", for logs and status output. */
const char *ts_ktls_by_name(enum ts_ktls_by by);

#endif
