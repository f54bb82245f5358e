/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * TLS 1.3 key schedule pieces a process needs after a handshake OpenSSL
 * finished: HKDF-Expand-Label (RFC 8446 7.1), for the traffic keys and IVs
 * (7.3) and the next traffic secret of a KeyUpdate (7.2). Used by
 * tagshaked's kTLS receive key and by the userspace record layer.
 */
#ifndef TS_TLS13_KDF_H
#define TS_TLS13_KDF_H

#include <stddef.h>
#include <stdint.h>

/* TLS 1.3 per-record nonce length (RFC 8446 5.3). */
#define TS_TLS13_IV_LEN 12

/*
 * HKDF-Expand-Label(secret, label, "", out_len) with the digest named
 * `digest` ("SHA256", "SHA384"), out_len at most its hash length (as every
 * TLS 1.3 label); label without the "tls13 " prefix. HMAC
 * and those two digests are fetched once per process. 0, -EINVAL or
 * -ENOMEM.
 */
int ts_tls13_expand_label(const char *digest, const uint8_t *secret, size_t secret_len,
			  const char *label, uint8_t *out, size_t out_len);

#endif
