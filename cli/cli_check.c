// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `tagshake check FILE`: validates a configuration without touching the
 * kernel, with the same parser the daemons and `policy import` use. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "opts.h"

static const char check_help[] =
	"usage: tagshake check [--quiet] FILE\n"
	"\n"
	"Parses and validates the tagshake configuration FILE exactly as tagshaked,\n"
	"tagshake-proxy and `tagshake policy import` do (every key, name reference,\n"
	"value and the readability of every certificate, key and CA file), without\n"
	"touching the kernel or any daemon. Prints a summary and exits 0 when the\n"
	"file is valid; prints \"FILE:LINE: KEY: reason\" and exits 1 when it is not.\n"
	"  --quiet       print nothing on success\n"
	"  --generation  print only the policy generation (16 hex digits): the digest\n"
	"                of everything the policy decides with, which tagshaked, the\n"
	"                proxy and the BPF policy entries must share\n";

static void print_summary(const char *path, const struct ts_config *cfg)
{
	struct ts_policy_value v;

	printf("%s: ok: %d listener%s, %d certificate%s, %d CA set%s, %d route%s, %zu "
	       "polic%s\n",
	       path, cfg->nlisteners, cfg->nlisteners == 1 ? "" : "s", cfg->ncerts,
	       cfg->ncerts == 1 ? "" : "s", cfg->nca_sets, cfg->nca_sets == 1 ? "" : "s",
	       cfg->nroutes, cfg->nroutes == 1 ? "" : "s", ts_config_policy_count(cfg),
	       ts_config_policy_count(cfg) == 1 ? "y" : "ies");
	for (size_t i = 0; i < ts_config_policy_count(cfg); i++) {
		const char *name = ts_config_policy_at(cfg, i, &v);

		printf("  %-40s %-8s cert=%u ca=%u route=%u\n", name, ts_action_name(v.action),
		       v.cert_id, v.ca_id, v.route_id);
	}
}

int ts_cmd_check(int argc, char **argv)
{
	bool quiet = false, generation = false, help = false;
	const struct ts_opt opts[] = {
		TS_OPT_F("quiet", 'q', &quiet),
		TS_OPT_F("generation", 0, &generation),
		TS_OPT_F("help", 0, &help),
		TS_OPT_END,
	};
	char err[TS_CFG_ERR_SIZE];
	struct ts_config *cfg = NULL;
	int first = ts_opts_parse(argc, argv, opts, err, sizeof(err));

	if (first < 0)
		return err[0] ? ts_usage_error("%s", err) : TS_EXIT_USAGE;
	if (help)
		return fputs(check_help, stdout), 0;
	if (first != argc - 1)
		return ts_usage_error("check needs exactly one FILE");
	if (ts_config_load(argv[first], &cfg, err, sizeof(err)) < 0)
		return ts_fail("%s", err);
	if (generation)
		printf("%016llx\n", (unsigned long long)cfg->generation);
	else if (!quiet)
		print_summary(argv[first], cfg);
	ts_config_free(cfg);
	return 0;
}
