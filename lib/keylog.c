// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Secrets out of OpenSSL keylog lines (see keylog.h). */
#include "keylog.h"

#include <string.h>

/* The client_random field: 32 bytes in hex. */
#define KEYLOG_RANDOM_HEX 64

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes n hex digits (n even) into out. 0 or -1. */
static int unhex(const char *hex, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

int ts_keylog_secret(const char *line, const char *label, uint8_t *out, size_t cap)
{
	size_t label_len = strlen(label), n;
	const char *hex;

	if (strncmp(line, label, label_len) || line[label_len] != ' ')
		return 0;
	if (strnlen(line + label_len + 1, KEYLOG_RANDOM_HEX + 1) <= KEYLOG_RANDOM_HEX ||
	    line[label_len + 1 + KEYLOG_RANDOM_HEX] != ' ')
		return -1;
	hex = line + label_len + 1 + KEYLOG_RANDOM_HEX + 1;
	n = strlen(hex);
	if (n == 0 || n % 2 || n / 2 > cap || unhex(hex, n, out))
		return -1;
	return (int)(n / 2);
}
