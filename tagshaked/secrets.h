/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The TLS 1.3 application traffic secrets of a connection, kept from
 * OpenSSL's keylog hook (OpenSSL has no other way to give them out): the
 * kTLS receive key (ktls.c) and a records hand-off (records.c) are derived
 * from them. Kept per SSL until ts_secrets_forget() or SSL_free, which
 * wipe them.
 */
#ifndef TS_SECRETS_H
#define TS_SECRETS_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "ts_records.h"

struct ts_secrets {
	uint8_t client[TS_REC_SECRET_MAX]; /* client_application_traffic_secret_0 */
	uint8_t server[TS_REC_SECRET_MAX]; /* server_application_traffic_secret_0 */
	size_t client_len;
	size_t server_len;
};

/* Installs the keylog hook on ctx (once; a keylog callback already set
 * stays called). Every context an SSL may switch to needs it. 0 or
 * negative errno. */
int ts_secrets_ctx_init(SSL_CTX *ctx);
/* The secrets kept for ssl, NULL when none (no TLS 1.3 handshake, or no
 * hook on its context). */
const struct ts_secrets *ts_secrets_of(const SSL *ssl);
/* Wipes them: once used, they have no reason to stay. */
void ts_secrets_forget(SSL *ssl);

#endif
