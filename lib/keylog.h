/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * OpenSSL keylog lines (SSL_CTX_set_keylog_callback, the NSS key log
 * format): "<label> <client_random, 64 hex> <secret, hex>". tagshaked takes
 * the TLS 1.3 application traffic secrets from them for the hand-off; the
 * record layer's tests take them from a real OpenSSL server the same way.
 */
#ifndef TS_KEYLOG_H
#define TS_KEYLOG_H

#include <stddef.h>
#include <stdint.h>

#define TS_KEYLOG_CLIENT_TRAFFIC_0 "CLIENT_TRAFFIC_SECRET_0"
#define TS_KEYLOG_SERVER_TRAFFIC_0 "SERVER_TRAFFIC_SECRET_0"

/*
 * When `line` carries `label`: decodes its secret into out (at most cap
 * bytes) and returns the secret's length; 0 when the line has another
 * label; -1 when it has this label but is malformed or longer than cap.
 */
int ts_keylog_secret(const char *line, const char *label, uint8_t *out, size_t cap);

#endif
