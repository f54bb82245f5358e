// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The server side of bench/tagger_connrate.sh: accepts connections, reads
 * the client's ClientHello (N bytes) and closes. With -t it reads the
 * tagger's tag by fd from the pinned tags map for every Sth connection,
 * to prove the tagger parsed the hellos it was timed on, while keeping
 * that lookup out of almost every connection's cost.
 *
 * usage: conn_server -p PORT -n HELLO_BYTES [-t TAGS_PIN [-s EVERY]]
 * Runs until SIGTERM or SIGINT, then prints
 * "accepted N sampled K tagged_ok M cpu_us C segments_per_tag S" on stdout
 * (C: its CPU time; S: the mean segment count of the ok tags sampled).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <bpf/bpf.h>

#include "tagshake.h"

#define BACKLOG 1024
#define HELLO_MAX 16384

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int listen_on(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, BACKLOG)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* Reads n bytes or until EOF/error: the whole hello has then reached us. */
static void read_hello(int fd, size_t n)
{
	static char buf[HELLO_MAX];
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, buf, n - got < sizeof(buf) ? n - got : sizeof(buf));

		if (r <= 0)
			return;
		got += (size_t)r;
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: accept returns */
	struct rusage ru;
	long port = 0, n = 0, every = 1000, accepted = 0, sampled = 0, ok = 0, segments = 0;
	int c, lfd, tags = -1;

	while ((c = getopt(argc, argv, "p:n:t:s:")) != -1) {
		if (c == 'p')
			port = strtol(optarg, NULL, 10);
		else if (c == 'n')
			n = strtol(optarg, NULL, 10);
		else if (c == 's')
			every = strtol(optarg, NULL, 10);
		else if (c == 't' && (tags = bpf_obj_get(optarg)) < 0) {
			fprintf(stderr, "conn_server: cannot open %s: %s\n", optarg, strerror(errno));
			return 1;
		} else if (c != 't')
			return 2;
	}
	if (port <= 0 || port > 65535 || n <= 0 || n > HELLO_MAX || every < 1) {
		fprintf(stderr, "usage: conn_server -p PORT -n HELLO_BYTES [-t TAGS_PIN [-s EVERY]]\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	lfd = listen_on((int)port);
	if (lfd < 0) {
		fprintf(stderr, "conn_server: cannot listen on %ld: %s\n", port, strerror(-lfd));
		return 1;
	}
	while (!stop) {
		int fd = accept(lfd, NULL, NULL);

		if (fd < 0)
			continue;
		read_hello(fd, (size_t)n);
		if (tags >= 0 && accepted % every == 0) {
			struct ts_tag t;

			sampled++;
			if (bpf_map_lookup_elem(tags, &fd, &t) == 0 && t.status == TS_STATUS_OK) {
				ok++;
				segments += t.segments;
			}
		}
		accepted++;
		close(fd);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("accepted %ld sampled %ld tagged_ok %ld cpu_us %.0f segments_per_tag %.1f\n",
	       accepted, sampled, ok,
	       (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec +
		       ru.ru_stime.tv_usec,
	       ok ? (double)segments / ok : 0.0);
	return 0;
}
