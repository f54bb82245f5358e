// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A test server for the live tagger: accepts connections, waits for each
 * socket's tag to become final, reads it by fd from the pinned tags map,
 * and prints it as JSON together with the userspace parse of the very same
 * bytes (peeked from the socket), so a test can compare the two exactly.
 * It also reports the tagger's reassembly holds (socket storage named
 * hold_*, found through the pinned link's program): the largest one seen
 * while the tag was pending, and how many are left once it is final.
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
/* The tagger's hold maps (bpf/reasm_hold.h: TS_HOLD_CLASSES). */
#define HOLD_MAPS_MAX 8
#define HOLD_MAP_PREFIX "hold_"
#define PROG_MAPS_MAX 32

struct holds {
	int fd[HOLD_MAPS_MAX];
	uint32_t cap[HOLD_MAPS_MAX]; /* bytes after the head: the class */
	int n;
};

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

/* Opens the hold maps of the program behind the pinned link. */
static void holds_open(const char *pin_dir, struct holds *h)
{
	uint32_t ids[PROG_MAPS_MAX];
	struct bpf_link_info link = { 0 };
	struct bpf_prog_info prog = { 0 };
	uint32_t len = sizeof(link);
	int link_fd = ts_pin_open(pin_dir, TS_PIN_LINK), prog_fd;

	h->n = 0;
	if (link_fd < 0)
		return;
	if (bpf_obj_get_info_by_fd(link_fd, &link, &len) ||
	    (prog_fd = bpf_prog_get_fd_by_id(link.prog_id)) < 0) {
		close(link_fd);
		return;
	}
	close(link_fd);
	prog.nr_map_ids = PROG_MAPS_MAX;
	prog.map_ids = (uint64_t)(uintptr_t)ids;
	len = sizeof(prog);
	if (bpf_obj_get_info_by_fd(prog_fd, &prog, &len) == 0) {
		for (uint32_t i = 0; i < prog.nr_map_ids && i < PROG_MAPS_MAX; i++) {
			struct bpf_map_info m = { 0 };
			uint32_t mlen = sizeof(m);
			int fd = bpf_map_get_fd_by_id(ids[i]);

			if (fd < 0)
				continue;
			if (h->n < HOLD_MAPS_MAX && !bpf_obj_get_info_by_fd(fd, &m, &mlen) &&
			    !strncmp(m.name, HOLD_MAP_PREFIX, strlen(HOLD_MAP_PREFIX))) {
				h->cap[h->n] = (uint32_t)atoi(m.name + strlen(HOLD_MAP_PREFIX));
				h->fd[h->n++] = fd;
			} else {
				close(fd);
			}
		}
	}
	close(prog_fd);
}

/* The largest hold the socket has now (its class in bytes), 0 for none;
 * `count` gets how many it has. */
static uint32_t holds_of(const struct holds *h, int sock, int *count)
{
	static uint8_t value[2 * TS_HELLO_MAX];
	uint32_t biggest = 0;

	*count = 0;
	for (int i = 0; i < h->n; i++) {
		if (bpf_map_lookup_elem(h->fd[i], &sock, value) == 0) {
			(*count)++;
			if (h->cap[i] > biggest)
				biggest = h->cap[i];
		}
	}
	return biggest;
}

/* Polls the tag until it is final or the time is up; 0 when a tag exists.
 * Notes the largest hold seen meanwhile in *held. */
static int wait_tag(int map_fd, const struct holds *h, int sock, int timeout_ms,
		    struct ts_tag *t, uint32_t *held)
{
	long deadline = now_ms() + timeout_ms;
	int found = 0, count;

	*held = 0;
	do {
		uint32_t now = holds_of(h, sock, &count);

		found = bpf_map_lookup_elem(map_fd, &sock, t) == 0;
		if (found && t->status != TS_STATUS_PENDING)
			return 0;
		if (now > *held)
			*held = now;
		usleep(1000);
	} while (now_ms() < deadline);
	return found ? 0 : -ENOENT;
}

static void probe_one(int map_fd, const struct holds *h, int sock, const struct probe_opts *o)
{
	static uint8_t peek[TS_HELLO_MAX];
	struct pollfd pfd = { .fd = sock, .events = POLLIN };
	struct ts_tag live, user;
	uint32_t held;
	int found, left;
	ssize_t n;

	poll(&pfd, 1, o->timeout_ms);
	found = wait_tag(map_fd, h, sock, o->timeout_ms, &live, &held) == 0;
	holds_of(h, sock, &left);
	printf("{\"tag_found\":%s,\"hold_seen\":%u,\"holds_left\":%d,", found ? "true" : "false",
	       held, left);
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
	struct holds holds;
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
	holds_open(o.pin_dir, &holds);
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
		probe_one(map_fd, &holds, s, &o);
		close(s);
	}
	return 0;
}
