// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Counters of the handshaker, summed over workers into a status file that
 * tests and operators read ("name value" per line). */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "handshaker.h"
#include "status_file.h"

static const char *const counter_names[TS_HC_COUNT] = {
	[TS_HC_ACCEPTED] = "accepted",
	[TS_HC_REJECT_TAG] = "reject_tag",
	[TS_HC_REJECT_POLICY] = "reject_policy",
	[TS_HC_BAD_SNI] = "bad_sni",
	[TS_HC_SNI_CHANGED] = "sni_changed",
	[TS_HC_TAG_AGREE] = "tag_agree",
	[TS_HC_TAG_MISSING] = "tag_missing",
	[TS_HC_TAG_PENDING] = "tag_pending",
	[TS_HC_TAG_DISAGREE] = "tag_disagree",
	[TS_HC_POLICY_STALE] = "policy_stale",
	[TS_HC_DECIDE_NONE] = "decide_none",
	[TS_HC_DECIDE_OPTIONAL] = "decide_optional",
	[TS_HC_DECIDE_REQUIRE] = "decide_require",
	[TS_HC_DECIDE_REJECT] = "decide_reject",
	[TS_HC_DECIDE_REQUEST] = "decide_request",
	[TS_HC_CERT_REQUESTS] = "cert_requests",
	[TS_HC_HANDSHAKES] = "handshakes",
	[TS_HC_RESUMED] = "resumed",
	[TS_HC_CLIENT_CERTS] = "client_certs",
	[TS_HC_HANDSHAKE_FAILED] = "handshake_failed",
	[TS_HC_HANDSHAKE_TIMEOUT] = "handshake_timeout",
	[TS_HC_HELLO_TIMEOUT] = "hello_timeout",
	[TS_HC_SHED_IDLE] = "shed_idle",
	[TS_HC_SOURCE_LIMIT] = "source_limit",
	[TS_HC_OVERLOAD] = "overload",
	[TS_HC_HANDOFF_OK] = "handoff_ok",
	[TS_HC_HANDOFF_TIMEOUT] = "handoff_timeout",
	[TS_HC_HANDOFF_ERROR] = "handoff_error",
	[TS_HC_LINK_REFUSED] = "handoff_link_refused",
	[TS_HC_KTLS] = "ktls",
	[TS_HC_RELAY] = "relay",
	[TS_HC_RELAY_CLOSED] = "relay_closed",
	[TS_HC_RELAY_IDLE] = "relay_idle",
	[TS_HC_RELAY_ERROR] = "relay_error",
	[TS_HC_HS_US] = "hs_us",
	[TS_HC_HS_LE_1MS] = "hs_le_1ms",
	[TS_HC_HS_LE_2MS] = "hs_le_2ms",
	[TS_HC_HS_LE_5MS] = "hs_le_5ms",
	[TS_HC_HS_LE_10MS] = "hs_le_10ms",
	[TS_HC_HS_LE_50MS] = "hs_le_50ms",
	[TS_HC_HS_LE_250MS] = "hs_le_250ms",
	[TS_HC_HS_OVER_250MS] = "hs_over_250ms",
	[TS_HC_OK_NONE] = "ok_none",
	[TS_HC_OK_OPTIONAL] = "ok_optional",
	[TS_HC_OK_REQUIRE] = "ok_require",
	[TS_HC_OK_REQUEST] = "ok_request",
	[TS_HC_FAILED_NONE] = "failed_none",
	[TS_HC_FAILED_OPTIONAL] = "failed_optional",
	[TS_HC_FAILED_REQUIRE] = "failed_require",
	[TS_HC_FAILED_REQUEST] = "failed_request",
	[TS_HC_CERTREQ_NONE] = "certreq_none",
	[TS_HC_CERTREQ_OPTIONAL] = "certreq_optional",
	[TS_HC_CERTREQ_REQUIRE] = "certreq_require",
	[TS_HC_CERTREQ_REQUEST] = "certreq_request",
};

static const char *const gauge_names[TS_HG_COUNT] = {
	[TS_HG_INFLIGHT] = "inflight",
	[TS_HG_HANDOFF_WAIT] = "handoff_waiting",
	[TS_HG_RELAYS] = "relays_open",
};

const char *ts_hs_counter_name(enum ts_hs_counter c)
{
	return counter_names[c];
}

const char *ts_hs_gauge_name(enum ts_hs_gauge g)
{
	return gauge_names[g];
}

void ts_hs_stats_handshake(struct ts_hs_stats *s, uint64_t us)
{
	/* upper bounds of TS_HC_HS_LE_1MS ... TS_HC_HS_LE_250MS */
	static const uint64_t le_us[] = { 1000, 2000, 5000, 10000, 50000, 250000 };
	size_t b = 0;

	while (b < sizeof(le_us) / sizeof(le_us[0]) && us > le_us[b])
		b++;
	__atomic_fetch_add(&s->c[TS_HC_HS_US], us, __ATOMIC_RELAXED);
	ts_count(s, (enum ts_hs_counter)(TS_HC_HS_LE_1MS + b));
}

int ts_hs_stats_write(const char *path, const char *header, struct ts_hs_stats *const *workers,
		      int nworkers)
{
	char tmp[4096];
	FILE *f = ts_status_begin(path, tmp, sizeof(tmp));
	int i, w;

	if (!f)
		return -errno;
	fputs(header, f);
	for (i = 0; i < TS_HC_COUNT; i++) {
		uint64_t sum = 0;

		for (w = 0; w < nworkers; w++)
			sum += __atomic_load_n(&workers[w]->c[i], __ATOMIC_RELAXED);
		fprintf(f, "%s %llu\n", counter_names[i], (unsigned long long)sum);
	}
	for (i = 0; i < TS_HG_COUNT; i++) {
		int64_t sum = 0;

		for (w = 0; w < nworkers; w++)
			sum += __atomic_load_n(&workers[w]->g[i], __ATOMIC_RELAXED);
		fprintf(f, "%s %lld\n", gauge_names[i], (long long)sum);
	}
	return ts_status_commit(f, tmp, path);
}
