// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Command-line options from a table (opts.h) over getopt_long. */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "opts.h"

/* More options than any of our commands has; a longer table is a bug. */
#define TS_OPTS_MAX 32
/* getopt_long's value for the table's entry i: above every short name. */
#define TS_OPT_VAL(i) (256 + (i))

static int set_long(const struct ts_opt *o, const char *arg, char *err, size_t err_len)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno || end == arg || *end || v < o->min || v > o->max) {
		snprintf(err, err_len, "invalid --%s '%s' (%ld-%ld)", o->name, arg, o->min, o->max);
		return -1;
	}
	*(long *)o->dest = v;
	return 0;
}

static int set(const struct ts_opt *o, const char *arg, char *err, size_t err_len)
{
	switch (o->type) {
	case TS_OPT_STR: *(const char **)o->dest = arg; return 0;
	case TS_OPT_LONG: return set_long(o, arg, err, err_len);
	case TS_OPT_FLAG: *(bool *)o->dest = true; return 0;
	}
	return -1;
}

int ts_opts_parse(int argc, char **argv, const struct ts_opt *opts, char *err, size_t err_len)
{
	struct option longs[TS_OPTS_MAX + 1] = { { 0 } };
	char shorts[2 * TS_OPTS_MAX + 2] = "";
	size_t ns = 0;
	int i, n, c;

	err[0] = '\0';
	for (n = 0; opts[n].name; n++) {
		int has_arg = opts[n].type == TS_OPT_FLAG ? no_argument : required_argument;

		if (n == TS_OPTS_MAX) {
			snprintf(err, err_len, "more than %d options", TS_OPTS_MAX);
			return -1;
		}
		longs[n] = (struct option){ opts[n].name, has_arg, NULL, TS_OPT_VAL(n) };
		if (opts[n].short_name) {
			shorts[ns++] = opts[n].short_name;
			if (has_arg == required_argument)
				shorts[ns++] = ':';
		}
	}
	shorts[ns] = '\0';
	optind = 1;
	while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		for (i = 0; i < n; i++)
			if (c == TS_OPT_VAL(i) || (opts[i].short_name && c == opts[i].short_name))
				break;
		if (i == n) /* '?': getopt said what was wrong */
			return -1;
		if (set(&opts[i], optarg, err, err_len))
			return -1;
	}
	return optind;
}
