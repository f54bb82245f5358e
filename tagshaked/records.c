// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* A finished handshake's record layer state for a records hand-off (see
 * records.h). */
#include "records.h"

#include <errno.h>
#include <string.h>

#include "secrets.h"
#include "tls_record.h"

void ts_records_written(struct ts_records_tx *tx, int content_type, const void *buf, size_t len)
{
	/* OpenSSL reports a record's header when it builds the record and the
	 * handshake message in it once written, so the headers after the
	 * Finished message are the records after it. */
	if (content_type == SSL3_RT_HEADER && tx->finished)
		tx->after_finished++;
	else if (content_type == SSL3_RT_HANDSHAKE && len && ((const uint8_t *)buf)[0] == SSL3_MT_FINISHED)
		tx->finished = true;
}

static int refuse(const char **why, const char *reason, int err)
{
	*why = reason;
	return err;
}

int ts_records_state(SSL *ssl, const struct ts_records_tx *tx, struct ts_rec_params *p,
		     const char **why)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	const struct ts_secrets *s = ts_secrets_of(ssl);
	uint16_t suite = c ? (uint16_t)SSL_CIPHER_get_protocol_id(c) : 0;

	if (SSL_version(ssl) != TLS1_3_VERSION)
		return refuse(why, "not TLS 1.3", -EPROTONOSUPPORT);
	if (!ts_rec_suite_supported(suite))
		return refuse(why, "suite not supported", -EOPNOTSUPP);
	/* those bytes are gone from the socket: the receiver would miss them */
	if (SSL_has_pending(ssl))
		return refuse(why, "bytes read past Finished", -EBUSY);
	if (!s || !s->client_len || s->client_len != s->server_len || !tx->finished)
		return refuse(why, "no traffic secrets", -ENOKEY);
	memset(p, 0, sizeof(*p));
	p->suite = suite;
	p->rx.secret_len = p->tx.secret_len = (uint8_t)s->client_len;
	memcpy(p->rx.secret, s->client, s->client_len);
	memcpy(p->tx.secret, s->server, s->server_len);
	p->rx.seq = 0;
	p->tx.seq = tx->after_finished;
	return 0;
}
