// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `tagshake stats`: the tagger's per-CPU counters, summed. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "config.h"
#include "names.h"
#include "opts.h"
#include "pins.h"

static const char stats_help[] =
	"usage: tagshake stats [--json] [--pin-dir DIR] | --list\n"
	"\n"
	"Prints the tagger's counters: final tags by status, decisions by action,\n"
	"data segments inspected, segments that arrived ahead of a gap, sockets\n"
	"whose storage could not be allocated, and data segments that reached a\n"
	"listening socket (TCP_DEFER_ACCEPT, Fast Open: their connection is untagged).\n"
	"--list prints the counters' names, one a line, without reading them.\n";

static int read_counters(const char *dir, __u64 totals[TS_CTR_COUNT])
{
	int fd = ts_pin_open(dir, TS_PIN_COUNTERS), ncpu = libbpf_num_possible_cpus();
	__u64 *percpu;
	int err = 0;

	if (fd < 0)
		return fd;
	if (ncpu <= 0) {
		close(fd);
		return -EINVAL;
	}
	percpu = calloc(ncpu, sizeof(*percpu));
	if (!percpu) {
		close(fd);
		return -ENOMEM;
	}
	for (__u32 i = 0; i < TS_CTR_COUNT && !err; i++) {
		totals[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, percpu) != 0)
			err = -errno;
		for (int c = 0; c < ncpu && !err; c++)
			totals[i] += percpu[c];
	}
	free(percpu);
	close(fd);
	return err;
}

#define TS_CTR_NAME(id, name, family, help) name,
static const char *const scalar_names[TS_CTR_COUNT - TS_CTR_SEGMENTS] = {
	TS_TAGGER_COUNTERS(TS_CTR_NAME)
};
#undef TS_CTR_NAME

static const char *counter_name(__u32 i, char *buf, size_t len)
{
	if (i < TS_CTR_ACTION)
		snprintf(buf, len, "status.%s", ts_status_name(i - TS_CTR_STATUS));
	else if (i < TS_CTR_SEGMENTS)
		snprintf(buf, len, "action.%s", ts_action_name(i - TS_CTR_ACTION));
	else
		snprintf(buf, len, "%s", scalar_names[i - TS_CTR_SEGMENTS]);
	return buf;
}

static int list_counters(void)
{
	char name[64];

	for (__u32 i = 0; i < TS_CTR_COUNT; i++)
		puts(counter_name(i, name, sizeof(name)));
	return 0;
}

int ts_cmd_stats(int argc, char **argv)
{
	__u64 totals[TS_CTR_COUNT];
	const char *dir = NULL;
	bool json = false, list = false, help = false;
	const struct ts_opt opts[] = {
		TS_OPT_F("json", 0, &json),
		TS_OPT_S("pin-dir", 0, &dir),
		TS_OPT_F("list", 0, &list),
		TS_OPT_F("help", 0, &help),
		TS_OPT_END,
	};
	char name[64];
	int first = ts_opts_parse(argc, argv, opts, name, sizeof(name)), err;

	if (first < 0)
		return name[0] ? ts_usage_error("%s", name) : TS_EXIT_USAGE;
	if (help)
		return fputs(stats_help, stdout), 0;
	if (first < argc)
		return ts_usage_error("unexpected argument '%s'", argv[first]);
	if (list)
		return list_counters();
	dir = ts_cli_pin_dir(dir);
	err = read_counters(dir, totals);
	if (err)
		return ts_fail("cannot read counters at %s: %s (is the tagger loaded?)", dir,
			       strerror(-err));
	if (json)
		putchar('{');
	for (__u32 i = 0; i < TS_CTR_COUNT; i++) {
		counter_name(i, name, sizeof(name));
		if (json)
			printf("%s\"%s\":%llu", i ? "," : "", name, (unsigned long long)totals[i]);
		else
			printf("%-22s %llu\n", name, (unsigned long long)totals[i]);
	}
	if (json)
		puts("}");
	return 0;
}
