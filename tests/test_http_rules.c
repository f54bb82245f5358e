// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The request rules both HTTP front ends share: canonical names, the
 * forwarding names, the authority syntax, the proxy's forwarding lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "http_rules.h"

static int eq(const char *name, const char *ref)
{
	return ts_http_name_eq(name, strlen(name), ref);
}

static void test_canonical_names(void **state)
{
	static const char *const list[] = { "x-client-cert", "client-cert", NULL };

	(void)state;
	assert_true(eq("X-Client-Cert", "x-client-cert"));
	assert_true(eq("x_client_cert", "x-client-cert"));
	assert_true(eq("X_CLIENT-CERT", "x_client_cert"));
	assert_false(eq("x-client-cert-serial", "x-client-cert"));
	assert_false(eq("x-client-cer", "x-client-cert"));
	assert_false(eq("x-client.cert", "x-client-cert"));
	assert_false(eq("", "x"));
	assert_true(eq("", ""));
	assert_true(ts_http_name_in(list, "Client_Cert", 11));
	assert_false(ts_http_name_in(list, "client-cert-chain", 17));
	assert_false(ts_http_name_in(NULL, "client-cert", 11));
}

static void test_forwarding_names(void **state)
{
	static const char *const yes[] = { "Forwarded", "X-Forwarded-For", "x_forwarded_proto",
					   "X-FORWARDED-HOST", "x-real-ip" };

	(void)state;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(ts_http_forwarding_name(yes[i], strlen(yes[i])));
	assert_false(ts_http_forwarding_name("x-forwarded", 11));
	assert_false(ts_http_forwarding_name("x-forwarded-client-cert", 23));
	assert_false(ts_http_forwarding_name("via", 3));
}

static void test_authority(void **state)
{
	static const struct {
		const char *a;
		int rc;
		size_t host;
	} cases[] = {
		{ "api.test", 0, 8 },	     { "api.test:8443", 0, 8 }, { "[::1]:443", 0, 5 },
		{ "api.test:65535", 0, 8 },  { "a_b.test", 0, 8 },	{ "", 400, 0 },
		{ ":443", 400, 0 },	     { "api.test:", 400, 0 },	{ "api.test:0", 400, 0 },
		{ "api.test:65536", 400, 0 }, { "api.test:123456", 400, 0 },
		{ "user@api.test", 400, 0 }, { "api.test:44a", 400, 0 }, { "[::1", 400, 0 },
		{ "api%2etest", 400, 0 },    { "api.test/x", 400, 0 },	{ "a b", 400, 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t host = 0;
		int rc = ts_http_parse_authority(cases[i].a, strlen(cases[i].a), &host);
		if (rc != cases[i].rc)
			fail_msg("%s: %d, want %d", cases[i].a, rc, cases[i].rc);
		if (!rc)
			assert_int_equal(host, cases[i].host);
	}
}

static void test_forwarding_lines(void **state)
{
	char buf[TS_HTTP_FORWARDING_MAX(sizeof("2001:db8::1"))];

	(void)state;
	assert_int_equal(ts_http_forwarding_lines("192.0.2.7", buf, sizeof(buf)), 92);
	assert_string_equal(buf, "X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-Proto: https\r\n"
				 "Forwarded: for=192.0.2.7;proto=https\r\n");
	assert_true(ts_http_forwarding_lines("2001:db8::1", buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "X-Forwarded-For: 2001:db8::1\r\nX-Forwarded-Proto: https\r\n"
				 "Forwarded: for=\"[2001:db8::1]\";proto=https\r\n");
	assert_int_equal(ts_http_forwarding_lines("192.0.2.7", buf, 20), -22);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_names),
		cmocka_unit_test(test_forwarding_names),
		cmocka_unit_test(test_authority),
		cmocka_unit_test(test_forwarding_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
