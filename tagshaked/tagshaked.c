// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tagshaked: the handshaker daemon. The main thread loads the configuration,
 * opens the listeners, starts the workers, then only handles signals
 * (SIGHUP reload, SIGTERM/SIGINT drain and exit) and writes the status file
 * once a second.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "config.h"
#include "connlog.h"
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

struct daemon {
	const char *config_path;
	const char *status_path;
	bool log_connections; /* --log-connections: on, whatever the file says */
	struct ts_gen *gen;
	struct ts_worker *workers;
	int nworkers;
	bool ktls;
	char mode_why[128];
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
				(struct ts_ep){ .kind = TS_EP_LISTENER, .obj = w, .fd = fd };
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
		 d->ktls ? "ktls" : "relay", d->mode_why, d->gen->number,
		 (unsigned long long)d->gen->cfg->generation, d->nworkers, (int)getpid());
	ts_hs_stats_write(d->status_path, header, st, d->nworkers);
}

static void wake(struct ts_worker *w)
{
	uint64_t one = 1;

	if (write(w->wake.fd, &one, sizeof(one)) < 0)
		ts_log(TS_LOG_ERROR, "wake worker %d: %s", w->id, strerror(errno));
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
		__atomic_store_n(&d->workers[i].stop, 1, __ATOMIC_RELEASE);
		wake(&d->workers[i]);
	}
	for (i = 0; i < started; i++) {
		pthread_join(d->workers[i].thread, NULL);
		ts_maps_close(&d->workers[i].maps);
		ts_gen_put(d->workers[i].gen);
		ts_gen_put(d->workers[i].next_gen);
	}
}

/* Signals arrive through a signalfd; the status file is rewritten every second. */
static int main_loop(struct daemon *d, int sfd)
{
	int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	struct itimerspec sec = { .it_interval = { .tv_sec = 1 }, .it_value = { .tv_sec = 1 } };
	struct pollfd p[2] = { { .fd = sfd, .events = POLLIN }, { .fd = tfd, .events = POLLIN } };

	if (tfd < 0 || timerfd_settime(tfd, 0, &sec, NULL) < 0)
		return -errno;
	write_status(d);
	for (;;) {
		struct signalfd_siginfo si;
		uint64_t ticks;

		if (poll(p, 2, -1) < 0 && errno != EINTR)
			break;
		if ((p[1].revents & POLLIN) && read(tfd, &ticks, sizeof(ticks)) > 0) {
			write_status(d);
			ts_log_flush();
		}
		if (!(p[0].revents & POLLIN) || read(sfd, &si, sizeof(si)) != sizeof(si))
			continue;
		if (si.ssi_signo == SIGHUP) {
			ts_notify("RELOADING=1");
			reload(d);
			write_status(d);
			ts_notify("READY=1");
			continue;
		}
		break; /* SIGTERM, SIGINT */
	}
	close(tfd);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: tagshaked --config FILE [--status FILE]\n"
		   "  --config FILE  the YAML configuration (docs/tagshake.example.yaml)\n"
		   "  --status FILE  write counters and the active mode (ktls|relay) there\n"
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
	int sfd, err, started;

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
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	detect_mode(&d);
	d.gen = ts_gen_load(d.config_path, NULL, d.ktls);
	if (sfd < 0 || !d.gen)
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
	       d.ktls ? "ktls" : "relay", d.mode_why, d.gen->cfg->handoff_path);
	/* the listeners are bound and the workers run: a service manager may
	 * start what depends on us */
	ts_notify("READY=1");
	main_loop(&d, sfd);
	ts_notify("STOPPING=1");
	stop_workers(&d, d.nworkers);
	write_status(&d);
	ts_gen_put(d.gen);
	free(d.workers);
	close(sfd);
	return 0;
}
