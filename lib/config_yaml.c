// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The configuration's YAML side: nodes, their lines, and the value types
 * every section shares (string, integer, duration, bool, enum, user, header
 * name, path), each parsed and reported the same way wherever it appears:
 * "FILE:LINE: KEY: reason". ts_cfg_set_field() applies one row of a
 * section's table (config_schema.c); ts_cfg_parse_fields() walks a mapping
 * against a table.
 */
#include "config_parse.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <unistd.h>

int ts_cfg_fail(struct parser *p, const yaml_node_t *n, const char *key, const char *fmt, ...)
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

yaml_node_t *ts_cfg_node(struct parser *p, int id)
{
	return yaml_document_get_node(&p->doc, id);
}

const char *ts_cfg_scalar(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

/* Expects a scalar; returns its text or NULL after reporting. */
const char *ts_cfg_want_scalar(struct parser *p, const yaml_node_t *n, const char *key, int *err)
{
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.length == 0) {
		*err = ts_cfg_fail(p, n, key, "expected a non-empty value");
		return NULL;
	}
	return ts_cfg_scalar(n);
}

int ts_cfg_want_kind(struct parser *p, const yaml_node_t *n, const char *key, yaml_node_type_t t)
{
	if (n->type == t)
		return 0;
	return ts_cfg_fail(p, n, key, "expected a %s",
			   t == YAML_MAPPING_NODE    ? "mapping"
			   : t == YAML_SEQUENCE_NODE ? "list"
						     : "value");
}

int ts_cfg_copy_str(struct parser *p, const yaml_node_t *n, const char *key, char *dst,
		    size_t size)
{
	int err = 0;
	const char *s = ts_cfg_want_scalar(p, n, key, &err);

	if (!s)
		return err;
	if (strlen(s) >= size)
		return ts_cfg_fail(p, n, key, "longer than %zu bytes", size - 1);
	strcpy(dst, s);
	return 0;
}

int ts_cfg_parse_uint(struct parser *p, const yaml_node_t *n, const char *key, unsigned long max,
		      unsigned long *out)
{
	int err = 0;
	const char *s = ts_cfg_want_scalar(p, n, key, &err);
	char *end;

	if (!s)
		return err;
	errno = 0;
	*out = strtoul(s, &end, 10);
	if (errno || *end || s[0] == '-' || s[0] == '+' || *out > max)
		return ts_cfg_fail(p, n, key, "expected an integer from 0 to %lu, got '%s'", max,
				   s);
	return 0;
}

int ts_cfg_parse_bool(struct parser *p, const yaml_node_t *n, const char *key, bool *out)
{
	int err = 0;
	const char *s = ts_cfg_want_scalar(p, n, key, &err);

	if (!s)
		return err;
	if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "on"))
		*out = true;
	else if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "off"))
		*out = false;
	else
		return ts_cfg_fail(p, n, key, "expected true or false, got '%s'", s);
	return 0;
}

/* "500ms", "10s", "2m", "1h" → milliseconds. A unit is required: a bare
 * number is ambiguous between seconds and milliseconds. */
int ts_cfg_parse_duration_ms(struct parser *p, const yaml_node_t *n, const char *key,
			     unsigned *out)
{
	static const struct {
		const char *unit;
		unsigned long ms;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 } };
	int err = 0;
	const char *s = ts_cfg_want_scalar(p, n, key, &err);
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
	return ts_cfg_fail(p, n, key, "expected a duration like 500ms, 10s, 2m or 1h, got '%s'", s);
}

/* Relative paths are relative to the configuration file's directory; the
 * file must be readable now, so a typo fails at load, not at first use. */
int ts_cfg_parse_path(struct parser *p, const yaml_node_t *n, const char *key, char **out)
{
	int err = 0;
	const char *s = ts_cfg_want_scalar(p, n, key, &err);
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
		err = ts_cfg_fail(p, n, key, "cannot read '%s': %s", path, strerror(errno));
		free(path);
		return err;
	}
	*out = path;
	return 0;
}

int ts_cfg_pick(struct parser *p, const yaml_node_t *v, const char *key,
		const char *const *names, int *out)
{
	int err = 0, i;
	const char *s = ts_cfg_want_scalar(p, v, key, &err);

	if (!s)
		return err;
	for (i = 0; names[i]; i++)
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	return ts_cfg_fail(p, v, key, "unknown value '%s'", s);
}

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
int ts_cfg_header_name_eq(const char *a, const char *b)
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
int ts_cfg_header_name_field(struct parser *p, const char *key, const yaml_node_t *v, char *dst)
{
	int err = ts_cfg_copy_str(p, v, key, dst, TS_CFG_HEADER_SIZE);

	if (err)
		return err;
	for (const char *c = dst; *c; c++)
		if (!is_tchar(*c))
			return ts_cfg_fail(p, v, key, "'%s' is not an HTTP header name", dst);
	for (const char *const *r = reserved_headers; *r; r++)
		if (ts_cfg_header_name_eq(dst, *r))
			return ts_cfg_fail(p, v, key, "'%s' is a header the proxy itself uses",
					   dst);
	return 0;
}

/* A user name or a numeric uid, resolved now: a typo fails the load
 * instead of locking every peer out. */
int ts_cfg_parse_user(struct parser *p, const yaml_node_t *v, const char *key, long *uid)
{
	int err = 0;
	const char *s = ts_cfg_want_scalar(p, v, key, &err);
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
		return ts_cfg_fail(p, v, key, "no user named '%s'", s);
	*uid = (long)pw.pw_uid;
	return 0;
}

static void store_uint(void *dst, size_t size, unsigned long n)
{
	if (size == sizeof(uint16_t)) {
		uint16_t u = (uint16_t)n;

		memcpy(dst, &u, sizeof(u));
	} else {
		unsigned u = (unsigned)n;

		memcpy(dst, &u, sizeof(u));
	}
}

static int set_uint(struct parser *p, const struct field *f, const char *key,
		    const yaml_node_t *v, void *dst)
{
	unsigned long n = 0;
	int err = ts_cfg_parse_uint(p, v, key, f->max, &n);

	if (!err && n < f->min)
		err = ts_cfg_fail(p, v, key, "%s", f->below);
	if (!err)
		store_uint(dst, f->size, n);
	return err;
}

int ts_cfg_set_field(struct parser *p, const struct field *f, const char *key,
		     const yaml_node_t *v, void *obj)
{
	char *dst;
	unsigned ms = 0;
	int err, val = 0;

	if (f->type == F_FN) /* obj may be NULL (defaults) */
		return f->fn(p, key, v, obj);
	dst = (char *)obj + f->off;
	switch (f->type) {
	case F_STR:
		return ts_cfg_copy_str(p, v, key, dst, f->size);
	case F_UINT:
		return set_uint(p, f, key, v, dst);
	case F_DURATION:
		return ts_cfg_parse_duration_ms(p, v, key, (unsigned *)(void *)dst);
	case F_DURATION_S:
		err = ts_cfg_parse_duration_ms(p, v, key, &ms);
		ms /= 1000;
		if (!err)
			memcpy(dst, &ms, sizeof(ms));
		return err;
	case F_BOOL:
		return ts_cfg_parse_bool(p, v, key, (bool *)(void *)dst);
	case F_ENUM:
		err = ts_cfg_pick(p, v, key, f->names, &val);
		if (!err)
			memcpy(dst, &val, sizeof(val));
		return err;
	case F_USER:
		return ts_cfg_parse_user(p, v, key, (long *)(void *)dst);
	case F_HEADER:
		return ts_cfg_header_name_field(p, key, v, dst);
	case F_PATH:
		free(*(char **)(void *)dst);
		*(char **)(void *)dst = NULL;
		return ts_cfg_parse_path(p, v, key, (char **)(void *)dst);
	case F_FN:
		break;
	}
	return ts_cfg_fail(p, v, key, "no parser for this key");
}

/* The field named `name` in a NULL-terminated table, or NULL. */
const struct field *ts_cfg_field_named(const struct field *fields, const char *name)
{
	for (; fields->name; fields++)
		if (!strcmp(fields->name, name))
			return fields;
	return NULL;
}

/* Whether a key appears earlier in its mapping: YAML wants mapping keys
 * unique but libyaml keeps repeats, and a repeated list (pairs, defaults)
 * would be parsed twice into the same slots. */
bool ts_cfg_key_repeated(struct parser *p, const yaml_node_t *map, const yaml_node_pair_t *at)
{
	const char *name = ts_cfg_scalar(ts_cfg_node(p, at->key));

	for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < at; q++)
		if (!strcmp(ts_cfg_scalar(ts_cfg_node(p, q->key)), name))
			return true;
	return false;
}

/* Walks a mapping, dispatching each key to its field; unknown and repeated
 * keys fail. */
int ts_cfg_parse_fields(struct parser *p, const yaml_node_t *map, const char *where,
			const struct field *fields, void *obj)
{
	yaml_node_pair_t *pair;
	int err = ts_cfg_want_kind(p, map, where, YAML_MAPPING_NODE);

	for (pair = map->data.mapping.pairs.start; !err && pair < map->data.mapping.pairs.top;
	     pair++) {
		const yaml_node_t *k = ts_cfg_node(p, pair->key), *v = ts_cfg_node(p, pair->value);
		const struct field *f;
		char key[KEY_SIZE];

		if (k->type != YAML_SCALAR_NODE)
			return ts_cfg_fail(p, k, where, "keys must be plain names");
		snprintf(key, sizeof(key), "%s%s%s", where, where[0] ? "." : "", ts_cfg_scalar(k));
		f = ts_cfg_field_named(fields, ts_cfg_scalar(k));
		if (!f)
			return ts_cfg_fail(p, k, key, "unknown key");
		if (ts_cfg_key_repeated(p, map, pair))
			return ts_cfg_fail(p, k, key, "repeated key");
		err = ts_cfg_set_field(p, f, key, v, obj);
	}
	return err;
}

/* Finds a key in a mapping (no error when absent). */
const yaml_node_t *ts_cfg_lookup(struct parser *p, const yaml_node_t *map, const char *name)
{
	yaml_node_pair_t *pair;

	if (map->type != YAML_MAPPING_NODE)
		return NULL;
	for (pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++) {
		const yaml_node_t *k = ts_cfg_node(p, pair->key);

		if (k->type == YAML_SCALAR_NODE && !strcmp(ts_cfg_scalar(k), name))
			return ts_cfg_node(p, pair->value);
	}
	return NULL;
}

/* Runs fn on each item of a list, with "section[i]" as its key. */
int ts_cfg_parse_list(struct parser *p, const yaml_node_t *seq, const char *section,
		      int (*fn)(struct parser *p, const char *key, const yaml_node_t *item, int i))
{
	yaml_node_item_t *it;
	int err = ts_cfg_want_kind(p, seq, section, YAML_SEQUENCE_NODE), i = 0;

	for (it = seq->data.sequence.items.start; !err && it < seq->data.sequence.items.top;
	     it++, i++) {
		char key[KEY_SIZE];

		snprintf(key, sizeof(key), "%s[%d]", section, i);
		err = fn(p, key, ts_cfg_node(p, *it), i);
	}
	return err;
}

int ts_cfg_list_len(const yaml_node_t *seq)
{
	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return 0;
	return (int)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

/* Each section's list must be non-empty where present and fit a __u16 id. */
int ts_cfg_require_key(struct parser *p, const yaml_node_t *map, const char *where,
		       const char *name)
{
	if (ts_cfg_lookup(p, map, name))
		return 0;
	return ts_cfg_fail(p, map, where, "missing required key '%s'", name);
}
