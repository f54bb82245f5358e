// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `tagshake`: the loader and policy CLI. Dispatches to cli/cli_*.c. */
#include "cli.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tagshake.h"

static const char usage[] =
	"usage: tagshake COMMAND [OPTIONS]\n"
	"\n"
	"  load [--cgroup PATH] [--port N]... [--pin-dir DIR]   load, attach and pin the tagger\n"
	"  unload [--pin-dir DIR]                              detach and remove the pins\n"
	"  status [--pin-dir DIR]                              what is loaded and where\n"
	"  policy add NAME ACTION [--cert ID] [--ca ID] [--route ID]\n"
	"  policy del NAME | policy list [--json] | policy import FILE\n"
	"  stats [--json] [--pin-dir DIR]                      tagger counters\n"
	"  parse [--json] [--userspace] FILE...                parse ClientHello files\n"
	"  check [--quiet] [--generation] FILE                 validate a configuration file\n"
	"  reload --config FILE [--proxy-status F] [--handshaker-status F]\n"
	"                                                      proxy, tagshaked, then kernel\n"
	"  import-kong FILE [-o OUT]                           convert a Kong declarative file\n"
	"  metrics [--listen ADDR:PORT] [--status FILE]...     Prometheus exporter\n"
	"  top [--interval S] [--handshaker-status FILE] [--proxy-status FILE]  live view\n"
	"\n"
	"Run 'tagshake COMMAND --help' for a command's options.\n";

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "load", ts_cmd_load },     { "unload", ts_cmd_unload }, { "status", ts_cmd_status },
	{ "policy", ts_cmd_policy }, { "stats", ts_cmd_stats },   { "parse", ts_cmd_parse },
	{ "check", ts_cmd_check },   { "metrics", ts_cmd_metrics }, { "top", ts_cmd_top },
	{ "reload", ts_cmd_reload },
	{ "import-kong", ts_cmd_import_kong },
};

/* One line on stderr: "tagshake: " + the message + the ending. */
static void report(const char *fmt, va_list ap, const char *ending)
{
	fputs("tagshake: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(ending, stderr);
}

int ts_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(fmt, ap, "\n");
	va_end(ap);
	return TS_EXIT_FAIL;
}

int ts_usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(fmt, ap, " (see --help)\n");
	va_end(ap);
	return TS_EXIT_USAGE;
}

const char *ts_cli_pin_dir(const char *option)
{
	const char *env = getenv("TAGSHAKE_PIN_DIR");

	if (option)
		return option;
	return env && *env ? env : TS_PIN_DIR_DEFAULT;
}

long ts_cli_number(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	return v;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return TS_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		fputs(usage, stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	return ts_usage_error("unknown command '%s'", argv[1]);
}
