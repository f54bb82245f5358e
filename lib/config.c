// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The YAML configuration: libyaml's document API gives every node its line,
 * so each error names the file, the line and the key path
 * ("policies[2].action"). Sections are parsed in dependency order
 * (certificates, CA sets and routes before the policies that name them),
 * whatever their order in the file.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pwd.h>
#include <unistd.h>
#include <yaml.h>

#include "name.h"

#define DEFAULT_HANDOFF_PATH "/run/tagshake/handoff.sock"
#define DEFAULT_HANDSHAKE_TIMEOUT_MS 10000
#define DEFAULT_HANDOFF_TIMEOUT_MS 2000
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
/* Key paths like "policies[65535].certificate" fit easily. */
#define KEY_SIZE 96

struct parser {
	yaml_document_t doc;
	const char *file;
	char *dir; /* directory of the file: base of relative paths */
	char *err;
	size_t errlen;
	struct ts_config *cfg;
};

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

__attribute__((format(printf, 4, 5))) static int fail(struct parser *p, const yaml_node_t *n,
						       const char *key, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%lu: %s: %s", p->file,
		 n ? (unsigned long)n->start_mark.line + 1 : 0UL, key, why);
	return -EINVAL;
}

static yaml_node_t *node(struct parser *p, int id)
{
	return yaml_document_get_node(&p->doc, id);
}

static const char *scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* Expects a scalar; returns its text or NULL after reporting. */
static const char *want_scalar(struct parser *p, const yaml_node_t *n, const char *key, int *err)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.length == 0) {
		*err = fail(p, n, key, "expected a non-empty value");
		return NULL;
	}
	return scalar(n);
}

static int want_kind(struct parser *p, const yaml_node_t *n, const char *key, yaml_node_type_t t)
{
	if (n->type == t)
		return 0;
	return fail(p, n, key, "expected a %s",
		    t == YAML_MAPPING_NODE ? "mapping" : t == YAML_SEQUENCE_NODE ? "list" : "value");
}

static int copy_str(struct parser *p, const yaml_node_t *n, const char *key, char *dst,
		    size_t size)
{
	int err = 0;
	const char *s = want_scalar(p, n, key, &err);

	if (!s)
		return err;
	if (strlen(s) >= size)
		return fail(p, n, key, "longer than %zu bytes", size - 1);
	strcpy(dst, s);
	return 0;
}

static int parse_uint(struct parser *p, const yaml_node_t *n, const char *key, unsigned long max,
		      unsigned long *out)
{
	int err = 0;
	const char *s = want_scalar(p, n, key, &err);
	char *end;

	if (!s)
		return err;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || s[0] == '-' || s[0] == '+' || *out > max)
		return fail(p, n, key, "expected an integer from 0 to %lu, got '%s'", max, s);
	return 0;
}

static int parse_bool(struct parser *p, const yaml_node_t *n, const char *key, bool *out)
{
	int err = 0;
	const char *s = want_scalar(p, n, key, &err);

	if (!s)
		return err;
	if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
		*out = true;
	else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
		*out = false;
	else
		return fail(p, n, key, "expected true or false, got '%s'", s);
	return 0;
}

/* "500ms", "10s", "2m", "1h" → milliseconds. A unit is required: a bare
 * number is ambiguous between seconds and milliseconds. */
static int parse_duration_ms(struct parser *p, const yaml_node_t *n, const char *key,
			     unsigned *out)
{
	static const struct {
		const char *unit;
		unsigned long ms;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 } };
	int err = 0;
	const char *s = want_scalar(p, n, key, &err);
	unsigned long v;
	char *end;
	size_t i;

	if (!s)
		return err;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (!errno && end != s && s[0] != '-')
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (!strcmp(end, units[i].unit) && v <= UINT_MAX / units[i].ms) {
				*out = (unsigned)(v * units[i].ms);
				return 0;
			}
	return fail(p, n, key, "expected a duration like 500ms, 10s, 2m or 1h, got '%s'", s);
}

/* Relative paths are relative to the configuration file's directory; the
 * file must be readable now, so a typo fails at load, not at first use. */
static int parse_path(struct parser *p, const yaml_node_t *n, const char *key, char **out)
{
	int err = 0;
	const char *s = want_scalar(p, n, key, &err);
	char *path;

	if (!s)
		return err;
	if (s[0] == '/' || !p->dir) {
		path = strdup(s);
	} else if (asprintf(&path, "%s/%s", p->dir, s) < 0) {
		path = NULL;
	}
	if (!path)
		return -ENOMEM;
	if (access(path, R_OK) < 0) {
		err = fail(p, n, key, "cannot read '%s': %s", path, strerror(errno));
		free(path);
		return err;
	}
	*out = path;
	return 0;
}

typedef int (*field_fn)(struct parser *p, const char *key, const yaml_node_t *v, void *obj);

struct field {
	const char *name;
	field_fn fn;
};

/* Whether a key appears earlier in its mapping: YAML wants mapping keys
 * unique but libyaml keeps repeats, and a repeated list (pairs, defaults)
 * would be parsed twice into the same slots. */
static bool key_repeated(struct parser *p, const yaml_node_t *map, const yaml_node_pair_t *at)
{
	const char *name = scalar(node(p, at->key));

	for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < at; q++)
		if (!strcmp(scalar(node(p, q->key)), name))
			return true;
	return false;
}

/* Walks a mapping, dispatching each key to its field; unknown and repeated
 * keys fail. */
static int parse_fields(struct parser *p, const yaml_node_t *map, const char *where,
			const struct field *fields, void *obj)
{
	yaml_node_pair_t *pair;
	int err = want_kind(p, map, where, YAML_MAPPING_NODE);

	for (pair = map->data.mapping.pairs.start; !err && pair < map->data.mapping.pairs.top;
	     pair++) {
		const yaml_node_t *k = node(p, pair->key), *v = node(p, pair->value);
		const struct field *f;
		char key[KEY_SIZE];

		if (k->type != YAML_SCALAR_NODE)
			return fail(p, k, where, "keys must be plain names");
		snprintf(key, sizeof(key), "%s%s%s", where, where[0] ? "." : "", scalar(k));
		for (f = fields; f->name && strcmp(f->name, scalar(k)); f++)
			;
		if (!f->name)
			return fail(p, k, key, "unknown key");
		if (key_repeated(p, map, pair))
			return fail(p, k, key, "repeated key");
		err = f->fn(p, key, v, obj);
	}
	return err;
}

/* Finds a key in a mapping (no error when absent). */
static const yaml_node_t *lookup(struct parser *p, const yaml_node_t *map, const char *name)
{
	yaml_node_pair_t *pair;

	if (map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		const yaml_node_t *k = node(p, pair->key);

		if (k->type == YAML_SCALAR_NODE && !strcmp(scalar(k), name))
			return node(p, pair->value);
	}
	return NULL;
}

/* Runs fn on each item of a list, with "section[i]" as its key. */
static int parse_list(struct parser *p, const yaml_node_t *seq, const char *section,
		      int (*fn)(struct parser *p, const char *key, const yaml_node_t *item, int i))
{
	yaml_node_item_t *it;
	int err = want_kind(p, seq, section, YAML_SEQUENCE_NODE), i = 0;

	for (it = seq->data.sequence.items.start; !err && it < seq->data.sequence.items.top;
	     it++, i++) {
		char key[KEY_SIZE];

		snprintf(key, sizeof(key), "%s[%d]", section, i);
		err = fn(p, key, node(p, *it), i);
	}
	return err;
}

static int list_len(const yaml_node_t *seq)
{
	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return 0;
	return (int)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

/* Each section's list must be non-empty where present and fit a __u16 id. */
static int alloc_list(struct parser *p, const yaml_node_t *seq, const char *section, size_t size,
		      void **out)
{
	int n = list_len(seq);

	if (!seq) {
		*out = NULL;
		return 0;
	}
	if (seq->type != YAML_SEQUENCE_NODE)
		return want_kind(p, seq, section, YAML_SEQUENCE_NODE);
	if (n > TS_CFG_IDS_MAX)
		return fail(p, seq, section, "more than %d entries", TS_CFG_IDS_MAX);
	*out = calloc(n ? (size_t)n : 1, size);
	return *out ? 0 : -ENOMEM;
}

static int require_key(struct parser *p, const yaml_node_t *map, const char *where,
		       const char *name)
{
	if (lookup(p, map, name))
		return 0;
	return fail(p, map, where, "missing required key '%s'", name);
}

/* Names of certificates, CA sets and routes: unique within their list. */
static int check_name(struct parser *p, const yaml_node_t *n, const char *key, const char *name,
		      const char *names, size_t stride, int count)
{
	int i;

	if (name[0] == '\0')
		return fail(p, n, key, "missing required key 'name'");
	for (i = 0; i < count; i++)
		if (!strcmp(names + (size_t)i * stride, name))
			return fail(p, n, key, "duplicate name '%s'", name);
	return 0;
}

/* ---- listeners ---- */

static int listener_field(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	struct ts_cfg_listener *l = obj;
	const char *leaf = strrchr(key, '.') + 1;
	unsigned long n = 0;
	int err;

	if (!strcmp(leaf, "address"))
		return copy_str(p, v, key, l->address, sizeof(l->address));
	if (!strcmp(leaf, "port")) {
		err = parse_uint(p, v, key, 65535, &n);
		if (!err && n == 0)
			err = fail(p, v, key, "port 0 is not a listening port");
		l->port = (uint16_t)n;
		return err;
	}
	err = parse_uint(p, v, key, 1024, &n); /* workers */
	l->workers = (int)n;
	return err;
}

static const struct field listener_fields[] = {
	{ "address", listener_field }, { "port", listener_field }, { "workers", listener_field },
	{ NULL, NULL },
};

static int parse_listener(struct parser *p, const char *key, const yaml_node_t *item, int i)
{
	struct ts_cfg_listener *l = &p->cfg->listeners[i];
	int err;

	strcpy(l->address, "0.0.0.0");
	l->line = (int)item->start_mark.line + 1;
	err = parse_fields(p, item, key, listener_fields, l);
	if (!err)
		err = require_key(p, item, key, "port");
	if (!err)
		p->cfg->nlisteners++;
	return err;
}

/* ---- certificates ---- */

static int pair_field(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	struct ts_cfg_keypair *kp = obj;
	const char *leaf = strrchr(key, '.') + 1;
	char **dst = !strcmp(leaf, "chain") ? &kp->chain : &kp->key;

	free(*dst);
	*dst = NULL;
	return parse_path(p, v, key, dst);
}

static const struct field pair_fields[] = {
	{ "chain", pair_field }, { "key", pair_field }, { NULL, NULL },
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
	int err = kp->chain ? 0 : fail(p, map, key, "missing required key 'chain'");

	if (!err && !kp->key)
		err = fail(p, map, key, "missing required key 'key'");
	return err;
}

static int parse_pair(struct parser *p, const char *key, const yaml_node_t *item, int i)
{
	struct ts_cfg_cert *c = cur_cert(p);
	int err;

	if (i >= TS_CFG_PAIRS_MAX)
		return fail(p, item, key, "at most %d key pairs per certificate",
			    TS_CFG_PAIRS_MAX);
	c->npairs = i + 1; /* counted first so ts_config_free() sees partial pairs */
	err = parse_fields(p, item, key, pair_fields, &c->pairs[i]);
	return err ? err : check_pair(p, item, key, &c->pairs[i]);
}

static int cert_field(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	struct ts_cfg_cert *c = obj;
	const char *leaf = strrchr(key, '.') + 1;

	if (!strcmp(leaf, "name"))
		return copy_str(p, v, key, c->name, sizeof(c->name));
	if (!strcmp(leaf, "pairs"))
		return parse_list(p, v, key, parse_pair);
	/* chain / key: the single-pair shorthand */
	if (c->npairs == 0)
		c->npairs = 1;
	return pair_field(p, key, v, &c->pairs[0]);
}

static const struct field cert_fields[] = {
	{ "name", cert_field }, { "chain", cert_field }, { "key", cert_field },
	{ "pairs", cert_field }, { NULL, NULL },
};

static int parse_cert(struct parser *p, const char *key, const yaml_node_t *item, int i)
{
	struct ts_cfg_cert *c = &p->cfg->certs[i];
	int err, j;

	p->cfg->ncerts = i + 1;
	c->line = (int)item->start_mark.line + 1;
	err = parse_fields(p, item, key, cert_fields, c);
	if (err)
		return err;
	if (lookup(p, item, "pairs") && (lookup(p, item, "chain") || lookup(p, item, "key")))
		return fail(p, item, key, "use either chain/key or pairs, not both");
	if (c->npairs == 0)
		return fail(p, item, key, "missing required key 'chain'");
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
	return parse_path(p, item, key, &s->files[i]);
}

static int ca_field(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	struct ts_cfg_ca_set *s = obj;
	const char *leaf = strrchr(key, '.') + 1;
	int j;

	if (!strcmp(leaf, "name"))
		return copy_str(p, v, key, s->name, sizeof(s->name));
	if (!strcmp(leaf, "send_names"))
		return parse_bool(p, v, key, &s->send_names);
	/* files: one path or a list */
	for (j = 0; j < s->nfiles; j++)
		free(s->files[j]);
	free(s->files);
	s->nfiles = 0;
	s->files = calloc(v->type == YAML_SEQUENCE_NODE ? (size_t)list_len(v) + 1 : 1,
			  sizeof(char *));
	if (!s->files)
		return -ENOMEM;
	if (v->type != YAML_SEQUENCE_NODE) {
		s->nfiles = 1;
		return parse_path(p, v, key, &s->files[0]);
	}
	return parse_list(p, v, key, parse_ca_file);
}

static const struct field ca_fields[] = {
	{ "name", ca_field }, { "files", ca_field }, { "send_names", ca_field }, { NULL, NULL },
};

static int parse_ca_set(struct parser *p, const char *key, const yaml_node_t *item, int i)
{
	struct ts_cfg_ca_set *s = &p->cfg->ca_sets[i];
	int err;

	p->cfg->nca_sets = i + 1;
	s->send_names = true;
	s->line = (int)item->start_mark.line + 1;
	err = parse_fields(p, item, key, ca_fields, s);
	if (!err && s->nfiles == 0)
		err = fail(p, item, key, "missing required key 'files'");
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
	int err = copy_str(p, v, key, r->upstream, sizeof(r->upstream));

	if (err)
		return err;
	if (!strncmp(r->upstream, "unix:", 5) || r->upstream[0] == '/') {
		const char *path = r->upstream[0] == '/' ? r->upstream : r->upstream + 5;

		if (path[0] != '/' || strlen(path) >= sizeof(r->unix_path))
			return fail(p, v, key, "expected unix:/absolute/path, got '%s'",
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
		return fail(p, v, key, "expected host:port or unix:/path, got '%s'", r->upstream);
	memcpy(r->host, host, (size_t)(end - host));
	r->host[end - host] = '\0';
	r->port = (uint16_t)port;
	return 0;
}

static int pick(struct parser *p, const yaml_node_t *v, const char *key,
		const char *const *names, int *out)
{
	int err = 0, i;
	const char *s = want_scalar(p, v, key, &err);

	if (!s)
		return err;
	for (i = 0; names[i]; i++)
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	return fail(p, v, key, "unknown value '%s'", s);
}

static const char *const meta_names[] = { "proxy-v2", "http", "raw", NULL };
static const char *const resumption_names[] = { "cache", "tickets", NULL };
/* in enum ts_log_level order */
static const char *const log_level_names[] = { "error", "warn", "info", "debug", NULL };
static const char *const header_names[] = { "kong", "xfcc", "rfc9440", NULL };
/* in enum ts_unverified order */
static const char *const unverified_names[] = { "omit", "forward", NULL };

/* RFC 9110 token characters: what a field name may contain. */
static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Headers the proxy reads or re-states itself: renaming a certificate
 * header to one of these would strip it from every request. */
static const char *const reserved_headers[] = {
	"host", "content-length", "transfer-encoding", "connection", "upgrade",
	"te",   "trailer",        "keep-alive",        "expect",
	/* set by the proxy itself on http routes (proxy/http_inject.c) */
	"forwarded", "x-forwarded-for", "x-forwarded-proto", "x-forwarded-host", "x-real-ip", NULL,
};

/* Header names compare ASCII case-folded with '_' equal to '-': CGI, WSGI
 * and nginx with underscores_in_headers read both alike. */
static int header_name_eq(const char *a, const char *b)
{
	for (;; a++, b++) {
		char x = *a == '_' ? '-' : (char)tolower((unsigned char)*a);
		char y = *b == '_' ? '-' : (char)tolower((unsigned char)*b);
		if (x != y)
			return 0;
		if (!x)
			return 1;
	}
}

/* A header name set in the file, into dst[TS_CFG_HEADER_SIZE]. */
static int header_name_field(struct parser *p, const char *key, const yaml_node_t *v, char *dst)
{
	int err = copy_str(p, v, key, dst, TS_CFG_HEADER_SIZE);

	if (err)
		return err;
	for (const char *c = dst; *c; c++)
		if (!is_tchar(*c))
			return fail(p, v, key, "'%s' is not an HTTP header name", dst);
	for (const char *const *r = reserved_headers; *r; r++)
		if (header_name_eq(dst, *r))
			return fail(p, v, key, "'%s' is a header the proxy itself uses", dst);
	return 0;
}

static int kong_name_field(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	struct ts_cfg_kong_names *k = obj;
	const char *leaf = strrchr(key, '.') + 1;
	char *dst = !strcmp(leaf, "cert")	 ? k->cert
		    : !strcmp(leaf, "serial")	 ? k->serial
		    : !strcmp(leaf, "issuer_dn") ? k->issuer_dn
		    : !strcmp(leaf, "subject_dn") ? k->subject_dn
						  : k->fingerprint;

	return header_name_field(p, key, v, dst);
}

static const struct field kong_name_fields[] = {
	{ "cert", kong_name_field },	   { "serial", kong_name_field },
	{ "issuer_dn", kong_name_field },  { "subject_dn", kong_name_field },
	{ "fingerprint", kong_name_field }, { NULL, NULL },
};

/* Two certificate headers under one name would be one header upstream. */
static int check_kong_names(struct parser *p, const yaml_node_t *n, const char *key,
			    const struct ts_cfg_kong_names *k)
{
	const char *all[] = { k->cert, k->serial, k->issuer_dn, k->subject_dn, k->fingerprint };
	size_t count = sizeof(all) / sizeof(all[0]);

	for (size_t i = 0; i < count; i++)
		for (size_t j = i + 1; all[i][0] && j < count; j++)
			if (header_name_eq(all[i], all[j]))
				return fail(p, n, key, "'%s' names two headers", all[i]);
	return 0;
}

/* The protocols the proxy terminates on an http route (RFC 7301 names). */
static const char *const http_alpn_names[] = { "h2", "http/1.1", NULL };

/* `alpn:` a list of protocol names, kept in ALPN wire format. */
static int parse_alpn(struct parser *p, const yaml_node_t *v, const char *key,
		      struct ts_cfg_route *r)
{
	int err = want_kind(p, v, key, YAML_SEQUENCE_NODE);

	r->alpn_len = 0;
	if (err)
		return err;
	if (list_len(v) == 0)
		return fail(p, v, key, "an empty ALPN list");
	for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
	     it++) {
		const char *s = want_scalar(p, node(p, *it), key, &err);
		size_t n;
		int known = 0;

		if (!s)
			return err;
		for (const char *const *a = http_alpn_names; *a; a++)
			known |= !strcmp(s, *a);
		if (!known)
			return fail(p, v, key, "'%s' is not a protocol the proxy speaks (h2, http/1.1)", s);
		n = strlen(s);
		for (unsigned i = 0; i < r->alpn_len; i += 1u + r->alpn[i])
			if (r->alpn[i] == n && !memcmp(r->alpn + i + 1, s, n))
				return fail(p, v, key, "'%s' is listed twice", s);
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

static int route_field(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	struct ts_cfg_route *r = obj;
	const char *leaf = strrchr(key, '.') + 1;
	int val = 0, err;

	if (!strcmp(leaf, "name"))
		return copy_str(p, v, key, r->name, sizeof(r->name));
	if (!strcmp(leaf, "upstream"))
		return parse_upstream(p, v, key, r);
	if (!strcmp(leaf, "metadata")) {
		err = pick(p, v, key, meta_names, &val);
		r->mode = (enum ts_meta_mode)val;
		return err;
	}
	if (!strcmp(leaf, "kong_headers")) {
		err = parse_fields(p, v, key, kong_name_fields, &r->kong);
		return err ? err : check_kong_names(p, v, key, &r->kong);
	}
	if (!strcmp(leaf, "verify_header"))
		return header_name_field(p, key, v, r->verify_header);
	if (!strcmp(leaf, "unverified")) {
		err = pick(p, v, key, unverified_names, &val);
		r->unverified = (enum ts_unverified)val;
		return err;
	}
	if (!strcmp(leaf, "alpn"))
		return parse_alpn(p, v, key, r);
	if (!strcmp(leaf, "forwarded")) {
		bool on = true;
		err = parse_bool(p, v, key, &on);
		r->no_forwarded = !on;
		return err;
	}
	err = pick(p, v, key, header_names, &val);
	r->headers = (enum ts_header_style)val;
	return err;
}

static const struct field route_fields[] = {
	{ "name", route_field },    { "upstream", route_field },     { "metadata", route_field },
	{ "headers", route_field }, { "kong_headers", route_field }, { "verify_header", route_field },
	{ "unverified", route_field }, { "forwarded", route_field },   { "alpn", route_field },
	{ NULL, NULL },
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
		if (header_name_eq(r->verify_header, all[i]))
			return fail(p, n, key, "'%s' is a certificate header", all[i]);
	return 0;
}

static int parse_route(struct parser *p, const char *key, const yaml_node_t *item, int i)
{
	struct ts_cfg_route *r = &p->cfg->routes[i];
	int err;

	p->cfg->nroutes = i + 1;
	r->line = (int)item->start_mark.line + 1;
	err = parse_fields(p, item, key, route_fields, r);
	if (!err)
		err = require_key(p, item, key, "upstream");
	if (!err && lookup(p, item, "headers") && r->mode != TS_META_HTTP)
		err = fail(p, lookup(p, item, "headers"), key,
			   "'headers' only applies to metadata: http");
	if (!err && lookup(p, item, "forwarded") && r->mode != TS_META_HTTP)
		err = fail(p, lookup(p, item, "forwarded"), key,
			   "'forwarded' only applies to metadata: http");
	if (!err && lookup(p, item, "alpn") && r->mode != TS_META_HTTP)
		err = fail(p, lookup(p, item, "alpn"), key,
			   "'alpn' only applies to metadata: http");
	if (!err && !r->alpn_len)
		default_alpn(r);
	if (!err && lookup(p, item, "kong_headers") &&
	    (r->mode != TS_META_HTTP || r->headers != TS_HEADERS_KONG))
		err = fail(p, lookup(p, item, "kong_headers"), key,
			   "'kong_headers' only applies to metadata: http with headers: kong");
	if (!err && lookup(p, item, "verify_header") && r->mode != TS_META_HTTP)
		err = fail(p, lookup(p, item, "verify_header"), key,
			   "'verify_header' only applies to metadata: http (proxy-v2 carries the "
			   "status in PP2_TYPE_SSL)");
	if (!err && lookup(p, item, "unverified") && r->mode == TS_META_RAW)
		err = fail(p, lookup(p, item, "unverified"), key,
			   "'unverified' does not apply to metadata: raw (it sends nothing)");
	if (!err && r->verify_header[0])
		err = check_verify_header(p, lookup(p, item, "verify_header"), key, r);
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
	const char *s = want_scalar(p, v, key, &err);

	if (!s)
		return err;
	for (i = 0; i < count; i++)
		if (!strcmp(names + (size_t)i * stride, s)) {
			*id = (__u16)(i + 1);
			return 0;
		}
	return fail(p, v, key, "no %s named '%s'", what, s);
}

static int policy_field(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	struct ts_cfg_policy *pol = obj;
	struct ts_config *c = p->cfg;
	const char *leaf = strrchr(key, '.') + 1;
	int err = 0, a, n;
	const char *s;

	if (!strcmp(leaf, "certificate"))
		return resolve(p, v, key, "certificate", c->certs ? c->certs[0].name : NULL,
			       sizeof(*c->certs), c->ncerts, &pol->value.cert_id);
	if (!strcmp(leaf, "ca_set"))
		return resolve(p, v, key, "ca_set", c->ca_sets ? c->ca_sets[0].name : NULL,
			       sizeof(*c->ca_sets), c->nca_sets, &pol->value.ca_id);
	if (!strcmp(leaf, "route"))
		return resolve(p, v, key, "route", c->routes ? c->routes[0].name : NULL,
			       sizeof(*c->routes), c->nroutes, &pol->value.route_id);
	s = want_scalar(p, v, key, &err);
	if (!s)
		return err;
	if (!strcmp(leaf, "action")) {
		a = ts_action_parse(s);
		if (a < 0)
			return fail(p, v, key, "unknown action '%s' (none, request, optional, require, reject)",
				    s);
		pol->value.action = (__u8)a;
		return 0;
	}
	n = ts_name_normalise_key(s, strlen(s), pol->name); /* sni */
	if (n < 0)
		return fail(p, v, key, "'%s' is not a host name or *.parent", s);
	return 0;
}

static const struct field policy_fields[] = {
	{ "sni", policy_field },    { "action", policy_field }, { "certificate", policy_field },
	{ "ca_set", policy_field }, { "route", policy_field },  { NULL, NULL },
};
/* The two defaults have the same body without an SNI. */
static const struct field default_fields[] = {
	{ "action", policy_field }, { "certificate", policy_field }, { "ca_set", policy_field },
	{ "route", policy_field },  { NULL, NULL },
};

/* Shared checks: an action, and a CA set wherever a certificate is asked for. */
static int check_policy(struct parser *p, const yaml_node_t *item, const char *key,
			const struct ts_cfg_policy *pol)
{
	int err = require_key(p, item, key, "action");

	if (!err && (pol->value.action == TS_ACTION_OPTIONAL ||
		     pol->value.action == TS_ACTION_REQUIRE) && !pol->value.ca_id)
		err = fail(p, item, key, "action %s needs a ca_set",
			   ts_action_name(pol->value.action));
	return err;
}

static int parse_policy(struct parser *p, const char *key, const yaml_node_t *item, int i)
{
	struct ts_cfg_policy *pol = &p->cfg->policies[i];
	int err;

	pol->line = (int)item->start_mark.line + 1;
	err = parse_fields(p, item, key, policy_fields, pol);
	if (!err)
		err = require_key(p, item, key, "sni");
	if (!err)
		err = check_policy(p, item, key, pol);
	if (!err)
		p->cfg->npolicies = i + 1;
	return err;
}

static int default_field(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	struct ts_config *c = p->cfg;
	struct ts_cfg_policy *pol = &c->policies[c->npolicies];
	const char *name = strcmp(strrchr(key, '.') + 1, "default") ? TS_POLICY_NO_SNI
								    : TS_POLICY_DEFAULT;
	int err;

	(void)obj;
	/* libyaml keeps duplicate mapping keys: a repeated default would
	 * write past the two slots reserved for the defaults */
	for (int i = 0; i < c->npolicies; i++)
		if (!strcmp(c->policies[i].name, name))
			return fail(p, v, key, "defined twice");
	strcpy(pol->name, name);
	pol->line = (int)v->start_mark.line + 1;
	err = parse_fields(p, v, key, default_fields, pol);
	if (!err)
		err = check_policy(p, v, key, pol);
	if (!err)
		c->npolicies++;
	return err;
}

static const struct field defaults_fields[] = {
	{ "default", default_field }, { "no-sni", default_field }, { NULL, NULL },
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
			snprintf(p->err, p->errlen, "%s:%d: policies: '%s' already defined at line %d",
				 p->file, c->policies[i].line, c->policies[i].name,
				 c->policies[i - 1].line);
			return -EINVAL;
		}
	return 0;
}

static int parse_policies(struct parser *p, const yaml_node_t *root)
{
	const yaml_node_t *list = lookup(p, root, "policies"), *defs = lookup(p, root, "defaults");
	int n = list_len(list), err = 0;

	if (list && list->type != YAML_SEQUENCE_NODE)
		return want_kind(p, list, "policies", YAML_SEQUENCE_NODE);
	if (n > TS_POLICY_MAX - 2)
		return fail(p, list, "policies", "more than %d entries", TS_POLICY_MAX - 2);
	p->cfg->policies = calloc((size_t)n + 2, sizeof(*p->cfg->policies)); /* + 2 defaults */
	if (!p->cfg->policies)
		return -ENOMEM;
	if (list)
		err = parse_list(p, list, "policies", parse_policy);
	if (!err && defs)
		err = parse_fields(p, defs, "defaults", defaults_fields, NULL);
	return err ? err : sort_policies(p);
}

/* ---- scalar sections ---- */

/* A user name or a numeric uid, resolved now: a typo fails the load
 * instead of locking every peer out. */
static int parse_user(struct parser *p, const yaml_node_t *v, const char *key, long *uid)
{
	int err = 0;
	const char *s = want_scalar(p, v, key, &err);
	struct passwd pw, *res = NULL;
	char buf[1024], *end;
	unsigned long n;

	if (!s)
		return err;
	n = strtoul(s, &end, 10);
	if (*s && !*end && n < 0xffffffffUL) {
		*uid = (long)n;
		return 0;
	}
	if (getpwnam_r(s, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return fail(p, v, key, "no user named '%s'", s);
	*uid = (long)pw.pw_uid;
	return 0;
}

static int misc_field(struct parser *p, const char *key, const yaml_node_t *v, void *obj)
{
	struct ts_config *c = obj;
	unsigned long n = 0;
	int err;

	if (!strcmp(key, "handoff.socket"))
		return copy_str(p, v, key, c->handoff_path, sizeof(c->handoff_path));
	if (!strcmp(key, "handoff.handshaker_user"))
		return parse_user(p, v, key, &c->handoff_handshaker_uid);
	if (!strcmp(key, "handoff.proxy_user"))
		return parse_user(p, v, key, &c->handoff_proxy_uid);
	if (!strcmp(key, "timeouts.client_hello"))
		return parse_duration_ms(p, v, key, &c->hello_timeout_ms);
	if (!strcmp(key, "limits.handshakes_per_source")) {
		err = parse_uint(p, v, key, 1000000, &n);
		if (!err && n == 0)
			err = fail(p, v, key, "must be at least 1");
		c->max_per_source = (unsigned)n;
		return err;
	}
	if (!strcmp(key, "bpf.pin_dir"))
		return copy_str(p, v, key, c->pin_dir, sizeof(c->pin_dir));
	if (!strcmp(key, "timeouts.handshake"))
		return parse_duration_ms(p, v, key, &c->handshake_timeout_ms);
	if (!strcmp(key, "timeouts.handoff"))
		return parse_duration_ms(p, v, key, &c->handoff_timeout_ms);
	if (!strcmp(key, "timeouts.idle"))
		return parse_duration_ms(p, v, key, &c->idle_timeout_ms);
	if (!strcmp(key, "tls.session_timeout")) {
		err = parse_duration_ms(p, v, key, &c->session_timeout_s);
		c->session_timeout_s /= 1000;
		return err;
	}
	if (!strcmp(key, "tls.resumption")) {
		int val = 0;

		err = pick(p, v, key, resumption_names, &val);
		c->resumption = (enum ts_resumption)val;
		return err;
	}
	if (!strcmp(key, "logging.level")) {
		int val = 0;

		err = pick(p, v, key, log_level_names, &val);
		c->log_level = (enum ts_log_level)val;
		return err;
	}
	if (!strcmp(key, "logging.connections"))
		return parse_bool(p, v, key, &c->log_connections);
	if (!strcmp(key, "tls.session_tickets")) {
		err = parse_uint(p, v, key, 16, &n);
		c->session_tickets = (unsigned)n;
		return err;
	}
	err = parse_uint(p, v, key, 1000000, &n); /* limits.handshakes_in_flight */
	if (!err && n == 0)
		err = fail(p, v, key, "must be at least 1");
	c->max_inflight = (unsigned)n;
	return err;
}

static const struct field handoff_fields[] = {
	{ "socket", misc_field },
	{ "handshaker_user", misc_field },
	{ "proxy_user", misc_field },
	{ NULL, NULL },
};
static const struct field bpf_fields[] = { { "pin_dir", misc_field }, { NULL, NULL } };
static const struct field timeout_fields[] = {
	{ "handshake", misc_field }, { "client_hello", misc_field }, { "handoff", misc_field },
	{ "idle", misc_field },      { NULL, NULL },
};
static const struct field tls_fields[] = {
	{ "session_tickets", misc_field },
	{ "session_timeout", misc_field },
	{ "resumption", misc_field },
	{ NULL, NULL },
};
static const struct field logging_fields[] = {
	{ "level", misc_field }, { "connections", misc_field }, { NULL, NULL },
};
static const struct field limit_fields[] = { { "handshakes_in_flight", misc_field },
					     { "handshakes_per_source", misc_field },
					     { NULL, NULL } };

static int parse_misc(struct parser *p, const yaml_node_t *root, const char *section,
		      const struct field *fields)
{
	const yaml_node_t *v = lookup(p, root, section);

	return v ? parse_fields(p, v, section, fields, p->cfg) : 0;
}

static int parse_section(struct parser *p, const yaml_node_t *root, const char *section,
			 size_t size, void **arr,
			 int (*fn)(struct parser *, const char *, const yaml_node_t *, int))
{
	const yaml_node_t *v = lookup(p, root, section);
	int err = alloc_list(p, v, section, size, arr);

	return err || !v ? err : parse_list(p, v, section, fn);
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
		const yaml_node_t *k = node(p, pair->key);
		const char *const *s;

		if (k->type != YAML_SCALAR_NODE)
			return fail(p, k, "(top)", "keys must be plain names");
		for (s = top_sections; *s && strcmp(*s, scalar(k)); s++)
			;
		if (!*s)
			return fail(p, k, scalar(k), "unknown section");
		/* a second `policies:` would otherwise be silently ignored */
		if (key_repeated(p, root, pair))
			return fail(p, k, scalar(k), "repeated section");
	}
	return 0;
}

static void set_defaults(struct ts_config *cfg)
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
	cfg->session_tickets = DEFAULT_SESSION_TICKETS;
	cfg->session_timeout_s = DEFAULT_SESSION_TIMEOUT_S;
	cfg->log_level = TS_LOG_LEVEL_DEFAULT;
}

static int parse_root(struct parser *p)
{
	yaml_node_t *root = yaml_document_get_root_node(&p->doc);
	int err;

	if (!root)
		return fail(p, NULL, "(top)", "empty document");
	err = want_kind(p, root, "(top)", YAML_MAPPING_NODE);
	if (!err)
		err = check_top_keys(p, root);
	if (!err)
		err = parse_sections(p, root);
	return err;
}

/* ---- the policy generation ---- */

/* FNV-1a 64 (as ts_name_hash()): a drift detector between processes that
 * read the same file, not a defence against a chosen configuration. */
#define GEN_FNV_OFFSET 0xcbf29ce484222325ULL
#define GEN_FNV_PRIME 0x100000001b3ULL

static void gen_bytes(uint64_t *h, const void *p, size_t len)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < len; i++) {
		*h ^= b[i];
		*h *= GEN_FNV_PRIME;
	}
}

/* Length first, so that "ab","c" and "a","bc" differ. */
static void gen_str(uint64_t *h, const char *s)
{
	uint32_t len = s ? (uint32_t)strlen(s) : 0xffffffffu;

	gen_bytes(h, &len, sizeof(len));
	if (s)
		gen_bytes(h, s, len);
}

static void gen_num(uint64_t *h, uint64_t v)
{
	gen_bytes(h, &v, sizeof(v));
}

/* Whatever gives a policy value its meaning: each entry with its ids, and
 * behind each id the name and the settings of what it points at. File
 * contents (certificates, CA PEMs) are not read: they are the handshaker's
 * to load on SIGHUP, and the ids name them, not their bytes. */
uint64_t ts_config_generation(const struct ts_config *c)
{
	uint64_t h = GEN_FNV_OFFSET;
	int i, k;

	gen_str(&h, "tagshake-policy-1");
	for (i = 0; i < c->npolicies; i++) {
		const struct ts_cfg_policy *pol = &c->policies[i];

		gen_str(&h, pol->name);
		gen_num(&h, pol->value.action);
		gen_num(&h, pol->value.cert_id);
		gen_num(&h, pol->value.ca_id);
		gen_num(&h, pol->value.route_id);
	}
	gen_num(&h, (uint64_t)c->ncerts);
	for (i = 0; i < c->ncerts; i++) {
		gen_str(&h, c->certs[i].name);
		for (k = 0; k < c->certs[i].npairs; k++)
			gen_str(&h, c->certs[i].pairs[k].chain);
	}
	gen_num(&h, (uint64_t)c->nca_sets);
	for (i = 0; i < c->nca_sets; i++) {
		gen_str(&h, c->ca_sets[i].name);
		gen_num(&h, c->ca_sets[i].send_names);
		for (k = 0; k < c->ca_sets[i].nfiles; k++)
			gen_str(&h, c->ca_sets[i].files[k]);
	}
	gen_num(&h, (uint64_t)c->nroutes);
	for (i = 0; i < c->nroutes; i++) {
		const struct ts_cfg_route *r = &c->routes[i];

		gen_str(&h, r->name);
		gen_str(&h, r->upstream);
		gen_num(&h, r->mode);
		gen_num(&h, r->headers);
		gen_str(&h, r->kong.cert);
		gen_str(&h, r->kong.serial);
		gen_str(&h, r->kong.issuer_dn);
		gen_str(&h, r->kong.subject_dn);
		gen_str(&h, r->kong.fingerprint);
		gen_str(&h, r->verify_header);
		gen_num(&h, r->unverified);
		gen_num(&h, r->no_forwarded);
		gen_num(&h, r->alpn_len);
		gen_bytes(&h, r->alpn, r->alpn_len);
	}
	return h ? h : 1; /* 0 is "hand-made" */
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
	set_defaults(p->cfg);
	p->cfg->path = strdup(p->file);
	if (!yaml_parser_load(yp, &p->doc)) {
		err = yaml_fail(p, yp);
		ts_config_free(p->cfg);
		return err;
	}
	err = p->cfg->path ? parse_root(p) : -ENOMEM;
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
