// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tagshake import-kong FILE [-o OUT]`: a Kong declarative configuration
 * turned into a tagshake configuration, and a report of what asks a client
 * for a certificate where (docs/kong.md).
 *
 * Kong decides whether to request a certificate before it knows the route:
 * a certificate plugin on any route without SNIs (or on a service or
 * globally) makes it ask on every handshake. tagshake decides per name, so
 * each route's names are derived (its SNIs, else its hosts) and get that
 * route's action; names two routes share get the stronger one.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "kong_decl.h"
#include "name.h"

static const char import_help[] =
	"usage: tagshake import-kong FILE [-o OUT] [--listen ADDR:PORT] [--pem-dir DIR]\n"
	"                            [--cert CHAIN --key KEY] [--handoff PATH] [--pin-dir DIR]\n"
	"\n"
	"Reads a Kong declarative configuration (_format_version \"3.0\") and writes a\n"
	"tagshake configuration (to OUT, else stdout) with one policy per name its\n"
	"routes serve: tls-handshake-modifier → request, mtls-auth → require (optional\n"
	"with anonymous) with a CA set of its ca_certificates, tls-metadata-headers →\n"
	"the route's Kong header names. Routes without SNIs get names from their\n"
	"hosts. Prints a report: what Kong asked for, what this configuration asks\n"
	"for, one line per name and every field not carried over. Exits 1 without\n"
	"writing anything when the file has fields Kong's format does not have.\n"
	"  -o OUT             the tagshake configuration file\n"
	"  --listen ADDR:PORT the TLS listener (default 0.0.0.0:443)\n"
	"  --pem-dir DIR      where certificates and keys from the file are written\n"
	"                     (default: OUT's directory + /kong-pem)\n"
	"  --cert, --key      the default server certificate (else the file's first)\n"
	"  --handoff PATH     the proxy's hand-off socket (default /run/tagshake/handoff.sock)\n"
	"  --pin-dir DIR      the tagger's pin directory (default /sys/fs/bpf/tagshake)\n";

struct import_opts {
	const char *in, *out, *listen, *pem_dir, *cert, *key, *handoff, *pin_dir;
	char pem_buf[PATH_MAX]; /* pem_dir made absolute */
};

/* A CA set: the sorted ca_certificates ids of one or more mtls-auth plugins. */
struct caset {
	char key[1024];
	const struct kg_plugin *first;
	bool send_names;
};

/* What a route asks of the client, from its effective plugins. */
struct eff {
	int action; /* enum ts_action */
	int ca_set; /* index into casets, -1 none */
	const struct kg_plugin *cert_plugin, *metadata;
};

struct name_ent {
	char name[TS_NAME_SIZE];
	int action, ca_set, route, cert;
	char why[384];
};

struct conv {
	struct kg_file *k;
	struct eff *eff; /* per Kong route */
	struct caset *casets;
	int ncasets;
	struct name_ent *names;
	int nnames;
	int catch_all;    /* a Kong route with neither SNIs nor hosts: -1 none */
	int cert_routes; /* routes a certificate plugin applies to */
	char (*route_names)[TS_CFG_NAME_SIZE]; /* tagshake route per Kong route, "" none */
	struct kg_strs report;
};

static int strength(int action)
{
	switch (action) {
	case TS_ACTION_REQUIRE: return 3;
	case TS_ACTION_OPTIONAL: return 2;
	case TS_ACTION_REQUEST: return 1;
	default: return 0;
	}
}

/* ---- effective plugins: route, else service, else global (Kong's precedence) ---- */

static const struct kg_plugin *effective(const struct kg_file *k, int route,
					 enum kg_plugin_kind kind, const char **scope)
{
	const struct kg_plugin *best = NULL;
	int best_rank = 0, svc = k->routes[route].service;

	for (int i = 0; i < k->nplugins; i++) {
		const struct kg_plugin *p = &k->plugins[i];
		int rank = 0;

		if (p->kind != kind || !p->enabled || p->consumer)
			continue;
		if (p->route == route && (p->service < 0 || p->service == svc))
			rank = 3;
		else if (p->route < 0 && p->service >= 0 && p->service == svc)
			rank = 2;
		else if (p->route < 0 && p->service < 0)
			rank = 1;
		if (rank > best_rank) {
			best = p;
			best_rank = rank;
		}
	}
	*scope = best_rank == 3 ? "on the route" : best_rank == 2 ? "on its service" : "global";
	return best;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int caset_of(struct conv *cv, const struct kg_plugin *p)
{
	char key[1024] = "";
	char **ids = malloc((size_t)p->ca_ids.n * sizeof(*ids));

	if (!ids)
		return -1;
	memcpy(ids, p->ca_ids.v, (size_t)p->ca_ids.n * sizeof(*ids));
	qsort(ids, (size_t)p->ca_ids.n, sizeof(*ids), cmp_str);
	for (int i = 0; i < p->ca_ids.n; i++)
		snprintf(key + strlen(key), sizeof(key) - strlen(key), "%s%s", i ? "," : "",
			 ids[i]);
	free(ids);
	for (int i = 0; i < cv->ncasets; i++)
		if (!strcmp(cv->casets[i].key, key)) {
			cv->casets[i].send_names |= p->send_ca_dn;
			return i;
		}
	struct caset *c = realloc(cv->casets, (size_t)(cv->ncasets + 1) * sizeof(*c));
	if (!c)
		return -1;
	cv->casets = c;
	snprintf(c[cv->ncasets].key, sizeof(c->key), "%s", key);
	c[cv->ncasets].first = p;
	c[cv->ncasets].send_names = p->send_ca_dn;
	return cv->ncasets++;
}

static void route_effect(struct conv *cv, int r, char *why, size_t len)
{
	const struct kg_file *k = cv->k;
	struct eff *e = &cv->eff[r];
	const char *s_mtls, *s_mod, *s_meta;
	const struct kg_plugin *mtls = effective(k, r, KG_PLUGIN_MTLS, &s_mtls);
	const struct kg_plugin *mod = effective(k, r, KG_PLUGIN_MODIFIER, &s_mod);

	e->metadata = effective(k, r, KG_PLUGIN_METADATA, &s_meta);
	if (e->metadata && !e->metadata->inject)
		e->metadata = NULL;
	e->ca_set = -1;
	if (mtls) {
		e->action = mtls->anonymous ? TS_ACTION_OPTIONAL : TS_ACTION_REQUIRE;
		e->ca_set = caset_of(cv, mtls);
		e->cert_plugin = mtls;
		snprintf(why, len, "mtls-auth%s %s", mtls->anonymous ? " (anonymous)" : "", s_mtls);
	} else if (mod) {
		e->action = TS_ACTION_REQUEST;
		e->cert_plugin = mod;
		snprintf(why, len, "tls-handshake-modifier %s", s_mod);
	} else {
		e->action = TS_ACTION_NONE;
		snprintf(why, len, "no certificate plugin");
	}
}

/* ---- names ---- */

static int cert_for(const struct kg_file *k, const char *name)
{
	const char *dot = strchr(name, '.');
	char wild[TS_NAME_SIZE];

	snprintf(wild, sizeof(wild), "*%s", dot ? dot : "");
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < k->ncerts; i++)
			for (int j = 0; j < k->certs[i].snis.n; j++)
				if (!strcasecmp(k->certs[i].snis.v[j], pass ? wild : name))
					return i;
	return -1;
}

static void add_name(struct conv *cv, const char *name, int r, const char *why)
{
	const struct eff *e = &cv->eff[r];
	char lbl[32], lbl2[32];
	struct name_ent *n = NULL;

	for (int i = 0; i < cv->nnames; i++)
		if (!strcmp(cv->names[i].name, name))
			n = &cv->names[i];
	if (!n) {
		struct name_ent *v = realloc(cv->names, (size_t)(cv->nnames + 1) * sizeof(*v));
		if (!v)
			return;
		cv->names = v;
		n = &cv->names[cv->nnames++];
		memset(n, 0, sizeof(*n));
		snprintf(n->name, sizeof(n->name), "%s", name);
		n->action = e->action;
		n->ca_set = e->ca_set;
		n->route = r;
		n->cert = name[0] == '@' ? -1 : cert_for(cv->k, name);
		snprintf(n->why, sizeof(n->why), "%s", why);
		return;
	}
	const char *other = kg_route_label(cv->k, n->route, lbl, sizeof(lbl));
	const char *this = kg_route_label(cv->k, r, lbl2, sizeof(lbl2));
	if (strength(e->action) > strength(n->action)) {
		kg_strs_add(&cv->report, "%s: routes '%s' (%s) and '%s' (%s) share it: the stronger, "
					 "%s, and route '%s' win",
			    name, other, ts_action_name(n->action), this, ts_action_name(e->action),
			    ts_action_name(e->action), this);
		n->action = e->action;
		n->ca_set = e->ca_set;
		n->route = r;
		snprintf(n->why, sizeof(n->why), "%s; stronger than route '%s'", why, other);
	} else if (strength(e->action) < strength(n->action)) {
		kg_strs_add(&cv->report, "%s: routes '%s' (%s) and '%s' (%s) share it: the stronger, "
					 "%s, and route '%s' win",
			    name, other, ts_action_name(n->action), this, ts_action_name(e->action),
			    ts_action_name(n->action), other);
	} else if (e->ca_set != n->ca_set) {
		kg_strs_add(&cv->report, "%s: CONFLICT: routes '%s' and '%s' verify against different "
					 "CA sets; one handshake can use one: '%s' kept (split the "
					 "routes onto names of their own)",
			    name, other, this, other);
	} else if (cv->k->routes[r].service != cv->k->routes[n->route].service) {
		kg_strs_add(&cv->report, "%s: routes '%s' and '%s' go to different services; a name "
					 "has one upstream here: route '%s' kept",
			    name, other, this, other);
	}
}

/* Host or SNI → policy key; reports what cannot be one. */
static void derive(struct conv *cv, int r, const char *raw, bool is_sni, const char *why)
{
	const struct kg_route *rt = &cv->k->routes[r];
	char host[TS_NAME_SIZE + 8], key[TS_NAME_SIZE], lbl[32], full[512];
	const char *label = kg_route_label(cv->k, r, lbl, sizeof(lbl));
	const char *what = is_sni ? "sni" : "host";
	size_t len = strlen(raw);
	char *colon;

	if (len >= sizeof(host)) {
		kg_strs_add(&cv->k->notes, "%s:%d: route '%s': %s '%.40s...': too long for a name",
			    cv->k->path, rt->line, label, what, raw);
		return;
	}
	memcpy(host, raw, len + 1);
	colon = strrchr(host, ':');
	if (!is_sni && colon && host[0] != '[') {
		kg_strs_add(&cv->k->notes, "%s:%d: route '%s': host '%s': the port is not carried "
					   "over (a name matches on every port of the listener)",
			    cv->k->path, rt->line, label, raw);
		*colon = '\0';
		len = strlen(host);
	}
	if (len > 2 && !strcmp(host + len - 2, ".*")) {
		kg_strs_add(&cv->k->notes, "%s:%d: route '%s': %s '%s' is a trailing wildcard: no SNI "
					   "key can match it, not carried over (list the names)",
			    cv->k->path, rt->line, label, what, raw);
		return;
	}
	if (ts_name_normalise_key(host, len, key) < 0) {
		kg_strs_add(&cv->k->notes, "%s:%d: route '%s': %s '%s' is not a host name or *.parent "
					   "(a regex or a pattern): no SNI key, not carried over",
			    cv->k->path, rt->line, label, what, raw);
		return;
	}
	if (key[0] == '*')
		kg_strs_add(&cv->k->notes, "%s:%d: route '%s': %s '%s': Kong's leading wildcard "
					   "matches any depth, tagshake's one label",
			    cv->k->path, rt->line, label, what, raw);
	snprintf(full, sizeof(full), "%s; %s of route '%s'", why, is_sni ? "SNI" : "host", label);
	add_name(cv, key, r, full);
}

static bool speaks_tls(const struct kg_route *rt)
{
	static const char *const tls[] = { "https", "grpcs", "tls", "wss", "tls_passthrough" };

	if (rt->protocols.n == 0)
		return true; /* Kong's default: http and https */
	for (int i = 0; i < rt->protocols.n; i++)
		for (size_t j = 0; j < sizeof(tls) / sizeof(tls[0]); j++)
			if (!strcmp(rt->protocols.v[i], tls[j]))
				return strcmp(rt->protocols.v[i], "tls_passthrough") != 0;
	return false;
}

/* A certificate SNI no converted name uses: Kong would serve the
 * certificate there and route by Host; here no policy names it. */
static void note_unused_cert_snis(struct conv *cv)
{
	const struct kg_file *k = cv->k;

	for (int i = 0; i < k->ncerts; i++)
		for (int j = 0; j < k->certs[i].snis.n; j++) {
			const char *sni = k->certs[i].snis.v[j];
			bool used = false;

			for (int n = 0; n < cv->nnames && !used; n++) {
				const char *name = cv->names[n].name, *dot = strchr(name, '.');

				used = !strcasecmp(name, sni) ||
				       (sni[0] == '*' && dot && !strcasecmp(dot, sni + 1));
			}
			if (!used)
				kg_strs_add(&cv->k->notes, "%s:%d: certificates[%d]: sni '%s': no route "
							   "serves it: the certificate is kept, the name "
							   "gets no policy of its own (@default decides)",
					    k->path, k->certs[i].line, i, sni);
		}
}

static int convert(struct conv *cv)
{
	struct kg_file *k = cv->k;
	char why[256], lbl[32];

	cv->catch_all = -1;
	cv->eff = calloc((size_t)k->nroutes + 1, sizeof(*cv->eff));
	if (!cv->eff)
		return -ENOMEM;
	for (int r = 0; r < k->nroutes; r++) {
		const struct kg_route *rt = &k->routes[r];
		const char *label = kg_route_label(k, r, lbl, sizeof(lbl));

		route_effect(cv, r, why, sizeof(why));
		if (rt->service < 0) {
			kg_strs_add(&k->notes, "%s:%d: route '%s': no service: not carried over",
				    k->path, rt->line, label);
			continue;
		}
		if (!k->services[rt->service].enabled) {
			kg_strs_add(&k->notes, "%s:%d: route '%s': its service is disabled: not "
					       "carried over", k->path, rt->line, label);
			continue;
		}
		if (!speaks_tls(rt)) {
			kg_strs_add(&k->notes, "%s:%d: route '%s': protocols without TLS: nothing for "
					       "tagshake to terminate, not carried over",
				    k->path, rt->line, label);
			continue;
		}
		if (cv->eff[r].action != TS_ACTION_NONE)
			cv->cert_routes++;
		if (rt->expression) {
			kg_strs_add(&k->notes, "%s:%d: route '%s': routed by an expression: no names "
					       "can be derived from it, not carried over",
				    k->path, rt->line, label);
			continue;
		}
		for (int i = 0; i < rt->snis.n; i++)
			derive(cv, r, rt->snis.v[i], true, why);
		for (int i = 0; rt->snis.n == 0 && i < rt->hosts.n; i++)
			derive(cv, r, rt->hosts.v[i], false, why);
		if (rt->snis.n == 0 && rt->hosts.n == 0) {
			if (cv->catch_all < 0) {
				char full[512];

				snprintf(full, sizeof(full), "%s; route '%s' has no SNIs and no hosts: "
							     "it matches every name",
					 why, label);
				cv->catch_all = r;
				add_name(cv, TS_POLICY_DEFAULT, r, full);
			} else {
				kg_strs_add(&k->notes, "%s:%d: route '%s': a second route for every "
						       "name: '%s' kept for @default",
					    k->path, rt->line, label,
					    kg_route_label(k, cv->catch_all, why, sizeof(why)));
			}
		}
	}
	note_unused_cert_snis(cv);
	return 0;
}

/* ---- writing ---- */

/* A configuration name (route): letters, digits, '-', '_' and '.'. */
static void ident(const char *in, char *out, size_t len)
{
	size_t o = 0;

	for (; *in && o + 1 < len; in++)
		out[o++] = (strchr("-_.", *in) || (*in >= 'a' && *in <= 'z') ||
			    (*in >= 'A' && *in <= 'Z') || (*in >= '0' && *in <= '9'))
				   ? *in
				   : '-';
	out[o] = '\0';
}

static int write_pem(const char *dir, const char *name, const char *text, mode_t mode,
		     char *path, size_t len)
{
	FILE *f;

	snprintf(path, len, "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fchmod(fileno(f), mode);
	fputs(text, f);
	if (text[0] && text[strlen(text) - 1] != '\n')
		fputc('\n', f);
	return fclose(f) ? -errno : 0;
}

static void yaml_str(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		fputc(*s, f);
	}
	fputc('\'', f);
}

static int write_certs(FILE *f, const struct conv *cv, const struct import_opts *o)
{
	const struct kg_file *k = cv->k;
	char chain[PATH_MAX] = "", key[PATH_MAX] = "", name[64];
	int err = 0;

	fputs("certificates:\n", f);
	if (o->cert) {
		fputs("  - { name: default, chain: ", f);
		yaml_str(f, o->cert);
		fputs(", key: ", f);
		yaml_str(f, o->key);
		fputs(" }\n", f);
	}
	for (int i = 0; !err && i < k->ncerts; i++) {
		const struct kg_cert *c = &k->certs[i];

		snprintf(name, sizeof(name), "kong-cert-%d.crt", i + 1);
		err = write_pem(o->pem_dir, name, c->cert, 0644, chain, sizeof(chain));
		snprintf(name, sizeof(name), "kong-cert-%d.key", i + 1);
		if (!err)
			err = write_pem(o->pem_dir, name, c->key, 0600, key, sizeof(key));
		if (err)
			break;
		fprintf(f, "  - name: kong-cert-%d\n    pairs:\n      - { chain: ", i + 1);
		yaml_str(f, chain);
		fputs(", key: ", f);
		yaml_str(f, key);
		fputs(" }\n", f);
		if (!err && c->cert_alt && c->key_alt) {
			snprintf(name, sizeof(name), "kong-cert-%d-alt.crt", i + 1);
			err = write_pem(o->pem_dir, name, c->cert_alt, 0644, chain, sizeof(chain));
			snprintf(name, sizeof(name), "kong-cert-%d-alt.key", i + 1);
			if (!err)
				err = write_pem(o->pem_dir, name, c->key_alt, 0600, key, sizeof(key));
			if (err)
				break;
			fputs("      - { chain: ", f);
			yaml_str(f, chain);
			fputs(", key: ", f);
			yaml_str(f, key);
			fputs(" }\n", f);
		}
	}
	return err;
}

static int write_casets(FILE *f, const struct conv *cv, const struct import_opts *o)
{
	const struct kg_file *k = cv->k;
	char path[PATH_MAX], name[64];
	int err = 0;

	if (!cv->ncasets)
		return 0;
	for (int c = 0; !err && c < k->ncas; c++) {
		snprintf(name, sizeof(name), "kong-ca-%d.pem", c + 1);
		err = write_pem(o->pem_dir, name, k->cas[c].cert, 0644, path, sizeof(path));
	}
	fputs("ca_sets:\n", f);
	for (int s = 0; s < cv->ncasets; s++) {
		const struct kg_plugin *p = cv->casets[s].first;

		fprintf(f, "  - name: kong-ca-set-%d\n    send_names: %s\n    files:\n", s + 1,
			cv->casets[s].send_names ? "true" : "false");
		for (int i = 0; i < p->ca_ids.n; i++)
			for (int c = 0; c < k->ncas; c++)
				if (!strcmp(k->cas[c].id, p->ca_ids.v[i])) {
					snprintf(path, sizeof(path), "%s/kong-ca-%d.pem", o->pem_dir,
						 c + 1);
					fputs("      - ", f);
					yaml_str(f, path);
					fputc('\n', f);
				}
	}
	return err;
}

static const char *const header_cfg_keys[KG_HDR_COUNT] = { "cert", "serial", "issuer_dn",
							   "subject_dn", "fingerprint" };

static void write_route(FILE *f, struct conv *cv, int r)
{
	const struct kg_file *k = cv->k;
	const struct kg_service *s = &k->services[k->routes[r].service];
	const struct eff *e = &cv->eff[r];
	bool http = !strcmp(s->protocol, "http") || !strcmp(s->protocol, "https") ||
		    !strcmp(s->protocol, "ws") || !strcmp(s->protocol, "wss");
	bool v6 = strchr(s->host, ':') != NULL;
	char lbl[32];

	fprintf(f, "  - name: %s\n    upstream: '%s%s%s:%d'\n    metadata: %s\n",
		cv->route_names[r], v6 ? "[" : "", s->host, v6 ? "]" : "", s->port,
		http ? "http" : "raw");
	if (!strcmp(s->protocol, "https") || !strcmp(s->protocol, "wss") ||
	    !strcmp(s->protocol, "grpcs") || !strcmp(s->protocol, "tls"))
		kg_strs_add(&cv->k->notes, "%s:%d: service '%s': protocol %s: tagshake-proxy speaks "
					   "plaintext to %s:%d",
			    k->path, s->line, kg_service_label(k, k->routes[r].service, lbl, sizeof(lbl)),
			    s->protocol, s->host, s->port);
	if (!http)
		return;
	if (e->metadata) {
		bool any = false;

		for (int h = 0; h < KG_HDR_COUNT; h++)
			if (e->metadata->headers[h]) {
				fprintf(f, "%s%s: ", any ? ", " : "    kong_headers: { ",
					header_cfg_keys[h]);
				yaml_str(f, e->metadata->headers[h]);
				any = true;
			}
		if (any)
			fputs(" }\n", f);
	}
	/* Kong's tls-metadata-headers forwards whatever certificate came; the
	 * upstream validates. Kept, beside a verify status that says it. */
	if (e->metadata && e->action == TS_ACTION_REQUEST)
		fputs("    unverified: forward\n", f);
}

static void write_policy(FILE *f, const struct conv *cv, const struct name_ent *n,
			 const struct import_opts *o)
{
	bool dflt = n->name[0] == '@';

	fputs(dflt ? "  " : "  - sni: ", f);
	if (dflt)
		fputs(!strcmp(n->name, TS_POLICY_DEFAULT) ? "default: " : "no-sni: ", f);
	else
		yaml_str(f, n->name);
	fprintf(f, "%saction: %s", dflt ? "{ " : "\n    ", ts_action_name(n->action));
	if (n->cert >= 0)
		fprintf(f, "%scertificate: kong-cert-%d", dflt ? ", " : "\n    ", n->cert + 1);
	else if (o->cert && !dflt)
		fprintf(f, "%scertificate: default", "\n    ");
	if (n->ca_set >= 0)
		fprintf(f, "%sca_set: kong-ca-set-%d", dflt ? ", " : "\n    ", n->ca_set + 1);
	if (n->route >= 0 && cv->route_names[n->route][0])
		fprintf(f, "%sroute: %s", dflt ? ", " : "\n    ", cv->route_names[n->route]);
	fputs(dflt ? " }\n" : "\n", f);
}

static int write_config(FILE *f, struct conv *cv, const struct import_opts *o)
{
	const struct kg_file *k = cv->k;
	char addr[64] = "0.0.0.0", lbl[32];
	const char *port = "443", *colon = strrchr(o->listen, ':');
	int err;

	if (colon) {
		const char *a = o->listen;
		int n = (int)(colon - a);

		if (a[0] == '[' && n > 1 && a[n - 1] == ']') { /* [v6]:port */
			a++;
			n -= 2;
		}
		snprintf(addr, sizeof(addr), "%.*s", n, a);
		port = colon + 1;
	}
	fprintf(f, "# Written by `tagshake import-kong %s`: see the report it printed.\n", k->path);
	fputs("listeners:\n  - { address: ", f);
	yaml_str(f, addr);
	fprintf(f, ", port: %s }\n", port);
	err = write_certs(f, cv, o);
	if (!err)
		err = write_casets(f, cv, o);
	if (err)
		return err;
	fputs("routes:\n", f);
	for (int r = 0; r < k->nroutes; r++) {
		char base[TS_CFG_NAME_SIZE - 12];
		bool used = false;

		for (int i = 0; i < cv->nnames; i++)
			used |= cv->names[i].route == r;
		if (!used)
			continue;
		ident(kg_route_label(k, r, lbl, sizeof(lbl)), base, sizeof(base));
		snprintf(cv->route_names[r], TS_CFG_NAME_SIZE, "%s", base);
		for (int j = 0, n = 2; j < r; j++)
			if (!strcmp(cv->route_names[j], cv->route_names[r])) {
				snprintf(cv->route_names[r], TS_CFG_NAME_SIZE, "%s-%d", base, n++);
				j = -1;
			}
		write_route(f, cv, r);
	}
	fputs("policies:\n", f);
	for (int i = 0; i < cv->nnames; i++)
		if (cv->names[i].name[0] != '@')
			write_policy(f, cv, &cv->names[i], o);
	fputs("defaults:\n", f);
	for (int i = 0; i < cv->nnames; i++)
		if (!strcmp(cv->names[i].name, TS_POLICY_DEFAULT)) {
			struct name_ent nosni = cv->names[i];

			write_policy(f, cv, &cv->names[i], o);
			snprintf(nosni.name, sizeof(nosni.name), "%s", TS_POLICY_NO_SNI);
			write_policy(f, cv, &nosni, o);
		}
	if (cv->catch_all < 0)
		fputs("  default: { action: reject }\n  no-sni: { action: reject }\n", f);
	fputs("handoff:\n  socket: ", f);
	yaml_str(f, o->handoff);
	fputs("\nbpf:\n  pin_dir: ", f);
	yaml_str(f, o->pin_dir);
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}

/* ---- the report ---- */

/*
 * When Kong asks (its TLS Handshake Modifier and mtls-auth docs): on every
 * handshake when a certificate plugin is global, or when one applies to a
 * service or route and any route of the file lacks SNIs (Kong's SNI map
 * needs them all), or with expression routes; else only on the SNIs of the
 * routes it applies to.
 */
static void print_headline(FILE *f, const struct conv *cv, int asked, int total)
{
	const struct kg_file *k = cv->k;
	bool any = false, global = false, expr = false;
	int no_snis = 0;

	for (int i = 0; i < k->nplugins; i++) {
		const struct kg_plugin *p = &k->plugins[i];

		if ((p->kind != KG_PLUGIN_MTLS && p->kind != KG_PLUGIN_MODIFIER) || !p->enabled ||
		    p->consumer)
			continue;
		any = true;
		global |= p->service < 0 && p->route < 0;
	}
	for (int r = 0; r < k->nroutes; r++) {
		no_snis += k->routes[r].snis.n == 0;
		expr |= k->routes[r].expression;
	}
	fprintf(f, "%s: ", k->path);
	if (!any)
		fputs("Kong requests no client certificate", f);
	else if (no_snis)
		fprintf(f, "Kong requests a client certificate on every handshake (%d route%s ha%s no "
			   "SNIs)", no_snis, no_snis == 1 ? "" : "s", no_snis == 1 ? "s" : "ve");
	else if (global)
		fputs("Kong requests a client certificate on every handshake (a certificate plugin "
		      "is global)", f);
	else if (expr)
		fputs("Kong requests a client certificate on every handshake (expression routes)", f);
	else
		fprintf(f, "Kong requests a client certificate only on the SNIs of its %d certificate "
			   "route%s", cv->cert_routes, cv->cert_routes == 1 ? "" : "s");
	fprintf(f, "; this configuration requests one on %d of %d names\n", asked, total);
}

static void print_report(FILE *f, const struct conv *cv)
{
	const struct kg_file *k = cv->k;
	int asked = 0, total = 0;

	for (int i = 0; i < cv->nnames; i++)
		if (cv->names[i].name[0] != '@') {
			total++;
			asked += strength(cv->names[i].action) > 0;
		}
	print_headline(f, cv, asked, total);
	for (int i = 0; i < cv->nnames; i++) {
		const struct name_ent *n = &cv->names[i];
		char ca[32] = "-";

		if (n->ca_set >= 0)
			snprintf(ca, sizeof(ca), "kong-ca-set-%d", n->ca_set + 1);
		fprintf(f, "  %-28s %-8s %-13s %s\n", n->name, ts_action_name(n->action), ca, n->why);
	}
	if (cv->catch_all < 0)
		fprintf(f, "  %-28s %-8s %-13s no Kong route matches every name (Kong would answer "
			   "404 after the handshake)\n  %-28s %-8s %-13s the same, for clients without "
			   "SNI\n", TS_POLICY_DEFAULT, "reject", "-", TS_POLICY_NO_SNI, "reject", "-");
	for (int i = 0; i < cv->report.n; i++)
		fprintf(f, "  %s\n", cv->report.v[i]);
	if (k->notes.n)
		fputs("not carried over:\n", f);
	for (int i = 0; i < k->notes.n; i++)
		fprintf(f, "  %s\n", k->notes.v[i]);
}

/* ---- the command ---- */

static int parse_opts(int argc, char **argv, struct import_opts *o)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' }, { "listen", required_argument, NULL, 'l' },
		{ "pem-dir", required_argument, NULL, 'p' }, { "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },   { "handoff", required_argument, NULL, 's' },
		{ "pin-dir", required_argument, NULL, 'd' }, { "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	optind = 1;
	o->listen = "0.0.0.0:443";
	o->handoff = "/run/tagshake/handoff.sock";
	o->pin_dir = TS_PIN_DIR_DEFAULT;
	while ((c = getopt_long(argc, argv, "o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'o': o->out = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'p': o->pem_dir = optarg; break;
		case 'c': o->cert = optarg; break;
		case 'k': o->key = optarg; break;
		case 's': o->handoff = optarg; break;
		case 'd': o->pin_dir = optarg; break;
		case 'h': fputs(import_help, stdout); return -1;
		default: return TS_EXIT_USAGE;
		}
	}
	if (optind != argc - 1)
		return ts_usage_error("import-kong needs exactly one FILE");
	if (!o->cert != !o->key)
		return ts_usage_error("--cert and --key go together");
	o->in = argv[optind];
	return 0;
}

static int run(struct conv *cv, struct import_opts *o)
{
	char dir[PATH_MAX], tmp[PATH_MAX + 8];
	FILE *f = stdout;
	int err;

	if (!o->cert && cv->k->ncerts == 0)
		return ts_fail("%s has no certificates: pass --cert and --key for the server "
			       "certificate", o->in);
	if (!o->pem_dir) {
		const char *slash = o->out ? strrchr(o->out, '/') : NULL;

		snprintf(dir, sizeof(dir) - 16, "%.*s", slash ? (int)(slash - o->out) : 1,
			 slash ? o->out : ".");
		strcat(dir, "/kong-pem");
	} else {
		snprintf(dir, sizeof(dir), "%s", o->pem_dir);
	}
	if (mkdir(dir, 0700) && errno != EEXIST)
		return ts_fail("cannot create %s: %s", dir, strerror(errno));
	if (!realpath(dir, o->pem_buf))
		return ts_fail("%s: %s", dir, strerror(errno));
	o->pem_dir = o->pem_buf;
	cv->route_names = calloc((size_t)cv->k->nroutes + 1, sizeof(*cv->route_names));
	if (!cv->route_names)
		return ts_fail("out of memory");
	if (o->out) {
		snprintf(tmp, sizeof(tmp), "%s.tmp", o->out);
		f = fopen(tmp, "w");
		if (!f)
			return ts_fail("cannot write %s: %s", tmp, strerror(errno));
	}
	err = write_config(f, cv, o);
	if (o->out) {
		if (fclose(f) && !err)
			err = -errno;
		if (!err && rename(tmp, o->out))
			err = -errno;
		if (err)
			unlink(tmp);
	}
	if (err)
		return ts_fail("cannot write the configuration: %s", strerror(-err));
	print_report(o->out ? stdout : stderr, cv);
	return 0;
}

int ts_cmd_import_kong(int argc, char **argv)
{
	struct import_opts o = { 0 };
	struct kg_file k = { 0 };
	struct conv cv = { .k = &k };
	int rc = parse_opts(argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;
	kg_read(o.in, &k);
	if (k.errors.n) {
		for (int i = 0; i < k.errors.n; i++)
			fprintf(stderr, "tagshake: %s\n", k.errors.v[i]);
		ts_fail("%s: %d problem%s: nothing written", o.in, k.errors.n,
			k.errors.n == 1 ? "" : "s");
		kg_free(&k);
		return TS_EXIT_FAIL;
	}
	rc = convert(&cv) ? ts_fail("out of memory") : run(&cv, &o);
	free(cv.eff);
	free(cv.casets);
	free(cv.names);
	free(cv.route_names);
	kg_strs_free(&cv.report);
	kg_free(&k);
	return rc;
}
