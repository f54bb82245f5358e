// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Reading a Kong declarative configuration (cli/kong_decl.h). Each entity
 * has a table of its fields: the ones read, and the ones Kong has that
 * tagshake does not carry over, each with the reason the report prints.
 * Anything else is an error naming the entity and the field.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "kong_decl.h"

struct reader {
	yaml_document_t doc;
	struct kg_file *k;
};

/* A field Kong has: NULL reason = read here; else why it is not carried over. */
struct kg_field {
	const char *name;
	const char *reason;
};

#define KG_META "Kong bookkeeping"
#define KG_UPSTREAM "an upstream connection setting tagshake-proxy does not have"
#define KG_HTTP_ROUTING "HTTP routing below the host: tagshake routes by name (SNI, Host)"

static const struct kg_field service_fields[] = {
	{ "name", NULL },	{ "id", NULL },	      { "url", NULL },
	{ "protocol", NULL },	{ "host", NULL },     { "port", NULL },
	{ "routes", NULL },	{ "plugins", NULL },  { "enabled", NULL },
	{ "path", "tagshake-proxy does not rewrite the request path" },
	{ "retries", KG_UPSTREAM },
	{ "connect_timeout", KG_UPSTREAM },
	{ "write_timeout", KG_UPSTREAM },
	{ "read_timeout", KG_UPSTREAM },
	{ "tls_verify", "tagshake-proxy speaks plaintext to its upstreams" },
	{ "tls_verify_depth", "tagshake-proxy speaks plaintext to its upstreams" },
	{ "client_certificate", "tagshake-proxy speaks plaintext to its upstreams" },
	{ "ca_certificates", "tagshake-proxy speaks plaintext to its upstreams" },
	{ "tags", KG_META },	{ "created_at", KG_META }, { "updated_at", KG_META },
	{ NULL, NULL },
};

static const struct kg_field route_fields[] = {
	{ "name", NULL },
	{ "id", NULL },
	{ "service", NULL },
	{ "hosts", NULL },
	{ "snis", NULL },
	{ "protocols", NULL },
	{ "plugins", NULL },
	{ "expression", NULL },
	{ "paths", KG_HTTP_ROUTING },
	{ "methods", KG_HTTP_ROUTING },
	{ "headers", KG_HTTP_ROUTING },
	{ "regex_priority", KG_HTTP_ROUTING },
	{ "path_handling", KG_HTTP_ROUTING },
	{ "priority", KG_HTTP_ROUTING },
	{ "strip_path", "tagshake-proxy does not rewrite the request path" },
	{ "preserve_host", "tagshake-proxy always passes the client's Host" },
	{ "https_redirect_status_code", "tagshake only terminates TLS: no plain HTTP listener" },
	{ "request_buffering", "tagshake-proxy streams requests" },
	{ "response_buffering", "tagshake-proxy streams responses" },
	{ "sources", "stream routing by address: tagshake routes by name" },
	{ "destinations", "stream routing by address: tagshake routes by name" },
	{ "tags", KG_META },
	{ "created_at", KG_META },
	{ "updated_at", KG_META },
	{ NULL, NULL },
};

static const struct kg_field plugin_fields[] = {
	{ "name", NULL },	  { "id", NULL },	    { "config", NULL },
	{ "service", NULL },	  { "route", NULL },	    { "consumer", NULL },
	{ "enabled", NULL },	  { "protocols", "the plugin's protocols: tagshake applies it to TLS" },
	{ "instance_name", KG_META }, { "ordering", "plugin ordering: no plugins run in tagshake" },
	{ "consumer_group", "consumer groups: tagshake has no consumers" },
	{ "tags", KG_META },	  { "created_at", KG_META }, { "updated_at", KG_META },
	{ NULL, NULL },
};

#define KG_CONSUMERS "consumer mapping is the upstream's job behind tagshake"

static const struct kg_field mtls_fields[] = {
	{ "ca_certificates", NULL },
	{ "anonymous", NULL },
	{ "send_ca_dn", NULL },
	{ "skip_consumer_lookup", KG_CONSUMERS },
	{ "consumer_by", KG_CONSUMERS },
	{ "authenticated_group_by", KG_CONSUMERS },
	{ "default_consumer", KG_CONSUMERS },
	{ "cache_ttl", KG_CONSUMERS },
	{ "cert_cache_ttl", "revocation checking is not done by tagshake" },
	{ "revocation_check_mode", "revocation checking is not done by tagshake" },
	{ "http_timeout", "revocation checking is not done by tagshake" },
	{ "http_proxy_host", "revocation checking is not done by tagshake" },
	{ "http_proxy_port", "revocation checking is not done by tagshake" },
	{ "https_proxy_host", "revocation checking is not done by tagshake" },
	{ "https_proxy_port", "revocation checking is not done by tagshake" },
	{ "ssl_verify", "revocation checking is not done by tagshake" },
	{ "allow_partial_chain", "a CA set verifies to a trust anchor it holds: list the "
				 "intermediate in the CA set instead" },
	{ NULL, NULL },
};

static const struct kg_field modifier_fields[] = {
	{ "tls_client_certificate", NULL },
	{ NULL, NULL },
};

static const char *const header_keys[KG_HDR_COUNT] = {
	[KG_HDR_CERT] = "client_cert_header_name",
	[KG_HDR_SERIAL] = "client_serial_header_name",
	[KG_HDR_ISSUER_DN] = "client_cert_issuer_dn_header_name",
	[KG_HDR_SUBJECT_DN] = "client_cert_subject_dn_header_name",
	[KG_HDR_FINGERPRINT] = "client_cert_fingerprint_header_name",
};

static const struct kg_field metadata_fields[] = {
	{ "inject_client_cert_details", NULL },
	{ "client_cert_header_name", NULL },
	{ "client_serial_header_name", NULL },
	{ "client_cert_issuer_dn_header_name", NULL },
	{ "client_cert_subject_dn_header_name", NULL },
	{ "client_cert_fingerprint_header_name", NULL },
	{ NULL, NULL },
};

static const struct kg_field cert_fields[] = {
	{ "id", NULL },	      { "cert", NULL },	      { "key", NULL }, { "cert_alt", NULL },
	{ "key_alt", NULL },  { "snis", NULL },	      { "tags", KG_META },
	{ "created_at", KG_META }, { "updated_at", KG_META }, { NULL, NULL },
};

static const struct kg_field sni_fields[] = {
	{ "name", NULL },	{ "certificate", NULL }, { "id", NULL },
	{ "tags", KG_META }, { "created_at", KG_META }, { "updated_at", KG_META },
	{ NULL, NULL },
};

static const struct kg_field ca_fields[] = {
	{ "id", NULL },	{ "cert", NULL }, { "cert_digest", "recomputed from the certificate" },
	{ "tags", KG_META }, { "created_at", KG_META }, { "updated_at", KG_META },
	{ NULL, NULL },
};

#define KG_NO_ENTITY "tagshake has no such entity"

static const struct kg_field top_fields[] = {
	{ "_format_version", NULL },
	{ "_transform", NULL },
	{ "services", NULL },
	{ "routes", NULL },
	{ "plugins", NULL },
	{ "certificates", NULL },
	{ "ca_certificates", NULL },
	{ "snis", NULL },
	{ "_info", KG_META },
	{ "_workspace", "workspaces: one tagshake configuration is one edge" },
	{ "_konnect", KG_META },
	{ "consumers", KG_CONSUMERS },
	{ "consumer_groups", KG_CONSUMERS },
	{ "mtls_auth_credentials", KG_CONSUMERS },
	{ "upstreams", "load balancing: a tagshake route has one upstream address" },
	{ "targets", "load balancing: a tagshake route has one upstream address" },
	{ "vaults", KG_NO_ENTITY },
	{ "keys", KG_NO_ENTITY },
	{ "key_sets", KG_NO_ENTITY },
	{ "partials", KG_NO_ENTITY },
	{ NULL, NULL },
};

/* ---- small helpers ---- */

void kg_strs_add(struct kg_strs *s, const char *fmt, ...)
{
	char **v = realloc(s->v, (size_t)(s->n + 1) * sizeof(*v));
	va_list ap;

	if (!v)
		return;
	s->v = v;
	va_start(ap, fmt);
	if (vasprintf(&s->v[s->n], fmt, ap) >= 0)
		s->n++;
	va_end(ap);
}

void kg_strs_free(struct kg_strs *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int line_of(const yaml_node_t *n)
{
	return (int)n->start_mark.line + 1;
}

#define kg_error(r, n, ...) kg_msg(&(r)->k->errors, (r)->k->path, n, __VA_ARGS__)
#define kg_note(r, n, ...) kg_msg(&(r)->k->notes, (r)->k->path, n, __VA_ARGS__)

__attribute__((format(printf, 4, 5))) static void kg_msg(struct kg_strs *s, const char *path,
							   const yaml_node_t *n, const char *fmt,
							   ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	kg_strs_add(s, "%s:%d: %s", path, n ? line_of(n) : 0, msg ? msg : "?");
	free(msg);
}

static const char *scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static yaml_node_t *node(struct reader *r, yaml_node_item_t i)
{
	return yaml_document_get_node(&r->doc, i);
}

static yaml_node_t *get(struct reader *r, const yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const char *k = scalar(node(r, p->key));
		if (k && !strcmp(k, key))
			return node(r, p->value);
	}
	return NULL;
}

/* Checks every key of `map` against `fields`: unknown → error, known but
 * not carried over → one note listing them. */
static void check_fields(struct reader *r, const yaml_node_t *map, const char *entity,
			 const struct kg_field *fields)
{
	char skipped[512] = "";
	const char *why = NULL;
	bool mixed = false;

	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
	     p++) {
		const yaml_node_t *kn = node(r, p->key);
		const char *k = scalar(kn);
		const struct kg_field *f;

		for (f = fields; k && f->name && strcmp(f->name, k); f++)
			;
		if (!k || !f->name) {
			kg_error(r, kn, "%s: unknown field '%s' (not in Kong's declarative format)",
				 entity, k ? k : "?");
			continue;
		}
		if (!f->reason)
			continue;
		/* an empty value or an empty list changes nothing */
		const yaml_node_t *v = node(r, p->value);
		if ((v->type == YAML_SEQUENCE_NODE &&
		     v->data.sequence.items.start == v->data.sequence.items.top) ||
		    (v->type == YAML_SCALAR_NODE &&
		     (!strcmp(scalar(v), "") || !strcmp(scalar(v), "null"))) ||
		    !strcmp(f->reason, KG_META))
			continue;
		if (why && strcmp(why, f->reason))
			mixed = true;
		if (!mixed) {
			why = f->reason;
			snprintf(skipped + strlen(skipped), sizeof(skipped) - strlen(skipped), "%s%s",
				 skipped[0] ? ", " : "", k);
		} else {
			kg_note(r, kn, "%s: %s: not carried over: %s", entity, k, f->reason);
		}
	}
	if (skipped[0])
		kg_note(r, map, "%s: %s: not carried over: %s", entity, skipped, why);
}

static char *dup_scalar(struct reader *r, const yaml_node_t *map, const char *key,
			const char *entity)
{
	yaml_node_t *v = get(r, map, key);

	if (!v)
		return NULL;
	if (!scalar(v)) {
		kg_error(r, v, "%s: %s: expected a string", entity, key);
		return NULL;
	}
	return strdup(scalar(v));
}

static bool get_bool(struct reader *r, const yaml_node_t *map, const char *key, bool dflt,
		     const char *entity)
{
	const char *s = scalar(get(r, map, key));

	if (!get(r, map, key))
		return dflt;
	if (s && (!strcmp(s, "true") || !strcmp(s, "yes")))
		return true;
	if (s && (!strcmp(s, "false") || !strcmp(s, "no")))
		return false;
	kg_error(r, get(r, map, key), "%s: %s: expected true or false", entity, key);
	return dflt;
}

/* A list of strings; Kong's certificate snis may also be {name: ...} items. */
static void get_strs(struct reader *r, const yaml_node_t *map, const char *key,
		     struct kg_strs *out, const char *entity)
{
	yaml_node_t *v = get(r, map, key);

	if (!v)
		return;
	if (v->type != YAML_SEQUENCE_NODE) {
		kg_error(r, v, "%s: %s: expected a list", entity, key);
		return;
	}
	for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
	     i++) {
		yaml_node_t *item = node(r, *i);
		const char *s = scalar(item) ? scalar(item) : scalar(get(r, item, "name"));

		if (!s)
			kg_error(r, item, "%s: %s: expected a list of strings", entity, key);
		else
			kg_strs_add(out, "%s", s);
	}
}

/* A reference to another entity: "name-or-id", {name: ...} or {id: ...}. */
static char *get_ref(struct reader *r, const yaml_node_t *map, const char *key, const char *entity)
{
	yaml_node_t *v = get(r, map, key);
	const char *s;

	if (!v)
		return NULL;
	s = scalar(v) ? scalar(v) : scalar(get(r, v, "name")) ? scalar(get(r, v, "name"))
							       : scalar(get(r, v, "id"));
	if (!s || (v->type == YAML_SCALAR_NODE && !strcmp(s, "null")))
		return NULL;
	(void)entity;
	return strdup(s);
}

static void *grow(void *arr, int n, size_t size)
{
	void *p = realloc(arr, (size_t)(n + 1) * size);

	if (p)
		memset((char *)p + (size_t)n * size, 0, size);
	return p;
}

/* ---- entities ---- */

static void read_plugin(struct reader *r, const yaml_node_t *n, int service, int route);

static void read_plugins(struct reader *r, const yaml_node_t *list, int service, int route,
			 const char *where)
{
	if (!list)
		return;
	if (list->type != YAML_SEQUENCE_NODE) {
		kg_error(r, list, "%s: plugins: expected a list", where);
		return;
	}
	for (yaml_node_item_t *i = list->data.sequence.items.start;
	     i < list->data.sequence.items.top; i++)
		read_plugin(r, node(r, *i), service, route);
}

static void read_plugin_config(struct reader *r, struct kg_plugin *p, const yaml_node_t *cfg,
			       const char *entity)
{
	char what[300];

	if (!cfg)
		return;
	if (cfg->type != YAML_MAPPING_NODE) {
		kg_error(r, cfg, "%s: config: expected a mapping", entity);
		return;
	}
	snprintf(what, sizeof(what), "%s: config", entity);
	switch (p->kind) {
	case KG_PLUGIN_MTLS:
		check_fields(r, cfg, what, mtls_fields);
		get_strs(r, cfg, "ca_certificates", &p->ca_ids, what);
		{
			const char *a = scalar(get(r, cfg, "anonymous"));
			p->anonymous = a && a[0] && strcmp(a, "null");
		}
		p->send_ca_dn = get_bool(r, cfg, "send_ca_dn", false, what);
		break;
	case KG_PLUGIN_MODIFIER: {
		const char *v = scalar(get(r, cfg, "tls_client_certificate"));

		check_fields(r, cfg, what, modifier_fields);
		if (v && strcmp(v, "REQUEST"))
			kg_error(r, get(r, cfg, "tls_client_certificate"),
				 "%s: tls_client_certificate: '%s' (Kong knows only REQUEST)", what,
				 v);
		break;
	}
	case KG_PLUGIN_METADATA:
		check_fields(r, cfg, what, metadata_fields);
		p->inject = get_bool(r, cfg, "inject_client_cert_details", false, what);
		for (int h = 0; h < KG_HDR_COUNT; h++)
			p->headers[h] = dup_scalar(r, cfg, header_keys[h], what);
		break;
	case KG_PLUGIN_OTHER:
		break;
	}
}

static void read_plugin(struct reader *r, const yaml_node_t *n, int service, int route)
{
	struct kg_file *k = r->k;
	struct kg_plugin *p;
	char entity[256];

	if (!n || n->type != YAML_MAPPING_NODE) {
		kg_error(r, n, "plugins: expected a mapping per plugin");
		return;
	}
	k->plugins = grow(k->plugins, k->nplugins, sizeof(*k->plugins));
	if (!k->plugins)
		return;
	p = &k->plugins[k->nplugins++];
	p->line = line_of(n);
	p->service = service;
	p->route = route;
	p->name = dup_scalar(r, n, "name", "plugin");
	snprintf(entity, sizeof(entity), "plugin '%s'", p->name ? p->name : "?");
	if (!p->name) {
		kg_error(r, n, "plugin: no name");
		return;
	}
	check_fields(r, n, entity, plugin_fields);
	p->enabled = get_bool(r, n, "enabled", true, entity);
	p->consumer = get(r, n, "consumer") && scalar(get(r, n, "consumer")) != NULL
			      ? strcmp(scalar(get(r, n, "consumer")), "null") != 0
			      : get(r, n, "consumer") != NULL;
	if (service < 0)
		p->service_ref = get_ref(r, n, "service", entity);
	if (route < 0)
		p->route_ref = get_ref(r, n, "route", entity);
	p->kind = !strcmp(p->name, "mtls-auth")		     ? KG_PLUGIN_MTLS
		  : !strcmp(p->name, "tls-handshake-modifier") ? KG_PLUGIN_MODIFIER
		  : !strcmp(p->name, "tls-metadata-headers")   ? KG_PLUGIN_METADATA
							       : KG_PLUGIN_OTHER;
	if (p->kind == KG_PLUGIN_OTHER)
		kg_note(r, n, "%s: not carried over: tagshake runs no request plugins", entity);
	else if (!p->enabled)
		kg_note(r, n, "%s: enabled: false: not carried over", entity);
	else if (p->consumer)
		kg_note(r, n, "%s: scoped to a consumer: not carried over (tagshake decides per name, "
			      "before any consumer is known)", entity);
	read_plugin_config(r, p, get(r, n, "config"), entity);
}

static void read_route(struct reader *r, const yaml_node_t *n, int service)
{
	struct kg_file *k = r->k;
	struct kg_route *rt;
	char entity[256];
	int idx;

	if (!n || n->type != YAML_MAPPING_NODE) {
		kg_error(r, n, "routes: expected a mapping per route");
		return;
	}
	k->routes = grow(k->routes, k->nroutes, sizeof(*k->routes));
	if (!k->routes)
		return;
	idx = k->nroutes++;
	rt = &k->routes[idx];
	rt->line = line_of(n);
	rt->service = service;
	rt->name = dup_scalar(r, n, "name", "route");
	rt->id = dup_scalar(r, n, "id", "route");
	snprintf(entity, sizeof(entity), "route '%s'",
		 rt->name ? rt->name : rt->id ? rt->id : "(unnamed)");
	check_fields(r, n, entity, route_fields);
	if (service < 0)
		rt->service_ref = get_ref(r, n, "service", entity);
	get_strs(r, n, "hosts", &rt->hosts, entity);
	get_strs(r, n, "snis", &rt->snis, entity);
	get_strs(r, n, "protocols", &rt->protocols, entity);
	rt->expression = get(r, n, "expression") != NULL;
	read_plugins(r, get(r, n, "plugins"), -1, idx, entity);
}

/* url: scheme://host[:port][/path] */
static void parse_url(struct reader *r, struct kg_service *s, const yaml_node_t *n,
		      const char *entity)
{
	const char *url = scalar(n), *h, *end, *colon;

	if (!url || !(h = strstr(url, "://"))) {
		kg_error(r, n, "%s: url: expected scheme://host[:port][/path]", entity);
		return;
	}
	s->protocol = strndup(url, (size_t)(h - url));
	h += 3;
	end = h + strcspn(h, "/?#");
	colon = h[0] == '[' ? strstr(h, "]:") : memchr(h, ':', (size_t)(end - h));
	if (colon && colon < end) {
		if (h[0] == '[')
			colon++;
		s->host = strndup(h, (size_t)(colon - h));
		s->port = atoi(colon + 1);
	} else {
		s->host = strndup(h, (size_t)(end - h));
	}
	if (*end == '/' && end[1])
		kg_note(r, n, "%s: url path '%s': not carried over: tagshake-proxy does not "
			      "rewrite the request path", entity, end);
}

static void read_service(struct reader *r, const yaml_node_t *n)
{
	struct kg_file *k = r->k;
	struct kg_service *s;
	char entity[256];
	const char *port;
	int idx;
	yaml_node_t *routes;

	if (!n || n->type != YAML_MAPPING_NODE) {
		kg_error(r, n, "services: expected a mapping per service");
		return;
	}
	k->services = grow(k->services, k->nservices, sizeof(*k->services));
	if (!k->services)
		return;
	idx = k->nservices++;
	s = &k->services[idx];
	s->line = line_of(n);
	s->name = dup_scalar(r, n, "name", "service");
	s->id = dup_scalar(r, n, "id", "service");
	snprintf(entity, sizeof(entity), "service '%s'",
		 s->name ? s->name : s->id ? s->id : "(unnamed)");
	check_fields(r, n, entity, service_fields);
	s->enabled = get_bool(r, n, "enabled", true, entity);
	if (get(r, n, "url")) {
		parse_url(r, s, get(r, n, "url"), entity);
	} else {
		s->protocol = dup_scalar(r, n, "protocol", entity);
		s->host = dup_scalar(r, n, "host", entity);
	}
	port = scalar(get(r, n, "port"));
	if (port)
		s->port = atoi(port);
	if (!s->protocol)
		s->protocol = strdup("http"); /* Kong's default */
	if (!s->port)
		s->port = !strcmp(s->protocol, "https") || !strcmp(s->protocol, "grpcs") ? 443 : 80;
	if (!s->host)
		kg_error(r, n, "%s: no url and no host", entity);
	routes = get(r, n, "routes");
	if (routes && routes->type == YAML_SEQUENCE_NODE) {
		for (yaml_node_item_t *i = routes->data.sequence.items.start;
		     i < routes->data.sequence.items.top; i++)
			read_route(r, node(r, *i), idx);
	} else if (routes) {
		kg_error(r, routes, "%s: routes: expected a list", entity);
	}
	/* routes first: their indexes are final before plugins refer to them */
	read_plugins(r, get(r, n, "plugins"), idx, -1, entity);
}

static void read_cert(struct reader *r, const yaml_node_t *n)
{
	struct kg_file *k = r->k;
	struct kg_cert *c;
	char entity[128];

	if (!n || n->type != YAML_MAPPING_NODE) {
		kg_error(r, n, "certificates: expected a mapping per certificate");
		return;
	}
	k->certs = grow(k->certs, k->ncerts, sizeof(*k->certs));
	if (!k->certs)
		return;
	c = &k->certs[k->ncerts++];
	c->line = line_of(n);
	snprintf(entity, sizeof(entity), "certificates[%d]", k->ncerts - 1);
	check_fields(r, n, entity, cert_fields);
	c->id = dup_scalar(r, n, "id", entity);
	c->cert = dup_scalar(r, n, "cert", entity);
	c->key = dup_scalar(r, n, "key", entity);
	c->cert_alt = dup_scalar(r, n, "cert_alt", entity);
	c->key_alt = dup_scalar(r, n, "key_alt", entity);
	get_strs(r, n, "snis", &c->snis, entity);
	if (!c->cert || !c->key)
		kg_error(r, n, "%s: needs cert and key", entity);
}

static void read_ca(struct reader *r, const yaml_node_t *n)
{
	struct kg_file *k = r->k;
	struct kg_ca *c;
	char entity[128];

	if (!n || n->type != YAML_MAPPING_NODE) {
		kg_error(r, n, "ca_certificates: expected a mapping per CA certificate");
		return;
	}
	k->cas = grow(k->cas, k->ncas, sizeof(*k->cas));
	if (!k->cas)
		return;
	c = &k->cas[k->ncas++];
	c->line = line_of(n);
	snprintf(entity, sizeof(entity), "ca_certificates[%d]", k->ncas - 1);
	check_fields(r, n, entity, ca_fields);
	c->id = dup_scalar(r, n, "id", entity);
	c->cert = dup_scalar(r, n, "cert", entity);
	if (!c->id || !c->cert)
		kg_error(r, n, "%s: needs id and cert (mtls-auth refers to it by id)", entity);
}

/* A top-level SNI entity: its certificate by id (read after certificates). */
static void read_sni(struct reader *r, const yaml_node_t *n)
{
	struct kg_file *k = r->k;
	char *name, *cert;
	int i;

	if (!n || n->type != YAML_MAPPING_NODE) {
		kg_error(r, n, "snis: expected a mapping per SNI");
		return;
	}
	check_fields(r, n, "snis[]", sni_fields);
	name = dup_scalar(r, n, "name", "snis[]");
	cert = get_ref(r, n, "certificate", "snis[]");
	for (i = 0; name && cert && i < k->ncerts; i++)
		if (k->certs[i].id && !strcmp(k->certs[i].id, cert)) {
			kg_strs_add(&k->certs[i].snis, "%s", name);
			break;
		}
	if (!name || !cert || i == k->ncerts)
		kg_error(r, n, "snis[] '%s': needs a name and the id of a certificate in the file",
			 name ? name : "?");
	free(name);
	free(cert);
}

/* ---- references ---- */

const char *kg_route_label(const struct kg_file *k, int i, char *buf, size_t len)
{
	const struct kg_route *r = &k->routes[i];

	if (r->name)
		return r->name;
	if (r->id)
		return r->id;
	snprintf(buf, len, "#%d", i + 1);
	return buf;
}

const char *kg_service_label(const struct kg_file *k, int i, char *buf, size_t len)
{
	const struct kg_service *s = &k->services[i];

	if (s->name)
		return s->name;
	if (s->id)
		return s->id;
	snprintf(buf, len, "#%d", i + 1);
	return buf;
}

static int find_service(const struct kg_file *k, const char *ref)
{
	for (int i = 0; ref && i < k->nservices; i++)
		if ((k->services[i].name && !strcmp(k->services[i].name, ref)) ||
		    (k->services[i].id && !strcmp(k->services[i].id, ref)))
			return i;
	return -1;
}

static int find_route(const struct kg_file *k, const char *ref)
{
	for (int i = 0; ref && i < k->nroutes; i++)
		if ((k->routes[i].name && !strcmp(k->routes[i].name, ref)) ||
		    (k->routes[i].id && !strcmp(k->routes[i].id, ref)))
			return i;
	return -1;
}

static void resolve(struct kg_file *k)
{
	for (int i = 0; i < k->nroutes; i++) {
		struct kg_route *r = &k->routes[i];

		if (!r->service_ref)
			continue;
		r->service = find_service(k, r->service_ref);
		if (r->service < 0)
			kg_strs_add(&k->errors, "%s:%d: route '%s': service '%s' is not in the file",
				    k->path, r->line, r->name ? r->name : "?", r->service_ref);
	}
	for (int i = 0; i < k->nplugins; i++) {
		struct kg_plugin *p = &k->plugins[i];

		if (p->service_ref && (p->service = find_service(k, p->service_ref)) < 0)
			kg_strs_add(&k->errors, "%s:%d: plugin '%s': service '%s' is not in the file",
				    k->path, p->line, p->name, p->service_ref);
		if (p->route_ref && (p->route = find_route(k, p->route_ref)) < 0)
			kg_strs_add(&k->errors, "%s:%d: plugin '%s': route '%s' is not in the file",
				    k->path, p->line, p->name, p->route_ref);
	}
	for (int i = 0; i < k->nplugins; i++) {
		const struct kg_plugin *p = &k->plugins[i];

		for (int j = 0; p->kind == KG_PLUGIN_MTLS && j < p->ca_ids.n; j++) {
			int found = 0;

			for (int c = 0; c < k->ncas && !found; c++)
				found = k->cas[c].id && !strcmp(k->cas[c].id, p->ca_ids.v[j]);
			if (!found)
				kg_strs_add(&k->errors,
					    "%s:%d: plugin 'mtls-auth': ca_certificates: '%s' is not "
					    "in the file's ca_certificates",
					    k->path, p->line, p->ca_ids.v[j]);
		}
		if (p->kind == KG_PLUGIN_MTLS && p->ca_ids.n == 0 && p->enabled)
			kg_strs_add(&k->errors,
				    "%s:%d: plugin 'mtls-auth': config.ca_certificates: at least one "
				    "is required", k->path, p->line);
	}
}

/* ---- the file ---- */

static void read_list(struct reader *r, const yaml_node_t *root, const char *key,
		      void (*fn)(struct reader *, const yaml_node_t *))
{
	yaml_node_t *v = get(r, root, key);

	if (!v)
		return;
	if (v->type != YAML_SEQUENCE_NODE) {
		kg_error(r, v, "%s: expected a list", key);
		return;
	}
	for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top;
	     i++)
		fn(r, node(r, *i));
}

static void read_top_route(struct reader *r, const yaml_node_t *n)
{
	read_route(r, n, -1);
}

static void read_top_plugin(struct reader *r, const yaml_node_t *n)
{
	read_plugin(r, n, -1, -1);
}

int kg_read(const char *path, struct kg_file *k)
{
	struct reader r = { .k = k };
	yaml_parser_t parser;
	yaml_node_t *root;
	const char *ver;
	FILE *f;
	int err = 0;

	memset(k, 0, sizeof(*k));
	k->path = path;
	f = fopen(path, "r");
	if (!f) {
		err = -errno;
		kg_strs_add(&k->errors, "%s: %s", path, strerror(errno));
		return err;
	}
	yaml_parser_initialize(&parser);
	yaml_parser_set_input_file(&parser, f);
	if (!yaml_parser_load(&parser, &r.doc)) {
		kg_strs_add(&k->errors, "%s:%zu: not YAML: %s", path, parser.problem_mark.line + 1,
			    parser.problem ? parser.problem : "parse error");
		yaml_parser_delete(&parser);
		fclose(f);
		return -EINVAL;
	}
	yaml_parser_delete(&parser);
	fclose(f);
	root = yaml_document_get_root_node(&r.doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		kg_strs_add(&k->errors, "%s: not a Kong declarative configuration (no mapping)",
			    path);
		yaml_document_delete(&r.doc);
		return -EINVAL;
	}
	ver = scalar(get(&r, root, "_format_version"));
	if (!ver || strcmp(ver, "3.0"))
		kg_error(&r, root, "_format_version: '%s': only \"3.0\" is read (what deck and "
				   "kong config db_export write for Kong 3)", ver ? ver : "(absent)");
	check_fields(&r, root, "top level", top_fields);
	read_list(&r, root, "certificates", read_cert);
	read_list(&r, root, "snis", read_sni);
	read_list(&r, root, "ca_certificates", read_ca);
	read_list(&r, root, "services", read_service);
	read_list(&r, root, "routes", read_top_route);
	read_list(&r, root, "plugins", read_top_plugin);
	resolve(k);
	yaml_document_delete(&r.doc);
	return 0;
}

void kg_free(struct kg_file *k)
{
	for (int i = 0; i < k->nservices; i++) {
		free(k->services[i].name);
		free(k->services[i].id);
		free(k->services[i].protocol);
		free(k->services[i].host);
	}
	for (int i = 0; i < k->nroutes; i++) {
		struct kg_route *r = &k->routes[i];

		free(r->name);
		free(r->id);
		free(r->service_ref);
		kg_strs_free(&r->hosts);
		kg_strs_free(&r->snis);
		kg_strs_free(&r->protocols);
	}
	for (int i = 0; i < k->nplugins; i++) {
		struct kg_plugin *p = &k->plugins[i];

		free(p->name);
		free(p->service_ref);
		free(p->route_ref);
		kg_strs_free(&p->ca_ids);
		for (int h = 0; h < KG_HDR_COUNT; h++)
			free(p->headers[h]);
	}
	for (int i = 0; i < k->ncerts; i++) {
		free(k->certs[i].id);
		free(k->certs[i].cert);
		free(k->certs[i].key);
		free(k->certs[i].cert_alt);
		free(k->certs[i].key_alt);
		kg_strs_free(&k->certs[i].snis);
	}
	for (int i = 0; i < k->ncas; i++) {
		free(k->cas[i].id);
		free(k->cas[i].cert);
	}
	free(k->services);
	free(k->routes);
	free(k->plugins);
	free(k->certs);
	free(k->cas);
	kg_strs_free(&k->notes);
	kg_strs_free(&k->errors);
	memset(k, 0, sizeof(*k));
}
