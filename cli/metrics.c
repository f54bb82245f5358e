// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Reads tagshake's counters (BPF map, status files) and renders them in
 * the Prometheus text format: families named tagshake_..._total, base
 * units (seconds, bytes), one label per dimension. */
#include "metrics.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "config.h"
#include "names.h"
#include "pins.h"

/* One status line mapped into a family: its key and the labels it gets. */
struct mx_row {
	const char *key;
	const char *labels; /* "" or `name="value"` */
};

#define MX_ROWS_MAX 16

struct mx_family {
	const char *name;
	const char *type; /* counter | gauge */
	const char *help;
	struct mx_row rows[MX_ROWS_MAX];
};

static const struct mx_family hs_families[] = {
	{ "tagshake_connections_accepted_total", "counter", "TCP connections accepted by tagshaked",
	  { { "accepted", "" } } },
	{ "tagshake_rejects_total", "counter",
	  "Connections closed by a reject policy before any TLS byte, by where it was decided",
	  { { "reject_tag", "stage=\"tag\"" }, { "reject_policy", "stage=\"clienthello\"" } } },
	{ "tagshake_bad_sni_total", "counter", "ClientHellos whose SNI is not a valid host name",
	  { { "bad_sni", "" } } },
	{ "tagshake_sni_changed_total", "counter",
	  "Second ClientHellos (after a HelloRetryRequest) that changed the SNI",
	  { { "sni_changed", "" } } },
	{ "tagshake_tag_checks_total", "counter",
	  "BPF tags compared with the SNI OpenSSL parsed, by result",
	  { { "tag_agree", "result=\"agree\"" },
	    { "tag_missing", "result=\"missing\"" },
	    { "tag_pending", "result=\"pending\"" },
	    { "tag_disagree", "result=\"disagree\"" } } },
	{ "tagshake_policy_stale_total", "counter",
	  "Decisions where the BPF policy was less strict than the configuration",
	  { { "policy_stale", "" } } },
	{ "tagshake_decisions_total", "counter", "Policy decisions in the ClientHello callback, by action",
	  { { "decide_none", "action=\"none\"" },
	    { "decide_optional", "action=\"optional\"" },
	    { "decide_require", "action=\"require\"" },
	    { "decide_reject", "action=\"reject\"" },
	    { "decide_request", "action=\"request\"" } } },
	{ "tagshake_certificate_requests_total", "counter", "CertificateRequest messages sent",
	  { { "cert_requests", "" } } },
	{ "tagshake_handshakes_total", "counter", "TLS handshakes by result",
	  { { "handshakes", "result=\"ok\"" },
	    { "handshake_failed", "result=\"failed\"" },
	    { "handshake_timeout", "result=\"timeout\"" } } },
	{ "tagshake_policy_handshakes_total", "counter",
	  "Handshakes after the policy decision, by the decided action and result",
	  { { "ok_none", "action=\"none\",result=\"ok\"" },
	    { "ok_optional", "action=\"optional\",result=\"ok\"" },
	    { "ok_require", "action=\"require\",result=\"ok\"" },
	    { "ok_request", "action=\"request\",result=\"ok\"" },
	    { "failed_none", "action=\"none\",result=\"failed\"" },
	    { "failed_optional", "action=\"optional\",result=\"failed\"" },
	    { "failed_require", "action=\"require\",result=\"failed\"" },
	    { "failed_request", "action=\"request\",result=\"failed\"" } } },
	{ "tagshake_policy_certificate_requests_total", "counter",
	  "CertificateRequests sent, by the decided action (none must stay 0)",
	  { { "certreq_none", "action=\"none\"" },
	    { "certreq_optional", "action=\"optional\"" },
	    { "certreq_require", "action=\"require\"" },
	    { "certreq_request", "action=\"request\"" } } },
	{ "tagshake_handshakes_resumed_total", "counter", "Completed handshakes that resumed a session",
	  { { "resumed", "" } } },
	{ "tagshake_handshakes_client_certificate_total", "counter",
	  "Completed handshakes with a verified client certificate", { { "client_certs", "" } } },
	{ "tagshake_overload_total", "counter", "Times accepting paused at the in-flight bound",
	  { { "overload", "" } } },
	{ "tagshake_hello_timeouts_total", "counter",
	  "Handshake timeouts before a whole ClientHello (timeouts.client_hello)",
	  { { "hello_timeout", "" } } },
	{ "tagshake_flood_closes_total", "counter",
	  "Connections closed before their ClientHello to keep the bounds, by reason",
	  { { "shed_idle", "reason=\"shed_idle\"" }, { "source_limit", "reason=\"source_limit\"" } } },
	{ "tagshake_handoff_links_refused_total", "counter",
	  "Hand-off links closed: the proxy is not an allowed user (SO_PEERCRED)",
	  { { "handoff_link_refused", "" } } },
	{ "tagshake_handoffs_total", "counter", "Hand-offs to the proxy by result",
	  { { "handoff_ok", "result=\"ok\"" },
	    { "handoff_timeout", "result=\"timeout\"" },
	    { "handoff_error", "result=\"error\"" } } },
	{ "tagshake_handoff_modes_total", "counter", "Hand-offs by data path (kTLS or userspace relay)",
	  { { "ktls", "mode=\"ktls\"" }, { "relay", "mode=\"relay\"" } } },
	{ "tagshake_relay_closes_total", "counter", "Relayed connections closed, by reason",
	  { { "relay_closed", "reason=\"done\"" },
	    { "relay_idle", "reason=\"idle\"" },
	    { "relay_error", "reason=\"error\"" } } },
	{ "tagshake_handshakes_in_flight", "gauge", "Handshakes in progress", { { "inflight", "" } } },
	{ "tagshake_handoffs_waiting", "gauge", "Finished handshakes waiting for the proxy",
	  { { "handoff_waiting", "" } } },
	{ "tagshake_relays_open", "gauge", "Connections relayed in userspace now",
	  { { "relays_open", "" } } },
	{ "tagshake_handshaker_workers", "gauge", "tagshaked worker threads", { { "workers", "" } } },
	{ "tagshake_handshaker_generation", "gauge", "Configuration generation (reloads + 1)",
	  { { "generation", "" } } },
};

static const struct mx_family px_families[] = {
	{ "tagshake_proxy_handoffs_total", "counter", "Connections received from handshakers",
	  { { "handoffs", "" } } },
	{ "tagshake_proxy_handoffs_rejected_total", "counter",
	  "Hand-off messages rejected (no descriptor, bad TLVs)", { { "handoff_bad", "" } } },
	{ "tagshake_proxy_handshaker_links_total", "counter", "Handshaker links accepted",
	  { { "handshakers", "" } } },
	{ "tagshake_proxy_handshaker_links_refused_total", "counter",
	  "Handshaker links closed: not an allowed user (SO_PEERCRED)",
	  { { "handshakers_refused", "" } } },
	{ "tagshake_proxy_relay_directions_total", "counter", "Directions relayed, by method",
	  { { "splice_dirs", "method=\"splice\"" }, { "copy_dirs", "method=\"copy\"" } } },
	{ "tagshake_proxy_bytes_total", "counter", "Payload bytes relayed, by direction",
	  { { "bytes_up", "direction=\"up\"" }, { "bytes_down", "direction=\"down\"" } } },
	{ "tagshake_proxy_http_requests_total", "counter", "HTTP request heads forwarded",
	  { { "http_requests", "" } } },
	{ "tagshake_proxy_http_local_answers_total", "counter",
	  "HTTP answers the proxy gave itself (4xx, 5xx)", { { "http_local", "" } } },
	{ "tagshake_proxy_upstream_connect_failures_total", "counter",
	  "Upstream connects that failed, by reason",
	  { { "connect_refused", "reason=\"refused\"" },
	    { "connect_timeout", "reason=\"timeout\"" },
	    { "connect_error", "reason=\"error\"" } } },
	{ "tagshake_proxy_pipes_total", "counter",
	  "Relay pipes: opened and closed (held = opened - closed), taken for a bulk transfer and "
	  "returned (in use = taken - returned)",
	  { { "pipes_opened", "event=\"opened\"" },
	    { "pipes_closed", "event=\"closed\"" },
	    { "pipes_taken", "event=\"taken\"" },
	    { "pipes_returned", "event=\"returned\"" } } },
};

/* The proxy's close reasons: every close_* line, reason = the rest. */
#define PX_CLOSE_PREFIX "close_"

/* A histogram kept as per-bucket (non-cumulative) counts in a status file. */
struct mx_histogram {
	const char *name;
	const char *help;
	const char *buckets[8]; /* keys, last one is the overflow bucket */
	const char *le[8];      /* upper bounds in seconds, NULL for +Inf */
	const char *sum_key;
	double sum_scale; /* sum_key's unit in seconds */
	const char *count_key;
};

static const struct mx_histogram px_ready = {
	"tagshake_proxy_upstream_ready_seconds",
	"Time from receiving a hand-off to a connected upstream",
	{ "ready_le_16us", "ready_le_32us", "ready_le_64us", "ready_le_128us", "ready_le_256us",
	  "ready_over_256us" },
	{ "1.6e-05", "3.2e-05", "6.4e-05", "0.000128", "0.000256", NULL },
	"upstream_ready_us",
	1e-6,
	"upstream_ready_n",
};

static const struct mx_histogram hs_duration = {
	"tagshake_handshake_duration_seconds",
	"Time from accept to a finished handshake",
	{ "hs_le_1ms", "hs_le_2ms", "hs_le_5ms", "hs_le_10ms", "hs_le_50ms", "hs_le_250ms",
	  "hs_over_250ms" },
	{ "0.001", "0.002", "0.005", "0.01", "0.05", "0.25", NULL },
	"hs_us",
	1e-6,
	"handshakes",
};

int ts_mx_status_read(const char *path, struct ts_mx_status *st)
{
	char line[256];
	FILE *f = fopen(path, "r");

	st->present = false;
	st->n = 0;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f) && st->n < TS_MX_KV_MAX) {
		char *sp = strchr(line, ' ');
		struct ts_mx_kv *kv = &st->kv[st->n];

		if (!sp || sp == line || (size_t)(sp - line) >= sizeof(kv->name))
			continue;
		line[strcspn(line, "\n")] = '\0';
		memcpy(kv->name, line, (size_t)(sp - line));
		kv->name[sp - line] = '\0';
		snprintf(kv->value, sizeof(kv->value), "%s", sp + 1);
		st->n++;
	}
	fclose(f);
	st->present = true;
	return 0;
}

static const struct ts_mx_kv *find(const struct ts_mx_status *st, const char *name)
{
	for (int i = 0; i < st->n; i++)
		if (!strcmp(st->kv[i].name, name))
			return &st->kv[i];
	return NULL;
}

uint64_t ts_mx_get(const struct ts_mx_status *st, const char *name)
{
	const struct ts_mx_kv *kv = find(st, name);

	return kv ? strtoull(kv->value, NULL, 10) : 0;
}

const char *ts_mx_text(const struct ts_mx_status *st, const char *name)
{
	const struct ts_mx_kv *kv = find(st, name);

	return kv ? kv->value : "";
}

static int read_bpf(const char *dir, uint64_t totals[TS_CTR_COUNT])
{
	int fd = ts_pin_open(dir, TS_PIN_COUNTERS), ncpu = libbpf_num_possible_cpus();
	__u64 *percpu;
	int err = 0;

	if (fd < 0)
		return fd;
	percpu = ncpu > 0 ? calloc((size_t)ncpu, sizeof(*percpu)) : NULL;
	for (__u32 i = 0; i < TS_CTR_COUNT && percpu && !err; i++) {
		totals[i] = 0;
		if (bpf_map_lookup_elem(fd, &i, percpu) != 0)
			err = -errno;
		for (int c = 0; c < ncpu && !err; c++)
			totals[i] += percpu[c];
	}
	if (!percpu)
		err = -ENOMEM;
	free(percpu);
	close(fd);
	return err;
}

void ts_mx_read(const struct ts_mx_sources *src, struct ts_mx_snapshot *snap)
{
	memset(snap, 0, sizeof(*snap));
	snap->tagger = src->pin_dir && read_bpf(src->pin_dir, snap->bpf) == 0;
	if (src->hs_status)
		ts_mx_status_read(src->hs_status, &snap->hs);
	if (src->px_status)
		ts_mx_status_read(src->px_status, &snap->px);
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, const char *labels, unsigned long long v)
{
	if (labels && *labels)
		fprintf(f, "%s{%s} %llu\n", name, labels, v);
	else
		fprintf(f, "%s %llu\n", name, v);
}

/* Label values may hold anything (mode_reason): escape as the format says. */
static void label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(f, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

static void render_up(FILE *f, const char *name, const char *help, bool up)
{
	header(f, name, "gauge", help);
	sample(f, name, "", up);
}

static void render_bpf(FILE *f, const struct ts_mx_snapshot *s)
{
	char labels[64];

	render_up(f, "tagshake_tagger_up", "1 when the tagger's pinned counters could be read",
		  s->tagger);
	if (!s->tagger)
		return;
	header(f, "tagshake_tagger_tags_total", "counter", "Final BPF tags by status");
	for (unsigned i = 0; i < TS_STATUS_COUNT; i++) {
		snprintf(labels, sizeof(labels), "status=\"%s\"", ts_status_name(i));
		sample(f, "tagshake_tagger_tags_total", labels, s->bpf[TS_CTR_STATUS + i]);
	}
	header(f, "tagshake_tagger_decisions_total", "counter",
	       "Policy actions the tagger wrote into tags");
	for (unsigned i = 0; i < TS_ACTION_COUNT; i++) {
		snprintf(labels, sizeof(labels), "action=\"%s\"", ts_action_name(i));
		sample(f, "tagshake_tagger_decisions_total", labels, s->bpf[TS_CTR_ACTION + i]);
	}
	header(f, "tagshake_tagger_segments_total", "counter", "Data segments inspected");
	sample(f, "tagshake_tagger_segments_total", "", s->bpf[TS_CTR_SEGMENTS]);
	header(f, "tagshake_tagger_out_of_order_segments_total", "counter",
	       "Segments that arrived ahead of a gap");
	sample(f, "tagshake_tagger_out_of_order_segments_total", "", s->bpf[TS_CTR_OUT_OF_ORDER]);
	header(f, "tagshake_tagger_no_storage_total", "counter",
	       "Sockets whose tag storage could not be allocated");
	sample(f, "tagshake_tagger_no_storage_total", "", s->bpf[TS_CTR_NO_STORAGE]);
	header(f, "tagshake_tagger_listener_data_segments_total", "counter",
	       "Data segments that reached a listening socket (their connection is untagged)");
	sample(f, "tagshake_tagger_listener_data_segments_total", "", s->bpf[TS_CTR_LISTENER_DATA]);
}

static bool in_families(const struct mx_family *fam, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		for (int r = 0; r < MX_ROWS_MAX && fam[i].rows[r].key; r++)
			if (!strcmp(fam[i].rows[r].key, key))
				return true;
	return false;
}

static void render_families(FILE *f, const struct mx_family *fam, size_t n,
			    const struct ts_mx_status *st)
{
	for (size_t i = 0; i < n; i++) {
		bool any = false;

		for (int r = 0; r < MX_ROWS_MAX && fam[i].rows[r].key; r++)
			any |= find(st, fam[i].rows[r].key) != NULL;
		if (!any)
			continue;
		header(f, fam[i].name, fam[i].type, fam[i].help);
		for (int r = 0; r < MX_ROWS_MAX && fam[i].rows[r].key; r++)
			if (find(st, fam[i].rows[r].key))
				sample(f, fam[i].name, fam[i].rows[r].labels,
				       ts_mx_get(st, fam[i].rows[r].key));
	}
}

static bool in_histogram(const struct mx_histogram *h, const char *key)
{
	for (int b = 0; b < 8 && h->buckets[b]; b++)
		if (!strcmp(h->buckets[b], key))
			return true;
	return !strcmp(key, h->sum_key);
}

static void render_histogram(FILE *f, const struct mx_histogram *h, const struct ts_mx_status *st)
{
	char name[96], labels[32];
	unsigned long long cum = 0;

	if (!find(st, h->buckets[0]))
		return;
	header(f, h->name, "histogram", h->help);
	snprintf(name, sizeof(name), "%s_bucket", h->name);
	for (int b = 0; b < 8 && h->buckets[b]; b++) {
		cum += ts_mx_get(st, h->buckets[b]);
		snprintf(labels, sizeof(labels), "le=\"%s\"", h->le[b] ? h->le[b] : "+Inf");
		sample(f, name, labels, cum);
	}
	fprintf(f, "%s_sum %.9g\n", h->name, (double)ts_mx_get(st, h->sum_key) * h->sum_scale);
	fprintf(f, "%s_count %llu\n", h->name, (unsigned long long)ts_mx_get(st, h->count_key));
}

/* Counters a daemon added after this table was written still show, untyped. */
static void render_unknown(FILE *f, const char *prefix, const struct ts_mx_status *st,
			   const struct mx_family *fam, size_t n, const struct mx_histogram *h)
{
	static const char *const text[] = { "mode", "mode_reason", "pid" };
	char name[128];

	for (int i = 0; i < st->n; i++) {
		const char *key = st->kv[i].name;
		bool skip = in_families(fam, n, key) || in_histogram(h, key) ||
			    !strcmp(key, h->count_key) ||
			    !strncmp(key, PX_CLOSE_PREFIX, strlen(PX_CLOSE_PREFIX));

		for (size_t t = 0; t < sizeof(text) / sizeof(text[0]); t++)
			skip |= !strcmp(key, text[t]);
		if (skip || strspn(st->kv[i].value, "0123456789") != strlen(st->kv[i].value))
			continue;
		snprintf(name, sizeof(name), "%s_%s", prefix, key);
		header(f, name, "untyped", "counter without a documented name yet");
		sample(f, name, "", ts_mx_get(st, key));
	}
}

static void render_hs(FILE *f, const struct ts_mx_status *st)
{
	const char *mode = ts_mx_text(st, "mode");

	render_up(f, "tagshake_handshaker_up", "1 when tagshaked's status file could be read",
		  st->present);
	if (!st->present)
		return;
	header(f, "tagshake_handshaker_mode", "gauge",
	       "1 for the data path tagshaked uses: ktls or relay (userspace TLS)");
	for (int k = 0; k < 2; k++) {
		const char *m = k ? "relay" : "ktls";

		fprintf(f, "tagshake_handshaker_mode{mode=\"%s\",reason=\"", m);
		label_value(f, ts_mx_text(st, "mode_reason"));
		fprintf(f, "\"} %d\n", !strcmp(mode, m));
	}
	render_families(f, hs_families, sizeof(hs_families) / sizeof(hs_families[0]), st);
	render_histogram(f, &hs_duration, st);
	render_unknown(f, "tagshake_handshaker", st, hs_families,
		       sizeof(hs_families) / sizeof(hs_families[0]), &hs_duration);
}

static void render_px(FILE *f, const struct ts_mx_status *st)
{
	bool first = true;
	char labels[64];

	render_up(f, "tagshake_proxy_up", "1 when tagshake-proxy's status file could be read",
		  st->present);
	if (!st->present)
		return;
	render_families(f, px_families, sizeof(px_families) / sizeof(px_families[0]), st);
	for (int i = 0; i < st->n; i++) {
		if (strncmp(st->kv[i].name, PX_CLOSE_PREFIX, strlen(PX_CLOSE_PREFIX)))
			continue;
		if (first)
			header(f, "tagshake_proxy_closes_total", "counter",
			       "Proxied connections closed, exactly one reason each");
		first = false;
		snprintf(labels, sizeof(labels), "reason=\"%s\"",
			 st->kv[i].name + strlen(PX_CLOSE_PREFIX));
		sample(f, "tagshake_proxy_closes_total", labels, ts_mx_get(st, st->kv[i].name));
	}
	render_histogram(f, &px_ready, st);
	render_unknown(f, "tagshake_proxy", st, px_families,
		       sizeof(px_families) / sizeof(px_families[0]), &px_ready);
}

void ts_mx_render(FILE *f, const struct ts_mx_snapshot *snap)
{
	render_bpf(f, snap);
	render_hs(f, &snap->hs);
	render_px(f, &snap->px);
}
