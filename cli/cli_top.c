// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `tagshake top`: a live curses view of the same counters `tagshake
 * metrics` exports, with per-second rates between two refreshes. */
#include <curses.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "metrics.h"
#include "names.h"
#include "opts.h"
#include "ts_counters.h"

static const char top_help[] =
	"usage: tagshake top [--pin-dir DIR] [--handshaker-status FILE] [--proxy-status FILE]\n"
	"                    [--log FILE] [--interval SECONDS]\n"
	"\n"
	"Shows the tagger's, tagshaked's and tagshake-proxy's counters with their\n"
	"rates per second, refreshed every --interval (default 1, 1-60 s): decisions\n"
	"and tags per policy action, handshakes, CertificateRequests, rejects, tag\n"
	"disagreements, hand-offs and proxy closes. With --log FILE (the stderr of\n"
	"tagshaked --log-connections) also connections per SNI since top started:\n"
	"totals, rates, ok, failed, rejected. Keys: q quits, r refreshes now.\n";

/* Column where the numbers start, and their width. */
#define TOP_LABEL_W 30
#define TOP_NUM_W 12
/* --interval at most (seconds): a slower refresh is no longer "top" */
#define TOP_INTERVAL_MAX_S 60

/* Per-SNI figures come from tagshaked's connection log (--log-connections),
 * the one place that names the SNI of every connection. */
#define TOP_SNI_MAX 64   /* distinct SNIs kept; later ones count as "(other)" */
#define TOP_SNI_SHOWN 10 /* rows on screen, busiest first */

struct sni_row {
	char name[TS_NAME_SIZE];
	uint64_t total, prev, ok, failed, reject;
};

struct sni_log {
	FILE *f;
	const char *path;
	long offset;
	struct sni_row rows[TOP_SNI_MAX + 1]; /* the last one is "(other)" */
	int n;
};

struct top {
	struct sni_log log;
	struct ts_mx_snapshot prev, cur;
	double dt; /* seconds between prev and cur; 0 on the first frame */
	int y;     /* next row */
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Writes one line if it fits: rows beyond the window are dropped. */
static void line(struct top *t, int attr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void line(struct top *t, int attr, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (t->y >= LINES) {
		t->y++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	attron(attr);
	mvaddnstr(t->y++, 0, buf, COLS);
	attroff(attr);
}

static void rate_row(struct top *t, const char *label, uint64_t prev, uint64_t cur)
{
	double rate = t->dt > 0 && cur >= prev ? (double)(cur - prev) / t->dt : 0;

	line(t, 0, "  %-*s %*llu %*.1f", TOP_LABEL_W - 2, label, TOP_NUM_W, (unsigned long long)cur,
	     TOP_NUM_W, rate);
}

static void gauge_row(struct top *t, const char *label, uint64_t v)
{
	line(t, 0, "  %-*s %*llu", TOP_LABEL_W - 2, label, TOP_NUM_W, (unsigned long long)v);
}

static void section(struct top *t, const char *title, bool up)
{
	t->y++;
	line(t, A_BOLD, "%-*s %*s %*s%s", TOP_LABEL_W, title, TOP_NUM_W, "total", TOP_NUM_W, "/s",
	     up ? "" : "   (not running)");
}

static void hs_row(struct top *t, const char *label, const char *key)
{
	rate_row(t, label, ts_mx_get(&t->prev.hs, key), ts_mx_get(&t->cur.hs, key));
}

static void px_row(struct top *t, const char *label, const char *key)
{
	rate_row(t, label, ts_mx_get(&t->prev.px, key), ts_mx_get(&t->cur.px, key));
}

/* A daemon's status line and the label top gives it (NULL: not shown),
 * from the counter lists in ts_counters.h. */
struct top_row {
	const char *key, *label;
	int family;
};

#define TOP_FAMILY_HS(id, name, type, help) TOP_HS_##id,
#define TOP_FAMILY_PX(id, name, type, help) TOP_PX_##id,
enum { TS_HS_FAMILIES(TOP_FAMILY_HS) TOP_HS_NONE };
enum { TS_PX_FAMILIES(TOP_FAMILY_PX) TOP_PX_NONE };
#define TOP_ROW_HS(id, name, fam, labels, top) { name, top, TOP_HS_##fam },
#define TOP_ROW_PX(id, name, fam, labels, top) { name, top, TOP_PX_##fam },
static const struct top_row hs_counters[] = { TS_HS_COUNTERS(TOP_ROW_HS) };
static const struct top_row hs_gauges[] = { TS_HS_GAUGES(TOP_ROW_HS) };
static const struct top_row px_counters[] = { TS_PX_COUNTERS(TOP_ROW_PX) };
#define TOP_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void draw_policies(struct top *t)
{
	const char *decide[TS_ACTION_COUNT] = { NULL };
	unsigned n = 0;
	char label[64];

	/* the decisions family's rows, one per action in enum ts_action order */
	for (size_t i = 0; i < TOP_LEN(hs_counters) && n < TS_ACTION_COUNT; i++)
		if (hs_counters[i].family == TOP_HS_DECISIONS)
			decide[n++] = hs_counters[i].key;
	t->y++;
	line(t, A_BOLD, "%-*s %*s %*s %*s %*s", TOP_LABEL_W, "POLICY ACTION", TOP_NUM_W,
	     "decided", TOP_NUM_W, "/s", TOP_NUM_W, "tagged", TOP_NUM_W, "/s");
	for (unsigned a = 0; a < TS_ACTION_COUNT; a++) {
		uint64_t d0 = ts_mx_get(&t->prev.hs, decide[a]), d1 = ts_mx_get(&t->cur.hs, decide[a]);
		uint64_t g0 = t->prev.bpf[TS_CTR_ACTION + a], g1 = t->cur.bpf[TS_CTR_ACTION + a];
		double dr = t->dt > 0 && d1 >= d0 ? (double)(d1 - d0) / t->dt : 0;
		double gr = t->dt > 0 && g1 >= g0 ? (double)(g1 - g0) / t->dt : 0;

		snprintf(label, sizeof(label), "%s", ts_action_name(a));
		line(t, 0, "  %-*s %*llu %*.1f %*llu %*.1f", TOP_LABEL_W - 2, label, TOP_NUM_W,
		     (unsigned long long)d1, TOP_NUM_W, dr, TOP_NUM_W, (unsigned long long)g1,
		     TOP_NUM_W, gr);
	}
}

static void draw_tagger(struct top *t)
{
	char label[64];

	section(t, "TAGGER", t->cur.tagger);
	for (unsigned s = TS_STATUS_OK; s < TS_STATUS_COUNT; s++) {
		snprintf(label, sizeof(label), "tags %s", ts_status_name(s));
		rate_row(t, label, t->prev.bpf[TS_CTR_STATUS + s], t->cur.bpf[TS_CTR_STATUS + s]);
	}
	rate_row(t, "segments", t->prev.bpf[TS_CTR_SEGMENTS], t->cur.bpf[TS_CTR_SEGMENTS]);
}

static void draw_handshaker(struct top *t)
{
	section(t, "HANDSHAKER", t->cur.hs.present);
	for (size_t i = 0; i < TOP_LEN(hs_counters); i++)
		if (hs_counters[i].label)
			hs_row(t, hs_counters[i].label, hs_counters[i].key);
	for (size_t i = 0; i < TOP_LEN(hs_gauges); i++)
		if (hs_gauges[i].label)
			gauge_row(t, hs_gauges[i].label, ts_mx_get(&t->cur.hs, hs_gauges[i].key));
}

static void draw_proxy(struct top *t)
{
	section(t, "PROXY", t->cur.px.present);
	for (size_t i = 0; i < TOP_LEN(px_counters); i++) {
		const struct top_row *r = &px_counters[i];

		/* close reasons that happened at least once, the rest is noise */
		if (r->family == TOP_PX_CLOSES && ts_mx_get(&t->cur.px, r->key))
			px_row(t, r->key, r->key);
		else if (r->label)
			px_row(t, r->label, r->key);
	}
}

/* The value of " KEY=" in a logfmt line, unquoted, into out. */
static void logfmt_value(const char *line, const char *key, char *out, size_t len)
{
	char pat[32];
	const char *p;
	size_t n;

	snprintf(pat, sizeof(pat), " %s=", key);
	out[0] = '\0';
	p = strstr(line, pat);
	if (!p)
		return;
	p += strlen(pat);
	if (*p == '"') {
		p++;
		n = strcspn(p, "\"");
	} else {
		n = strcspn(p, " \n");
	}
	if (n >= len)
		n = len - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

static struct sni_row *sni_find(struct sni_log *l, const char *name)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->rows[i].name, name))
			return &l->rows[i];
	if (l->n == TOP_SNI_MAX) {
		snprintf(l->rows[TOP_SNI_MAX].name, TS_NAME_SIZE, "(other)");
		return &l->rows[TOP_SNI_MAX];
	}
	snprintf(l->rows[l->n].name, TS_NAME_SIZE, "%s", *name ? name : "(no SNI)");
	return &l->rows[l->n++];
}

/* Reads the lines appended since the last call; starts from the end of the
 * file (counts are since top started) and again from 0 after a rotation. */
static void sni_read(struct sni_log *l)
{
	char line[4096], sni[TS_NAME_SIZE], result[32];
	long size;

	for (int i = 0; i <= TOP_SNI_MAX; i++)
		l->rows[i].prev = l->rows[i].total;
	if (!l->path)
		return;
	if (!l->f) {
		l->f = fopen(l->path, "r");
		if (!l->f)
			return;
		fseek(l->f, 0, SEEK_END);
		l->offset = ftell(l->f);
	}
	fseek(l->f, 0, SEEK_END);
	size = ftell(l->f);
	if (size < l->offset)
		l->offset = 0; /* truncated or replaced */
	fseek(l->f, l->offset, SEEK_SET);
	while (fgets(line, sizeof(line), l->f)) {
		struct sni_row *r;

		if (!strchr(line, '\n'))
			break; /* a line still being written: read it next time */
		l->offset = ftell(l->f);
		if (!strstr(line, " msg=conn "))
			continue;
		logfmt_value(line, "sni", sni, sizeof(sni));
		logfmt_value(line, "result", result, sizeof(result));
		r = sni_find(l, sni);
		r->total++;
		if (!strcmp(result, "ok"))
			r->ok++;
		else if (!strcmp(result, "reject"))
			r->reject++;
		else
			r->failed++;
	}
	clearerr(l->f);
}

static int sni_busiest(const void *a, const void *b)
{
	const struct sni_row *x = *(const struct sni_row *const *)a;
	const struct sni_row *y = *(const struct sni_row *const *)b;
	uint64_t dx = x->total - x->prev, dy = y->total - y->prev;

	if (dx != dy)
		return dx < dy ? 1 : -1;
	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	return strcmp(x->name, y->name);
}

static void draw_snis(struct top *t)
{
	struct sni_row *order[TOP_SNI_MAX + 1];
	int n = 0;

	if (!t->log.path)
		return;
	for (int i = 0; i < t->log.n; i++)
		order[n++] = &t->log.rows[i];
	if (t->log.rows[TOP_SNI_MAX].total)
		order[n++] = &t->log.rows[TOP_SNI_MAX];
	qsort(order, (size_t)n, sizeof(order[0]), sni_busiest);
	t->y++;
	line(t, A_BOLD, "%-*s %*s %*s %*s %*s %*s", TOP_LABEL_W, "SNI (since top started)", TOP_NUM_W,
	     "conns", TOP_NUM_W, "/s", TOP_NUM_W, "ok", TOP_NUM_W, "failed", TOP_NUM_W, "rejected");
	for (int i = 0; i < n && i < TOP_SNI_SHOWN; i++) {
		const struct sni_row *r = order[i];

		line(t, 0, "  %-*.*s %*llu %*.1f %*llu %*llu %*llu", TOP_LABEL_W - 2, TOP_LABEL_W - 2,
		     r->name, TOP_NUM_W, (unsigned long long)r->total, TOP_NUM_W,
		     t->dt > 0 ? (double)(r->total - r->prev) / t->dt : 0.0, TOP_NUM_W,
		     (unsigned long long)r->ok, TOP_NUM_W, (unsigned long long)r->failed, TOP_NUM_W,
		     (unsigned long long)r->reject);
	}
}

static void draw(struct top *t, double interval)
{
	time_t now = time(NULL);
	char clock[16];
	const char *mode = ts_mx_text(&t->cur.hs, "mode");

	strftime(clock, sizeof(clock), "%H:%M:%S", localtime(&now));
	erase();
	t->y = 0;
	line(t, A_REVERSE, "tagshake top  %s  mode %s  every %.0f s  (q quits)%*s", clock,
	     *mode ? mode : "?", interval, COLS, "");
	draw_policies(t);
	draw_snis(t);
	draw_handshaker(t);
	draw_tagger(t);
	draw_proxy(t);
	if (t->y > LINES && LINES > 0) {
		move(LINES - 1, 0);
		clrtoeol();
		addnstr("... (enlarge the window for more)", COLS);
	}
	refresh();
}

static int run(const struct ts_mx_sources *src, const char *log_path, double interval)
{
	static struct top t; /* large (the SNI table): not on the stack */
	double last;
	int ch;

	ts_mx_read(src, &t.cur);
	t.prev = t.cur;
	t.log.path = log_path;
	sni_read(&t.log);
	last = now_s();
	setlocale(LC_ALL, "");
	if (!initscr())
		return ts_fail("cannot initialise the terminal");
	cbreak();
	noecho();
	curs_set(0);
	keypad(stdscr, TRUE);
	timeout(100);
	draw(&t, interval);
	for (;;) {
		ch = getch();
		if (ch == 'q' || ch == 'Q')
			break;
		if (ch == KEY_RESIZE) {
			clear(); /* new LINES/COLS: redraw everything */
			draw(&t, interval);
			continue;
		}
		if (ch != 'r' && now_s() - last < interval)
			continue;
		t.prev = t.cur;
		ts_mx_read(src, &t.cur);
		sni_read(&t.log);
		t.dt = now_s() - last;
		last = now_s();
		draw(&t, interval);
	}
	endwin();
	if (t.log.f)
		fclose(t.log.f);
	return 0;
}

int ts_cmd_top(int argc, char **argv)
{
	struct ts_mx_sources src = { 0 };
	const char *dir = NULL, *log_path = NULL;
	long interval = 1;
	bool help = false;
	const struct ts_opt opts[] = {
		TS_OPT_S("pin-dir", 0, &dir),
		TS_OPT_S("handshaker-status", 0, &src.hs_status),
		TS_OPT_S("proxy-status", 0, &src.px_status),
		TS_OPT_N("interval", 0, &interval, 1, TOP_INTERVAL_MAX_S),
		TS_OPT_S("log", 0, &log_path),
		TS_OPT_F("help", 0, &help),
		TS_OPT_END,
	};
	char err[128];
	int first = ts_opts_parse(argc, argv, opts, err, sizeof(err));

	if (first < 0)
		return err[0] ? ts_usage_error("%s", err) : TS_EXIT_USAGE;
	if (help)
		return fputs(top_help, stdout), 0;
	if (first < argc)
		return ts_usage_error("unexpected argument '%s'", argv[first]);
	src.pin_dir = ts_cli_pin_dir(dir);
	return run(&src, log_path, (double)interval);
}
