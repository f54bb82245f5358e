// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer harness for the configuration parser (ts_config_load_string,
 * lib/config.c over libyaml): the file `tagshake policy import` and both
 * daemons read. Besides ASan/UBSan/LeakSanitizer it checks that a failure
 * explains itself and that an accepted configuration holds only what the BPF
 * map and the daemons expect: normalised keys in order, ids that resolve,
 * actions in range, and a lookup that agrees with the entries.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "config.h"

static int policy_name_ok(const char *name)
{
	size_t len = strnlen(name, TS_NAME_SIZE);

	check(len < TS_NAME_SIZE);
	if (!strcmp(name, TS_POLICY_DEFAULT) || !strcmp(name, TS_POLICY_NO_SNI))
		return 1;
	if (len > 2 && name[0] == '*' && name[1] == '.')
		return fuzz_sni_is_normalised(name + 2, len - 2);
	return fuzz_sni_is_normalised(name, len);
}

static void check_value(const struct ts_config *cfg, const struct ts_policy_value *v)
{
	check(v->action < TS_ACTION_COUNT);
	check(v->cert_id <= cfg->ncerts);
	check(v->ca_id <= cfg->nca_sets);
	check(v->route_id <= cfg->nroutes);
	/* optional and require need a CA set to verify against */
	if (v->action == TS_ACTION_OPTIONAL || v->action == TS_ACTION_REQUIRE)
		check(v->ca_id != 0);
}

static void check_config(const struct ts_config *cfg)
{
	size_t n = ts_config_policy_count(cfg);

	check(cfg->nlisteners >= 0 && cfg->ncerts >= 0 && cfg->nca_sets >= 0 &&
	      cfg->nroutes >= 0 && cfg->npolicies >= 0);
	for (size_t i = 0; i < n; i++) {
		struct ts_policy_value v, looked;
		const char *name = ts_config_policy_at(cfg, i, &v);
		enum ts_match match;

		check(name && policy_name_ok(name));
		check_value(cfg, &v);
		if (i > 0) {
			struct ts_policy_value prev;

			check(strcmp(ts_config_policy_at(cfg, i - 1, &prev), name) < 0);
		}
		/* an exact entry is what the lookup of its own name finds */
		if (name[0] != '@' && name[0] != '*') {
			check(ts_config_decide(cfg, name, strlen(name), &looked, &match));
			check(match == TS_MATCH_EXACT);
			check(memcmp(&looked, &v, sizeof(v)) == 0);
		}
	}
	for (unsigned id = 1; id <= (unsigned)cfg->ncerts; id++)
		check(ts_config_cert(cfg, id) && ts_config_cert(cfg, id)->npairs >= 1);
	check(!ts_config_cert(cfg, 0) && !ts_config_cert(cfg, (unsigned)cfg->ncerts + 1));
	check(!ts_config_route(cfg, (unsigned)cfg->nroutes + 1));
	check(!ts_config_ca_set(cfg, (unsigned)cfg->nca_sets + 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct ts_config *cfg = NULL;
	char err[TS_CFG_ERR_SIZE];
	int rc = ts_config_load_string((const char *)data, len, "fuzz.yaml", &cfg, err,
				       sizeof(err));

	check(memchr(err, '\0', sizeof(err)));
	if (rc) {
		check(rc < 0 && !cfg);
		/* every refusal names the file */
		check(rc == -ENOMEM || strncmp(err, "fuzz.yaml", 9) == 0);
		return 0;
	}
	check(cfg);
	check_config(cfg);
	ts_config_free(cfg);
	return 0;
}
