// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* `tagshake metrics`: one Prometheus exporter for the whole edge. A small
 * HTTP/1.1 server (one request per connection, one at a time: a scraper
 * asks every few seconds) serving /metrics from cli/metrics.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "metrics.h"

static const char metrics_help[] =
	"usage: tagshake metrics [--listen ADDR:PORT] [--pin-dir DIR] [--status FILE]...\n"
	"                        [--handshaker-status FILE] [--proxy-status FILE] [--once]\n"
	"\n"
	"Serves GET /metrics in the Prometheus text format (0.0.4): the tagger's\n"
	"counters (pinned in DIR) and the status files of tagshaked and\n"
	"tagshake-proxy (their --status FILE; which daemon wrote a file is told by\n"
	"its content). A source that cannot be read shows as tagshake_*_up 0.\n"
	"  --listen ADDR:PORT  numeric IPv4 address and port (default 127.0.0.1:9464)\n"
	"  --pin-dir DIR       the tagger's pin directory (default as for stats)\n"
	"  --status FILE       a daemon's status file (which daemon: from its content,\n"
	"                      so it must exist at start); give one per daemon\n"
	"  --handshaker-status FILE, --proxy-status FILE\n"
	"                      the same, for files that may not exist yet\n"
	"  --once              print the metrics on stdout and exit\n"
	"SIGINT or SIGTERM stops the server.\n";

/* Longest request head we read: a scraper's GET is a few hundred bytes. */
#define MX_REQUEST_MAX 4096
/* A client that sends nothing for this long is dropped. */
#define MX_CLIENT_TIMEOUT_MS 2000
#define MX_DEFAULT_LISTEN "127.0.0.1:9464"

static volatile sig_atomic_t stopping;

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static int listen_on(const char *spec)
{
	char host[64];
	const char *colon = strrchr(spec, ':');
	struct sockaddr_in sa = { .sin_family = AF_INET };
	long port = colon ? ts_cli_number(colon + 1, 1, 65535) : -1;
	int fd, one = 1;

	if (!colon || port < 0 || (size_t)(colon - spec) >= sizeof(host))
		return -EINVAL;
	memcpy(host, spec, (size_t)(colon - spec));
	host[colon - spec] = '\0';
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -EINVAL;
	sa.sin_port = htons((uint16_t)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Reads until the end of the request head; -1 on timeout, error or size. */
static int read_head(int fd, char *buf, size_t size)
{
	size_t len = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (len < size - 1) {
		ssize_t n;

		if (poll(&p, 1, MX_CLIENT_TIMEOUT_MS) != 1)
			return -1;
		n = read(fd, buf + len, size - 1 - len);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		if (strstr(buf, "\r\n\r\n") || strstr(buf, "\n\n"))
			return 0;
	}
	return -1;
}

static void write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void respond(int fd, const char *status, const char *type, const char *body, size_t len,
		    bool head_only)
{
	char head[256];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, type, len);

	write_all(fd, head, (size_t)n);
	if (!head_only)
		write_all(fd, body, len);
}

static void serve_one(int fd, const struct ts_mx_sources *src)
{
	static const char not_found[] = "not found: try /metrics\n";
	static const char bad_method[] = "only GET and HEAD\n";
	char req[MX_REQUEST_MAX];
	struct ts_mx_snapshot snap;
	bool head;
	char *body = NULL;
	size_t len = 0;
	FILE *f;

	if (read_head(fd, req, sizeof(req)) < 0)
		return;
	head = !strncmp(req, "HEAD ", 5);
	if (strncmp(req, "GET ", 4) && !head) {
		respond(fd, "405 Method Not Allowed", "text/plain", bad_method,
			sizeof(bad_method) - 1, false);
		return;
	}
	const char *path = req + (head ? 5 : 4);
	if (strncmp(path, "/metrics ", 9) && strncmp(path, "/metrics?", 9)) {
		respond(fd, "404 Not Found", "text/plain", not_found, sizeof(not_found) - 1, head);
		return;
	}
	ts_mx_read(src, &snap);
	f = open_memstream(&body, &len);
	if (!f)
		return;
	ts_mx_render(f, &snap);
	fclose(f);
	respond(fd, "200 OK", "text/plain; version=0.0.4; charset=utf-8", body, len, head);
	free(body);
}

/* Which daemon wrote a status file: tagshaked's starts with its mode. */
static int add_status(struct ts_mx_sources *src, const char *path)
{
	struct ts_mx_status *st = calloc(1, sizeof(*st));
	int err = st ? ts_mx_status_read(path, st) : -ENOMEM;
	const char **slot;

	if (err == 0)
		slot = *ts_mx_text(st, "mode") ? &src->hs_status : &src->px_status;
	free(st);
	if (err)
		return ts_fail("cannot read status file %s: %s", path, strerror(-err));
	if (*slot)
		return ts_usage_error("two status files of the same daemon: %s and %s", *slot,
				      path);
	*slot = path;
	return 0;
}

static int serve(int lfd, const struct ts_mx_sources *src)
{
	struct sigaction sa = { .sa_handler = on_signal };

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	while (!stopping) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			close(lfd);
			return ts_fail("accept: %s", strerror(errno));
		}
		serve_one(fd, src);
		close(fd);
	}
	close(lfd);
	return 0;
}

int ts_cmd_metrics(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' }, { "pin-dir", required_argument, NULL, 'd' },
		{ "status", required_argument, NULL, 's' }, { "once", no_argument, NULL, 'o' },
		{ "handshaker-status", required_argument, NULL, 'H' },
		{ "proxy-status", required_argument, NULL, 'P' },
		{ "help", no_argument, NULL, 'h' },         { 0 },
	};
	struct ts_mx_sources src = { 0 };
	const char *listen_spec = MX_DEFAULT_LISTEN, *dir = NULL;
	int c, once = 0, lfd, err;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 'l': listen_spec = optarg; break;
		case 'd': dir = optarg; break;
		case 's':
			if ((err = add_status(&src, optarg)))
				return err;
			break;
		case 'H': src.hs_status = optarg; break;
		case 'P': src.px_status = optarg; break;
		case 'o': once = 1; break;
		case 'h': return fputs(metrics_help, stdout), 0;
		default: return TS_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return ts_usage_error("unexpected argument '%s'", argv[optind]);
	src.pin_dir = ts_cli_pin_dir(dir);
	if (once) {
		struct ts_mx_snapshot snap;

		ts_mx_read(&src, &snap);
		ts_mx_render(stdout, &snap);
		return 0;
	}
	lfd = listen_on(listen_spec);
	if (lfd == -EINVAL)
		return ts_usage_error("invalid --listen '%s' (want IPv4:PORT)", listen_spec);
	if (lfd < 0)
		return ts_fail("cannot listen on %s: %s", listen_spec, strerror(-lfd));
	fprintf(stderr, "tagshake metrics: serving http://%s/metrics\n", listen_spec);
	return serve(lfd, &src);
}
