// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The decision (ARCHITECTURE.md, security invariants 1 and 2): the SNI that
 * OpenSSL parsed decides. The BPF tag is a fast path used only when its own
 * SNI is exactly that name; otherwise the same lookup runs in userspace on
 * the pinned policy map, or on the configuration when the tagger is not
 * loaded at all.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "handshaker.h"

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

/* Keeps fd if the pin still names the same map, else swaps to the pin's. */
static void refresh_one(int *fd, const char *pin_dir, const char *name)
{
	char path[192];
	int nfd;

	snprintf(path, sizeof(path), "%s/%s", pin_dir, name);
	nfd = bpf_obj_get(path);
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
	if (now_ms < m->retry_at_ms)
		return;
	m->retry_at_ms = now_ms + MAPS_REFRESH_MS;
	refresh_one(&m->tags_fd, m->pin_dir, TS_PIN_TAGS);
	refresh_one(&m->policy_fd, m->pin_dir, TS_PIN_POLICY);
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

/* The lookup order on the pinned map: exact, "*.parent", @default;
 * @no-sni without a name. */
static int map_get(int fd, const char *name, struct ts_policy_value *out)
{
	struct ts_policy_key key;

	memset(&key, 0, sizeof(key));
	snprintf(key.name, sizeof(key.name), "%s", name);
	return bpf_map_lookup_elem(fd, &key, out);
}

static void map_decide(int fd, const char *sni, size_t len, struct ts_policy_value *out,
		       enum ts_match *match)
{
	char key[TS_NAME_SIZE];
	const char *dot = len ? memchr(sni, '.', len) : NULL;

	if (len == 0) {
		*match = TS_MATCH_NO_SNI;
		if (!map_get(fd, TS_POLICY_NO_SNI, out))
			return;
		goto nothing;
	}
	snprintf(key, sizeof(key), "%.*s", (int)len, sni);
	*match = TS_MATCH_EXACT;
	if (!map_get(fd, key, out))
		return;
	*match = TS_MATCH_WILDCARD;
	if (dot) {
		snprintf(key, sizeof(key), "*.%.*s", (int)(sni + len - dot - 1), dot + 1);
		if (!map_get(fd, key, out))
			return;
	}
	*match = TS_MATCH_DEFAULT;
	if (!map_get(fd, TS_POLICY_DEFAULT, out))
		return;
nothing:
	*match = TS_MATCH_NOTHING;
	memset(out, 0, sizeof(*out));
}

/* Whether the tag's own SNI is the one OpenSSL parsed; counts the case. */
static bool tag_agrees(const struct ts_tag *tag, int tag_err, const char *sni, size_t len,
		       struct ts_hs_stats *st)
{
	if (tag_err) {
		ts_count(st, TS_HC_TAG_MISSING);
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

void ts_decide(struct ts_maps *m, const struct ts_config *cfg, const struct ts_tag *tag,
	       int tag_err, const char *sni, size_t sni_len, struct ts_decision *d,
	       struct ts_hs_stats *st)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->sni, sni, sni_len);
	d->sni_len = sni_len;
	if (tag_agrees(tag, tag_err, sni, sni_len, st)) {
		d->value.action = tag->action;
		d->value.cert_id = tag->cert_id;
		d->value.ca_id = tag->ca_id;
		d->value.route_id = tag->route_id;
		d->match = (enum ts_match)tag->match;
	} else if (m->policy_fd >= 0) {
		map_decide(m->policy_fd, sni, sni_len, &d->value, &d->match);
	} else {
		ts_config_decide(cfg, sni, sni_len, &d->value, &d->match);
	}
	ts_decision_name(d);
}
