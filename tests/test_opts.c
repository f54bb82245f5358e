// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Command-line options from a table (lib/opts.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "opts.h"

struct o {
	const char *config;
	long workers;
	bool flag;
};

static int parse(struct o *o, int argc, char **argv, char *err, size_t len)
{
	const struct ts_opt opts[] = {
		TS_OPT_S("config", 'c', &o->config),
		TS_OPT_N("workers", 'w', &o->workers, 0, 256),
		TS_OPT_F("no-splice", 0, &o->flag),
		TS_OPT_END,
	};

	memset(o, 0, sizeof(*o));
	return ts_opts_parse(argc, argv, opts, err, len);
}

static void test_values(void **state)
{
	char *argv[] = { "p", "--config", "a.yaml", "-w", "4", "--no-splice", "rest", NULL };
	struct o o;
	char err[64];

	(void)state;
	assert_int_equal(parse(&o, 7, argv, err, sizeof(err)), 6);
	assert_string_equal(o.config, "a.yaml");
	assert_int_equal(o.workers, 4);
	assert_true(o.flag);
	assert_string_equal(err, "");
}

static void test_short_and_equals(void **state)
{
	char *argv[] = { "p", "-c", "b.yaml", "--workers=256", NULL };
	struct o o;
	char err[64];

	(void)state;
	assert_int_equal(parse(&o, 4, argv, err, sizeof(err)), 4);
	assert_string_equal(o.config, "b.yaml");
	assert_int_equal(o.workers, 256);
	assert_false(o.flag);
}

static void test_bad_number(void **state)
{
	char *over[] = { "p", "--workers", "257", NULL };
	char *junk[] = { "p", "--workers", "4x", NULL };
	struct o o;
	char err[64];

	(void)state;
	assert_int_equal(parse(&o, 3, over, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid --workers '257' (0-256)");
	assert_int_equal(parse(&o, 3, junk, err, sizeof(err)), -1);
	assert_string_equal(err, "invalid --workers '4x' (0-256)");
	assert_int_equal(o.workers, 0);
}

static void test_unknown(void **state)
{
	char *argv[] = { "p", "--frobnicate", NULL };
	struct o o;
	char err[64];

	(void)state;
	/* getopt prints its own message: err stays empty */
	assert_int_equal(parse(&o, 2, argv, err, sizeof(err)), -1);
	assert_string_equal(err, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_short_and_equals),
		cmocka_unit_test(test_bad_number),
		cmocka_unit_test(test_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
