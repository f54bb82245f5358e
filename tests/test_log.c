// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* lib/log.c: the rate limiter with explicit seconds, then ts_log's real
 * output on a redirected stderr (levels, burst, the "suppressed" line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

struct seen {
	unsigned n;
	unsigned index[4];
	unsigned suppressed[4];
};

static void collect(unsigned i, uint64_t hash, unsigned suppressed, void *arg)
{
	struct seen *s = arg;

	(void)hash;
	if (s->n < 4) {
		s->index[s->n] = i;
		s->suppressed[s->n] = suppressed;
	}
	s->n++;
}

static void test_burst_per_second(void **state)
{
	struct ts_ratelimit rl = { .burst = 3 };
	uint64_t h = ts_log_hash("worker 0: epoll_ctl: No space left on device");
	struct seen s = { 0 };
	int i, allowed = 0;

	(void)state;
	for (i = 0; i < 10; i++)
		allowed += ts_ratelimit_allow(&rl, h, 100);
	assert_int_equal(allowed, 3);
	/* the second is not over: nothing to report yet */
	ts_ratelimit_drain(&rl, 100, collect, &s);
	assert_int_equal(s.n, 0);
	ts_ratelimit_drain(&rl, 101, collect, &s);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.index[0], h % TS_RATELIMIT_SLOTS);
	assert_int_equal(s.suppressed[0], 7);
	/* reported once only */
	ts_ratelimit_drain(&rl, 102, collect, &s);
	assert_int_equal(s.n, 1);
	/* a new second lets a new burst through */
	allowed = 0;
	for (i = 0; i < 5; i++)
		allowed += ts_ratelimit_allow(&rl, h, 101);
	assert_int_equal(allowed, 3);
}

static void test_messages_apart(void **state)
{
	struct ts_ratelimit rl = { .burst = 2 };
	uint64_t a = 1, b = 2, c = 1 + TS_RATELIMIT_SLOTS; /* c shares a's slot */
	struct seen s = { 0 };

	(void)state;
	assert_true(ts_ratelimit_allow(&rl, a, 7));
	assert_true(ts_ratelimit_allow(&rl, a, 7));
	assert_false(ts_ratelimit_allow(&rl, a, 7));
	assert_true(ts_ratelimit_allow(&rl, b, 7));
	assert_true(ts_ratelimit_allow(&rl, b, 7));
	assert_false(ts_ratelimit_allow(&rl, b, 7));
	assert_false(ts_ratelimit_allow(&rl, b, 7));
	/* same slot, same second: a's limit is spent */
	assert_false(ts_ratelimit_allow(&rl, c, 7));
	ts_ratelimit_drain(&rl, 8, collect, &s);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.index[0], 1);
	assert_int_equal(s.suppressed[0], 2);
	assert_int_equal(s.index[1], 2);
	assert_int_equal(s.suppressed[1], 2);
	/* next second the slot is c's */
	assert_true(ts_ratelimit_allow(&rl, c, 8));
	assert_int_equal(rl.slot[1].hash, c);
}

/* stderr into a temporary file for the length of fn */
static char *capture(void (*fn)(void))
{
	FILE *f = tmpfile();
	int saved = dup(STDERR_FILENO);
	static char out[4096];
	size_t n;

	assert_non_null(f);
	dup2(fileno(f), STDERR_FILENO);
	fn();
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	return out;
}

/* early in a monotonic second, so that a burst stays within it */
static void second_start(void)
{
	struct timespec ts;

	do {
		usleep(10000);
		clock_gettime(CLOCK_MONOTONIC, &ts);
	} while (ts.tv_nsec > 300000000);
}

static void next_second(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	usleep((useconds_t)((1000000000L - ts.tv_nsec) / 1000 + 20000));
}

static void levels(void)
{
	ts_log_set_level(TS_LOG_WARN);
	ts_log(TS_LOG_ERROR, "e %d", 1);
	ts_log(TS_LOG_WARN, "w %d", 2);
	ts_log(TS_LOG_INFO, "i %d", 3);
	ts_log(TS_LOG_DEBUG, "d %d", 4);
	ts_log_set_level(TS_LOG_DEBUG);
	ts_log(TS_LOG_DEBUG, "d %d", 5);
	ts_log_set_level(TS_LOG_ERROR);
	ts_log(TS_LOG_WARN, "w %d", 6);
	ts_log(TS_LOG_ERROR, "e %d", 7);
}

static void test_levels(void **state)
{
	(void)state;
	ts_log_init("test_log");
	assert_string_equal(capture(levels),
			    "test_log: e 1\ntest_log: w 2\ntest_log: d 5\ntest_log: e 7\n");
	assert_string_equal(ts_log_level_name(TS_LOG_WARN), "warn");
}

static void burst(void)
{
	int i;

	ts_log_set_level(TS_LOG_INFO);
	second_start();
	for (i = 0; i < 12; i++)
		ts_log(TS_LOG_ERROR, "upstream %s: connection refused", "10.0.0.1:80");
	ts_log(TS_LOG_ERROR, "another error");
	next_second();
	ts_log_flush();
	ts_log(TS_LOG_ERROR, "upstream %s: connection refused", "10.0.0.1:80");
}

static void test_burst_output(void **state)
{
	char want[2048] = "";
	int i;

	(void)state;
	ts_log_init("tagshake-proxy");
	for (i = 0; i < TS_LOG_BURST; i++)
		strcat(want, "tagshake-proxy: upstream 10.0.0.1:80: connection refused\n");
	strcat(want, "tagshake-proxy: another error\n");
	char line[200];
	snprintf(line, sizeof(line),
		 "tagshake-proxy: suppressed %d more of: upstream 10.0.0.1:80: connection refused\n",
		 12 - TS_LOG_BURST);
	strcat(want, line);
	strcat(want, "tagshake-proxy: upstream 10.0.0.1:80: connection refused\n");
	assert_string_equal(capture(burst), want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_per_second),
		cmocka_unit_test(test_messages_apart),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_burst_output),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
