// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The YAML configuration: loaded once into plain structs (the schema in
 * config_schema.c, the YAML value types in config_yaml.c, the policy
 * generation in config_generation.c), then looked up: policies
 * (ts_config_decide), certificates, CA sets, routes.
 */
#include "config_parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const action_names[TS_ACTION_COUNT] = {
	[TS_ACTION_NONE] = "none",
	[TS_ACTION_OPTIONAL] = "optional",
	[TS_ACTION_REQUIRE] = "require",
	[TS_ACTION_REJECT] = "reject",
	[TS_ACTION_REQUEST] = "request",
};

const char *ts_action_name(unsigned action)
{
	return action < TS_ACTION_COUNT ? action_names[action] : "?";
}

int ts_action_parse(const char *s)
{
	int i;

	for (i = 0; i < TS_ACTION_COUNT; i++)
		if (!strcmp(s, action_names[i]))
			return i;
	return -EINVAL;
}

static int yaml_fail(struct parser *p, const yaml_parser_t *yp)
{
	snprintf(p->err, p->errlen, "%s:%lu: (yaml): %s%s%s", p->file,
		 (unsigned long)yp->problem_mark.line + 1, yp->problem ? yp->problem : "syntax error",
		 yp->context ? " " : "", yp->context ? yp->context : "");
	return -EINVAL;
}

static int load(yaml_parser_t *yp, struct parser *p, struct ts_config **out)
{
	int err;

	p->cfg = calloc(1, sizeof(*p->cfg));
	if (!p->cfg)
		return -ENOMEM;
	ts_cfg_set_defaults(p->cfg);
	p->cfg->path = strdup(p->file);
	if (!yaml_parser_load(yp, &p->doc)) {
		err = yaml_fail(p, yp);
		ts_config_free(p->cfg);
		return err;
	}
	err = p->cfg->path ? ts_cfg_parse_root(p) : -ENOMEM;
	yaml_document_delete(&p->doc);
	if (err) {
		if (err == -ENOMEM && p->err[0] == '\0')
			snprintf(p->err, p->errlen, "%s: out of memory", p->file);
		ts_config_free(p->cfg);
		return err;
	}
	/* the ClientHello is part of the handshake: never waited for longer */
	if (p->cfg->hello_timeout_ms > p->cfg->handshake_timeout_ms)
		p->cfg->hello_timeout_ms = p->cfg->handshake_timeout_ms;
	p->cfg->generation = ts_config_generation(p->cfg);
	for (int i = 0; i < p->cfg->npolicies; i++)
		p->cfg->policies[i].value.generation = p->cfg->generation;
	*out = p->cfg;
	return 0;
}

int ts_config_load_string(const char *yaml, size_t len, const char *name,
			  struct ts_config **out, char *err, size_t errlen)
{
	struct parser p = { .file = name, .err = err, .errlen = errlen };
	yaml_parser_t yp;
	int ret;

	err[0] = '\0';
	if (!yaml_parser_initialize(&yp))
		return -ENOMEM;
	yaml_parser_set_input_string(&yp, (const unsigned char *)yaml, len);
	ret = load(&yp, &p, out);
	yaml_parser_delete(&yp);
	return ret;
}

int ts_config_load(const char *path, struct ts_config **out, char *err, size_t errlen)
{
	struct parser p = { .file = path, .err = err, .errlen = errlen };
	yaml_parser_t yp;
	char *slash;
	FILE *f;
	int ret;

	err[0] = '\0';
	f = fopen(path, "r");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	p.dir = strdup(path);
	slash = p.dir ? strrchr(p.dir, '/') : NULL;
	if (slash)
		*slash = '\0';
	else if (p.dir)
		strcpy(p.dir, ".");
	if (!p.dir || !yaml_parser_initialize(&yp)) {
		free(p.dir);
		fclose(f);
		return -ENOMEM;
	}
	yaml_parser_set_input_file(&yp, f);
	ret = load(&yp, &p, out);
	yaml_parser_delete(&yp);
	fclose(f);
	free(p.dir);
	return ret;
}

void ts_config_free(struct ts_config *cfg)
{
	int i, j;

	if (!cfg)
		return;
	for (i = 0; i < cfg->ncerts; i++)
		for (j = 0; j < cfg->certs[i].npairs; j++) {
			free(cfg->certs[i].pairs[j].chain);
			free(cfg->certs[i].pairs[j].key);
		}
	for (i = 0; i < cfg->nca_sets; i++) {
		for (j = 0; j < cfg->ca_sets[i].nfiles; j++)
			free(cfg->ca_sets[i].files[j]);
		free(cfg->ca_sets[i].files);
	}
	free(cfg->listeners);
	free(cfg->certs);
	free(cfg->ca_sets);
	free(cfg->routes);
	free(cfg->policies);
	free(cfg->path);
	free(cfg);
}

size_t ts_config_policy_count(const struct ts_config *cfg)
{
	return (size_t)cfg->npolicies;
}

const char *ts_config_policy_at(const struct ts_config *cfg, size_t i,
				struct ts_policy_value *value)
{
	if (i >= (size_t)cfg->npolicies)
		return NULL;
	*value = cfg->policies[i].value;
	return cfg->policies[i].name;
}

static int policy_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct ts_cfg_policy *)elem)->name);
}

static const struct ts_cfg_policy *find_policy(const struct ts_config *cfg, const char *name)
{
	return bsearch(name, cfg->policies, (size_t)cfg->npolicies, sizeof(*cfg->policies),
		       policy_cmp);
}

const struct ts_cfg_policy *ts_config_policy(const struct ts_config *cfg, const char *name,
					     size_t len)
{
	char key[TS_NAME_SIZE];

	if (len == 0 || len >= sizeof(key))
		return NULL;
	memcpy(key, name, len);
	key[len] = '\0';
	return find_policy(cfg, key);
}

bool ts_config_peer_allowed(long allowed_uid, unsigned uid)
{
	return uid == 0 || uid == (unsigned)getuid() || (allowed_uid >= 0 && uid == (unsigned long)allowed_uid);
}

const struct ts_cfg_policy *ts_config_decide(const struct ts_config *cfg, const char *sni,
					     size_t sni_len, struct ts_policy_value *out,
					     enum ts_match *match)
{
	const struct ts_cfg_policy *pol = NULL;
	char key[TS_NAME_SIZE];
	const char *dot;

	if (sni_len == 0) {
		pol = find_policy(cfg, TS_POLICY_NO_SNI);
		*match = TS_MATCH_NO_SNI;
	} else if (sni_len <= TS_SNI_MAX) {
		memcpy(key, sni, sni_len);
		key[sni_len] = '\0';
		pol = find_policy(cfg, key);
		*match = TS_MATCH_EXACT;
		dot = memchr(sni, '.', sni_len);
		if (!pol && dot) {
			/* one level, as in certificates: "*." + name without its first label */
			snprintf(key, sizeof(key), "*.%.*s", (int)(sni + sni_len - dot - 1), dot + 1);
			pol = find_policy(cfg, key);
			*match = TS_MATCH_WILDCARD;
		}
		if (!pol) {
			pol = find_policy(cfg, TS_POLICY_DEFAULT);
			*match = TS_MATCH_DEFAULT;
		}
	}
	if (!pol) {
		memset(out, 0, sizeof(*out));
		*match = TS_MATCH_NOTHING;
		return NULL;
	}
	*out = pol->value;
	return pol;
}

const struct ts_cfg_cert *ts_config_cert(const struct ts_config *cfg, unsigned id)
{
	return id >= 1 && id <= (unsigned)cfg->ncerts ? &cfg->certs[id - 1] : NULL;
}

const struct ts_cfg_ca_set *ts_config_ca_set(const struct ts_config *cfg, unsigned id)
{
	return id >= 1 && id <= (unsigned)cfg->nca_sets ? &cfg->ca_sets[id - 1] : NULL;
}

const struct ts_cfg_route *ts_config_route(const struct ts_config *cfg, unsigned id)
{
	return id >= 1 && id <= (unsigned)cfg->nroutes ? &cfg->routes[id - 1] : NULL;
}
