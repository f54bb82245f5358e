/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Inside the configuration loader (lib/config*.c), not for its users: the
 * parser's state, the value types, and the field tables. */
#ifndef TS_CONFIG_PARSE_H
#define TS_CONFIG_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

#include "config.h"

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

typedef int (*field_fn)(struct parser *p, const char *key, const yaml_node_t *v, void *obj);

/* What a key's value is and how it is stored (as nginx's command tables):
 * ts_cfg_set_field() parses each type the same way wherever it appears. */
enum field_type {
	F_STR,        /* char[size] */
	F_UINT,       /* uint16_t, unsigned or int (by size): 0 to max, then at least min */
	F_DURATION,   /* unsigned milliseconds: "500ms", "10s", "2m", "1h" */
	F_DURATION_S, /* unsigned seconds, written as a duration */
	F_BOOL,       /* bool */
	F_ENUM,       /* an enum: the index of the value in names */
	F_USER,       /* long uid: a user name or number */
	F_HEADER,     /* char[TS_CFG_HEADER_SIZE]: an HTTP field name the proxy may set */
	F_PATH,       /* char *: a readable file, relative to the configuration */
	F_FN,         /* anything else: fn(obj) */
};

struct field {
	const char *name;
	enum field_type type;
	size_t off, size;         /* of the member in the object ts_cfg_parse_fields() fills */
	unsigned long min, max;   /* F_UINT */
	const char *below;        /* F_UINT: the message under min */
	const char *const *names; /* F_ENUM: NULL-terminated, in enum order */
	field_fn fn;              /* F_FN */
};

#define FIELD(key, kind, obj, member)                                                              \
	.name = (key), .type = (kind), .off = offsetof(obj, member),                               \
	.size = sizeof(((obj *)0)->member)
#define FIELD_FN(key, f) .name = (key), .type = F_FN, .fn = (f)

/* "FILE:LINE: KEY: reason" into p->err; returns -EINVAL. */
__attribute__((format(printf, 4, 5))) int ts_cfg_fail(struct parser *p, const yaml_node_t *n,
						      const char *key, const char *fmt, ...);
yaml_node_t *ts_cfg_node(struct parser *p, int id);
const char *ts_cfg_scalar(const yaml_node_t *n);
/* Expects a scalar; returns its text or NULL after reporting. */
const char *ts_cfg_want_scalar(struct parser *p, const yaml_node_t *n, const char *key, int *err);
int ts_cfg_want_kind(struct parser *p, const yaml_node_t *n, const char *key, yaml_node_type_t t);
/* Finds a key in a mapping (NULL when absent, no error). */
const yaml_node_t *ts_cfg_lookup(struct parser *p, const yaml_node_t *map, const char *name);
int ts_cfg_require_key(struct parser *p, const yaml_node_t *map, const char *where,
		       const char *name);
int ts_cfg_list_len(const yaml_node_t *seq);
/* Whether a key appears earlier in its mapping (libyaml keeps repeats). */
bool ts_cfg_key_repeated(struct parser *p, const yaml_node_t *map, const yaml_node_pair_t *at);
/* Runs fn on each item of a list, with "section[i]" as its key. */
int ts_cfg_parse_list(struct parser *p, const yaml_node_t *seq, const char *section,
		      int (*fn)(struct parser *p, const char *key, const yaml_node_t *item, int i));

/* The value types (what ts_cfg_set_field() does for each enum field_type). */
int ts_cfg_copy_str(struct parser *p, const yaml_node_t *n, const char *key, char *dst,
		    size_t size);
int ts_cfg_parse_uint(struct parser *p, const yaml_node_t *n, const char *key, unsigned long max,
		      unsigned long *out);
int ts_cfg_parse_bool(struct parser *p, const yaml_node_t *n, const char *key, bool *out);
int ts_cfg_parse_duration_ms(struct parser *p, const yaml_node_t *n, const char *key,
			     unsigned *out);
int ts_cfg_parse_path(struct parser *p, const yaml_node_t *n, const char *key, char **out);
int ts_cfg_parse_user(struct parser *p, const yaml_node_t *v, const char *key, long *uid);
int ts_cfg_pick(struct parser *p, const yaml_node_t *v, const char *key,
		const char *const *names, int *out);
int ts_cfg_header_name_field(struct parser *p, const char *key, const yaml_node_t *v, char *dst);
/* Header names compare case-folded with '_' equal to '-'. */
int ts_cfg_header_name_eq(const char *a, const char *b);

/* Tables: one field, a field by name, a whole mapping (unknown and
 * repeated keys fail). */
int ts_cfg_set_field(struct parser *p, const struct field *f, const char *key,
		     const yaml_node_t *v, void *obj);
const struct field *ts_cfg_field_named(const struct field *fields, const char *name);
int ts_cfg_parse_fields(struct parser *p, const yaml_node_t *map, const char *where,
			const struct field *fields, void *obj);

/* config_schema.c: the defaults, then the document into p->cfg. */
void ts_cfg_set_defaults(struct ts_config *cfg);
int ts_cfg_parse_root(struct parser *p);

#endif /* TS_CONFIG_PARSE_H */
