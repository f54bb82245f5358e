// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The configuration's logging section: level and connection log, their
 * defaults, and errors that name the file, line and key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"

static int load(const char *yaml, struct ts_config **cfg, char *err)
{
	err[0] = '\0';
	return ts_config_load_string(yaml, strlen(yaml), "log.yaml", cfg, err, TS_CFG_ERR_SIZE);
}

static void test_defaults(void **state)
{
	struct ts_config *cfg = NULL;
	char err[TS_CFG_ERR_SIZE];

	(void)state;
	assert_int_equal(load("handoff: { socket: /run/x.sock }\n", &cfg, err), 0);
	assert_int_equal(cfg->log_level, TS_LOG_INFO);
	assert_false(cfg->log_connections);
	ts_config_free(cfg);
}

static void test_levels(void **state)
{
	static const char *const names[] = { "error", "warn", "info", "debug" };
	struct ts_config *cfg = NULL;
	char yaml[128], err[TS_CFG_ERR_SIZE];
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		snprintf(yaml, sizeof(yaml), "logging:\n  level: %s\n  connections: %s\n", names[i],
			 i % 2 ? "true" : "off");
		assert_int_equal(load(yaml, &cfg, err), 0);
		assert_int_equal(cfg->log_level, i);
		assert_int_equal(cfg->log_connections, i % 2 == 1);
		ts_config_free(cfg);
	}
}

static void test_errors(void **state)
{
	static const struct {
		const char *yaml, *err;
	} cases[] = {
		{ "logging:\n  level: verbose\n", "log.yaml:2: logging.level: unknown value 'verbose'" },
		{ "logging:\n  level: info\n  connections: maybe\n",
		  "log.yaml:3: logging.connections: expected true or false, got 'maybe'" },
		{ "logging:\n  levels: info\n", "log.yaml:2: logging.levels: unknown key" },
		{ "logging: debug\n", "log.yaml:1: logging: expected a mapping" },
	};
	struct ts_config *cfg = NULL;
	char err[TS_CFG_ERR_SIZE];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(load(cases[i].yaml, &cfg, err), -EINVAL);
		assert_string_equal(err, cases[i].err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
