// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tagshake-proxy: receives connections handed off by tagshaked and forwards
 * their plaintext to each route's upstream with the TLS metadata (PROXY v2,
 * HTTP headers, or nothing). The main thread loads the configuration,
 * starts the workers and handles signals: SIGUSR1 prints the counters,
 * SIGTERM drains (no new hand-offs, open connections finish), SIGINT or a
 * second SIGTERM stops at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cert_headers.h"
#include "log.h"
#include "proxy_connlog.h"
#include "notify.h"
#include "proxy.h"

/* Pending handshaker connections on the hand-off socket. */
#define PX_HANDOFF_BACKLOG 128
#define PX_WORKERS_MAX 256
/* Names one ts_cert_header_names() call gives: five Kong, the verify
 * status, XFCC, two RFC 9440. */
#define PX_STRIP_PER_CALL 9

static int run_state; /* enum px_run */
static int workers_done;
/* Default bound on a drain: long enough for requests in flight. */
#define PX_DRAIN_TIMEOUT_MS 30000
/* How often the main thread checks whether the workers finished draining. */
#define PX_SIGNAL_POLL_MS 100
/* How often the status file is rewritten. */
#define PX_STATUS_MS 1000

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
	      "Signals: SIGUSR1 prints the counters on stderr. SIGTERM drains: the hand-off\n"
	      "socket goes away (handshakers reconnect to the next proxy), hand-offs already\n"
	      "queued are taken, open connections finish; SIGINT or a second SIGTERM stops\n"
	      "at once. The counters are printed at exit.\n",
	      f);
}

/* Every name any route may set, lowercase, once each; NULL-terminated. */
struct strip_list {
	char **names;
	int n, cap;
	int err;
};

static void add_strip(void *ctx, const char *name)
{
	struct strip_list *s = ctx;

	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->names[i], name))
			return;
	if (s->n == s->cap) {
		s->err = -ENOSPC; /* cap counts every call: cannot happen */
		return;
	}
	s->names[s->n] = strdup(name);
	if (!s->names[s->n])
		s->err = -ENOMEM;
	else
		s->n++;
}

/* Client copies of the certificate headers are removed on every http route,
 * whatever its style: all styles' default names and each route's own Kong
 * names, so no route's upstream can be handed a forged identity. */
static int strip_list_build(const struct ts_config *cfg, struct strip_list *s)
{
	s->cap = PX_STRIP_PER_CALL * (cfg->nroutes + 1);
	s->names = calloc((size_t)s->cap + 1, sizeof(*s->names));
	if (!s->names)
		return -ENOMEM;
	ts_cert_header_names(NULL, add_strip, s);
	for (int i = 0; i < cfg->nroutes; i++) {
		struct ts_kong_names k;

		ts_kong_names_of(&cfg->routes[i], &k);
		ts_cert_header_names(&k, add_strip, s);
	}
	return s->err;
}

static void strip_list_free(struct strip_list *s)
{
	for (int i = 0; i < s->n; i++)
		free(s->names[i]);
	free(s->names);
}

static void *worker_main(void *arg)
{
	struct px_worker *w = arg;
	int rc = px_worker_run(w);

	if (rc < 0)
		ts_log(TS_LOG_ERROR, "worker %d: %s", w->id, strerror(-rc));
	__atomic_fetch_add(&workers_done, 1, __ATOMIC_RELAXED);
	return NULL;
}

struct options {
	const char *config;
	int workers;
	unsigned connect_ms, idle_ms, drain_ms;
	bool splice;
	const char *status; /* counters file, or NULL */
};

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "workers", required_argument, NULL, 'w' },
		{ "connect-timeout", required_argument, NULL, 'T' },
		{ "idle-timeout", required_argument, NULL, 'I' },
		{ "drain-timeout", required_argument, NULL, 'D' },
		{ "no-splice", no_argument, NULL, 'S' },
		{ "status", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int opt;

	*o = (struct options){ .connect_ms = PX_CONNECT_TIMEOUT_MS, .drain_ms = PX_DRAIN_TIMEOUT_MS,
			       .splice = true };
	while ((opt = getopt_long(argc, argv, "c:w:h", longs, NULL)) != -1) {
		switch (opt) {
		case 'c': o->config = optarg; break;
		case 'w': o->workers = atoi(optarg); break;
		case 'T': o->connect_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'I': o->idle_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'D': o->drain_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'S': o->splice = false; break;
		case 's': o->status = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: return -EINVAL;
		}
	}
	if (!o->config || optind != argc || o->workers < 0 || o->workers > PX_WORKERS_MAX)
		return -EINVAL;
	if (o->workers == 0)
		o->workers = (int)sysconf(_SC_NPROCESSORS_ONLN);
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

/* Waits for signals on the main thread (the workers block them all) until
 * the workers are done. */
static void serve_signals(struct px_stats **stats, int n, const char *path,
			  const struct stat *own, const char *status)
{
	const struct timespec tick = { .tv_nsec = PX_SIGNAL_POLL_MS * 1000000L };
	sigset_t set;
	int sig, ticks = 0;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	while (__atomic_load_n(&workers_done, __ATOMIC_RELAXED) < n) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (status && ++ticks * PX_SIGNAL_POLL_MS >= PX_STATUS_MS) {
			ticks = 0;
			px_stats_write(status, stats, n);
		}
		ts_log_flush();
		if (sig == SIGUSR1) {
			px_stats_print(stderr, stats, n);
		} else if (sig == SIGTERM && run_state == PX_RUN) {
			ts_log(TS_LOG_INFO, "draining");
			ts_notify("STOPPING=1");
			unlink_own(path, own);
			__atomic_store_n(&run_state, PX_DRAIN, __ATOMIC_RELAXED);
		} else if (sig == SIGTERM || sig == SIGINT) {
			ts_notify("STOPPING=1");
			__atomic_store_n(&run_state, PX_STOP, __ATOMIC_RELAXED);
		}
	}
}

/* A connection holds two fds (its sockets) and two more per pipe while a
 * bulk transfer is in flight: the usual soft limit of 1024 would cap the
 * proxy near 500 connections. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			ts_log(TS_LOG_WARN, "cannot raise the fd limit: %s", strerror(errno));
	}
}

int main(int argc, char **argv)
{
	struct options o;
	struct ts_config *cfg = NULL;
	char err[TS_CFG_ERR_SIZE];
	struct strip_list strip = { 0 };
	sigset_t all;

	ts_log_init("tagshake-proxy");
	if (parse_args(argc, argv, &o)) {
		usage(stderr);
		return 2;
	}
	if (ts_config_load(o.config, &cfg, err, sizeof(err)) < 0) {
		ts_log(TS_LOG_ERROR, "%s", err);
		return 1;
	}
	ts_log_set_level(cfg->log_level);
	px_connlog_enabled = cfg->log_connections;
	struct px_upstream *ups = calloc((size_t)cfg->nroutes + 1, sizeof(*ups));
	if (!ups || px_upstreams_resolve(cfg, ups, err, sizeof(err)) < 0) {
		ts_log(TS_LOG_ERROR, "%s", ups ? err : "out of memory");
		return 1;
	}
	if (strip_list_build(cfg, &strip) < 0) {
		ts_log(TS_LOG_ERROR, "out of memory");
		return 1;
	}
	struct px_settings set = {
		.cfg = cfg,
		.ups = ups,
		.strip = (const char *const *)strip.names,
		.connect_timeout_ms = o.connect_ms,
		.idle_timeout_ms = o.idle_ms ? o.idle_ms : cfg->idle_timeout_ms,
		.drain_timeout_ms = o.drain_ms,
		.splice = o.splice,
	};
	int lfd = ts_handoff_listen(cfg->handoff_path, PX_HANDOFF_BACKLOG);
	if (lfd < 0) {
		ts_log(TS_LOG_ERROR, "listen on %s: %s", cfg->handoff_path, strerror(-lfd));
		return 1;
	}
	/* every worker is woken for a new link, one gets it: accept4 must not
	 * block the others */
	fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK);
	struct stat own;
	if (stat(cfg->handoff_path, &own) < 0) {
		ts_log(TS_LOG_ERROR, "%s: %s", cfg->handoff_path, strerror(errno));
		return 1;
	}
	raise_fd_limit();
	/* splice(2) into a socket the peer closed raises SIGPIPE: EPIPE is enough */
	signal(SIGPIPE, SIG_IGN);
	sigfillset(&all);
	sigdelset(&all, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	struct px_worker *ws = calloc((size_t)o.workers, sizeof(*ws));
	struct px_stats **stats = calloc((size_t)o.workers, sizeof(*stats));
	pthread_t *tids = calloc((size_t)o.workers, sizeof(*tids));
	if (!ws || !stats || !tids)
		return 1;
	for (int i = 0; i < o.workers; i++) {
		ws[i] = (struct px_worker){ .id = i, .set = &set, .run = &run_state };
		ws[i].listen = (struct px_ep){ .kind = PX_EP_LISTEN, .fd = lfd };
		stats[i] = &ws[i].stats;
		if (pthread_create(&tids[i], NULL, worker_main, &ws[i])) {
			ts_log(TS_LOG_ERROR, "cannot start worker %d", i);
			return 1;
		}
	}
	ts_log(TS_LOG_INFO, "%d workers on %s, %d routes, %s", o.workers, cfg->handoff_path,
	       cfg->nroutes, o.splice ? "splice" : "copy");
	/* the hand-off socket listens and the workers run */
	ts_notify("READY=1");
	if (o.status)
		px_stats_write(o.status, stats, o.workers);
	serve_signals(stats, o.workers, cfg->handoff_path, &own, o.status);
	for (int i = 0; i < o.workers; i++)
		pthread_join(tids[i], NULL);
	px_stats_print(stderr, stats, o.workers);
	if (o.status)
		px_stats_write(o.status, stats, o.workers);
	close(lfd);
	unlink_own(cfg->handoff_path, &own);
	ts_config_free(cfg);
	strip_list_free(&strip);
	free(ups);
	free(ws);
	free(stats);
	free(tids);
	return 0;
}
