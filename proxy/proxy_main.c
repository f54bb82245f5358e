// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tagshake-proxy: receives connections handed off by tagshaked and forwards
 * their plaintext to each route's upstream with the TLS metadata (PROXY v2,
 * HTTP headers, or nothing). The main thread loads the configuration,
 * starts the workers and runs its own event loop (lib/ev.h) for signals and
 * the status file: SIGHUP loads the configuration
 * again as a new generation (proxy_gen.h), SIGUSR1 prints the counters,
 * SIGTERM drains (no new hand-offs, open connections finish), SIGINT or a
 * second SIGTERM stops at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cert_headers.h"
#include "fd_limit.h"
#include "log.h"
#include "proxy_connlog.h"
#include "notify.h"
#include "opts.h"
#include "proxy.h"

/* Pending handshaker connections on the hand-off socket. */
#define PX_HANDOFF_BACKLOG 128
#define PX_WORKERS_MAX 256
/* Status header: pid and policy generation lines. */
#define PX_STATUS_HEADER 128

/* The main thread's loop: signals, the status file, and a wake from each
 * worker that ends. */
static struct ev_loop main_loop;
static int workers_done;
/* Default bound on a drain: long enough for requests in flight. */
#define PX_DRAIN_TIMEOUT_MS 30000
/* How often the status file is rewritten. */
#define PX_STATUS_MS 1000
/* The main loop's one descriptor besides its wake: the signalfd. */
#define PX_MAIN_SIGNALS 0

static void usage(FILE *f)
{
	fputs("usage: tagshake-proxy --config FILE [--workers N] [--connect-timeout MS]\n"
	      "                      [--idle-timeout MS] [--drain-timeout MS] [--no-splice]\n"
	      "                      [--status FILE]\n"
	      "Receives TLS connections handed off by tagshaked on the configuration's\n"
	      "handoff.socket and forwards their plaintext to each route's upstream, with the\n"
	      "TLS metadata as the route's mode says: proxy-v2 (PROXY v2 header + the\n"
	      "hand-off TLVs), http (client-certificate request headers: kong, xfcc,\n"
	      "rfc9440) or raw.\n"
	      "  --config FILE         the tagshake YAML configuration (required)\n"
	      "  --workers N           worker threads, one epoll loop each (default: CPUs)\n"
	      "  --connect-timeout MS  upstream connect timeout (default 5000)\n"
	      "  --idle-timeout MS     close after MS without traffic (default: the\n"
	      "                        configuration's idle_timeout_ms)\n"
	      "  --drain-timeout MS    longest drain after SIGTERM (default 30000)\n"
	      "  --no-splice           copy with read/write instead of splice\n"
	      "  --status FILE         rewrite FILE every second with the counters, one\n"
	      "                        \"name value\" per line (for tagshake metrics/top)\n"
	      "  --list-counters       print those counter names and exit\n"
	      "Signals: SIGHUP loads the configuration again: hand-offs decided with the\n"
	      "new policy generation get its routes, those of the previous one keep theirs,\n"
	      "older ones are refused (close_stale); a file that does not load changes\n"
	      "nothing. SIGUSR1 prints the counters on stderr. SIGTERM drains: the hand-off\n"
	      "socket goes away (handshakers reconnect to the next proxy), hand-offs already\n"
	      "queued are taken, open connections finish; SIGINT or a second SIGTERM stops\n"
	      "at once. The counters are printed at exit.\n",
	      f);
}

static void *worker_main(void *arg)
{
	struct px_worker *w = arg;
	int rc = px_worker_run(w);

	if (rc < 0)
		ts_log(TS_LOG_ERROR, "worker %d: %s", w->id, strerror(-rc));
	__atomic_fetch_add(&workers_done, 1, __ATOMIC_RELEASE);
	ev_wake(&main_loop);
	return NULL;
}

struct options {
	const char *config;
	long workers;
	long connect_ms, idle_ms, drain_ms;
	bool no_splice;
	const char *status; /* counters file, or NULL */
	bool list_counters, help;
};

static int parse_args(int argc, char **argv, struct options *o)
{
	const struct ts_opt opts[] = {
		TS_OPT_S("config", 'c', &o->config),
		TS_OPT_N("workers", 'w', &o->workers, 0, PX_WORKERS_MAX),
		TS_OPT_N("connect-timeout", 0, &o->connect_ms, 0, UINT_MAX),
		TS_OPT_N("idle-timeout", 0, &o->idle_ms, 0, UINT_MAX),
		TS_OPT_N("drain-timeout", 0, &o->drain_ms, 0, UINT_MAX),
		TS_OPT_F("no-splice", 0, &o->no_splice),
		TS_OPT_S("status", 0, &o->status),
		TS_OPT_F("list-counters", 0, &o->list_counters),
		TS_OPT_F("help", 'h', &o->help),
		TS_OPT_END,
	};
	char err[128];
	int first;

	*o = (struct options){ .connect_ms = PX_CONNECT_TIMEOUT_MS, .drain_ms = PX_DRAIN_TIMEOUT_MS };
	first = ts_opts_parse(argc, argv, opts, err, sizeof(err));
	if (first < 0 && err[0])
		fprintf(stderr, "tagshake-proxy: %s\n", err);
	if (o->list_counters) {
		px_stats_list(stdout);
		exit(0);
	}
	if (o->help) {
		usage(stdout);
		exit(0);
	}
	if (first != argc || !o->config)
		return -EINVAL;
	if (o->workers == 0)
		o->workers = sysconf(_SC_NPROCESSORS_ONLN);
	return 0;
}

/* The socket file, if it is still ours: a proxy started meanwhile has
 * replaced it with its own, which must stay. */
static void unlink_own(const char *path, const struct stat *own)
{
	struct stat now;

	if (stat(path, &now) == 0 && now.st_ino == own->st_ino && now.st_dev == own->st_dev)
		unlink(path);
}

/* The status file: pid and current policy generation, then the counters. */
static void write_status(const char *status, struct px_gens *gens, struct px_stats **stats, int n)
{
	char header[PX_STATUS_HEADER];

	if (!status)
		return;
	pthread_mutex_lock(&gens->lock);
	snprintf(header, sizeof(header), "pid %d\npolicy_generation %016llx\n", (int)getpid(),
		 (unsigned long long)gens->cur->cfg->generation);
	pthread_mutex_unlock(&gens->lock);
	if (px_stats_write(status, header, stats, n) < 0)
		ts_log(TS_LOG_WARN, "status %s: %s", status, strerror(errno));
}

/* SIGHUP: a new generation, all or nothing; connections keep theirs. */
static void reload(const char *path, struct px_gens *gens)
{
	char err[TS_CFG_ERR_SIZE];
	struct px_gen *g = px_gen_load(path, err, sizeof(err));

	if (!g) {
		ts_log(TS_LOG_ERROR, "reload failed, keeping the configuration: %s", err);
		return;
	}
	if (strcmp(g->cfg->handoff_path, gens->cur->cfg->handoff_path))
		ts_log(TS_LOG_WARN, "handoff.socket changes need a restart");
	ts_log_set_level(g->cfg->log_level);
	__atomic_store_n(&px_connlog_enabled, g->cfg->log_connections, __ATOMIC_RELAXED);
	ts_log(TS_LOG_INFO, "loaded policy generation %016llx from %s, %d routes",
	       (unsigned long long)g->cfg->generation, path, g->cfg->nroutes);
	px_gens_install(gens, g);
}

struct signal_ctx {
	struct px_worker *ws;
	struct px_stats **stats;
	int n;
	const char *path; /* the hand-off socket */
	const struct stat *own;
	const char *status;
	const char *config;
	struct px_gens *gens;
	struct ev_io signals;   /* signalfd: SIGTERM, SIGINT, SIGUSR1, SIGHUP */
	struct ev_timer status_timer;
	enum px_run run;        /* what the workers were asked last */
};

static void tell_workers(struct signal_ctx *x, enum px_run run)
{
	x->run = run;
	for (int i = 0; i < x->n; i++)
		ev_stop(&x->ws[i].loop, run);
}

static void on_signal(struct signal_ctx *x, int sig)
{
	if (sig == SIGUSR1) {
		px_stats_print(stderr, x->stats, x->n);
	} else if (sig == SIGHUP) {
		ts_notify("RELOADING=1");
		reload(x->config, x->gens);
		/* the status names the generation now served: `tagshake
		 * reload` waits for it */
		write_status(x->status, x->gens, x->stats, x->n);
		ts_notify("READY=1");
	} else if (sig == SIGTERM && x->run == PX_RUN) {
		ts_log(TS_LOG_INFO, "draining");
		ts_notify("STOPPING=1");
		unlink_own(x->path, x->own);
		tell_workers(x, PX_DRAIN);
	} else if (sig == SIGTERM || sig == SIGINT) {
		ts_notify("STOPPING=1");
		tell_workers(x, PX_STOP);
	}
}

static void on_signals(struct ev_loop *l, struct ev_io *io, uint32_t events, void *arg)
{
	struct signal_ctx *x = arg;
	int sig;

	(void)l, (void)events;
	if (io->kind != PX_MAIN_SIGNALS)
		return; /* a worker ended: serve_signals counts them */
	while ((sig = ev_signal_next(io)) > 0)
		on_signal(x, sig);
	ts_log_flush();
}

static void status_due(struct ev_timer *t, void *arg)
{
	struct signal_ctx *x = arg;

	write_status(x->status, x->gens, x->stats, x->n);
	ts_log_flush();
	ev_timer_again(&main_loop, t, PX_STATUS_MS);
}

/* Serves signals on the main thread (the workers block them all) until the
 * workers are done. */
static void serve_signals(struct signal_ctx *x)
{
	ev_timer_init(&x->status_timer, status_due, x);
	ev_timer_at(&main_loop, &x->status_timer, ts_now_ms() + PX_STATUS_MS);
	while (__atomic_load_n(&workers_done, __ATOMIC_ACQUIRE) < x->n) {
		int err = ev_wait(&main_loop, on_signals, x);

		if (err < 0) {
			ts_log(TS_LOG_ERROR, "main loop: %s", strerror(-err));
			tell_workers(x, PX_STOP);
			break;
		}
		ev_expire(&main_loop);
	}
	ev_timer_stop(&x->status_timer);
}

int main(int argc, char **argv)
{
	struct options o;
	struct px_gens gens;
	char err[TS_CFG_ERR_SIZE];
	sigset_t all;

	ts_log_init("tagshake-proxy");
	if (parse_args(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	struct px_gen *first = px_gen_load(o.config, err, sizeof(err));
	if (!first) {
		ts_log(TS_LOG_ERROR, "%s", err);
		return 1;
	}
	const struct ts_config *cfg = first->cfg; /* start-time settings only */
	px_gens_init(&gens, first);
	ts_log_set_level(cfg->log_level);
	px_connlog_enabled = cfg->log_connections;
	struct px_settings set = {
		.gens = &gens,
		.connect_timeout_ms = (unsigned)o.connect_ms,
		.idle_timeout_ms = o.idle_ms ? (unsigned)o.idle_ms : cfg->idle_timeout_ms,
		.drain_timeout_ms = (unsigned)o.drain_ms,
		.splice = !o.no_splice,
	};
	/* the socket and its path stay those of the start */
	char handoff_path[sizeof(cfg->handoff_path)];
	snprintf(handoff_path, sizeof(handoff_path), "%s", cfg->handoff_path);
	int lfd = ts_handoff_listen(handoff_path, PX_HANDOFF_BACKLOG);
	if (lfd < 0) {
		ts_log(TS_LOG_ERROR, "listen on %s: %s", handoff_path, strerror(-lfd));
		return 1;
	}
	/* every worker is woken for a new link, one gets it: accept4 must not
	 * block the others */
	fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
	struct stat own;
	if (stat(handoff_path, &own) < 0) {
		ts_log(TS_LOG_ERROR, "%s: %s", handoff_path, strerror(errno));
		return 1;
	}
	/* A connection holds two fds (its sockets) and two more per pipe while a
	 * bulk transfer is in flight: the usual soft limit of 1024 would cap the
	 * proxy near 500 connections. */
	ts_raise_fd_limit();
	/* splice(2) into a socket the peer closed raises SIGPIPE: EPIPE is enough */
	signal(SIGPIPE, SIG_IGN);
	sigfillset(&all);
	sigdelset(&all, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	struct signal_ctx sx = { .n = o.workers, .path = handoff_path, .own = &own,
				 .status = o.status, .config = o.config, .gens = &gens };
	sigset_t handled;
	sigemptyset(&handled);
	sigaddset(&handled, SIGTERM);
	sigaddset(&handled, SIGINT);
	sigaddset(&handled, SIGUSR1);
	sigaddset(&handled, SIGHUP);
	int rc = ev_loop_init(&main_loop);
	if (!rc)
		rc = ev_signal_open(&main_loop, &sx.signals, &handled, PX_MAIN_SIGNALS);
	if (rc) {
		ts_log(TS_LOG_ERROR, "event loop: %s", strerror(-rc));
		return 1;
	}
	struct px_worker *ws = calloc((size_t)o.workers, sizeof(*ws));
	struct px_stats **stats = calloc((size_t)o.workers, sizeof(*stats));
	pthread_t *tids = calloc((size_t)o.workers, sizeof(*tids));
	if (!ws || !stats || !tids)
		return 1;
	sx.ws = ws;
	sx.stats = stats;
	for (int i = 0; i < o.workers; i++) {
		ws[i] = (struct px_worker){ .id = i, .set = &set };
		ws[i].listen = (struct ev_io){ .kind = PX_EP_LISTEN, .fd = lfd };
		stats[i] = &ws[i].stats;
		rc = px_worker_init(&ws[i]);
		if (rc) {
			ts_log(TS_LOG_ERROR, "worker %d: %s", i, strerror(-rc));
			return 1;
		}
		if (pthread_create(&tids[i], NULL, worker_main, &ws[i])) {
			ts_log(TS_LOG_ERROR, "cannot start worker %d", i);
			return 1;
		}
	}
	ts_log(TS_LOG_INFO, "%ld workers on %s, %d routes, %s, policy generation %016llx", o.workers,
	       handoff_path, cfg->nroutes, o.no_splice ? "copy" : "splice",
	       (unsigned long long)cfg->generation);
	cfg = NULL; /* a reload may free it */
	/* the hand-off socket listens and the workers run */
	ts_notify("READY=1");
	write_status(o.status, &gens, stats, o.workers);
	serve_signals(&sx);
	for (int i = 0; i < o.workers; i++) {
		pthread_join(tids[i], NULL);
		ev_loop_close(&ws[i].loop);
	}
	px_stats_print(stderr, stats, o.workers);
	write_status(o.status, &gens, stats, o.workers);
	close(lfd);
	unlink_own(handoff_path, &own);
	close(sx.signals.fd);
	ev_loop_close(&main_loop);
	px_gens_free(&gens);
	free(ws);
	free(stats);
	free(tids);
	return 0;
}
