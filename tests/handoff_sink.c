// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A stand-in proxy for the handshaker tests, written against the public
 * receive API only (include/ts_handoff.h): listens on a unix path, prints one
 * line per hand-off with the parsed metadata, then answers the plaintext
 * request on the received fd with an HTTP response whose body is that line.
 *
 *   handoff_sink PATH
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ts_handoff.h"

#define MAX_LINKS 64
#define LINE_SIZE 8192

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void put_bytes(char **p, const char *end, const char *key, struct ts_bytes b)
{
	if (*p < end)
		*p += snprintf(*p, (size_t)(end - *p), " %s=%.*s", key, (int)b.len,
			       b.len ? (const char *)b.p : "-");
}

static void describe(const struct ts_handoff *h, char *line, size_t size)
{
	const struct ts_handoff_meta *m = &h->meta;
	char *p = line, *end = line + size;
	int i;

	p += snprintf(p, size, "handoff mode=%s action=%u route=%u match=%u resumed=%u ssl=%d "
			       "client=%u verify=%u certlen=%u",
		      m->mode == TS_MODE_KTLS ? "ktls" : "relay", m->action, m->route_id,
		      m->match, m->resumed, m->has_ssl, m->ssl_client, m->ssl_verify, m->cert.len);
	put_bytes(&p, end, "sni", m->authority);
	put_bytes(&p, end, "policy", m->policy);
	put_bytes(&p, end, "alpn", m->alpn);
	put_bytes(&p, end, "version", m->version);
	put_bytes(&p, end, "cipher", m->cipher);
	put_bytes(&p, end, "cn", m->cn);
	put_bytes(&p, end, "serial", m->serial);
	put_bytes(&p, end, "keyalg", m->key_alg);
	if (p < end)
		p += snprintf(p, (size_t)(end - p), " fp=");
	for (i = 0; m->fingerprint && i < TS_FINGERPRINT_LEN && p < end; i++)
		p += snprintf(p, (size_t)(end - p), "%02x", m->fingerprint[i]);
	if (p < end)
		p += snprintf(p, (size_t)(end - p), " peerport=%u", m->peer.port);
	put_bytes(&p, end, "subject", m->subject);
	put_bytes(&p, end, "issuer", m->issuer);
}

/* Reads the request head (or EOF), answers with the line, closes. */
static void *serve(void *arg)
{
	struct ts_handoff *h = arg;
	char req[4096], line[LINE_SIZE], resp[LINE_SIZE + 256];
	size_t got = 0;
	ssize_t n;
	int len;

	/* hand-offs arrive non-blocking; this thread wants plain blocking reads */
	fcntl(h->fd, F_SETFL, fcntl(h->fd, F_GETFL) & ~O_NONBLOCK);
	describe(h, line, sizeof(line));
	pthread_mutex_lock(&out_lock);
	printf("%s\n", line);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
	while (got < sizeof(req) - 1 && (n = read(h->fd, req + got, sizeof(req) - 1 - got)) > 0) {
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	len = snprintf(resp, sizeof(resp),
		       "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
		       strlen(line) + 1, line);
	if (write(h->fd, resp, (size_t)len) != len)
		perror("handoff_sink: write");
	ts_handoff_release(h);
	free(h);
	return NULL;
}

static void on_link(int fd, struct pollfd *pf)
{
	struct ts_handoff *h = malloc(sizeof(*h));
	pthread_t t;
	int err;

	if (!h)
		return;
	err = ts_handoff_recv(fd, h);
	if (err) {
		free(h);
		if (err == -EPIPE || err == -ECONNRESET) {
			close(fd);
			pf->fd = -1;
		} else if (err != -EAGAIN) {
			fprintf(stderr, "handoff_sink: recv: %s\n", strerror(-err));
		}
		return;
	}
	if (pthread_create(&t, NULL, serve, h) == 0)
		pthread_detach(t);
	else
		ts_handoff_release(h), free(h);
}

int main(int argc, char **argv)
{
	struct pollfd pf[MAX_LINKS + 1];
	int n = 1, i, l;

	if (argc != 2) {
		fprintf(stderr, "usage: handoff_sink PATH\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN); /* a client gone before the answer */
	l = ts_handoff_listen(argv[1], 64);
	if (l < 0) {
		fprintf(stderr, "handoff_sink: listen %s: %s\n", argv[1], strerror(-l));
		return 1;
	}
	pf[0] = (struct pollfd){ .fd = l, .events = POLLIN };
	for (;;) {
		if (poll(pf, (nfds_t)n, -1) < 0)
			continue;
		for (i = 1; i < n; i++)
			if (pf[i].fd >= 0 && pf[i].revents)
				on_link(pf[i].fd, &pf[i]);
		if (pf[0].revents & POLLIN) {
			int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);

			for (i = 1; i < n && pf[i].fd >= 0; i++)
				;
			if (c >= 0 && i < MAX_LINKS + 1)
				pf[i] = (struct pollfd){ .fd = c, .events = POLLIN };
			if (c >= 0 && i == n)
				n++;
		}
	}
}
