/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The decision for one connection (decision.c): the tag when its SNI is
 * OpenSSL's, else the pinned policy set, else the configuration. */
#ifndef TS_DECISION_H
#define TS_DECISION_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "tagshake.h"

struct ts_hs_stats;

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

#endif /* TS_DECISION_H */
