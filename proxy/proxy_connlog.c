// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The proxy's connection lines, built with lib/logfmt.c. */
#include "proxy_connlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cert_headers.h"
#include "config.h"
#include "logfmt.h"

bool px_connlog_enabled;

struct px_connlog {
	char sni[TS_NAME_SIZE];
	char policy[TS_NAME_SIZE];
	char subject[512];
	char verify[128]; /* "FAILED:<reason>" for an unverified certificate, else "" */
	uint8_t action, mode;
	const char *route; /* the configuration outlives every connection */
	uint64_t start_us, up, down;
};

static void copy(char *dst, size_t size, const struct ts_bytes *b)
{
	size_t n = b->len < size - 1 ? b->len : size - 1;

	if (n)
		memcpy(dst, b->p, n);
	dst[n] = '\0';
}

struct px_connlog *px_connlog_new(const struct ts_handoff_meta *m,
				  const struct ts_cfg_route *route, uint64_t start_us)
{
	struct px_connlog *l;

	if (!px_connlog_enabled || !(l = calloc(1, sizeof(*l))))
		return NULL;
	copy(l->sni, sizeof(l->sni), &m->authority);
	copy(l->policy, sizeof(l->policy), &m->policy);
	copy(l->subject, sizeof(l->subject), &m->subject);
	ts_cert_verify_status(m, l->verify, sizeof(l->verify));
	if (strncmp(l->verify, "FAILED:", 7))
		l->verify[0] = '\0';
	l->action = m->action;
	l->mode = m->mode;
	l->route = route->name;
	l->start_us = start_us;
	return l;
}

void px_connlog_bytes(struct px_connlog *l, uint64_t up, uint64_t down)
{
	l->up += up;
	l->down += down;
}

/* the fields both kinds of line share */
static void hand_off_fields(struct ts_logfmt *f, const char *result, const char *sni,
			    const char *policy, uint8_t action)
{
	ts_logfmt_begin(f, "proxy_conn");
	ts_logfmt_field(f, "result", result);
	ts_logfmt_field(f, "sni", sni);
	if (*policy)
		ts_logfmt_field(f, "policy", policy);
	ts_logfmt_field(f, "action", ts_action_name(action));
}

static void number(struct ts_logfmt *f, const char *key, unsigned long long v)
{
	char s[24];

	snprintf(s, sizeof(s), "%llu", v);
	ts_logfmt_field(f, key, s);
}

void px_connlog_close(struct px_connlog *l, const char *result, long requests, uint64_t now_us)
{
	struct ts_logfmt f;
	char ms[32];

	if (!l)
		return;
	hand_off_fields(&f, result, l->sni, l->policy, l->action);
	ts_logfmt_field(&f, "route", l->route);
	ts_logfmt_field(&f, "mode", ts_handoff_mode_name(l->mode));
	if (*l->subject)
		ts_logfmt_field(&f, "subject", l->subject);
	/* a subject (unverified: forward) or not, the line says it was not verified */
	if (*l->verify)
		ts_logfmt_field(&f, "verify", l->verify);
	number(&f, "up", l->up);
	number(&f, "down", l->down);
	if (requests >= 0)
		number(&f, "requests", (unsigned long long)requests);
	snprintf(ms, sizeof(ms), "%.3f", (double)(now_us - l->start_us) / 1000.0);
	ts_logfmt_field(&f, "ms", ms);
	ts_logfmt_write(&f);
	free(l);
}

void px_connlog_refused(const struct ts_handoff_meta *m, const char *result)
{
	struct ts_logfmt f;
	char sni[TS_NAME_SIZE], policy[TS_NAME_SIZE];

	if (!px_connlog_enabled)
		return;
	copy(sni, sizeof(sni), &m->authority);
	copy(policy, sizeof(policy), &m->policy);
	hand_off_fields(&f, result, sni, policy, m->action);
	ts_logfmt_write(&f);
}
