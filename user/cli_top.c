// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `tagshake top`: a live curses view of the same counters `tagshake
 * metrics` exports, with per-second rates between two refreshes. */
#include <curses.h>
#include <getopt.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "config.h"
#include "metrics.h"
#include "names.h"

static const char top_help[] =
	"usage: tagshake top [--pin-dir DIR] [--handshaker-status FILE] [--proxy-status FILE]\n"
	"                    [--interval SECONDS]\n"
	"\n"
	"Shows the tagger's, tagshaked's and tagshake-proxy's counters with their\n"
	"rates per second, refreshed every --interval (default 1, 1-60 s): decisions\n"
	"and tags per policy action, handshakes, CertificateRequests, rejects, tag\n"
	"disagreements, hand-offs and proxy closes. Keys: q quits, r refreshes now.\n";

/* Column where the numbers start, and their width. */
#define TOP_LABEL_W 30
#define TOP_NUM_W 12

struct top {
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

static void draw_policies(struct top *t)
{
	static const char *const decide[TS_ACTION_COUNT] = { "decide_none", "decide_optional",
							     "decide_require", "decide_reject" };
	char label[64];

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
	hs_row(t, "accepted", "accepted");
	hs_row(t, "handshakes ok", "handshakes");
	hs_row(t, "handshakes failed", "handshake_failed");
	hs_row(t, "handshakes timed out", "handshake_timeout");
	hs_row(t, "CertificateRequests sent", "cert_requests");
	hs_row(t, "client certificates", "client_certs");
	hs_row(t, "rejects on the tag", "reject_tag");
	hs_row(t, "rejects in ClientHello", "reject_policy");
	hs_row(t, "tag agree", "tag_agree");
	hs_row(t, "tag disagree", "tag_disagree");
	hs_row(t, "tag missing", "tag_missing");
	hs_row(t, "tag pending", "tag_pending");
	hs_row(t, "hand-offs ok", "handoff_ok");
	hs_row(t, "hand-offs failed", "handoff_error");
	gauge_row(t, "handshakes in flight", ts_mx_get(&t->cur.hs, "inflight"));
	gauge_row(t, "relays open", ts_mx_get(&t->cur.hs, "relays_open"));
}

static void draw_proxy(struct top *t)
{
	section(t, "PROXY", t->cur.px.present);
	px_row(t, "hand-offs received", "handoffs");
	px_row(t, "bytes up", "bytes_up");
	px_row(t, "bytes down", "bytes_down");
	px_row(t, "http requests", "http_requests");
	for (int i = 0; i < t->cur.px.n; i++) {
		const char *k = t->cur.px.kv[i].name;

		/* close reasons that happened at least once, the rest is noise */
		if (!strncmp(k, "close_", 6) && ts_mx_get(&t->cur.px, k))
			px_row(t, k, k);
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

static int run(const struct ts_mx_sources *src, double interval)
{
	struct top t = { 0 };
	double last;
	int ch;

	ts_mx_read(src, &t.cur);
	t.prev = t.cur;
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
		t.dt = now_s() - last;
		last = now_s();
		draw(&t, interval);
	}
	endwin();
	return 0;
}

int ts_cmd_top(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pin-dir", required_argument, NULL, 'd' },
		{ "handshaker-status", required_argument, NULL, 'H' },
		{ "proxy-status", required_argument, NULL, 'P' },
		{ "interval", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct ts_mx_sources src = { 0 };
	const char *dir = NULL;
	long interval = 1;
	int c;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'H': src.hs_status = optarg; break;
		case 'P': src.px_status = optarg; break;
		case 'i':
			interval = ts_cli_number(optarg, 1, 60);
			if (interval < 0)
				return ts_usage_error("invalid interval '%s' (1-60)", optarg);
			break;
		case 'h': return fputs(top_help, stdout), 0;
		default: return TS_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return ts_usage_error("unexpected argument '%s'", argv[optind]);
	src.pin_dir = ts_cli_pin_dir(dir);
	return run(&src, (double)interval);
}
