// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* PROXY v2 encoder: exact bytes for each address family and the TLV checks. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>
#include <cmocka.h>

#include "pp2.h"

static const uint8_t sig[12] = "\r\n\r\n\0\r\nQUIT\n";

static void test_ipv4_with_tlvs(void **state)
{
	(void)state;
	struct sockaddr_in s = { .sin_family = AF_INET, .sin_port = htons(40000) };
	struct sockaddr_in d = { .sin_family = AF_INET, .sin_port = htons(443) };
	const uint8_t tlv[] = { 0x02, 0x00, 0x03, 'a', '.', 'b', 0xE3, 0x00, 0x01, 0x01 };
	uint8_t out[128];

	inet_pton(AF_INET, "192.0.2.7", &s.sin_addr);
	inet_pton(AF_INET, "198.51.100.1", &d.sin_addr);
	ssize_t n = ts_pp2_encode(out, sizeof(out), (void *)&s, (void *)&d, tlv, sizeof(tlv));
	assert_int_equal(n, 16 + 12 + sizeof(tlv));
	assert_memory_equal(out, sig, 12);
	assert_int_equal(out[12], 0x21);
	assert_int_equal(out[13], 0x11);
	assert_int_equal(out[14], 0);
	assert_int_equal(out[15], 12 + sizeof(tlv));
	const uint8_t addr[12] = { 192, 0, 2, 7, 198, 51, 100, 1, 0x9c, 0x40, 0x01, 0xbb };
	assert_memory_equal(out + 16, addr, 12);
	assert_memory_equal(out + 28, tlv, sizeof(tlv));
}

static void test_ipv6(void **state)
{
	(void)state;
	struct sockaddr_in6 s = { .sin6_family = AF_INET6, .sin6_port = htons(1) };
	struct sockaddr_in6 d = { .sin6_family = AF_INET6, .sin6_port = htons(2) };
	uint8_t out[128];

	inet_pton(AF_INET6, "2001:db8::1", &s.sin6_addr);
	inet_pton(AF_INET6, "::1", &d.sin6_addr);
	ssize_t n = ts_pp2_encode(out, sizeof(out), (void *)&s, (void *)&d, NULL, 0);
	assert_int_equal(n, 16 + 36);
	assert_int_equal(out[13], 0x21);
	assert_int_equal(out[15], 36);
	assert_int_equal(out[16], 0x20);
	assert_int_equal(out[17], 0x01);
	assert_int_equal(out[31], 0x01);
	assert_int_equal(out[47], 0x01);
	assert_int_equal(out[48], 0);
	assert_int_equal(out[49], 1);
	assert_int_equal(out[51], 2);
}

static void test_unspec_when_families_differ(void **state)
{
	(void)state;
	struct sockaddr_in s = { .sin_family = AF_INET };
	struct sockaddr_in6 d = { .sin6_family = AF_INET6 };
	uint8_t out[64];

	assert_int_equal(ts_pp2_encode(out, sizeof(out), (void *)&s, (void *)&d, NULL, 0), 16);
	assert_int_equal(out[13], 0x00);
	assert_int_equal(out[15], 0);
	assert_int_equal(ts_pp2_encode(out, sizeof(out), NULL, NULL, NULL, 0), 16);
}

static void test_unix(void **state)
{
	(void)state;
	struct sockaddr_un s = { .sun_family = AF_UNIX, .sun_path = "/a" };
	struct sockaddr_un d = { .sun_family = AF_UNIX, .sun_path = "/b" };
	uint8_t out[300];

	assert_int_equal(ts_pp2_encode(out, sizeof(out), (void *)&s, (void *)&d, NULL, 0), 16 + 216);
	assert_int_equal(out[13], 0x31);
	assert_int_equal((out[14] << 8) | out[15], 216);
	assert_string_equal((char *)out + 16, "/a");
	assert_string_equal((char *)out + 16 + 108, "/b");
}

static void test_bad_tlvs_and_space(void **state)
{
	(void)state;
	const uint8_t truncated[] = { 0x02, 0x00, 0x05, 'a' };
	const uint8_t short_hdr[] = { 0x02, 0x00 };
	const uint8_t ok[] = { 0x02, 0x00, 0x01, 'a' };
	uint8_t out[64];

	assert_int_equal(ts_pp2_tlvs_valid(truncated, sizeof(truncated)), -EINVAL);
	assert_int_equal(ts_pp2_tlvs_valid(short_hdr, sizeof(short_hdr)), -EINVAL);
	assert_int_equal(ts_pp2_tlvs_valid(ok, sizeof(ok)), 0);
	assert_int_equal(ts_pp2_encode(out, sizeof(out), NULL, NULL, truncated, sizeof(truncated)),
			 -EINVAL);
	assert_int_equal(ts_pp2_encode(out, 19, NULL, NULL, ok, sizeof(ok)), -ENOSPC);
	assert_int_equal(ts_pp2_encode(out, 20, NULL, NULL, ok, sizeof(ok)), 20);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4_with_tlvs),
		cmocka_unit_test(test_ipv6),
		cmocka_unit_test(test_unspec_when_families_differ),
		cmocka_unit_test(test_unix),
		cmocka_unit_test(test_bad_tlvs_and_space),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
