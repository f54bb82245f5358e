// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The configuration's schema: one table per mapping ({ key, type, offset,
 * bounds }, config_parse.h) and the checks across keys. Sections are parsed
 * in dependency order (certificates, CA sets and routes before the policies
 * that name them), whatever their order in the file; an unknown key fails
 * wherever it is.
 */
#include "config_parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "name.h"

#define DEFAULT_HANDOFF_PATH "/run/tagshake/handoff.sock"
#define DEFAULT_HANDSHAKE_TIMEOUT_MS 10000
#define DEFAULT_HANDOFF_TIMEOUT_MS 2000
/* Off until the proxy takes TS_MODE_RECORDS. */
#define DEFAULT_HANDOFF_RECORDS true
#define DEFAULT_IDLE_TIMEOUT_MS 300000
#define DEFAULT_MAX_INFLIGHT 1024
/* A client that has not finished its ClientHello after this long is idle
 * or hostile: real ones send it in their first flight. */
#define DEFAULT_HELLO_TIMEOUT_MS 3000
/* Handshakes in flight from one address: a quarter of one worker's bound,
 * so one source (or NAT) cannot take a worker by itself. */
#define DEFAULT_MAX_PER_SOURCE 256
/* One ticket instead of OpenSSL's two: each one re-serialises the session. */
#define DEFAULT_SESSION_TICKETS 1
#define DEFAULT_SESSION_TIMEOUT_S 7200
static int alloc_list(struct parser *p, const yaml_node_t *seq, const char *section, size_t size,
		      void **out)
{
	int n = ts_cfg_list_len(seq);

	if (!seq) {
		*out = NULL;
		return 0;
	}
	if (seq->type != YAML_SEQUENCE_NODE)
		return ts_cfg_want_kind(p, seq, section, YAML_SEQUENCE_NODE);
	if (n > TS_CFG_IDS_MAX)
		return ts_cfg_fail(p, seq, section, "more than %d entries", TS_CFG_IDS_MAX);
	*out = calloc(n ? (size_t)n : 1, size);
	return *out ? 0 : -ENOMEM;
}

/* Names of certificates, CA sets and routes: unique within their list. */
static int check_name(struct parser *p, const yaml_node_t *n, const char *key, const char *name,
		      const char *names, size_t stride, int count)
{
	int i;

	if (name[0] == '\0')
		return ts_cfg_fail(p, n, key, "missing required key 'name'");
	for (i = 0; i < count; i++)
		if (!strcmp(names + (size_t)i * stride, name))
			return ts_cfg_fail(p, n, key, "duplicate name '%s'", name);
	return 0;
}

/* ---- listeners ---- */

static const struct field listener_fields[] = {
	{ FIELD("address", F_STR, struct ts_cfg_listener, address) },
	{ FIELD("port", F_UINT, struct ts_cfg_listener, port), .min = 1, .max = 65535,
	  .below = "port 0 is not a listening port" },
	{ FIELD("workers", F_UINT, struct ts_cfg_listener, workers), .max = 1024 },
	{ .name = NULL },
};

static int parse_listener(struct parser *p, const char *key, const yaml_node_t *item, int i)
{
	struct ts_cfg_listener *l = &p->cfg->listeners[i];
	int err;

	strcpy(l->address, "0.0.0.0");
	l->line = (int)item->start_mark.line + 1;
	err = ts_cfg_parse_fields(p, item, key, listener_fields, l);
	if (!err)
		err = ts_cfg_require_key(p, item, key, "port");
	if (!err)
		p->cfg->nlisteners++;
	return err;
}

/* ---- certificates ---- */

static const struct field pair_fields[] = {
	{ FIELD("chain", F_PATH, struct ts_cfg_keypair, chain) },
	{ FIELD("key", F_PATH, struct ts_cfg_keypair, key) },
	{ .name = NULL },
};

/* The certificate being parsed: counted as soon as it starts, so that
 * ts_config_free() releases its paths even when it fails half-way. */
static struct ts_cfg_cert *cur_cert(struct parser *p)
{
	return &p->cfg->certs[p->cfg->ncerts - 1];
}

static int check_pair(struct parser *p, const yaml_node_t *map, const char *key,
		      const struct ts_cfg_keypair *kp)
{
	int err = kp->chain ? 0 : ts_cfg_fail(p, map, key, "missing required key 'chain'");

	if (!err && !kp->key)
		err = ts_cfg_fail(p, map, key, "missing required key 'key'");
	return err;
}

static int parse_pair(struct parser *p, const char *key, const yaml_node_t *item, int i)
{
	struct ts_cfg_cert *c = cur_cert(p);
	int err;

	if (i >= TS_CFG_PAIRS_MAX)
		return ts_cfg_fail(p, item, key, "at most %d key pairs per certificate",
			    TS_CFG_PAIRS_MAX);
	c->npairs = i + 1; /* counted first so ts_config_free() sees partial pairs */
	err = ts_cfg_parse_fields(p, item, key, pair_fields, &c->pairs[i]);
	return err ? err : check_pair(p, item, key, &c->pairs[i]);
}

static int cert_pairs(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	(void)obj;
	return ts_cfg_parse_list(p, v, key, parse_pair);
}

/* chain and key beside the name: the single-pair shorthand */
static int cert_shorthand(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	struct ts_cfg_cert *c = obj;

	if (c->npairs == 0)
		c->npairs = 1;
	return ts_cfg_set_field(p, ts_cfg_field_named(pair_fields, strrchr(key, '.') + 1), key, v,
				&c->pairs[0]);
}

static const struct field cert_fields[] = {
	{ FIELD("name", F_STR, struct ts_cfg_cert, name) },
	{ FIELD_FN("chain", cert_shorthand) },
	{ FIELD_FN("key", cert_shorthand) },
	{ FIELD_FN("pairs", cert_pairs) },
	{ .name = NULL },
};

static int parse_cert(struct parser *p, const char *key, const yaml_node_t *item, int i)
{
	struct ts_cfg_cert *c = &p->cfg->certs[i];
	int err, j;

	p->cfg->ncerts = i + 1;
	c->line = (int)item->start_mark.line + 1;
	err = ts_cfg_parse_fields(p, item, key, cert_fields, c);
	if (err)
		return err;
	if (ts_cfg_lookup(p, item, "pairs") &&
	    (ts_cfg_lookup(p, item, "chain") || ts_cfg_lookup(p, item, "key")))
		return ts_cfg_fail(p, item, key, "use either chain/key or pairs, not both");
	if (c->npairs == 0)
		return ts_cfg_fail(p, item, key, "missing required key 'chain'");
	for (j = 0; j < c->npairs; j++)
		if ((err = check_pair(p, item, key, &c->pairs[j])))
			return err;
	return check_name(p, item, key, c->name, p->cfg->certs[0].name, sizeof(*c), i);
}

/* ---- client-CA sets ---- */

static int parse_ca_file(struct parser *p, const char *key, const yaml_node_t *item, int i)
{
	struct ts_cfg_ca_set *s = &p->cfg->ca_sets[p->cfg->nca_sets - 1];

	s->nfiles = i + 1;
	return ts_cfg_parse_path(p, item, key, &s->files[i]);
}

/* files: one path or a list */
static int ca_files(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	struct ts_cfg_ca_set *s = obj;
	int j;

	for (j = 0; j < s->nfiles; j++)
		free(s->files[j]);
	free(s->files);
	s->nfiles = 0;
	s->files = calloc(v->type == YAML_SEQUENCE_NODE ? (size_t)ts_cfg_list_len(v) + 1 : 1,
			  sizeof(char *));
	if (!s->files)
		return -ENOMEM;
	if (v->type != YAML_SEQUENCE_NODE) {
		s->nfiles = 1;
		return ts_cfg_parse_path(p, v, key, &s->files[0]);
	}
	return ts_cfg_parse_list(p, v, key, parse_ca_file);
}

static const struct field ca_fields[] = {
	{ FIELD("name", F_STR, struct ts_cfg_ca_set, name) },
	{ FIELD_FN("files", ca_files) },
	{ FIELD("send_names", F_BOOL, struct ts_cfg_ca_set, send_names) },
	{ .name = NULL },
};

static int parse_ca_set(struct parser *p, const char *key, const yaml_node_t *item, int i)
{
	struct ts_cfg_ca_set *s = &p->cfg->ca_sets[i];
	int err;

	p->cfg->nca_sets = i + 1;
	s->send_names = true;
	s->line = (int)item->start_mark.line + 1;
	err = ts_cfg_parse_fields(p, item, key, ca_fields, s);
	if (!err && s->nfiles == 0)
		err = ts_cfg_fail(p, item, key, "missing required key 'files'");
	if (!err)
		err = check_name(p, item, key, s->name, p->cfg->ca_sets[0].name, sizeof(*s), i);
	return err;
}

/* ---- routes ---- */

static int parse_upstream(struct parser *p, const yaml_node_t *v, const char *key,
			  struct ts_cfg_route *r)
{
	const char *colon, *host = r->upstream, *end;
	unsigned long port;
	char *pend;
	int err = ts_cfg_copy_str(p, v, key, r->upstream, sizeof(r->upstream));

	if (err)
		return err;
	if (!strncmp(r->upstream, "unix:", 5) || r->upstream[0] == '/') {
		const char *path = r->upstream[0] == '/' ? r->upstream : r->upstream + 5;

		if (path[0] != '/' || strlen(path) >= sizeof(r->unix_path))
			return ts_cfg_fail(p, v, key, "expected unix:/absolute/path, got '%s'",
				    r->upstream);
		strcpy(r->unix_path, path);
		return 0;
	}
	colon = strrchr(r->upstream, ':');
	end = colon;
	if (host[0] == '[') { /* [v6]:port */
		host++;
		end = colon && colon > host && colon[-1] == ']' ? colon - 1 : NULL;
	}
	errno = 0;
	port = colon ? strtoul(colon + 1, &pend, 10) : 0;
	if (!end || end == host || errno || *pend || port == 0 || port > 65535 ||
	    (size_t)(end - host) >= sizeof(r->host))
		return ts_cfg_fail(p, v, key, "expected host:port or unix:/path, got '%s'",
				   r->upstream);
	memcpy(r->host, host, (size_t)(end - host));
	r->host[end - host] = '\0';
	r->port = (uint16_t)port;
	return 0;
}

static const char *const meta_names[] = { "proxy-v2", "http", "raw", NULL };
static const char *const resumption_names[] = { "cache", "tickets", NULL };
/* in enum ts_log_level order */
static const char *const log_level_names[] = { "error", "warn", "info", "debug", NULL };
static const char *const header_names[] = { "kong", "xfcc", "rfc9440", NULL };
/* in enum ts_unverified order */
static const char *const unverified_names[] = { "omit", "forward", NULL };

static const struct field kong_name_fields[] = {
	{ FIELD("cert", F_HEADER, struct ts_cfg_kong_names, cert) },
	{ FIELD("serial", F_HEADER, struct ts_cfg_kong_names, serial) },
	{ FIELD("issuer_dn", F_HEADER, struct ts_cfg_kong_names, issuer_dn) },
	{ FIELD("subject_dn", F_HEADER, struct ts_cfg_kong_names, subject_dn) },
	{ FIELD("fingerprint", F_HEADER, struct ts_cfg_kong_names, fingerprint) },
	{ .name = NULL },
};

/* Two certificate headers under one name would be one header upstream. */
static int check_kong_names(struct parser *p, const yaml_node_t *n, const char *key,
			    const struct ts_cfg_kong_names *k)
{
	const char *all[] = { k->cert, k->serial, k->issuer_dn, k->subject_dn, k->fingerprint };
	size_t count = sizeof(all) / sizeof(all[0]);

	for (size_t i = 0; i < count; i++)
		for (size_t j = i + 1; all[i][0] && j < count; j++)
			if (ts_cfg_header_name_eq(all[i], all[j]))
				return ts_cfg_fail(p, n, key, "'%s' names two headers", all[i]);
	return 0;
}

/* The protocols the proxy terminates on an http route (RFC 7301 names). */
static const char *const http_alpn_names[] = { "h2", "http/1.1", NULL };

/* `alpn:` a list of protocol names, kept in ALPN wire format. */
static int parse_alpn(struct parser *p, const yaml_node_t *v, const char *key,
		      struct ts_cfg_route *r)
{
	int err = ts_cfg_want_kind(p, v, key, YAML_SEQUENCE_NODE);

	r->alpn_len = 0;
	if (err)
		return err;
	if (ts_cfg_list_len(v) == 0)
		return ts_cfg_fail(p, v, key, "an empty ALPN list");
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		const char *s = ts_cfg_want_scalar(p, ts_cfg_node(p, *it), key, &err);
		size_t n;
		int known = 0;

		if (!s)
			return err;
		for (const char *const *a = http_alpn_names; *a; a++)
			known |= !strcmp(s, *a);
		if (!known)
			return ts_cfg_fail(p, v, key,
					   "'%s' is not a protocol the proxy speaks (h2, http/1.1)",
					   s);
		n = strlen(s);
		for (unsigned i = 0; i < r->alpn_len; i += 1u + r->alpn[i])
			if (r->alpn[i] == n && !memcmp(r->alpn + i + 1, s, n))
				return ts_cfg_fail(p, v, key, "'%s' is listed twice", s);
		r->alpn[r->alpn_len] = (unsigned char)n;
		memcpy(r->alpn + r->alpn_len + 1, s, n);
		r->alpn_len += 1u + (unsigned)n;
	}
	return 0;
}

/* The ALPN default: h2 and HTTP/1.1 where the proxy parses HTTP, else
 * HTTP/1.1 only (what the handshaker always selected before). */
static void default_alpn(struct ts_cfg_route *r)
{
	static const char both[] = "\x02h2\x08http/1.1", h1[] = "\x08http/1.1";
	const char *w = r->mode == TS_META_HTTP ? both : h1;
	size_t n = r->mode == TS_META_HTTP ? sizeof(both) - 1 : sizeof(h1) - 1;

	memcpy(r->alpn, w, n);
	r->alpn_len = (unsigned)n;
}

static int route_upstream(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	return parse_upstream(p, v, key, obj);
}

static int route_kong(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	struct ts_cfg_route *r = obj;
	int err = ts_cfg_parse_fields(p, v, key, kong_name_fields, &r->kong);

	return err ? err : check_kong_names(p, v, key, &r->kong);
}

static int route_alpn(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	return parse_alpn(p, v, key, obj);
}

/* `forwarded: false` turns the forwarding headers off */
static int route_forwarded(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	struct ts_cfg_route *r = obj;
	bool on = true;
	int err = ts_cfg_parse_bool(p, v, key, &on);

	r->no_forwarded = !on;
	return err;
}

static const struct field route_fields[] = {
	{ FIELD("name", F_STR, struct ts_cfg_route, name) },
	{ FIELD_FN("upstream", route_upstream) },
	{ FIELD("metadata", F_ENUM, struct ts_cfg_route, mode), .names = meta_names },
	{ FIELD("headers", F_ENUM, struct ts_cfg_route, headers), .names = header_names },
	{ FIELD_FN("kong_headers", route_kong) },
	{ FIELD("verify_header", F_HEADER, struct ts_cfg_route, verify_header) },
	{ FIELD("unverified", F_ENUM, struct ts_cfg_route, unverified),
	  .names = unverified_names },
	{ FIELD_FN("forwarded", route_forwarded) },
	{ FIELD_FN("alpn", route_alpn) },
	{ .name = NULL },
};

/* The verify status must not share a name with a certificate header. */
static int check_verify_header(struct parser *p, const yaml_node_t *n, const char *key,
			       const struct ts_cfg_route *r)
{
	const struct ts_cfg_kong_names *k = &r->kong;
	const char *all[] = { k->cert, k->serial, k->issuer_dn, k->subject_dn, k->fingerprint,
			      "X-Client-Cert", "X-Client-Cert-Serial", "X-Client-Cert-Issuer-DN",
			      "X-Client-Cert-Subject-DN", "X-Client-Cert-Fingerprint",
			      "x-forwarded-client-cert", "client-cert", "client-cert-chain" };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (ts_cfg_header_name_eq(r->verify_header, all[i]))
			return ts_cfg_fail(p, n, key, "'%s' is a certificate header", all[i]);
	return 0;
}

static int parse_route(struct parser *p, const char *key, const yaml_node_t *item, int i)
{
	struct ts_cfg_route *r = &p->cfg->routes[i];
	int err;

	p->cfg->nroutes = i + 1;
	r->line = (int)item->start_mark.line + 1;
	err = ts_cfg_parse_fields(p, item, key, route_fields, r);
	if (!err)
		err = ts_cfg_require_key(p, item, key, "upstream");
	if (!err && ts_cfg_lookup(p, item, "headers") && r->mode != TS_META_HTTP)
		err = ts_cfg_fail(p, ts_cfg_lookup(p, item, "headers"), key,
			   "'headers' only applies to metadata: http");
	if (!err && ts_cfg_lookup(p, item, "forwarded") && r->mode != TS_META_HTTP)
		err = ts_cfg_fail(p, ts_cfg_lookup(p, item, "forwarded"), key,
			   "'forwarded' only applies to metadata: http");
	if (!err && ts_cfg_lookup(p, item, "alpn") && r->mode != TS_META_HTTP)
		err = ts_cfg_fail(p, ts_cfg_lookup(p, item, "alpn"), key,
			   "'alpn' only applies to metadata: http");
	if (!err && !r->alpn_len)
		default_alpn(r);
	if (!err && ts_cfg_lookup(p, item, "kong_headers") &&
	    (r->mode != TS_META_HTTP || r->headers != TS_HEADERS_KONG))
		err = ts_cfg_fail(p, ts_cfg_lookup(p, item, "kong_headers"), key,
			   "'kong_headers' only applies to metadata: http with headers: kong");
	if (!err && ts_cfg_lookup(p, item, "verify_header") && r->mode != TS_META_HTTP)
		err = ts_cfg_fail(p, ts_cfg_lookup(p, item, "verify_header"), key,
			   "'verify_header' only applies to metadata: http (proxy-v2 carries the "
			   "status in PP2_TYPE_SSL)");
	if (!err && ts_cfg_lookup(p, item, "unverified") && r->mode == TS_META_RAW)
		err = ts_cfg_fail(p, ts_cfg_lookup(p, item, "unverified"), key,
			   "'unverified' does not apply to metadata: raw (it sends nothing)");
	if (!err && r->verify_header[0])
		err = check_verify_header(p, ts_cfg_lookup(p, item, "verify_header"), key, r);
	if (!err)
		err = check_name(p, item, key, r->name, p->cfg->routes[0].name, sizeof(*r), i);
	return err;
}

/* ---- policies and defaults ---- */

/* Finds a named entry; returns its 1-based id or fails naming the key. */
static int resolve(struct parser *p, const yaml_node_t *v, const char *key, const char *what,
		   const char *names, size_t stride, int count, __u16 *id)
{
	int err = 0, i;
	const char *s = ts_cfg_want_scalar(p, v, key, &err);

	if (!s)
		return err;
	for (i = 0; i < count; i++)
		if (!strcmp(names + (size_t)i * stride, s)) {
			*id = (__u16)(i + 1);
			return 0;
		}
	return ts_cfg_fail(p, v, key, "no %s named '%s'", what, s);
}

static int policy_certificate(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	struct ts_cfg_policy *pol = obj;
	struct ts_config *c = p->cfg;

	return resolve(p, v, key, "certificate", c->certs ? c->certs[0].name : NULL,
		       sizeof(*c->certs), c->ncerts, &pol->value.cert_id);
}

static int policy_ca_set(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	struct ts_cfg_policy *pol = obj;
	struct ts_config *c = p->cfg;

	return resolve(p, v, key, "ca_set", c->ca_sets ? c->ca_sets[0].name : NULL,
		       sizeof(*c->ca_sets), c->nca_sets, &pol->value.ca_id);
}

static int policy_route(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	struct ts_cfg_policy *pol = obj;
	struct ts_config *c = p->cfg;

	return resolve(p, v, key, "route", c->routes ? c->routes[0].name : NULL,
		       sizeof(*c->routes), c->nroutes, &pol->value.route_id);
}

static int policy_action(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	struct ts_cfg_policy *pol = obj;
	int err = 0, a;
	const char *s = ts_cfg_want_scalar(p, v, key, &err);

	if (!s)
		return err;
	a = ts_action_parse(s);
	if (a < 0)
		return ts_cfg_fail(p, v, key,
				   "unknown action '%s' (none, request, optional, require, reject)",
				   s);
	pol->value.action = (__u8)a;
	return 0;
}

static int policy_sni(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	struct ts_cfg_policy *pol = obj;
	int err = 0;
	const char *s = ts_cfg_want_scalar(p, v, key, &err);

	if (!s)
		return err;
	if (ts_name_normalise_key(s, strlen(s), pol->name) < 0)
		return ts_cfg_fail(p, v, key, "'%s' is not a host name or *.parent", s);
	return 0;
}

static const struct field policy_fields[] = {
	{ FIELD_FN("sni", policy_sni) },
	{ FIELD_FN("action", policy_action) },
	{ FIELD_FN("certificate", policy_certificate) },
	{ FIELD_FN("ca_set", policy_ca_set) },
	{ FIELD_FN("route", policy_route) },
	{ .name = NULL },
};
/* The two defaults have the same body without an SNI. */
static const struct field default_fields[] = {
	{ FIELD_FN("action", policy_action) },
	{ FIELD_FN("certificate", policy_certificate) },
	{ FIELD_FN("ca_set", policy_ca_set) },
	{ FIELD_FN("route", policy_route) },
	{ .name = NULL },
};

/* Shared checks: an action, and a CA set wherever a certificate is asked for. */
static int check_policy(struct parser *p, const yaml_node_t *item, const char *key,
			const struct ts_cfg_policy *pol)
{
	int err = ts_cfg_require_key(p, item, key, "action");

	if (!err && (pol->value.action == TS_ACTION_OPTIONAL ||
		     pol->value.action == TS_ACTION_REQUIRE) && !pol->value.ca_id)
		err = ts_cfg_fail(p, item, key, "action %s needs a ca_set",
			   ts_action_name(pol->value.action));
	return err;
}

static int parse_policy(struct parser *p, const char *key, const yaml_node_t *item, int i)
{
	struct ts_cfg_policy *pol = &p->cfg->policies[i];
	int err;

	pol->line = (int)item->start_mark.line + 1;
	err = ts_cfg_parse_fields(p, item, key, policy_fields, pol);
	if (!err)
		err = ts_cfg_require_key(p, item, key, "sni");
	if (!err)
		err = check_policy(p, item, key, pol);
	if (!err)
		p->cfg->npolicies = i + 1;
	return err;
}

/* defaults.default or defaults.no-sni, stored as the reserved name */
static int default_policy(struct parser *p, const char *key, const yaml_node_t *v,
			  const char *name)
{
	struct ts_config *c = p->cfg;
	struct ts_cfg_policy *pol = &c->policies[c->npolicies];
	int err;

	/* libyaml keeps duplicate mapping keys: a repeated default would
	 * write past the two slots reserved for the defaults */
	for (int i = 0; i < c->npolicies; i++)
		if (!strcmp(c->policies[i].name, name))
			return ts_cfg_fail(p, v, key, "defined twice");
	strcpy(pol->name, name);
	pol->line = (int)v->start_mark.line + 1;
	err = ts_cfg_parse_fields(p, v, key, default_fields, pol);
	if (!err)
		err = check_policy(p, v, key, pol);
	if (!err)
		c->npolicies++;
	return err;
}

static int default_any(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	(void)obj;
	return default_policy(p, key, v, TS_POLICY_DEFAULT);
}

static int default_no_sni(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	(void)obj;
	return default_policy(p, key, v, TS_POLICY_NO_SNI);
}

static const struct field defaults_fields[] = {
	{ FIELD_FN("default", default_any) },
	{ FIELD_FN("no-sni", default_no_sni) },
	{ .name = NULL },
};

static int policy_sort_cmp(const void *a, const void *b)
{
	const struct ts_cfg_policy *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : x->line - y->line;
}

static int sort_policies(struct parser *p)
{
	struct ts_config *c = p->cfg;
	int i;

	qsort(c->policies, (size_t)c->npolicies, sizeof(*c->policies), policy_sort_cmp);
	for (i = 1; i < c->npolicies; i++)
		if (!strcmp(c->policies[i].name, c->policies[i - 1].name)) {
			snprintf(p->err, p->errlen,
				 "%s:%d: policies: '%s' already defined at line %d", p->file,
				 c->policies[i].line, c->policies[i].name, c->policies[i - 1].line);
			return -EINVAL;
		}
	return 0;
}

static int parse_policies(struct parser *p, const yaml_node_t *root)
{
	const yaml_node_t *list = ts_cfg_lookup(p, root, "policies"),
			  *defs = ts_cfg_lookup(p, root, "defaults");
	int n = ts_cfg_list_len(list), err = 0;

	if (list && list->type != YAML_SEQUENCE_NODE)
		return ts_cfg_want_kind(p, list, "policies", YAML_SEQUENCE_NODE);
	if (n > TS_POLICY_MAX - 2)
		return ts_cfg_fail(p, list, "policies", "more than %d entries", TS_POLICY_MAX - 2);
	p->cfg->policies = calloc((size_t)n + 2, sizeof(*p->cfg->policies)); /* + 2 defaults */
	if (!p->cfg->policies)
		return -ENOMEM;
	if (list)
		err = ts_cfg_parse_list(p, list, "policies", parse_policy);
	if (!err && defs)
		err = ts_cfg_parse_fields(p, defs, "defaults", defaults_fields, NULL);
	return err ? err : sort_policies(p);
}

/* Both limits: a bound of 0 would refuse every connection. */
#define LIMIT_MAX 1000000
#define TICKETS_MAX 16

static const struct field handoff_fields[] = {
	{ FIELD("socket", F_STR, struct ts_config, handoff_path) },
	{ FIELD("handshaker_user", F_USER, struct ts_config, handoff_handshaker_uid) },
	{ FIELD("proxy_user", F_USER, struct ts_config, handoff_proxy_uid) },
	{ FIELD("early_connect", F_BOOL, struct ts_config, handoff_early_connect) },
	{ FIELD("records", F_BOOL, struct ts_config, handoff_records) },
	{ .name = NULL },
};
static const struct field bpf_fields[] = {
	{ FIELD("pin_dir", F_STR, struct ts_config, pin_dir) },
	{ .name = NULL },
};
static const struct field timeout_fields[] = {
	{ FIELD("handshake", F_DURATION, struct ts_config, handshake_timeout_ms) },
	{ FIELD("client_hello", F_DURATION, struct ts_config, hello_timeout_ms) },
	{ FIELD("handoff", F_DURATION, struct ts_config, handoff_timeout_ms) },
	{ FIELD("idle", F_DURATION, struct ts_config, idle_timeout_ms) },
	{ .name = NULL },
};
static const struct field tls_fields[] = {
	{ FIELD("session_tickets", F_UINT, struct ts_config, session_tickets), .max = TICKETS_MAX },
	{ FIELD("session_timeout", F_DURATION_S, struct ts_config, session_timeout_s) },
	{ FIELD("resumption", F_ENUM, struct ts_config, resumption), .names = resumption_names },
	{ .name = NULL },
};
static const struct field logging_fields[] = {
	{ FIELD("level", F_ENUM, struct ts_config, log_level), .names = log_level_names },
	{ FIELD("connections", F_BOOL, struct ts_config, log_connections) },
	{ .name = NULL },
};
static const struct field limit_fields[] = {
	{ FIELD("handshakes_in_flight", F_UINT, struct ts_config, max_inflight), .min = 1,
	  .max = LIMIT_MAX, .below = "must be at least 1" },
	{ FIELD("handshakes_per_source", F_UINT, struct ts_config, max_per_source), .min = 1,
	  .max = LIMIT_MAX, .below = "must be at least 1" },
	{ .name = NULL },
};

static int parse_misc(struct parser *p, const yaml_node_t *root, const char *section,
		      const struct field *fields)
{
	const yaml_node_t *v = ts_cfg_lookup(p, root, section);

	return v ? ts_cfg_parse_fields(p, v, section, fields, p->cfg) : 0;
}

static int parse_section(struct parser *p, const yaml_node_t *root, const char *section,
			 size_t size, void **arr,
			 int (*fn)(struct parser *, const char *, const yaml_node_t *, int))
{
	const yaml_node_t *v = ts_cfg_lookup(p, root, section);
	int err = alloc_list(p, v, section, size, arr);

	return err || !v ? err : ts_cfg_parse_list(p, v, section, fn);
}

static int parse_sections(struct parser *p, const yaml_node_t *root)
{
	struct ts_config *c = p->cfg;
	int err;

	err = parse_section(p, root, "listeners", sizeof(*c->listeners), (void **)&c->listeners,
			    parse_listener);
	if (!err)
		err = parse_section(p, root, "certificates", sizeof(*c->certs),
				    (void **)&c->certs, parse_cert);
	if (!err)
		err = parse_section(p, root, "ca_sets", sizeof(*c->ca_sets),
				    (void **)&c->ca_sets, parse_ca_set);
	if (!err)
		err = parse_section(p, root, "routes", sizeof(*c->routes), (void **)&c->routes,
				    parse_route);
	if (!err)
		err = parse_policies(p, root);
	if (!err)
		err = parse_misc(p, root, "handoff", handoff_fields);
	if (!err)
		err = parse_misc(p, root, "bpf", bpf_fields);
	if (!err)
		err = parse_misc(p, root, "timeouts", timeout_fields);
	if (!err)
		err = parse_misc(p, root, "tls", tls_fields);
	if (!err)
		err = parse_misc(p, root, "limits", limit_fields);
	if (!err)
		err = parse_misc(p, root, "logging", logging_fields);
	return err;
}

static const char *const top_sections[] = {
	"listeners", "certificates", "ca_sets", "routes", "policies", "defaults",
	"handoff",   "timeouts",     "limits",  "tls",    "bpf",      "logging", NULL,
};

static int check_top_keys(struct parser *p, const yaml_node_t *root)
{
	yaml_node_pair_t *pair;

	for (pair = root->data.mapping.pairs.start; pair < root->data.mapping.pairs.top; pair++) {
		const yaml_node_t *k = ts_cfg_node(p, pair->key);
		const char *const *s;

		if (k->type != YAML_SCALAR_NODE)
			return ts_cfg_fail(p, k, "(top)", "keys must be plain names");
		for (s = top_sections; *s && strcmp(*s, ts_cfg_scalar(k)); s++)
			;
		if (!*s)
			return ts_cfg_fail(p, k, ts_cfg_scalar(k), "unknown section");
		/* a second `policies:` would otherwise be silently ignored */
		if (ts_cfg_key_repeated(p, root, pair))
			return ts_cfg_fail(p, k, ts_cfg_scalar(k), "repeated section");
	}
	return 0;
}

void ts_cfg_set_defaults(struct ts_config *cfg)
{
	snprintf(cfg->handoff_path, sizeof(cfg->handoff_path), "%s", DEFAULT_HANDOFF_PATH);
	snprintf(cfg->pin_dir, sizeof(cfg->pin_dir), "%s", TS_PIN_DIR_DEFAULT);
	cfg->handshake_timeout_ms = DEFAULT_HANDSHAKE_TIMEOUT_MS;
	cfg->handoff_timeout_ms = DEFAULT_HANDOFF_TIMEOUT_MS;
	cfg->idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
	cfg->hello_timeout_ms = DEFAULT_HELLO_TIMEOUT_MS;
	cfg->max_inflight = DEFAULT_MAX_INFLIGHT;
	cfg->max_per_source = DEFAULT_MAX_PER_SOURCE;
	cfg->handoff_handshaker_uid = -1;
	cfg->handoff_proxy_uid = -1;
	cfg->handoff_records = DEFAULT_HANDOFF_RECORDS;
	cfg->session_tickets = DEFAULT_SESSION_TICKETS;
	cfg->session_timeout_s = DEFAULT_SESSION_TIMEOUT_S;
	cfg->log_level = TS_LOG_LEVEL_DEFAULT;
}

int ts_cfg_parse_root(struct parser *p)
{
	yaml_node_t *root = yaml_document_get_root_node(&p->doc);
	int err;

	if (!root)
		return ts_cfg_fail(p, NULL, "(top)", "empty document");
	err = ts_cfg_want_kind(p, root, "(top)", YAML_MAPPING_NODE);
	if (!err)
		err = check_top_keys(p, root);
	if (!err)
		err = parse_sections(p, root);
	return err;
}
