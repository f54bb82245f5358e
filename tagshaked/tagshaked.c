// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tagshaked: the handshaker daemon. The main thread loads the configuration,
 * opens the listeners, starts the workers, then runs its own event loop
 * (lib/ev.h) that only handles signals (SIGHUP reload, SIGTERM/SIGINT drain
 * and exit) and writes the status file once a second.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "connlog.h"
#include "ev.h"
#include "fd_limit.h"
#include "generation.h"
#include "listener.h"
#include "log.h"
#include "notify.h"
#include "opts.h"
#include "stats.h"
#include "worker.h"

#define WORKERS_MAX 256
#define LISTEN_BACKLOG 4096
#define HEADER_SIZE 512
/* How often the status file is rewritten. */
#define STATUS_MS 1000
/* The main loop's one descriptor besides its wake: the signalfd. */
#define MAIN_SIGNALS 0

struct daemon {
	const char *config_path;
	const char *status_path;
	bool log_connections; /* --log-connections: on, whatever the file says */
	struct ts_gen *gen;
	struct ts_worker *workers;
	int nworkers;
	bool ktls;
	char mode_why[128];
	struct ev_loop loop;   /* the main thread's */
	struct ev_io signals;  /* signalfd: SIGHUP, SIGTERM, SIGINT */
	struct ev_timer status; /* the status file's next write */
	bool quit;
};

/* kTLS needs the kernel's "tls" upper-layer protocol, loaded or loadable;
 * each connection still confirms it on its socket (ts_ktls_install). */
static void detect_mode(struct daemon *d)
{
	char ulps[256] = "", mod[320];
	FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r");
	struct utsname u;

	if (f) {
		if (!fgets(ulps, sizeof(ulps), f))
			ulps[0] = '\0';
		fclose(f);
	}
	uname(&u);
	snprintf(mod, sizeof(mod), "/lib/modules/%s/kernel/net/tls", u.release);
	d->ktls = strstr(ulps, "tls") || access(mod, F_OK) == 0;
	snprintf(d->mode_why, sizeof(d->mode_why), "%s",
		 d->ktls ? "tls ULP available" : "kernel has no kTLS (no tls ULP)");
}

/* The data path of new connections: kTLS; else records with
 * handoff.records (a connection that cannot, such as TLS 1.2, is still
 * relayed: the conn log and the per-mode counters say which); else relay. */
static const char *data_path(const struct daemon *d)
{
	if (d->ktls)
		return "ktls";
	return d->gen->cfg->handoff_records ? "records" : "relay";
}

static int worker_count(const struct ts_config *cfg)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int i, n = 1;

	for (i = 0; i < cfg->nlisteners; i++) {
		int want = cfg->listeners[i].workers ? cfg->listeners[i].workers : (int)ncpu;

		if (want > n)
			n = want;
	}
	return n > WORKERS_MAX ? WORKERS_MAX : n;
}

/* Listener i gets one SO_REUSEPORT socket in each of its first `workers`. */
static int open_listeners(struct daemon *d)
{
	const struct ts_config *cfg = d->gen->cfg;
	int i, k;

	if (cfg->nlisteners == 0 || cfg->nlisteners > TS_LISTENERS_MAX) {
		fprintf(stderr, "tagshaked: %s: need 1 to %d listeners\n", cfg->path,
			TS_LISTENERS_MAX);
		return -EINVAL;
	}
	for (i = 0; i < cfg->nlisteners; i++) {
		const struct ts_cfg_listener *l = &cfg->listeners[i];
		int n = l->workers ? l->workers : d->nworkers;

		for (k = 0; k < n && k < d->nworkers; k++) {
			struct ts_worker *w = &d->workers[k];
			int fd = ts_listener_open(l->address, l->port, LISTEN_BACKLOG);

			if (fd < 0) {
				fprintf(stderr, "tagshaked: %s:%d: listen %s port %u: %s\n",
					cfg->path, l->line, l->address, l->port, strerror(-fd));
				return fd;
			}
			w->listeners[w->nlisteners++] =
				(struct ev_io){ .kind = TS_EP_LISTENER, .obj = w, .fd = fd };
		}
	}
	return 0;
}

static void write_status(struct daemon *d)
{
	struct ts_hs_stats *st[WORKERS_MAX];
	char header[HEADER_SIZE];
	int i;

	if (!d->status_path)
		return;
	for (i = 0; i < d->nworkers; i++)
		st[i] = &d->workers[i].stats;
	snprintf(header, sizeof(header),
		 "mode %s\nmode_reason %s\ngeneration %u\npolicy_generation %016llx\n"
		 "workers %d\npid %d\n",
		 data_path(d), d->mode_why, d->gen->number,
		 (unsigned long long)d->gen->cfg->generation, d->nworkers, (int)getpid());
	ts_hs_stats_write(d->status_path, header, st, d->nworkers);
}

static void wake(struct ts_worker *w)
{
	int err = ev_wake(&w->loop);

	if (err)
		ts_log(TS_LOG_ERROR, "wake worker %d: %s", w->id, strerror(-err));
}

/* logging: from the configuration, at start and on every reload */
static void apply_logging(const struct daemon *d, const struct ts_config *cfg)
{
	ts_log_set_level(cfg->log_level);
	__atomic_store_n(&ts_connlog_enabled, d->log_connections || cfg->log_connections,
			 __ATOMIC_RELAXED);
}

static void reload(struct daemon *d)
{
	struct ts_gen *g = ts_gen_load(d->config_path, d->gen, d->ktls);
	int i;

	if (!g) {
		ts_log(TS_LOG_ERROR, "reload failed, keeping generation %u", d->gen->number);
		return;
	}
	if (g->cfg->nlisteners != d->gen->cfg->nlisteners)
		ts_log(TS_LOG_WARN, "listener changes need a restart");
	for (i = 0; i < d->nworkers; i++) {
		struct ts_gen *old = __atomic_exchange_n(&d->workers[i].next_gen, ts_gen_get(g),
							 __ATOMIC_ACQ_REL);

		ts_gen_put(old); /* a generation the worker never picked up */
		wake(&d->workers[i]);
	}
	ts_gen_put(d->gen);
	d->gen = g;
	apply_logging(d, g->cfg);
	ts_log(TS_LOG_INFO, "loaded generation %u from %s", g->number, d->config_path);
}

/* Returns the number of worker threads started; *err set on failure. */
static int start_workers(struct daemon *d, int *err)
{
	int i;

	*err = -ENOMEM;
	d->workers = calloc((size_t)d->nworkers, sizeof(*d->workers));
	if (!d->workers)
		return 0;
	for (i = 0; i < d->nworkers; i++) {
		d->workers[i].id = i;
		d->workers[i].gen = ts_gen_get(d->gen);
		d->workers[i].ktls = d->ktls;
	}
	*err = open_listeners(d);
	for (i = 0; !*err && i < d->nworkers; i++) {
		*err = ts_worker_start(&d->workers[i]);
		if (*err)
			break;
	}
	return i;
}

static void stop_workers(struct daemon *d, int started)
{
	int i;

	for (i = 0; i < started; i++) {
		/* 1: drain, then exit */
		int err = ev_stop(&d->workers[i].loop, 1);

		if (err)
			ts_log(TS_LOG_ERROR, "stop worker %d: %s", i, strerror(-err));
	}
	for (i = 0; i < started; i++) {
		pthread_join(d->workers[i].thread, NULL);
		ev_loop_close(&d->workers[i].loop);
		ts_maps_close(&d->workers[i].maps);
		ts_gen_put(d->workers[i].gen);
		ts_gen_put(d->workers[i].next_gen);
	}
}

static void status_due(struct ev_timer *t, void *arg)
{
	struct daemon *d = arg;

	write_status(d);
	ts_log_flush();
	ev_timer_again(&d->loop, t, STATUS_MS);
}

static void on_signals(struct ev_loop *l, struct ev_io *io, uint32_t events, void *arg)
{
	struct daemon *d = arg;
	int sig;

	(void)l, (void)events;
	if (io->kind != MAIN_SIGNALS)
		return;
	while (!d->quit && (sig = ev_signal_next(io)) > 0) {
		if (sig == SIGHUP) {
			ts_notify("RELOADING=1");
			reload(d);
			write_status(d);
			ts_notify("READY=1");
			continue;
		}
		d->quit = true; /* SIGTERM, SIGINT */
	}
}

/* Signals arrive through the signalfd; the status file is rewritten every second. */
static int main_loop(struct daemon *d)
{
	int err = 0;

	ev_timer_init(&d->status, status_due, d);
	write_status(d);
	ev_timer_at(&d->loop, &d->status, ts_now_ms() + STATUS_MS);
	while (!d->quit && err >= 0) {
		err = ev_wait(&d->loop, on_signals, d);
		ev_expire(&d->loop);
	}
	ev_timer_stop(&d->status);
	return err < 0 ? err : 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: tagshaked --config FILE [--status FILE]\n"
		   "  --config FILE  the YAML configuration (docs/tagshake.example.yaml)\n"
		   "  --status FILE  write counters and the active mode (ktls|records|relay) there\n"
		   "                 every second\n"
		   "  --log-connections  one logfmt line per connection outcome on stderr\n"
		   "                 (result, sni, policy, action, mode, client subject, ms);\n"
		   "                 also logging.connections in the configuration\n"
		   "  --list-counters  print the status file's counter names and exit\n"
		   "  --help         this text\n"
		   "Signals: SIGHUP reloads certificates and policy; SIGTERM drains and exits.\n");
}

static int parse_args(struct daemon *d, int argc, char **argv)
{
	bool list_counters = false, help = false;
	const struct ts_opt opts[] = {
		TS_OPT_S("config", 'c', &d->config_path),
		TS_OPT_S("status", 's', &d->status_path),
		TS_OPT_F("log-connections", 0, &d->log_connections),
		TS_OPT_F("list-counters", 0, &list_counters),
		TS_OPT_F("help", 'h', &help),
		TS_OPT_END,
	};
	char err[128];
	int first = ts_opts_parse(argc, argv, opts, err, sizeof(err));

	if (list_counters) {
		ts_hs_stats_list(stdout);
		exit(0);
	}
	if (help) {
		usage(stdout);
		exit(0);
	}
	if (first < 0 && err[0])
		fprintf(stderr, "tagshaked: %s\n", err);
	if (first != argc || !d->config_path) {
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon d = { 0 };
	sigset_t set;
	int err, started;

	ts_log_init("tagshaked");
	if (parse_args(&d, argc, argv))
		return 2;
	signal(SIGPIPE, SIG_IGN);
	/* Each handshake in flight holds a socket (two more in relay mode): the
	 * usual soft limit of 1024 fds would end accepting below the default
	 * in-flight bound. */
	ts_raise_fd_limit();
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* blocked before any thread starts, so only the signalfd sees them */
	err = ev_loop_init(&d.loop);
	if (!err)
		err = ev_signal_open(&d.loop, &d.signals, &set, MAIN_SIGNALS);
	if (err) {
		fprintf(stderr, "tagshaked: event loop: %s\n", strerror(-err));
		return 1;
	}
	detect_mode(&d);
	d.gen = ts_gen_load(d.config_path, NULL, d.ktls);
	if (!d.gen)
		return 1;
	apply_logging(&d, d.gen->cfg);
	d.nworkers = worker_count(d.gen->cfg);
	started = start_workers(&d, &err);
	if (err) {
		stop_workers(&d, started);
		free(d.workers);
		return 1;
	}
	ts_log(TS_LOG_INFO, "%d workers, mode %s (%s), hand-off %s", d.nworkers,
	       data_path(&d), d.mode_why, d.gen->cfg->handoff_path);
	/* the listeners are bound and the workers run: a service manager may
	 * start what depends on us */
	ts_notify("READY=1");
	err = main_loop(&d);
	if (err)
		ts_log(TS_LOG_ERROR, "main loop: %s", strerror(-err));
	ts_notify("STOPPING=1");
	stop_workers(&d, d.nworkers);
	write_status(&d);
	ts_gen_put(d.gen);
	free(d.workers);
	close(d.signals.fd);
	ev_loop_close(&d.loop);
	return 0;
}
