// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* HTTP request rewriting: exact upstream bytes for keep-alive, pipelined,
 * chunked and split input, header stripping, and the local answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "http_inject.h"

static const char *const strip[] = { "x-client-cert", "client-cert", NULL };
static const char inject[] = "X-Client-Cert: abc\r\n";

/* Host policy for the tests: "good.test" (any port) forwards, "bad.test"
 * maps to another policy. */
static int check(void *ctx, const char *host, size_t len)
{
	int *calls = ctx;

	(*calls)++;
	if (len >= 8 && !memcmp(host, "bad.test", 8))
		return 421;
	return 0;
}

/* Feeds `in` in pieces of `step` bytes through an output of out_cap bytes
 * drained after each call; returns the status and the whole output. */
static int run(const char *in, size_t step, size_t out_cap, char *all, size_t *all_len, int *calls)
{
	struct ts_http_inject *h = ts_http_inject_new(inject, strlen(inject), strip, check, calls);
	char *out = malloc(out_cap);
	size_t len = strlen(in), pos = 0, fed_to = 0;
	int st = 0, stalls = 0;

	*all_len = 0;
	while (pos < len && !st && stalls < 1000) {
		size_t out_len = 0, used = 0;
		fed_to = fed_to + step > len ? len : fed_to + step;
		if (fed_to < pos + 1)
			fed_to = pos + 1;
		st = ts_http_inject_feed(h, in + pos, fed_to - pos, out, &out_len, out_cap, &used);
		memcpy(all + *all_len, out, out_len);
		*all_len += out_len;
		stalls = used || out_len ? 0 : stalls + 1;
		pos += used;
	}
	all[*all_len] = '\0';
	free(out);
	ts_http_inject_free(h);
	return st;
}

static const char pipelined[] =
	"GET /a HTTP/1.1\r\nHost: good.test\r\nX-Client-Cert: forged\r\n\r\n"
	"POST /b?q=1 HTTP/1.1\r\nhost: good.test:8443\r\nContent-Length: 5\r\n\r\nhello"
	"PUT /c HTTP/1.1\r\nHost: good.test\r\nTransfer-Encoding: chunked\r\nclient-cert: :AAA=:\r\n\r\n"
	"3\r\nabc\r\n0\r\n\r\n"
	"GET /d HTTP/1.0\r\n\r\n";

static const char pipelined_out[] =
	"GET /a HTTP/1.1\r\nHost: good.test\r\nX-Client-Cert: abc\r\n\r\n"
	"POST /b?q=1 HTTP/1.1\r\nhost: good.test:8443\r\nContent-Length: 5\r\nX-Client-Cert: abc\r\n\r\nhello"
	"PUT /c HTTP/1.1\r\nHost: good.test\r\nTransfer-Encoding: chunked\r\nX-Client-Cert: abc\r\n\r\n"
	"3\r\nabc\r\n0\r\n\r\n"
	"GET /d HTTP/1.0\r\nX-Client-Cert: abc\r\n\r\n";

static void test_pipelined_whole(void **state)
{
	(void)state;
	char all[4096];
	size_t n;
	int calls = 0;

	assert_int_equal(run(pipelined, sizeof(pipelined), 65536, all, &n, &calls), 0);
	assert_string_equal(all, pipelined_out);
	assert_int_equal(calls, 3); /* the HTTP/1.0 request has no Host */
}

static void test_pipelined_byte_by_byte(void **state)
{
	(void)state;
	char all[4096];
	size_t n;
	int calls = 0;

	assert_int_equal(run(pipelined, 1, 65536, all, &n, &calls), 0);
	assert_string_equal(all, pipelined_out);
}

static void test_backpressure_small_output(void **state)
{
	(void)state;
	char all[4096];
	size_t n;
	int calls = 0;

	/* room for one rebuilt head at a time, bodies trickle through */
	assert_int_equal(run(pipelined, 7, 100, all, &n, &calls), 0);
	assert_string_equal(all, pipelined_out);
}

static void test_misdirected(void **state)
{
	(void)state;
	char all[4096];
	size_t n;
	int calls = 0;
	const char in[] = "GET / HTTP/1.1\r\nHost: good.test\r\n\r\n"
			  "GET /x HTTP/1.1\r\nHost: bad.test\r\nX-Client-Cert: forged\r\n\r\n";

	assert_int_equal(run(in, sizeof(in), 65536, all, &n, &calls), 421);
	assert_string_equal(all, "GET / HTTP/1.1\r\nHost: good.test\r\nX-Client-Cert: abc\r\n\r\n");
}

static void test_absolute_form_wins(void **state)
{
	(void)state;
	char all[4096];
	size_t n;
	int calls = 0;

	assert_int_equal(run("GET http://bad.test/ HTTP/1.1\r\nHost: good.test\r\n\r\n", 1000,
			     65536, all, &n, &calls), 421);
	assert_int_equal(n, 0);
}

static void test_bad_requests(void **state)
{
	(void)state;
	char all[40000], big[20000];
	size_t n;
	int calls = 0;

	assert_int_equal(run("GET / HTTP/1.1\r\n\r\n", 100, 65536, all, &n, &calls), 400);
	assert_int_equal(run("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 100, 65536, all, &n,
			     &calls), 400);
	assert_int_equal(run("GET / HTTP/1.1\r\nHost: good.test\r\nConnection: upgrade\r\n"
			     "Upgrade: websocket\r\n\r\n", 100, 65536, all, &n, &calls), 501);
	assert_int_equal(run("BLAH\r\n\r\n", 100, 65536, all, &n, &calls), 400);
	snprintf(big, sizeof(big), "GET / HTTP/1.1\r\nHost: good.test\r\nX-Big: %0*d\r\n\r\n",
		 17000, 0);
	assert_int_equal(run(big, 4096, 65536, all, &n, &calls), 431);
	assert_int_equal(n, 0);
}

/* Framing is re-stated from the parser's decision (no smuggling through
 * forms the upstream could read differently). */
static void test_framing_restated(void **state)
{
	(void)state;
	char all[4096];
	size_t n;
	int calls = 0;

	assert_int_equal(run("POST / HTTP/1.1\r\nContent-Length: 003\r\nHost: good.test\r\n\r\nabc",
			     1000, 65536, all, &n, &calls), 0);
	assert_string_equal(all, "POST / HTTP/1.1\r\nHost: good.test\r\nContent-Length: 3\r\n"
				 "X-Client-Cert: abc\r\n\r\nabc");
	assert_int_equal(run("POST / HTTP/1.1\r\nHost: good.test\r\nTransfer-Encoding: CHUNKED\r\n\r\n"
			     "1\r\nx\r\n0\r\n\r\n", 1000, 65536, all, &n, &calls), 0);
	assert_string_equal(all, "POST / HTTP/1.1\r\nHost: good.test\r\nTransfer-Encoding: chunked\r\n"
				 "X-Client-Cert: abc\r\n\r\n1\r\nx\r\n0\r\n\r\n");
	assert_int_equal(run("POST / HTTP/1.1\r\nHost: good.test\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
			     1000, 65536, all, &n, &calls), 501);
	assert_int_equal(run("POST / HTTP/1.1\r\nHost: good.test\r\nContent-Length: 3\r\n"
			     "Transfer-Encoding: chunked\r\n\r\n", 1000, 65536, all, &n, &calls), 400);
	assert_int_equal(run("POST / HTTP/1.1\r\nHost: good.test\r\nContent-Length: 3\r\n"
			     "Content-Length: 4\r\n\r\n", 1000, 65536, all, &n, &calls), 400);
	assert_int_equal(n, 0);
}

/* Feeds `in` in random pieces through random output sizes (never below one
 * rebuilt head); returns the status, the output in all. */
static int run_random(const char *in, size_t len, unsigned *seed, char *all, size_t *all_len)
{
	int calls = 0;
	struct ts_http_inject *h = ts_http_inject_new(inject, strlen(inject), strip, check, &calls);
	size_t pos = 0;
	int st = 0;
	char out[600];

	*all_len = 0;
	while (pos < len && !st) {
		size_t piece = 1 + (size_t)rand_r(seed) % 64, cap = 120 + (size_t)rand_r(seed) % 400;
		size_t out_len = 0, used = 0;
		if (piece > len - pos)
			piece = len - pos;
		st = ts_http_inject_feed(h, in + pos, piece, out, &out_len, cap, &used);
		memcpy(all + *all_len, out, out_len);
		*all_len += out_len;
		pos += used;
	}
	/* drain a head still waiting for room */
	for (int i = 0; i < 4 && !st; i++) {
		size_t out_len = 0, used = 0;
		st = ts_http_inject_feed(h, "", 0, out, &out_len, sizeof(out), &used);
		memcpy(all + *all_len, out, out_len);
		*all_len += out_len;
	}
	all[*all_len] = '\0';
	ts_http_inject_free(h);
	return st;
}

static void test_random_splits(void **state)
{
	(void)state;
	unsigned seed = 20261126;
	char all[4096];
	size_t n;

	for (int i = 0; i < 2000; i++) {
		assert_int_equal(run_random(pipelined, strlen(pipelined), &seed, all, &n), 0);
		assert_string_equal(all, pipelined_out);
	}
}

/* Any bytes: a status or forwarding, never a crash or unbounded output. */
static void test_garbage(void **state)
{
	(void)state;
	unsigned seed = 7;
	static const char alphabet[] = "GET POST / HTTP/1.1\r\n:Host:good.test Content-Length: 12 "
				       "Transfer-Encoding: chunked 0 a\r\n\x00\xff";
	char in[512], all[65536];
	size_t n;

	for (int i = 0; i < 20000; i++) {
		size_t len = 1 + (size_t)rand_r(&seed) % sizeof(in);
		for (size_t j = 0; j < len; j++)
			in[j] = alphabet[(size_t)rand_r(&seed) % (sizeof(alphabet) - 1)];
		if (i % 2)
			memcpy(in, "GET / HTTP/1.1\r\nHost: good.test\r\n", len < 34 ? len : 34);
		int st = run_random(in, len, &seed, all, &n);
		assert_true(st == 0 || st == 400 || st == 421 || st == 431 || st == 501);
		assert_true(n <= len * 4 + 4096);
	}
}

static void test_local_response(void **state)
{
	(void)state;
	char buf[256];
	size_t n = ts_http_local_response(421, buf, sizeof(buf));

	assert_int_equal(n, strlen(buf));
	assert_string_equal(buf, "HTTP/1.1 421 Misdirected Request\r\nContent-Type: text/plain\r\n"
				 "Content-Length: 20\r\nConnection: close\r\n\r\n"
				 "Misdirected Request\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pipelined_whole),
		cmocka_unit_test(test_pipelined_byte_by_byte),
		cmocka_unit_test(test_backpressure_small_output),
		cmocka_unit_test(test_misdirected),
		cmocka_unit_test(test_absolute_form_wins),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_framing_restated),
		cmocka_unit_test(test_random_splits),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_local_response),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
