/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * tagshake's one declarative configuration (YAML, see
 * docs/tagshake.example.yaml), parsed once into plain structs.
 *
 * Certificates, CA sets and routes are referenced by name in the file and
 * by numeric id everywhere else: id = 1-based index into their list, 0 =
 * none. That is what struct ts_policy_value (include/tagshake.h) stores in
 * the BPF policy map.
 */
#ifndef TS_CONFIG_H
#define TS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "log.h"
#include "tagshake.h"

/* Names of certificates, CA sets and routes: short identifiers. */
#define TS_CFG_NAME_SIZE 64
/* Key pairs one named certificate may hold (one per key type: ECDSA, RSA...). */
#define TS_CFG_PAIRS_MAX 4
/* Ids are __u16 in struct ts_policy_value. */
#define TS_CFG_IDS_MAX 65535
/* An HTTP header name set in the configuration (kong_headers), with its NUL. */
#define TS_CFG_HEADER_SIZE 64
/* Room for an error message: file, line, key and reason. */
#define TS_CFG_ERR_SIZE 512
/* A route's ALPN list in wire format (RFC 7301: length-prefixed names):
 * room for "h2" and "http/1.1" and then some. */
#define TS_CFG_ALPN_SIZE 32

enum ts_meta_mode {
	TS_META_PROXY_V2 = 0, /* PROXY protocol v2 header with the hand-off TLVs */
	TS_META_HTTP,         /* HTTP request headers (see enum ts_header_style) */
	TS_META_RAW,          /* nothing added: plaintext bytes only */
};

enum ts_header_style {
	TS_HEADERS_KONG = 0, /* Kong mtls-auth style X-Client-Cert-* headers */
	TS_HEADERS_XFCC,     /* Envoy x-forwarded-client-cert */
	TS_HEADERS_RFC9440,  /* Client-Cert / Client-Cert-Chain */
};

/* Where resumable sessions live. */
enum ts_resumption {
	TS_RESUME_CACHE = 0, /* server-side cache (session ids, stateful TLS 1.3 tickets) */
	TS_RESUME_TICKETS,   /* stateless tickets (encrypted sessions held by clients) */
};

struct ts_cfg_listener {
	char address[64]; /* numeric IPv4 or IPv6 literal */
	uint16_t port;
	int workers; /* 0 = one per online CPU */
	int line;
};

struct ts_cfg_keypair {
	char *chain; /* PEM: leaf first, then intermediates */
	char *key;   /* PEM private key */
};

struct ts_cfg_cert {
	char name[TS_CFG_NAME_SIZE];
	struct ts_cfg_keypair pairs[TS_CFG_PAIRS_MAX];
	int npairs;
	int line;
};

struct ts_cfg_ca_set {
	char name[TS_CFG_NAME_SIZE];
	char **files; /* PEM files with one or more CA certificates */
	int nfiles;
	bool send_names; /* list the CA names in the CertificateRequest */
	int line;
};

/* Kong's header names for one route (`kong_headers:`); "" = Kong's default
 * (cert_headers.h: ts_kong_names_of()). */
struct ts_cfg_kong_names {
	char cert[TS_CFG_HEADER_SIZE];
	char serial[TS_CFG_HEADER_SIZE];
	char issuer_dn[TS_CFG_HEADER_SIZE];
	char subject_dn[TS_CFG_HEADER_SIZE];
	char fingerprint[TS_CFG_HEADER_SIZE];
};

/* What a route's upstream gets for a client certificate that was presented
 * but not verified (action request): docs/security.md, "Unverified client
 * certificates". */
enum ts_unverified {
	TS_UNVERIFIED_OMIT = 0, /* only the verify status: no certificate, no identity */
	TS_UNVERIFIED_FORWARD,  /* the certificate and its fields as if verified, beside
				 * a verify status that says FAILED:<reason> */
};

/* The verify-status header's default name (nginx's $ssl_client_verify values). */
#define TS_VERIFY_HEADER_DEFAULT "X-Client-Cert-Verify"

struct ts_cfg_route {
	char name[TS_CFG_NAME_SIZE];
	char upstream[128]; /* as written: "host:port" or "unix:/path" */
	char host[64];      /* numeric or DNS host; empty for a unix path */
	uint16_t port;
	char unix_path[108]; /* set when the upstream is a unix socket */
	enum ts_meta_mode mode;
	enum ts_header_style headers; /* meaningful in TS_META_HTTP */
	struct ts_cfg_kong_names kong; /* meaningful with TS_HEADERS_KONG */
	char verify_header[TS_CFG_HEADER_SIZE]; /* "" = TS_VERIFY_HEADER_DEFAULT */
	enum ts_unverified unverified;
	bool no_forwarded; /* `forwarded: false`: no X-Forwarded-For/Forwarded (http) */
	/* protocols the handshaker selects from, in its order of preference
	 * (`alpn:`, http routes; default h2 then http/1.1; other routes
	 * http/1.1), ALPN wire format */
	unsigned char alpn[TS_CFG_ALPN_SIZE];
	unsigned alpn_len;
	int line;
};

struct ts_cfg_policy {
	char name[TS_NAME_SIZE]; /* normalised SNI, "*.parent", "@default", "@no-sni" */
	struct ts_policy_value value;
	int line;
};

struct ts_config {
	char *path;
	struct ts_cfg_listener *listeners;
	int nlisteners;
	struct ts_cfg_cert *certs;
	int ncerts;
	struct ts_cfg_ca_set *ca_sets;
	int nca_sets;
	struct ts_cfg_route *routes;
	int nroutes;
	/* sorted by name (strcmp) for lookups; includes the two defaults when
	 * they are configured */
	struct ts_cfg_policy *policies;
	int npolicies;
	/* Digest of everything the policy decides with (ts_config_generation()):
	 * policies, and the certificates, CA sets and routes they name, with
	 * their ids. Never 0 (0 marks a hand-made policy entry). */
	uint64_t generation;
	char handoff_path[108]; /* unix socket of the proxy */
	/* SO_PEERCRED rule on the hand-off: besides root and the process's own
	 * user, the one user allowed at the other end (-1 = none configured). */
	long handoff_handshaker_uid; /* handoff.handshaker_user: checked by the proxy */
	long handoff_proxy_uid;      /* handoff.proxy_user: checked by tagshaked */
	/* handoff.early_connect: tell the proxy a `none` connection's route
	 * once its ClientHello is decided, so that it connects upstream while
	 * the handshake finishes (include/ts_handoff.h); default off */
	bool handoff_early_connect;
	/* handoff.records: without kTLS, hand a TLS 1.3 connection's socket
	 * and record layer state to the proxy (TS_MODE_RECORDS) instead of
	 * relaying it; default DEFAULT_HANDOFF_RECORDS (lib/config_schema.c) */
	bool handoff_records;
	char pin_dir[128];      /* bpffs directory of the pinned maps */
	unsigned handshake_timeout_ms; /* default 10000 */
	unsigned hello_timeout_ms;     /* accept → whole ClientHello; default 3000 */
	unsigned handoff_timeout_ms;   /* wait for an unreachable proxy; default 2000 */
	unsigned idle_timeout_ms;      /* relay/proxy idle close; default 300000 */
	unsigned max_inflight;         /* handshakes in flight per worker; default 1024 */
	unsigned max_per_source;       /* in flight per client address, all workers; default 256 */
	unsigned session_tickets;      /* TLS 1.3 tickets per full handshake; default 1 */
	unsigned session_timeout_s;    /* session lifetime; default 7200 */
	enum ts_resumption resumption; /* default TS_RESUME_CACHE */
	enum ts_log_level log_level;   /* logging.level; default info */
	bool log_connections;          /* logging.connections; default off */
};

/* Loads and validates `path`. On failure returns a negative errno and puts
 * "FILE:LINE: KEY: reason" in err. */
int ts_config_load(const char *path, struct ts_config **out, char *err, size_t errlen);
/* Same from a string (tests); `name` stands for the file in messages. */
int ts_config_load_string(const char *yaml, size_t len, const char *name,
			  struct ts_config **out, char *err, size_t errlen);
void ts_config_free(struct ts_config *cfg);
/* The policy generation of a loaded configuration (cfg->generation). */
uint64_t ts_config_generation(const struct ts_config *cfg);

/* Policies as the BPF map wants them, for `tagshake policy import`:
 * i in [0, ts_config_policy_count()). Returns the normalised key name
 * (NUL terminated, < TS_NAME_SIZE) and fills *value. */
size_t ts_config_policy_count(const struct ts_config *cfg);
const char *ts_config_policy_at(const struct ts_config *cfg, size_t i,
				struct ts_policy_value *value);

/* The lookup the BPF program and ts_policy_decide() do, over the
 * configuration: exact → "*.parent" → "@default"; "@no-sni" when sni_len is
 * 0. `sni` must be normalised. No entry: action none, ids 0, TS_MATCH_NOTHING.
 * Returns the entry used or NULL. */
const struct ts_cfg_policy *ts_config_decide(const struct ts_config *cfg, const char *sni,
					     size_t sni_len, struct ts_policy_value *out,
					     enum ts_match *match);

/* The policy entry of that exact name ("api.example", "*.example",
 * "@default", "@no-sni"), or NULL. */
const struct ts_cfg_policy *ts_config_policy(const struct ts_config *cfg, const char *name,
					     size_t len);

/* Whether uid may stand at the other end of the hand-off: root, our own
 * user, or the configured one (allowed_uid, -1 = none). */
bool ts_config_peer_allowed(long allowed_uid, unsigned uid);

/* id → entry (NULL for 0 or out of range). */
const struct ts_cfg_cert *ts_config_cert(const struct ts_config *cfg, unsigned id);
const struct ts_cfg_ca_set *ts_config_ca_set(const struct ts_config *cfg, unsigned id);
const struct ts_cfg_route *ts_config_route(const struct ts_config *cfg, unsigned id);

/* Names used in the file and in logs. */
const char *ts_action_name(unsigned action);
int ts_action_parse(const char *s); /* enum ts_action or -EINVAL */

#endif /* TS_CONFIG_H */
