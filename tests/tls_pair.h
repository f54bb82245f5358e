/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Test helpers: a self-signed certificate, SSL_CTXs pinned to one version and
 * suite, a TCP connection over loopback and a real OpenSSL handshake between
 * its two ends (server side in a thread). Used by the kTLS tests.
 */
#ifndef TS_TLS_PAIR_H
#define TS_TLS_PAIR_H

#include <stdbool.h>
#include <openssl/ssl.h>

/* A P-256 key and a self-signed certificate for CN ktls.test. 0 or -1. */
int ts_test_cert(EVP_PKEY **pkey, X509 **cert);

/*
 * A context for exactly one protocol version and suite: cipher is a TLS 1.2
 * cipher list or a TLS 1.3 ciphersuite. A server context gets key and cert
 * and sends `tickets` TLS 1.3 session tickets. NULL on error.
 */
SSL_CTX *ts_test_ctx(bool server, int version, const char *cipher, EVP_PKEY *pkey, X509 *cert, int tickets);

/* A connected TCP pair over 127.0.0.1 with send and receive timeouts, so a
 * stuck peer fails a test instead of hanging it. 0 or negative errno. */
int ts_test_tcp_pair(int *cfd, int *sfd, int timeout_s);

/* SSL_connect on c while SSL_accept runs on s in a thread. 0 or -1. */
int ts_test_handshake(SSL *c, SSL *s);

#endif
