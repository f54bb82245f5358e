// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The decision (docs/architecture.md, invariants 1 and 2): the SNI that
 * OpenSSL parsed decides. The BPF tag is a fast path used only when its own
 * SNI is exactly that name; otherwise the same lookup runs in userspace on
 * the pinned policy set (ts_policy_decide(), the BPF program's own lookup),
 * or on the configuration when the tagger is not loaded at all. Whatever the
 * kernel answers counts only if it comes from our policy generation (its
 * ids are positions in the file it was imported from).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "decision.h"
#include "policy.h"
#include "stats.h"

/* How often pinned maps are looked up again: the tagger may be loaded,
 * unloaded or replaced (new maps under the same pins) while we run. */
#define MAPS_REFRESH_MS 100

void ts_maps_init(struct ts_maps *m, const char *pin_dir)
{
	m->tags_fd = -1;
	m->policy_fd = -1;
	m->retry_at_ms = 0;
	snprintf(m->pin_dir, sizeof(m->pin_dir), "%s", pin_dir);
}

void ts_maps_close(struct ts_maps *m)
{
	if (m->tags_fd >= 0)
		close(m->tags_fd);
	if (m->policy_fd >= 0)
		close(m->policy_fd);
	m->tags_fd = m->policy_fd = -1;
}

static __u32 map_id(int fd)
{
	struct bpf_map_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (fd < 0 || bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

/* Keeps *fd if nfd is the same map, else swaps to nfd. */
static void refresh_one(int *fd, int nfd)
{
	if (nfd >= 0 && *fd >= 0 && map_id(nfd) == map_id(*fd)) {
		close(nfd);
		return;
	}
	if (*fd >= 0)
		close(*fd);
	*fd = nfd < 0 ? -1 : nfd;
}

static void maps_refresh(struct ts_maps *m, uint64_t now_ms)
{
	char path[192];

	if (now_ms < m->retry_at_ms)
		return;
	m->retry_at_ms = now_ms + MAPS_REFRESH_MS;
	snprintf(path, sizeof(path), "%s/%s", m->pin_dir, TS_PIN_TAGS);
	refresh_one(&m->tags_fd, bpf_obj_get(path));
	/* the set the program reads now: an import swaps it */
	refresh_one(&m->policy_fd, ts_policy_open_active(m->pin_dir));
}

int ts_tag_read(struct ts_maps *m, int sock_fd, struct ts_tag *tag, uint64_t now_ms)
{
	maps_refresh(m, now_ms);
	if (m->tags_fd < 0)
		return -ENODEV;
	/* socket-storage maps take the socket's fd as the key */
	if (bpf_map_lookup_elem(m->tags_fd, &sock_fd, tag))
		return -ENOENT;
	return 0;
}

/* Whether the tag's own SNI is the one OpenSSL parsed; counts the case. */
static bool tag_agrees(const struct ts_tag *tag, int tag_err, const char *sni, size_t len,
		       struct ts_hs_stats *st)
{
	if (tag_err) {
		ts_count(st, TS_HC_TAG_MISSING);
		return false;
	}
	/* "no entry at all" is what an empty or half-written set looks like:
	 * the lookup in userspace costs little and settles it */
	if (tag->match == TS_MATCH_NOTHING || tag->match >= TS_MATCH_COUNT) {
		ts_count(st, tag->status == TS_STATUS_PENDING ? TS_HC_TAG_PENDING : TS_HC_TAG_MISSING);
		return false;
	}
	switch (tag->status) {
	case TS_STATUS_PENDING:
		ts_count(st, TS_HC_TAG_PENDING);
		return false;
	case TS_STATUS_OK:
		if (len && tag->sni_len == len && !memcmp(tag->sni, sni, len) &&
		    tag->action < TS_ACTION_COUNT)
			break;
		ts_count(st, TS_HC_TAG_DISAGREE);
		return false;
	case TS_STATUS_NO_SNI:
		if (len == 0 && tag->action < TS_ACTION_COUNT)
			break;
		ts_count(st, TS_HC_TAG_DISAGREE);
		return false;
	case TS_STATUS_BAD_SNI:
		ts_count(st, TS_HC_TAG_DISAGREE);
		return false;
	default: /* the tagger gave up on this ClientHello: no decision */
		ts_count(st, TS_HC_TAG_MISSING);
		return false;
	}
	ts_count(st, TS_HC_TAG_AGREE);
	return true;
}

void ts_decision_name(struct ts_decision *d)
{
	const char *dot = memchr(d->sni, '.', d->sni_len);

	switch (d->match) {
	case TS_MATCH_EXACT:
		snprintf(d->policy, sizeof(d->policy), "%s", d->sni);
		break;
	case TS_MATCH_WILDCARD:
		snprintf(d->policy, sizeof(d->policy), "*%s", dot ? dot : "");
		break;
	case TS_MATCH_DEFAULT: snprintf(d->policy, sizeof(d->policy), TS_POLICY_DEFAULT); break;
	case TS_MATCH_NO_SNI: snprintf(d->policy, sizeof(d->policy), TS_POLICY_NO_SNI); break;
	default: d->policy[0] = '\0'; break;
	}
}

/* How much an action keeps from completing or asks of the client:
 * reject > require > optional > request > none. */
static int strictness(unsigned action)
{
	switch (action) {
	case TS_ACTION_REJECT: return 4;
	case TS_ACTION_REQUIRE: return 3;
	case TS_ACTION_OPTIONAL: return 2;
	case TS_ACTION_REQUEST: return 1;
	default: return 0;
	}
}

/* Whether the kernel's answer was made from this configuration: its ids
 * are list positions, meaningful only in the file they came from. */
static bool same_generation(const struct ts_decision *d, const struct ts_config *cfg,
			    enum ts_match cfg_match)
{
	if (d->match == TS_MATCH_NOTHING)
		return cfg_match == TS_MATCH_NOTHING;
	return d->value.generation == cfg->generation;
}

void ts_decide(struct ts_maps *m, const struct ts_config *cfg, const struct ts_tag *tag,
	       int tag_err, const char *sni, size_t sni_len, struct ts_decision *d,
	       struct ts_hs_stats *st)
{
	struct ts_policy_value from_cfg;
	enum ts_match cfg_match;
	bool kernel = true;
	int match;

	memset(d, 0, sizeof(*d));
	memcpy(d->sni, sni, sni_len);
	d->sni_len = sni_len;
	ts_config_decide(cfg, sni, sni_len, &from_cfg, &cfg_match);
	if (tag_agrees(tag, tag_err, sni, sni_len, st)) {
		d->value.action = tag->action;
		d->value.cert_id = tag->cert_id;
		d->value.ca_id = tag->ca_id;
		d->value.route_id = tag->route_id;
		d->value.generation = tag->generation;
		d->match = (enum ts_match)tag->match;
	} else if (m->policy_fd >= 0 &&
		   (match = ts_policy_decide(m->policy_fd, sni, sni_len, &d->value)) >= 0) {
		d->match = (enum ts_match)match;
	} else {
		d->value = from_cfg;
		d->match = cfg_match;
		kernel = false;
	}
	/* The kernel's set comes from another generation of the file (not
	 * imported since the last reload, or a hand-made `policy add`): its ids
	 * may name other certificates, CA sets or routes. The configuration
	 * decides. */
	if (kernel && !same_generation(d, cfg, cfg_match)) {
		bool reject = d->value.action == TS_ACTION_REJECT;

		d->value = from_cfg;
		d->match = cfg_match;
		/* a reject names nothing: it stands, as its tag fast path does */
		if (reject)
			d->value.action = TS_ACTION_REJECT;
		ts_count(st, TS_HC_POLICY_STALE);
	}
	/* Fail closed when the kernel's policy set lags the configuration (an
	 * import not done yet, a hand-made `policy add`): the stricter wins, so a
	 * require or reject in either is never weakened by the other. */
	if (strictness(from_cfg.action) > strictness(d->value.action)) {
		d->value = from_cfg;
		d->match = cfg_match;
		ts_count(st, TS_HC_POLICY_STALE);
	}
	d->value.generation = cfg->generation;
	ts_decision_name(d);
}
