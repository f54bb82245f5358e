/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* `tagshake` subcommands: each takes argv from its own name on. */
#ifndef TS_CLI_H
#define TS_CLI_H

int ts_cmd_load(int argc, char **argv);
int ts_cmd_unload(int argc, char **argv);
int ts_cmd_status(int argc, char **argv);
int ts_cmd_policy(int argc, char **argv);
int ts_cmd_stats(int argc, char **argv);
int ts_cmd_parse(int argc, char **argv);
int ts_cmd_check(int argc, char **argv);
int ts_cmd_metrics(int argc, char **argv);
int ts_cmd_top(int argc, char **argv);
int ts_cmd_reload(int argc, char **argv);
int ts_cmd_import_kong(int argc, char **argv);

/* Exit statuses: 0 success, 1 failure of the operation, 2 usage. */
#define TS_EXIT_FAIL 1
#define TS_EXIT_USAGE 2

/* Prints "tagshake: " + the message + "\n" to stderr; returns TS_EXIT_FAIL. */
int ts_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Same for a usage error; returns TS_EXIT_USAGE. */
int ts_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The pin directory: --pin-dir, else $TAGSHAKE_PIN_DIR, else the default. */
const char *ts_cli_pin_dir(const char *option);
/* Parses a decimal in [min, max]; -1 on error. */
long ts_cli_number(const char *s, long min, long max);

#endif /* TS_CLI_H */
