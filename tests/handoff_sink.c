// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A stand-in proxy for the handshaker tests, written against the public
 * receive API only (include/ts_handoff.h): listens on a unix path, prints one
 * line per hand-off with the parsed metadata, then answers the plaintext
 * request on the received fd with an HTTP response whose body is that line.
 *
 *   handoff_sink PATH [echo]
 *
 * With "echo" it sends every byte back instead, until the client's EOF, its
 * close_notify, any other non-data TLS record (kTLS sockets report the record
 * type in a cmsg) or an error, then prints one more line:
 *   echo peerport=P in=N out=N end=eof|close_notify|alert-D|handshake-T|ERRNO
 * (D: alert description, T: handshake message type, 24 = KeyUpdate).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/tls.h>
#include <poll.h>
#include <stdbool.h>
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

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
/* TLS record content types and the alert that ends a connection (RFC 8446) */
#define TLS_CT_ALERT 21
#define TLS_CT_HANDSHAKE 22
#define TLS_CT_APPLICATION_DATA 23
#define TLS_ALERT_CLOSE_NOTIFY 0

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static bool echo_mode;

static void print_line(const char *line)
{
	pthread_mutex_lock(&out_lock);
	printf("%s\n", line);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

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

/*
 * One read that also returns the TLS record type on a kTLS socket (0 when
 * the socket gave none: relay socketpair, or kTLS that is off).
 */
static ssize_t read_record(int fd, char *buf, size_t size, int *type)
{
	char cbuf[CMSG_SPACE(sizeof(unsigned char))];
	struct iovec iov = { .iov_base = buf, .iov_len = size };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	ssize_t n = recvmsg(fd, &msg, 0);

	*type = 0;
	for (cm = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm; cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_level == SOL_TLS && cm->cmsg_type == TLS_GET_RECORD_TYPE)
			*type = *(unsigned char *)CMSG_DATA(cm);
	return n;
}

/* Why a non-data record ends the echo, in the words of the echo line. */
static void record_end(int type, const char *buf, ssize_t n, char *end, size_t size)
{
	if (type == TLS_CT_ALERT && n >= 2 && buf[1] == TLS_ALERT_CLOSE_NOTIFY)
		snprintf(end, size, "close_notify");
	else if (type == TLS_CT_ALERT && n >= 2)
		snprintf(end, size, "alert-%u", (unsigned char)buf[1]);
	else if (type == TLS_CT_HANDSHAKE && n >= 1)
		snprintf(end, size, "handshake-%u", (unsigned char)buf[0]);
	else
		snprintf(end, size, "record-%d", type);
}

static void send_close_notify(const struct ts_handoff *h)
{
	static const char alert[2] = { 1 /* warning */, TLS_ALERT_CLOSE_NOTIFY };
	char cbuf[CMSG_SPACE(sizeof(unsigned char))] = { 0 };
	struct iovec iov = { .iov_base = (void *)alert, .iov_len = sizeof(alert) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);

	if (h->meta.mode != TS_MODE_KTLS)
		return; /* relay: the handshaker sends it on our EOF */
	cm->cmsg_level = SOL_TLS;
	cm->cmsg_type = TLS_SET_RECORD_TYPE;
	cm->cmsg_len = CMSG_LEN(sizeof(unsigned char));
	*(unsigned char *)CMSG_DATA(cm) = TLS_CT_ALERT;
	if (sendmsg(h->fd, &msg, 0) != (ssize_t)sizeof(alert))
		perror("handoff_sink: close_notify");
}

static void echo(struct ts_handoff *h)
{
	char buf[16384], line[256], end[32] = "eof";
	size_t in = 0, out = 0;
	ssize_t n, w;
	int type;

	for (;;) {
		n = read_record(h->fd, buf, sizeof(buf), &type);
		if (n < 0) {
			snprintf(end, sizeof(end), "%s", strerrorname_np(errno));
			break;
		}
		if (type && type != TLS_CT_APPLICATION_DATA) {
			record_end(type, buf, n, end, sizeof(end));
			break;
		}
		if (n == 0)
			break;
		in += (size_t)n;
		for (ssize_t off = 0; off < n; off += w) {
			w = write(h->fd, buf + off, (size_t)(n - off));
			if (w <= 0) {
				snprintf(end, sizeof(end), "write-%s", strerrorname_np(errno));
				goto done;
			}
			out += (size_t)w;
		}
	}
done:
	/* a clean end is answered with close_notify, as OpenSSL clients need
	 * to keep their session; through kTLS that is an alert record */
	if (!strcmp(end, "eof") || !strcmp(end, "close_notify"))
		send_close_notify(h);
	snprintf(line, sizeof(line), "echo peerport=%u in=%zu out=%zu end=%s", h->meta.peer.port, in,
		 out, end);
	print_line(line);
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
	print_line(line);
	if (echo_mode) {
		echo(h);
		goto out;
	}
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
out:
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

	if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "echo"))) {
		fprintf(stderr, "usage: handoff_sink PATH [echo]\n");
		return 2;
	}
	echo_mode = argc == 3;
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
