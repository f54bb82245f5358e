// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer harness for the userspace build of the shared ClientHello
 * parser (lib/hello.c over bpf/clienthello.h). Besides ASan/UBSan it checks
 * what the rest of tagshake relies on: a final status in range, an `ok` SNI
 * that is a valid normalised host name (checked here independently of
 * bpf/sni.h), counts within the input, and a parse that depends only on the
 * bytes it says it used.
 */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "hello.h"

static void check_tag(const struct ts_tag *t, int st, size_t len)
{
	size_t used = len > TS_HELLO_MAX ? TS_HELLO_MAX : len;

	check(st == t->status);
	check(st >= TS_STATUS_OK && st <= TS_STATUS_INCOMPLETE);
	check(t->bytes <= used);
	check(t->segments == 1);
	check(t->records <= 32);
	if (st == TS_STATUS_OK) {
		check(t->sni_len >= 1 && t->sni_len <= TS_SNI_MAX);
		check(fuzz_sni_is_normalised(t->sni, t->sni_len));
		check(t->sni[t->sni_len] == '\0');
		check(t->records >= 1);
		check(t->bytes > 0);
	} else {
		check(t->sni_len == 0);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct ts_tag a, b;
	int st = ts_hello_parse_bytes(data, len, &a);

	check_tag(&a, st, len);
	/* same bytes, same tag */
	ts_hello_parse_bytes(data, len, &b);
	check(memcmp(&a, &b, sizeof(a)) == 0);
	/* a complete hello is decided by its own bytes: what follows is not read */
	if (st == TS_STATUS_OK || st == TS_STATUS_NO_SNI) {
		check(ts_hello_parse_bytes(data, a.bytes, &b) == st);
		check(memcmp(&a, &b, sizeof(a)) == 0);
	}
	return 0;
}
