/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The state of a TLS 1.3 connection's record layer at a TS_MODE_RECORDS
 * hand-off (include/ts_handoff.h): what tagshaked sends in the
 * TS_PP2_SUBTYPE_RECORDS sub-TLV, what ts_handoff_recv() hands over in
 * ts_handoff.records and what ts_rec_new() (lib/tls_record.h) takes.
 * Secret material: whoever holds a copy cleanses it.
 */
#ifndef TS_RECORDS_H
#define TS_RECORDS_H

#include <stdint.h>

/* RFC 8446 B.4 cipher suite values. */
#define TS_REC_AES_128_GCM_SHA256 0x1301
#define TS_REC_AES_256_GCM_SHA384 0x1302
#define TS_REC_CHACHA20_POLY1305_SHA256 0x1303

/* Longest traffic secret: the hash length of SHA-384. */
#define TS_REC_SECRET_MAX 48

/* One direction's state at the hand-off. */
struct ts_rec_dir_params {
	uint8_t secret[TS_REC_SECRET_MAX]; /* [client|server]_application_traffic_secret_N */
	uint8_t secret_len;                /* 32 (SHA-256 suites) or 48 */
	uint64_t seq;                      /* records already protected with it */
};

struct ts_rec_params {
	uint16_t suite;               /* TS_REC_* */
	struct ts_rec_dir_params rx;  /* the client's: what the server reads */
	struct ts_rec_dir_params tx;  /* the server's: what it writes */
};

#endif /* TS_RECORDS_H */
