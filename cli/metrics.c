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
#include "ts_counters.h"

/* A Prometheus family; its rows are the status lines that name it. */
struct mx_family {
	const char *name;
	const char *type; /* counter | gauge | histogram */
	const char *help;
};

/* One status line mapped into a family: its key and the labels it gets
 * (a histogram bucket's upper bound, "" for +Inf). */
struct mx_row {
	const char *key;
	int family; /* index into the daemon's families, or its _NONE */
	const char *labels;
};

/* A histogram kept as per-bucket (non-cumulative) counts in a status file:
 * the rows of its family are the buckets. */
struct mx_histogram {
	int family;
	int sum_row;      /* its sum, in sum_scale seconds */
	double sum_scale;
	int count_row;
};

#define MX_FAMILY(id, name, type, help) { name, type, help },
#define MX_HS_FAMILY_ID(id, name, type, help) MX_HS_##id,
#define MX_PX_FAMILY_ID(id, name, type, help) MX_PX_##id,
#define MX_HS_ROW(id, name, fam, labels, top) { name, MX_HS_##fam, labels },
#define MX_PX_ROW(id, name, fam, labels, top) { name, MX_PX_##fam, labels },
#define MX_HS_ROW_ID(id, name, fam, labels, top) MX_HS_ROW_##id,
#define MX_PX_ROW_ID(id, name, fam, labels, top) MX_PX_ROW_##id,

enum { TS_HS_FAMILIES(MX_HS_FAMILY_ID) MX_HS_NONE };
enum { TS_PX_FAMILIES(MX_PX_FAMILY_ID) MX_PX_NONE };
enum { TS_HS_COUNTERS(MX_HS_ROW_ID) };
enum { TS_PX_COUNTERS(MX_PX_ROW_ID) };

static const struct mx_family hs_families[] = { TS_HS_FAMILIES(MX_FAMILY) };
static const struct mx_family px_families[] = { TS_PX_FAMILIES(MX_FAMILY) };

/* tagshaked's counters and gauges, then the lines of its status header */
static const struct mx_row hs_rows[] = {
	TS_HS_COUNTERS(MX_HS_ROW) TS_HS_GAUGES(MX_HS_ROW)
	{ "workers", MX_HS_WORKERS, "" },
	{ "generation", MX_HS_GENERATION, "" },
};
static const struct mx_row px_rows[] = { TS_PX_COUNTERS(MX_PX_ROW) };

static const struct mx_histogram hs_duration = { MX_HS_DURATION, MX_HS_ROW_HS_US, 1e-6,
						 MX_HS_ROW_HANDSHAKES };
static const struct mx_histogram px_ready = { MX_PX_READY, MX_PX_ROW_UPSTREAM_READY_US, 1e-6,
					      MX_PX_ROW_UPSTREAM_READY_N };

/* One daemon's table. */
struct mx_table {
	const struct mx_family *families;
	size_t nfamilies;
	const struct mx_row *rows;
	size_t nrows;
	const struct mx_histogram *histogram;
	/* status lines named prefix + reason, also those a newer daemon added,
	 * go to family open_family with the label reason="..." */
	const char *open_prefix;
	int open_family;
};

#define MX_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const struct mx_table hs_table = { hs_families, MX_LEN(hs_families), hs_rows,
					  MX_LEN(hs_rows), &hs_duration, NULL, MX_HS_NONE };
static const struct mx_table px_table = { px_families, MX_LEN(px_families), px_rows,
					  MX_LEN(px_rows), &px_ready, "close_", MX_PX_CLOSES };

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
#define MX_TAGGER(id, name, family, help) { TS_CTR_##id, family, help },
	static const struct {
		unsigned ctr;
		const char *family, *help;
	} scalars[] = { TS_TAGGER_COUNTERS(MX_TAGGER) };
#undef MX_TAGGER
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
	for (size_t i = 0; i < MX_LEN(scalars); i++) {
		header(f, scalars[i].family, "counter", scalars[i].help);
		sample(f, scalars[i].family, "", s->bpf[scalars[i].ctr]);
	}
}

static bool in_rows(const struct mx_table *t, const char *key)
{
	for (size_t i = 0; i < t->nrows; i++)
		if (!strcmp(t->rows[i].key, key))
			return true;
	return false;
}

static bool open_key(const struct mx_table *t, const char *key)
{
	return t->open_prefix && !strncmp(key, t->open_prefix, strlen(t->open_prefix));
}

static bool family_present(const struct mx_table *t, int fam, const struct ts_mx_status *st)
{
	for (size_t r = 0; r < t->nrows; r++)
		if (t->rows[r].family == fam && find(st, t->rows[r].key))
			return true;
	for (int i = 0; i < st->n && fam == t->open_family; i++)
		if (open_key(t, st->kv[i].name))
			return true;
	return false;
}

/* The open family's lines no row names: reasons a newer daemon added. */
static void render_open(FILE *f, const struct mx_table *t, const struct ts_mx_status *st)
{
	char labels[64];

	for (int i = 0; i < st->n; i++) {
		const char *key = st->kv[i].name;

		if (!open_key(t, key) || in_rows(t, key))
			continue;
		snprintf(labels, sizeof(labels), "reason=\"%s\"", key + strlen(t->open_prefix));
		sample(f, t->families[t->open_family].name, labels, ts_mx_get(st, key));
	}
}

/* Every family but the histogram, in table order, with the rows present. */
static void render_families(FILE *f, const struct mx_table *t, const struct ts_mx_status *st)
{
	for (size_t i = 0; i < t->nfamilies; i++) {
		const struct mx_family *fam = &t->families[i];

		if ((int)i == t->histogram->family || !family_present(t, (int)i, st))
			continue;
		header(f, fam->name, fam->type, fam->help);
		for (size_t r = 0; r < t->nrows; r++)
			if (t->rows[r].family == (int)i && find(st, t->rows[r].key))
				sample(f, fam->name, t->rows[r].labels,
				       ts_mx_get(st, t->rows[r].key));
		if ((int)i == t->open_family)
			render_open(f, t, st);
	}
}

static void render_histogram(FILE *f, const struct mx_table *t, const struct ts_mx_status *st)
{
	const struct mx_histogram *h = t->histogram;
	const struct mx_family *fam = &t->families[h->family];
	char name[96], labels[32];
	unsigned long long cum = 0;
	bool first = true;

	for (size_t r = 0; r < t->nrows; r++) {
		const struct mx_row *row = &t->rows[r];

		if (row->family != h->family)
			continue;
		if (first && !find(st, row->key))
			return;
		if (first)
			header(f, fam->name, fam->type, fam->help);
		first = false;
		snprintf(name, sizeof(name), "%s_bucket", fam->name);
		cum += ts_mx_get(st, row->key);
		snprintf(labels, sizeof(labels), "le=\"%s\"", *row->labels ? row->labels : "+Inf");
		sample(f, name, labels, cum);
	}
	fprintf(f, "%s_sum %.9g\n", fam->name,
		(double)ts_mx_get(st, t->rows[h->sum_row].key) * h->sum_scale);
	fprintf(f, "%s_count %llu\n", fam->name,
		(unsigned long long)ts_mx_get(st, t->rows[h->count_row].key));
}

/* Counters a daemon added after this table was written still show, untyped. */
static void render_unknown(FILE *f, const char *prefix, const struct ts_mx_status *st,
			   const struct mx_table *t)
{
	static const char *const text[] = { "mode", "mode_reason", "pid" };
	char name[128];

	for (int i = 0; i < st->n; i++) {
		const char *key = st->kv[i].name;
		bool skip = in_rows(t, key) || open_key(t, key);

		for (size_t k = 0; k < MX_LEN(text); k++)
			skip |= !strcmp(key, text[k]);
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
	       "1 for the data path tagshaked uses: ktls, records (the proxy runs TLS) or relay "
	       "(userspace TLS in tagshaked)");
	for (int k = 0; k < 3; k++) {
		const char *m = k == 0 ? "ktls" : k == 1 ? "records" : "relay";

		fprintf(f, "tagshake_handshaker_mode{mode=\"%s\",reason=\"", m);
		label_value(f, ts_mx_text(st, "mode_reason"));
		fprintf(f, "\"} %d\n", !strcmp(mode, m));
	}
	render_families(f, &hs_table, st);
	render_histogram(f, &hs_table, st);
	render_unknown(f, "tagshake_handshaker", st, &hs_table);
}

static void render_px(FILE *f, const struct ts_mx_status *st)
{
	render_up(f, "tagshake_proxy_up", "1 when tagshake-proxy's status file could be read",
		  st->present);
	if (!st->present)
		return;
	render_families(f, &px_table, st);
	render_histogram(f, &px_table, st);
	render_unknown(f, "tagshake_proxy", st, &px_table);
}

void ts_mx_render(FILE *f, const struct ts_mx_snapshot *snap)
{
	render_bpf(f, snap);
	render_hs(f, &snap->hs);
	render_px(f, &snap->px);
}
