/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A Kong declarative configuration (`_format_version: "3.0"`, as `deck
 * gateway dump` and `kong config db_export` write it), read into plain
 * structs for `tagshake import-kong`: the entities and fields that decide
 * whether Kong asks a client for a certificate, and where the request goes.
 * Every other field is listed in `notes` (entity, field, why it is not
 * carried over); a field Kong's format does not have is an error.
 */
#ifndef TS_KONG_DECL_H
#define TS_KONG_DECL_H

#include <stdbool.h>
#include <stddef.h>

/* A list of strings from a YAML sequence. */
struct kg_strs {
	char **v;
	int n;
};

enum kg_plugin_kind {
	KG_PLUGIN_OTHER = 0,
	KG_PLUGIN_MODIFIER, /* tls-handshake-modifier: request a certificate */
	KG_PLUGIN_MTLS,     /* mtls-auth: verify against its CA certificates */
	KG_PLUGIN_METADATA, /* tls-metadata-headers: certificate headers upstream */
};

/* Kong's tls-metadata-headers header names, in this order. */
enum kg_header {
	KG_HDR_CERT,
	KG_HDR_SERIAL,
	KG_HDR_ISSUER_DN,
	KG_HDR_SUBJECT_DN,
	KG_HDR_FINGERPRINT,
	KG_HDR_COUNT,
};

struct kg_plugin {
	char *name;
	enum kg_plugin_kind kind;
	bool enabled;
	int line;
	/* scope: -1 = none; a plugin nested in a service or route gets its index */
	int service, route;
	bool consumer; /* scoped to a consumer: not carried over */
	char *service_ref, *route_ref; /* top-level plugins: name or id, resolved later */
	/* mtls-auth */
	struct kg_strs ca_ids;
	bool anonymous, send_ca_dn;
	/* tls-metadata-headers */
	bool inject;
	char *headers[KG_HDR_COUNT]; /* NULL = Kong's default name */
};

struct kg_service {
	char *name, *id;
	char *protocol, *host;
	int port;
	bool enabled;
	int line;
};

struct kg_route {
	char *name, *id;
	struct kg_strs hosts, snis, protocols;
	bool expression; /* routed by an expression: no host list to read */
	int service;      /* index, -1 = none */
	char *service_ref;
	int line;
};

struct kg_cert {
	char *id;
	char *cert, *key, *cert_alt, *key_alt; /* PEM text */
	struct kg_strs snis;
	int line;
};

struct kg_ca {
	char *id;
	char *cert; /* PEM text */
	int line;
};

struct kg_file {
	const char *path;
	struct kg_service *services;
	int nservices;
	struct kg_route *routes;
	int nroutes;
	struct kg_plugin *plugins;
	int nplugins;
	struct kg_cert *certs;
	int ncerts;
	struct kg_ca *cas;
	int ncas;
	struct kg_strs notes;  /* "FILE:LINE: entity: field: not carried over: why" */
	struct kg_strs errors; /* unknown fields, bad values, dangling references */
};

/* Reads `path`. Returns 0 when the file was read (k->errors may still hold
 * problems: the caller refuses to convert then), -errno when it cannot be
 * read or is not YAML (the reason in k->errors). */
int kg_read(const char *path, struct kg_file *k);
void kg_free(struct kg_file *k);

void kg_strs_add(struct kg_strs *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kg_strs_free(struct kg_strs *s);

/* Display name of a route or service: its name, else its id, else "#N". */
const char *kg_route_label(const struct kg_file *k, int i, char *buf, size_t len);
const char *kg_service_label(const struct kg_file *k, int i, char *buf, size_t len);

#endif /* TS_KONG_DECL_H */
