// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* SNI normalisation in userspace with the rules of the BPF parser
 * (ARCHITECTURE.md: lowercase, one trailing dot removed, host-name syntax:
 * letters, digits, hyphen, underscore; labels of 1..63 bytes that neither
 * start nor end with a hyphen; at most TS_SNI_MAX bytes). */
#include "name.h"

#include <errno.h>
#include <string.h>

#include "tagshake.h"

/* RFC 1035 2.3.4: a label is at most 63 octets. */
#define LABEL_MAX 63

static int label_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

int ts_name_normalise(const char *in, size_t len, char *out)
{
	size_t i, label = 0;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > TS_SNI_MAX)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		char c = in[i] >= 'A' && in[i] <= 'Z' ? (char)(in[i] + ('a' - 'A')) : in[i];

		out[i] = c;
		if (c == '.') {
			if (label == 0 || out[i - 1] == '-')
				return -EINVAL;
			label = 0;
			continue;
		}
		if (!label_char(c) || (c == '-' && label == 0) || ++label > LABEL_MAX)
			return -EINVAL;
	}
	if (out[len - 1] == '-' || out[len - 1] == '.')
		return -EINVAL;
	out[len] = '\0';
	return (int)len;
}

int ts_name_normalise_key(const char *in, size_t len, char *out)
{
	int n;

	if (len < 2 || in[0] != '*' || in[1] != '.')
		return ts_name_normalise(in, len, out);
	/* "*." + at most TS_SNI_MAX - 2 bytes keeps the key within TS_SNI_MAX */
	if (len > TS_SNI_MAX)
		return -EINVAL;
	n = ts_name_normalise(in + 2, len - 2, out + 2);
	if (n < 0)
		return n;
	out[0] = '*';
	out[1] = '.';
	return n + 2;
}
