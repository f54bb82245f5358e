/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Records hand-off (TS_MODE_RECORDS, include/ts_handoff.h): whether a
 * finished handshake can give its record layer to the receiver, and the
 * state it gives (include/ts_records.h): the traffic secrets (secrets.h)
 * and the sequence numbers. The receiver reads the client's first record
 * after its Finished (rx 0: read-ahead is off, and OpenSSL must hold no
 * received byte); the server's next record number is the count of the
 * records it wrote after its Finished (the session tickets), which
 * ts_records_written() counts from OpenSSL's message callback.
 */
#ifndef TS_RECORDS_HS_H
#define TS_RECORDS_HS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "ts_records.h"

/* Records the server wrote after its Finished. */
struct ts_records_tx {
	bool finished; /* its Finished is written */
	uint64_t after_finished;
};

/* From the message callback, for what this side wrote (write_p 1). */
void ts_records_written(struct ts_records_tx *tx, int content_type, const void *buf, size_t len);

/* 0 with *p filled (the caller wipes it), or a negative errno with *why
 * saying why the connection cannot go in records mode. */
int ts_records_state(SSL *ssl, const struct ts_records_tx *tx, struct ts_rec_params *p,
		     const char **why);

#endif
