// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `tagshake reload`: one configuration change across the three readers of
 * the file, in the one order that never serves a connection with a policy
 * other than the one its handshake was decided with:
 *
 *   1. the proxy (SIGHUP): it learns the new generation and keeps the
 *      previous one, so it can serve hand-offs decided with either;
 *   2. tagshaked (SIGHUP): it decides with the new file from now on; a
 *      kernel entry of the old generation is stale to it (its ids are not
 *      used, a reject still stands);
 *   3. the kernel's policy set (`policy import`): the tags carry the new
 *      generation again and the fast path resumes.
 *
 * Each step waits until the daemon's status file names the new generation;
 * a daemon that does not load it stops the sequence (it kept its old one,
 * which the proxy still holds as its previous).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "metrics.h"
#include "opts.h"

/* How often a status file is read while waiting for a daemon. */
#define RELOAD_POLL_MS 20
#define RELOAD_TIMEOUT_MS 5000
/* --timeout at most: ten minutes; a daemon slower than that to reload is stuck */
#define RELOAD_TIMEOUT_MAX_MS 600000

static const char reload_help[] =
	"usage: tagshake reload --config FILE [--proxy-status FILE]\n"
	"                       [--handshaker-status FILE] [--pin-dir DIR] [--no-import]\n"
	"                       [--timeout MS]\n"
	"\n"
	"Applies FILE to the whole edge: SIGHUP to tagshake-proxy, then to tagshaked\n"
	"(each found by the pid in its --status file, and waited for until that file\n"
	"names the new policy generation), then imports FILE's policies into the\n"
	"kernel (bpf.pin_dir of FILE, or --pin-dir). This order holds for tightening\n"
	"and loosening alike: every connection is decided and served with one\n"
	"generation, old or new, never a mix (docs/security.md). A step left out\n"
	"(no status file given, --no-import) is skipped; a step that fails stops the\n"
	"sequence with exit status 1.\n"
	"  --timeout MS  wait per daemon (default 5000)\n";

struct reload_opts {
	const char *config, *proxy_status, *hs_status, *pin_dir;
	bool no_import;
	long timeout_ms;
};

/* pid and policy_generation from a status file; 0 or -errno. */
static int status_read(const char *path, long *pid, unsigned long long *gen)
{
	struct ts_mx_status st;
	int err = ts_mx_status_read(path, &st);

	if (err)
		return err;
	*pid = (long)ts_mx_get(&st, "pid");
	*gen = strtoull(ts_mx_text(&st, "policy_generation"), NULL, 16);
	return *pid > 0 && *gen ? 0 : -EINVAL;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L };

	nanosleep(&ts, NULL);
}

/* SIGHUP to the daemon of `status`, then waits until it names `gen`. */
static int reload_daemon(const char *what, const char *status, unsigned long long gen,
			 long timeout_ms)
{
	unsigned long long now;
	long pid, waited;
	int err = status_read(status, &pid, &now);

	if (err)
		return ts_fail("%s: cannot read pid and policy_generation from %s: %s", what,
			       status, strerror(-err));
	if (kill((pid_t)pid, SIGHUP) < 0)
		return ts_fail("%s: SIGHUP to pid %ld: %s", what, pid, strerror(errno));
	for (waited = 0; waited <= timeout_ms; waited += RELOAD_POLL_MS) {
		if (status_read(status, &pid, &now) == 0 && now == gen) {
			printf("tagshake: %s (pid %ld) runs policy generation %016llx\n", what, pid,
			       gen);
			return 0;
		}
		sleep_ms(RELOAD_POLL_MS);
	}
	return ts_fail("%s (pid %ld) did not load policy generation %016llx within %ld ms "
		       "(it runs %016llx; see its log): stopped here",
		       what, pid, gen, timeout_ms, now);
}

static int parse_reload_opts(int argc, char **argv, struct reload_opts *o)
{
	bool help = false;
	const struct ts_opt opts[] = {
		TS_OPT_S("config", 0, &o->config),
		TS_OPT_S("proxy-status", 0, &o->proxy_status),
		TS_OPT_S("handshaker-status", 0, &o->hs_status),
		TS_OPT_S("pin-dir", 0, &o->pin_dir),
		TS_OPT_F("no-import", 0, &o->no_import),
		TS_OPT_N("timeout", 0, &o->timeout_ms, 1, RELOAD_TIMEOUT_MAX_MS),
		TS_OPT_F("help", 0, &help),
		TS_OPT_END,
	};
	char err[128];
	int first;

	*o = (struct reload_opts){ .timeout_ms = RELOAD_TIMEOUT_MS };
	first = ts_opts_parse(argc, argv, opts, err, sizeof(err));
	if (first < 0)
		return err[0] ? ts_usage_error("%s", err) : TS_EXIT_USAGE;
	if (help) {
		fputs(reload_help, stdout);
		return -1;
	}
	if (!o->config || first != argc)
		return ts_usage_error("reload needs --config FILE and nothing else");
	return 0;
}

int ts_cmd_reload(int argc, char **argv)
{
	char err[TS_CFG_ERR_SIZE], pin_dir[sizeof(((struct ts_config *)0)->pin_dir)];
	struct ts_config *cfg = NULL;
	struct reload_opts o;
	unsigned long long gen;
	int rc = parse_reload_opts(argc, argv, &o);

	if (rc)
		return rc < 0 ? 0 : rc;
	/* the file must load here first: a broken one changes nothing */
	if (ts_config_load(o.config, &cfg, err, sizeof(err)) < 0)
		return ts_fail("%s", err);
	gen = cfg->generation;
	snprintf(pin_dir, sizeof(pin_dir), "%s", o.pin_dir ? o.pin_dir : cfg->pin_dir);
	ts_config_free(cfg);
	if (o.proxy_status && (rc = reload_daemon("tagshake-proxy", o.proxy_status, gen,
						   o.timeout_ms)))
		return rc;
	if (o.hs_status &&
	    (rc = reload_daemon("tagshaked", o.hs_status, gen, o.timeout_ms)))
		return rc;
	if (o.no_import)
		return 0;
	char *import[] = { "policy", "import", (char *)o.config, "--pin-dir", pin_dir, NULL };
	return ts_cmd_policy(5, import);
}
