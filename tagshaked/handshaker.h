/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Internals of the handshaker daemon (tagshaked): the configuration
 * generation shared by the workers, counters, and the entry points of each
 * concern (one file each: listener, worker, conn, tls_server, decision,
 * resume, metadata, relay, stats).
 */
#ifndef TS_HANDSHAKER_H
#define TS_HANDSHAKER_H

#include <stdbool.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "clock.h"
#include "config.h"
#include "tagshake.h"
#include "ts_counters.h"
#include "ts_handoff.h"

/* ---- counters (stats.c), listed in ts_counters.h ---- */

#define TS_HC_ENUM(id, name, fam, labels, top) TS_HC_##id,
enum ts_hs_counter {
	TS_HS_COUNTERS(TS_HC_ENUM)
	TS_HC_COUNT,
};
#undef TS_HC_ENUM

/* Gauges: current values, per worker. */
#define TS_HG_ENUM(id, name, fam, labels, top) TS_HG_##id,
enum ts_hs_gauge {
	TS_HS_GAUGES(TS_HG_ENUM)
	TS_HG_COUNT,
};
#undef TS_HG_ENUM

struct ts_hs_stats {
	uint64_t c[TS_HC_COUNT];
	int64_t g[TS_HG_COUNT];
};

static inline void ts_count(struct ts_hs_stats *s, enum ts_hs_counter c)
{
	__atomic_fetch_add(&s->c[c], 1, __ATOMIC_RELAXED);
}

static inline void ts_gauge(struct ts_hs_stats *s, enum ts_hs_gauge g, int delta)
{
	__atomic_fetch_add(&s->g[g], delta, __ATOMIC_RELAXED);
}

const char *ts_hs_counter_name(enum ts_hs_counter c);
const char *ts_hs_gauge_name(enum ts_hs_gauge g);
/* Prints every counter's and gauge's status-file name, one a line. */
void ts_hs_stats_list(FILE *f);
/* Writes "name value" lines (plus header lines) atomically to path. */
int ts_hs_stats_write(const char *path, const char *header, struct ts_hs_stats *const *workers,
		      int nworkers);

/* ---- TLS contexts (tls_server.c) ---- */

struct ts_tls;

/* Everything built from one configuration: replaced whole on SIGHUP. */
struct ts_gen {
	int refs; /* atomic: workers + connections holding it */
	unsigned number;
	struct ts_config *cfg;
	struct ts_tls *tls;
};

struct ts_gen *ts_gen_get(struct ts_gen *g);
void ts_gen_put(struct ts_gen *g);

/* Builds contexts for cfg; `prev` (may be NULL) hands over its ticket keys
 * so tickets survive a reload. Logs and returns NULL on failure. */
struct ts_tls *ts_tls_build(const struct ts_config *cfg, const struct ts_tls *prev, bool ktls);
void ts_tls_free(struct ts_tls *t);
SSL *ts_tls_new(struct ts_tls *t);
struct ts_conn;
int ts_tls_set_conn(SSL *ssl, struct ts_conn *c);
/* Applies a decision to the SSL: certificate, verify mode, CA list, session
 * id context. Returns 0 or -EINVAL. */
int ts_tls_apply(struct ts_tls *t, SSL *ssl, struct ts_conn *c);
/* SHA-256 of the CA set's certificates (for the session binding). */
const uint8_t *ts_tls_ca_digest(const struct ts_tls *t, unsigned ca_id);
/* SHA-256, fetched once per generation */
const EVP_MD *ts_tls_sha256(const struct ts_tls *t);
/* The SSL's connection (app data). */
struct ts_conn *ts_tls_conn(const SSL *ssl);

/* ---- decision (decision.c) ---- */

/* Pinned maps: opened lazily, retried while absent. */
struct ts_maps {
	int tags_fd;
	int policy_fd;
	uint64_t retry_at_ms;
	char pin_dir[128];
};

void ts_maps_init(struct ts_maps *m, const char *pin_dir);
void ts_maps_close(struct ts_maps *m);
/* 0 with *tag filled, -ENOENT no tag for that socket, -ENODEV maps absent. */
int ts_tag_read(struct ts_maps *m, int sock_fd, struct ts_tag *tag, uint64_t now_ms);

struct ts_decision {
	struct ts_policy_value value;
	enum ts_match match;
	char policy[TS_NAME_SIZE]; /* entry name: sni, "*.parent", "@default", "@no-sni" */
	char sni[TS_NAME_SIZE];
	size_t sni_len;
	uint8_t binding[32]; /* session binding: policy + CA set, see resume.c */
};

/* Decides for the SNI OpenSSL parsed (normalised, len 0 = none), with the
 * tag when it agrees, else from the policy map, else from cfg. Counts the
 * tag case. */
void ts_decide(struct ts_maps *m, const struct ts_config *cfg, const struct ts_tag *tag,
	       int tag_err, const char *sni, size_t sni_len, struct ts_decision *d,
	       struct ts_hs_stats *st);
/* Policy entry name for a match (the key the lookup hit). */
void ts_decision_name(struct ts_decision *d);

/* ---- resumption (resume.c) ---- */

void ts_resume_bind(const struct ts_tls *t, struct ts_decision *d);
int ts_resume_setup(SSL_CTX *ctx, const struct ts_config *cfg);
/* False when a resumed session was made under another binding. */
bool ts_resume_bound(SSL *ssl, const struct ts_decision *d);

/* ---- metadata (metadata.c) ---- */

/* Builds the hand-off TLVs for a finished handshake into a malloc'd block. */
long ts_metadata_build(SSL *ssl, const struct ts_conn *c, enum ts_handoff_mode mode,
		       uint8_t **out);
/* Builds an early-connect message (TS_MODE_EARLY or TS_MODE_EARLY_CANCEL)
 * for a decided ClientHello into buf; its length or a negative errno. */
long ts_metadata_early(const struct ts_conn *c, enum ts_handoff_mode mode, uint8_t *buf,
		       size_t cap);

/* ---- listener (listener.c) ---- */

int ts_listener_open(const char *address, uint16_t port, int backlog);

/* ---- time: ts_now_ms, ts_now_us (lib/clock.h) ---- */

/* Counts one completed handshake's accept → Finished time. */
void ts_hs_stats_handshake(struct ts_hs_stats *s, uint64_t us);
/* Counts base + action (TS_HC_OK_NONE, TS_HC_FAILED_NONE,
 * TS_HC_CERTREQ_NONE) when the connection has a decision short of reject. */
struct ts_conn;
void ts_hs_count_action(const struct ts_conn *c, enum ts_hs_counter base);

#endif /* TS_HANDSHAKER_H */
