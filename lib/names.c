// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include "names.h"

#include "tagshake.h"

static const char *const status_names[TS_STATUS_COUNT] = {
	[TS_STATUS_PENDING] = "pending",     [TS_STATUS_OK] = "ok",
	[TS_STATUS_NO_SNI] = "no-sni",       [TS_STATUS_BAD_SNI] = "bad-sni",
	[TS_STATUS_NOT_TLS] = "not-tls",     [TS_STATUS_MALFORMED] = "malformed",
	[TS_STATUS_TOO_BIG] = "too-big",     [TS_STATUS_INCOMPLETE] = "incomplete",
	[TS_STATUS_MISSED] = "missed",
};

static const char *const match_names[TS_MATCH_COUNT] = {
	[TS_MATCH_NOTHING] = "nothing", [TS_MATCH_EXACT] = "exact",
	[TS_MATCH_WILDCARD] = "wildcard", [TS_MATCH_DEFAULT] = "default",
	[TS_MATCH_NO_SNI] = "no-sni",
};

const char *ts_status_name(unsigned status)
{
	return status < TS_STATUS_COUNT ? status_names[status] : "unknown";
}

const char *ts_match_name(unsigned match)
{
	return match < TS_MATCH_COUNT ? match_names[match] : "unknown";
}
