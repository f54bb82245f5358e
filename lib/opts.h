/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Command-line options as one table of { name, type, where the value goes,
 * bounds }, like the configuration's schema: getopt_long's table and the
 * switch over it are made from it (opts.c). Options that act (--help,
 * --list-counters) are flags the caller looks at after parsing.
 */
#ifndef TS_OPTS_H
#define TS_OPTS_H

#include <stdbool.h>
#include <stddef.h>

enum ts_opt_type {
	TS_OPT_STR,  /* const char **: the argument */
	TS_OPT_LONG, /* long *: a decimal number within [min, max] */
	TS_OPT_FLAG, /* bool *: true when present */
};

struct ts_opt {
	const char *name; /* the long name, without "--"; NULL ends the table */
	char short_name;  /* 0: long only */
	enum ts_opt_type type;
	void *dest;
	long min, max; /* TS_OPT_LONG */
};

/* Table rows; the conditional makes the compiler check dest's type. */
#define TS_OPT_S(n, s, d)                                                                  \
	{ .name = (n), .short_name = (s), .type = TS_OPT_STR,                              \
	  .dest = (void *)(1 ? (d) : (const char **)0) }
#define TS_OPT_N(n, s, d, lo, hi)                                                          \
	{ .name = (n), .short_name = (s), .type = TS_OPT_LONG,                             \
	  .dest = (void *)(1 ? (d) : (long *)0), .min = (lo), .max = (hi) }
#define TS_OPT_F(n, s, d)                                                                  \
	{ .name = (n), .short_name = (s), .type = TS_OPT_FLAG, .dest = (void *)(1 ? (d) : (bool *)0) }
#define TS_OPT_END { .name = NULL }

/* Parses argv[1..] from the table. Returns the index of the first argument
 * that is not an option, or -1 with a message in err (empty when getopt has
 * already printed one). */
int ts_opts_parse(int argc, char **argv, const struct ts_opt *opts, char *err, size_t err_len);

#endif /* TS_OPTS_H */
