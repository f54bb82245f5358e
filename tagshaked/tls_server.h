/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* OpenSSL contexts built from one configuration, and the ClientHello
 * callback that applies a connection's decision (tls_server.c). */
#ifndef TS_TLS_SERVER_H
#define TS_TLS_SERVER_H

#include <stdbool.h>
#include <openssl/ssl.h>

struct ts_config;
struct ts_conn;
struct ts_decision;
struct ts_tls;

/* Builds contexts for cfg; `prev` (may be NULL) hands over its ticket keys
 * so tickets survive a reload. Logs and returns NULL on failure. */
struct ts_tls *ts_tls_build(const struct ts_config *cfg, const struct ts_tls *prev, bool ktls);
void ts_tls_free(struct ts_tls *t);
SSL *ts_tls_new(struct ts_tls *t);
int ts_tls_set_conn(SSL *ssl, struct ts_conn *c);
/* The SSL's connection (app data). */
struct ts_conn *ts_tls_conn(const SSL *ssl);
/* Applies a decision to the SSL: certificate (d's cert_id becomes the one
 * served), verify mode, CA list, session id context (d's binding). Returns
 * 0 or -EINVAL. */
int ts_tls_apply(struct ts_tls *t, SSL *ssl, struct ts_decision *d);

#endif /* TS_TLS_SERVER_H */
