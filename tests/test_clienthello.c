// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests of the userspace build of the shared ClientHello parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hello.h"
#include "hello_builder.h"

static uint8_t hello[70000];
static uint8_t split[70000];
static uint8_t hs[70000];

static int parse(const uint8_t *b, size_t n, struct ts_tag *t)
{
	return ts_hello_parse_bytes(b, n, t);
}

static void collect_alpn(const uint8_t *name, size_t len, void *arg)
{
	char *out = arg;

	if (*out)
		strcat(out, ",");
	strncat(out, (const char *)name, len);
}

static void test_ok_normalises_sni_and_alpn(void **state)
{
	struct hb_opts o = { .sni = "WWW.Example.COM.", .alpn = "h2,http/1.1", .grease = 1 };
	size_t n = hb_hello(&o, hello, sizeof(hello));
	char alpn[128] = "";
	struct ts_tag t;

	(void)state;
	assert_int_equal(parse(hello, n, &t), TS_STATUS_OK);
	assert_string_equal(t.sni, "www.example.com");
	assert_int_equal(t.sni_len, 15);
	assert_int_equal(t.records, 1);
	assert_int_equal(t.bytes, n);
	assert_int_equal(ts_alpn_each(&t, collect_alpn, alpn), 2);
	assert_string_equal(alpn, "h2,http/1.1");
	assert_int_equal(t.alpn_len, 1 + 2 + 1 + 8);
}

static void test_sni_last_and_no_alpn(void **state)
{
	struct hb_opts o = { .sni = "a.b", .sni_last = 1 };
	size_t n = hb_hello(&o, hello, sizeof(hello));
	struct ts_tag t;

	(void)state;
	assert_int_equal(parse(hello, n, &t), TS_STATUS_OK);
	assert_string_equal(t.sni, "a.b");
	assert_int_equal(t.alpn_len, 0);
}

static void test_no_sni(void **state)
{
	struct hb_opts o = { .alpn = "h2" };
	size_t n = hb_hello(&o, hello, sizeof(hello));
	struct ts_tag t;

	(void)state;
	assert_int_equal(parse(hello, n, &t), TS_STATUS_NO_SNI);
	assert_int_equal(t.sni_len, 0);
	assert_int_equal(t.bytes, n);
}

static void test_not_tls(void **state)
{
	static const char get[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	static const uint8_t appdata[] = { 23, 3, 3, 0, 5, 1, 2, 3, 4, 5 };
	static const uint8_t v305[] = { 22, 3, 5, 0, 5, 1, 0, 0, 1, 0 };
	struct ts_tag t;

	(void)state;
	assert_int_equal(parse((const uint8_t *)get, sizeof(get) - 1, &t), TS_STATUS_NOT_TLS);
	assert_int_equal(parse((const uint8_t *)"G", 1, &t), TS_STATUS_NOT_TLS);
	assert_int_equal(parse(appdata, sizeof(appdata), &t), TS_STATUS_NOT_TLS);
	assert_int_equal(parse(v305, sizeof(v305), &t), TS_STATUS_NOT_TLS);
}

static int sni_status(const char *name, size_t len, struct ts_tag *t)
{
	struct hb_opts o = { .sni = name, .sni_len = len, .alpn = "h2" };

	return parse(hello, hb_hello(&o, hello, sizeof(hello)), t);
}

static void test_sni_syntax(void **state)
{
	char name[300];
	struct ts_tag t;

	(void)state;
	assert_int_equal(sni_status("ok-name_1.example", 0, &t), TS_STATUS_OK);
	assert_int_equal(sni_status("", 1, &t), TS_STATUS_BAD_SNI); /* one NUL byte */
	assert_int_equal(sni_status("a\0b.com", 7, &t), TS_STATUS_BAD_SNI);
	assert_int_equal(sni_status(".", 0, &t), TS_STATUS_BAD_SNI);
	assert_int_equal(sni_status("a..b", 0, &t), TS_STATUS_BAD_SNI);
	assert_int_equal(sni_status("a.b..", 0, &t), TS_STATUS_BAD_SNI);
	assert_int_equal(sni_status("-a.b", 0, &t), TS_STATUS_BAD_SNI);
	assert_int_equal(sni_status("a-.b", 0, &t), TS_STATUS_BAD_SNI);
	assert_int_equal(sni_status("a.b-", 0, &t), TS_STATUS_BAD_SNI);
	assert_int_equal(sni_status("a b.com", 0, &t), TS_STATUS_BAD_SNI);
	assert_int_equal(sni_status("caf\xc3\xa9.com", 0, &t), TS_STATUS_BAD_SNI);
	assert_int_equal(t.sni_len, 0);
	assert_int_equal(t.sni[0], 0);
	/* labels: 63 bytes fit, 64 do not */
	memset(name, 'a', 63);
	strcpy(name + 63, ".com");
	assert_int_equal(sni_status(name, 0, &t), TS_STATUS_OK);
	memset(name, 'a', 64);
	strcpy(name + 64, ".com");
	assert_int_equal(sni_status(name, 0, &t), TS_STATUS_BAD_SNI);
}

/* A name of `len` bytes made of 63-byte labels. */
static void long_name(char *out, size_t len)
{
	for (size_t i = 0; i < len; i++)
		out[i] = i % 64 == 63 ? '.' : 'x';
	out[len] = 0;
}

static void test_sni_length_bounds(void **state)
{
	char name[300];
	struct ts_tag t;

	(void)state;
	long_name(name, 253);
	assert_int_equal(sni_status(name, 0, &t), TS_STATUS_OK);
	assert_int_equal(t.sni_len, 253);
	strcat(name, ".");
	assert_int_equal(sni_status(name, 0, &t), TS_STATUS_OK); /* 253 + trailing dot */
	assert_int_equal(t.sni_len, 253);
	long_name(name, 254);
	assert_int_equal(sni_status(name, 0, &t), TS_STATUS_BAD_SNI);
}

static void test_repeats_are_malformed(void **state)
{
	struct hb_opts dup = { .sni = "a.com", .duplicate_ext = 1 };
	struct hb_opts two = { .sni = "a.com", .second_host_name = 1 };
	struct ts_tag t;

	(void)state;
	assert_int_equal(parse(hello, hb_hello(&dup, hello, sizeof(hello)), &t),
			 TS_STATUS_MALFORMED);
	assert_int_equal(parse(hello, hb_hello(&two, hello, sizeof(hello)), &t),
			 TS_STATUS_MALFORMED);
}

static void test_empty_alpn_name_is_malformed(void **state)
{
	struct hb_opts o = { .sni = "a.com", .alpn = "h2,,x" };
	struct ts_tag t;

	(void)state;
	assert_int_equal(parse(hello, hb_hello(&o, hello, sizeof(hello)), &t),
			 TS_STATUS_MALFORMED);
}

/* Every proper prefix of a valid hello is incomplete, never a guess. */
static void test_every_truncation_is_incomplete(void **state)
{
	struct hb_opts o = { .sni = "trunc.example", .alpn = "h2" };
	size_t n = hb_hello(&o, hello, sizeof(hello));
	struct ts_tag t;

	(void)state;
	for (size_t cut = 1; cut < n; cut++)
		assert_int_equal(parse(hello, cut, &t), TS_STATUS_INCOMPLETE);
	assert_int_equal(parse(hello, 0, &t), TS_STATUS_INCOMPLETE);
}

/* Two records split at every byte of the server_name extension. */
static void test_split_at_every_sni_position(void **state)
{
	struct hb_opts o = { .sni = "split.example.org", .alpn = "h2" };
	size_t hlen = hb_handshake(&o, hs, sizeof(hs));
	size_t one = hb_records(hs, hlen, 16384, hello, sizeof(hello));
	size_t sni = hb_sni_ext_offset(hello, one) - 5; /* in handshake bytes */
	struct ts_tag t;

	(void)state;
	assert_true(sni > 0);
	for (size_t cut = sni; cut <= sni + 4 + 2 + 3 + 17; cut++) {
		size_t n = hb_records(hs, cut, cut, split, sizeof(split));

		n += hb_records(hs + cut, hlen - cut, 16384, split + n, sizeof(split) - n);
		assert_int_equal(parse(split, n, &t), TS_STATUS_OK);
		assert_string_equal(t.sni, "split.example.org");
		assert_int_equal(t.records, 2);
		assert_int_equal(t.bytes, n);
	}
}

static void test_fragment_sizes(void **state)
{
	struct hb_opts o = { .sni = "frag.example", .alpn = "h2,http/1.1" };
	size_t hlen = hb_handshake(&o, hs, sizeof(hs));
	struct ts_tag t;

	(void)state;
	for (size_t frag = 1; frag <= hlen; frag++) {
		size_t n = hb_records(hs, hlen, frag, split, sizeof(split));
		size_t records = (hlen + frag - 1) / frag;

		if (records > 32) {
			assert_int_equal(parse(split, n, &t), TS_STATUS_TOO_BIG);
			continue;
		}
		assert_int_equal(parse(split, n, &t), TS_STATUS_OK);
		assert_string_equal(t.sni, "frag.example");
		assert_int_equal(t.records, records);
	}
}

/* Flips a 16-bit length by delta at offset off of a fresh hello. */
static int with_length(size_t off, int delta, struct ts_tag *t)
{
	struct hb_opts o = { .sni = "len.example", .alpn = "h2" };
	size_t n = hb_hello(&o, hello, sizeof(hello));
	unsigned v = (unsigned)(hello[off] << 8 | hello[off + 1]) + delta;

	hello[off] = (uint8_t)(v >> 8);
	hello[off + 1] = (uint8_t)v;
	return parse(hello, n, t);
}

static void test_lengths_off_by_one(void **state)
{
	struct hb_opts o = { .sni = "len.example", .alpn = "h2" };
	size_t n = hb_hello(&o, hello, sizeof(hello));
	size_t sni = hb_sni_ext_offset(hello, n);
	size_t ext_len = 5 + 4 + 2 + 32 + 33 + 8 + 2;
	struct ts_tag t;

	(void)state;
	/* record length: one short leaves one byte of a next record header */
	assert_int_equal(with_length(3, -1, &t), TS_STATUS_INCOMPLETE);
	assert_int_equal(with_length(3, +1, &t), TS_STATUS_INCOMPLETE);
	/* handshake length (low 16 bits of the 24) */
	assert_int_equal(with_length(7, -1, &t), TS_STATUS_MALFORMED);
	assert_int_equal(with_length(7, +1, &t), TS_STATUS_INCOMPLETE);
	assert_int_equal(with_length(ext_len, -1, &t), TS_STATUS_MALFORMED);
	assert_int_equal(with_length(ext_len, +1, &t), TS_STATUS_MALFORMED);
	assert_int_equal(with_length(sni + 2, -1, &t), TS_STATUS_MALFORMED);
	assert_int_equal(with_length(sni + 2, +1, &t), TS_STATUS_MALFORMED);
	assert_int_equal(with_length(sni + 4, -1, &t), TS_STATUS_MALFORMED);
	assert_int_equal(with_length(sni + 4, +1, &t), TS_STATUS_MALFORMED);
	assert_int_equal(with_length(sni + 7, -1, &t), TS_STATUS_MALFORMED);
	assert_int_equal(with_length(sni + 7, +1, &t), TS_STATUS_MALFORMED);
}

static void test_size_bound(void **state)
{
	struct hb_opts o = { .sni = "big.example" };
	size_t base, hlen, n;
	struct ts_tag t;

	(void)state;
	base = hb_handshake(&o, hs, sizeof(hs)); /* without padding */
	/* in two records (5 + 5 header bytes), exactly 16384 stream bytes */
	o.padding = 16384 - 10 - base - 4;
	hlen = hb_handshake(&o, hs, sizeof(hs));
	n = hb_records(hs, hlen, 16000, hello, sizeof(hello));
	assert_int_equal(n, 16384);
	assert_int_equal(parse(hello, n, &t), TS_STATUS_OK);
	assert_string_equal(t.sni, "big.example");
	o.padding++;
	hlen = hb_handshake(&o, hs, sizeof(hs));
	n = hb_records(hs, hlen, 16000, hello, sizeof(hello));
	assert_int_equal(parse(hello, n, &t), TS_STATUS_TOO_BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ok_normalises_sni_and_alpn),
		cmocka_unit_test(test_sni_last_and_no_alpn),
		cmocka_unit_test(test_no_sni),
		cmocka_unit_test(test_not_tls),
		cmocka_unit_test(test_sni_syntax),
		cmocka_unit_test(test_sni_length_bounds),
		cmocka_unit_test(test_repeats_are_malformed),
		cmocka_unit_test(test_empty_alpn_name_is_malformed),
		cmocka_unit_test(test_every_truncation_is_incomplete),
		cmocka_unit_test(test_split_at_every_sni_position),
		cmocka_unit_test(test_fragment_sizes),
		cmocka_unit_test(test_lengths_off_by_one),
		cmocka_unit_test(test_size_bound),
	};

	return cmocka_run_group_tests_name("clienthello", tests, NULL, NULL);
}
