// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A test server for the live tagger: accepts connections, waits for each
 * socket's tag to become final, reads it by fd from the pinned tags map,
 * and prints it as JSON together with the userspace parse of the very same
 * bytes (peeked from the socket), so a test can compare the two exactly.
 */
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>

#include "config.h"
#include "hello.h"
#include "json.h"
#include "names.h"
#include "pins.h"

/* How long to wait for each connection. */
#define ACCEPT_TIMEOUT_MS 15000

struct probe_opts {
	int port;
	int count;
	int defer_accept;
	int timeout_ms;
	const char *pin_dir;
};

static void print_alpn(const uint8_t *name, size_t len, void *arg)
{
	int *first = arg;

	printf("%s", *first ? "" : ",");
	*first = 0;
	ts_json_string(stdout, name, len);
}

static void print_tag(const char *label, const struct ts_tag *t)
{
	int first = 1;

	printf("\"%s\":{\"status\":\"%s\",\"sni\":", label, ts_status_name(t->status));
	ts_json_string(stdout, t->sni, t->sni_len);
	printf(",\"alpn\":[");
	ts_alpn_each(t, print_alpn, &first);
	printf("],\"records\":%u,\"bytes\":%u,\"segments\":%u,\"action\":\"%s\",\"match\":\"%s\","
	       "\"cert\":%u,\"ca\":%u,\"route\":%u}",
	       t->records, t->bytes, t->segments, ts_action_name(t->action),
	       ts_match_name(t->match), t->cert_id, t->ca_id, t->route_id);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Polls the tag until it is final or the time is up; 0 when a tag exists. */
static int wait_tag(int map_fd, int sock, int timeout_ms, struct ts_tag *t)
{
	long deadline = now_ms() + timeout_ms;
	int found = 0;

	do {
		found = bpf_map_lookup_elem(map_fd, &sock, t) == 0;
		if (found && t->status != TS_STATUS_PENDING)
			return 0;
		usleep(1000);
	} while (now_ms() < deadline);
	return found ? 0 : -ENOENT;
}

static void probe_one(int map_fd, int sock, const struct probe_opts *o)
{
	static uint8_t peek[TS_HELLO_MAX];
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	struct ts_tag live, user;
	ssize_t n;

	poll(&pfd, 1, o->timeout_ms);
	printf("{\"tag_found\":%s,", wait_tag(map_fd, sock, o->timeout_ms, &live) ? "false" : "true");
	n = recv(sock, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
	ts_hello_parse_bytes(peek, n > 0 ? (size_t)n : 0, &user);
	print_tag("live", &live);
	printf(",");
	print_tag("user", &user);
	printf("}\n");
	fflush(stdout);
}

static int listen_on(const struct probe_opts *o)
{
	struct sockaddr_in6 a = { .sin6_family = AF_INET6, .sin6_port = htons(o->port),
				  .sin6_addr = IN6ADDR_ANY_INIT };
	int one = 1, fd = socket(AF_INET6, SOCK_STREAM, 0);

	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (o->defer_accept)
		setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 128)) {
		close(fd);
		return -1;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "port", required_argument, NULL, 'p' },  { "count", required_argument, NULL, 'c' },
		{ "pin-dir", required_argument, NULL, 'd' },
		{ "defer-accept", no_argument, NULL, 'D' },
		{ "timeout-ms", required_argument, NULL, 't' }, { 0 },
	};
	struct probe_opts o = { .count = 1, .timeout_ms = 3000, .pin_dir = TS_PIN_DIR_DEFAULT };
	int c, lfd, map_fd;

	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (c == 'p')
			o.port = atoi(optarg);
		else if (c == 'c')
			o.count = atoi(optarg);
		else if (c == 'd')
			o.pin_dir = optarg;
		else if (c == 'D')
			o.defer_accept = 1;
		else if (c == 't')
			o.timeout_ms = atoi(optarg);
		else
			return 2;
	}
	map_fd = ts_pin_open(o.pin_dir, TS_PIN_TAGS);
	lfd = listen_on(&o);
	if (map_fd < 0 || lfd < 0) {
		fprintf(stderr, "tag_probe: cannot open the tags map or listen: %s\n",
			strerror(errno));
		return 1;
	}
	fprintf(stderr, "tag_probe: listening on %d\n", o.port);
	for (int i = 0; i < o.count; i++) {
		struct pollfd pfd = { .fd = lfd, .events = POLLIN };
		int s;

		/* A client that never comes must fail the test, not hang it. */
		if (poll(&pfd, 1, ACCEPT_TIMEOUT_MS) != 1) {
			fprintf(stderr, "tag_probe: no connection %d of %d within %d ms\n", i + 1,
				o.count, ACCEPT_TIMEOUT_MS);
			return 1;
		}
		s = accept(lfd, NULL, NULL);
		if (s < 0)
			return 1;
		probe_one(map_fd, s, &o);
		close(s);
	}
	return 0;
}
