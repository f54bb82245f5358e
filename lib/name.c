// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* SNI normalisation in userspace: one byte at a time through the very
 * functions the BPF parser uses (bpf/sni.h), so both sides agree on every
 * name: lowercase, one trailing dot dropped, host-name syntax, at most
 * TS_SNI_MAX bytes. */
#include "name.h"

#include <errno.h>
#include <linux/types.h>

#include "sni.h"

int ts_name_normalise(const char *in, size_t len, char *out)
{
	struct ts_sni_check s = { 0 };
	size_t i;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > TS_SNI_MAX)
		return -EINVAL;
	for (i = 0; i < len; i++) {
		ts_sni_push(&s, (__u8)in[i]);
		out[i] = (char)ts_sni_lower((__u8)in[i]);
	}
	out[len] = '\0';
	return ts_sni_valid(&s) ? (int)len : -EINVAL;
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
