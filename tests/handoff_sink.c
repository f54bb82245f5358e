// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A stand-in proxy for the handshaker tests, written against the public
 * receive API only (include/ts_handoff.h, and lib/tls_record.h for records
 * mode): listens on a unix path, prints one line per hand-off with the
 * parsed metadata, then answers the plaintext request on the received fd
 * with an HTTP response whose body is that line (in records mode, followed
 * by close_notify).
 *
 *   handoff_sink PATH [echo] [tlv]
 *
 * With "echo" it sends every byte back instead, until the client's EOF, its
 * close_notify, any other non-data TLS record (kTLS sockets report the record
 * type in a cmsg), a fatal alert (records mode) or an error, then prints one
 * more line:
 *   echo peerport=P in=N out=N end=eof|close_notify|alert-D|handshake-T|ERRNO
 * (D: alert description, T: handshake message type, 24 = KeyUpdate; in
 * records mode KeyUpdates are followed, not an end).
 * With "tlv" it also prints, before the hand-off line, the block as received
 * (what a proxy forwards):
 *   tlv peerport=P types=T,T(S,S),... hex=H
 * (T: top-level types, S: sub-TLV types of MODE and SSL; hex: the whole
 * block), and "records=SUITE" on the hand-off line when secrets came.
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

#include "tls_record.h"
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
static bool tlv_mode;

/* One handed-off connection: the fd, and in records mode its record layer. */
struct sink_conn {
	struct ts_handoff *h;
	struct ts_rec *rec;
};

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

/* The TLV types of a block, containers' sub-TLVs in parentheses. */
static char *put_types(char *p, const char *end, const uint8_t *v, size_t len, bool top)
{
	size_t off = 0;

	while (off + TS_TLV_HDR <= len && p < end) {
		uint8_t type = v[off];
		size_t l = (size_t)v[off + 1] << 8 | v[off + 2];
		size_t fixed = type == TS_PP2_TYPE_MODE ? 1 : type == PP2_TYPE_SSL ? 5 : 0;

		if (off + TS_TLV_HDR + l > len)
			break;
		p += snprintf(p, (size_t)(end - p), "%s%02x", off ? "," : "", type);
		if (top && fixed && l > fixed && p < end) {
			p += snprintf(p, (size_t)(end - p), "(");
			p = put_types(p, end, v + off + TS_TLV_HDR + fixed, l - fixed, false);
			if (p < end)
				p += snprintf(p, (size_t)(end - p), ")");
		}
		off += TS_TLV_HDR + l;
	}
	return p;
}

/* The "tlv" line: the block exactly as a proxy would forward it. */
static void print_tlv(const struct ts_handoff *h)
{
	size_t size = 64 + 8 * h->tlv_len;
	char *line = malloc(size), *p = line, *end = line + size;

	if (!line)
		return;
	p += snprintf(p, size, "tlv peerport=%u types=", h->meta.peer.port);
	p = put_types(p, end, h->tlv, h->tlv_len, true);
	p += snprintf(p, (size_t)(end - p), " hex=");
	for (size_t i = 0; i < h->tlv_len && p < end; i++)
		p += snprintf(p, (size_t)(end - p), "%02x", h->tlv[i]);
	print_line(line);
	free(line);
}

static void describe(const struct ts_handoff *h, char *line, size_t size)
{
	const struct ts_handoff_meta *m = &h->meta;
	char *p = line, *end = line + size;
	int i;

	p += snprintf(p, size, "handoff mode=%s action=%u route=%u match=%u resumed=%u ssl=%d "
			       "client=%u verify=%u certlen=%u",
		      ts_handoff_mode_name(m->mode), m->action, m->route_id, m->match, m->resumed, m->has_ssl,
		      m->ssl_client, m->ssl_verify, m->cert.len);
	if (tlv_mode && h->has_records)
		p += snprintf(p, (size_t)(end - p), " records=%04x", h->records.suite);
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

static void wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	poll(&p, 1, -1);
}

/* A read of plaintext: read_record() on the fd, or the record layer. */
static ssize_t conn_read(struct sink_conn *c, char *buf, size_t size, int *type)
{
	ssize_t n;

	if (!c->rec)
		return read_record(c->h->fd, buf, size, type);
	*type = 0;
	while ((n = ts_rec_recv(c->rec, c->h->fd, buf, size)) < 0 && errno == EAGAIN)
		wait_fd(c->h->fd, POLLIN);
	return n;
}

/* Everything queued in the record layer out to the socket. 0 or -1. */
static int conn_flush(struct sink_conn *c)
{
	while (c->rec && ts_rec_flush(c->rec, c->h->fd) < 0) {
		if (errno != EAGAIN)
			return -1;
		wait_fd(c->h->fd, POLLOUT);
	}
	return 0;
}

/* A write of plaintext, whole, and out of the record layer too. */
static ssize_t conn_write(struct sink_conn *c, const char *buf, size_t len)
{
	size_t done = 0;
	ssize_t n;

	while (done < len) {
		if (!c->rec)
			n = write(c->h->fd, buf + done, len - done);
		else if ((n = ts_rec_send(c->rec, c->h->fd, buf + done, len - done)) < 0 &&
			 errno == EAGAIN) {
			wait_fd(c->h->fd, POLLOUT);
			continue;
		}
		if (n <= 0)
			return -1;
		done += (size_t)n;
	}
	return conn_flush(c) ? -1 : (ssize_t)done;
}

/* How the record layer says the client's side ended: 0 from a recv, or
 * ECONNRESET for a fatal alert. */
static void rec_end(const struct sink_conn *c, ssize_t n, char *end, size_t size)
{
	int alert = ts_rec_peer_alert(c->rec);

	if (n == 0)
		snprintf(end, size, "%s", alert == TLS_ALERT_CLOSE_NOTIFY ? "close_notify" : "eof");
	else if (alert > 0)
		snprintf(end, size, "alert-%d", alert);
	else
		snprintf(end, size, "%s", strerrorname_np(errno));
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

static void send_close_notify(struct sink_conn *c)
{
	static const char alert[2] = { 1 /* warning */, TLS_ALERT_CLOSE_NOTIFY };
	char cbuf[CMSG_SPACE(sizeof(unsigned char))] = { 0 };
	struct iovec iov = { .iov_base = (void *)alert, .iov_len = sizeof(alert) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			      .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	const struct ts_handoff *h = c->h;

	if (c->rec) {
		if ((ts_rec_close_notify(c->rec, h->fd) < 0 && errno != EAGAIN) || conn_flush(c))
			perror("handoff_sink: close_notify");
		return;
	}
	if (h->meta.mode != TS_MODE_KTLS)
		return; /* relay: the handshaker sends it on our EOF */
	cm->cmsg_level = SOL_TLS;
	cm->cmsg_type = TLS_SET_RECORD_TYPE;
	cm->cmsg_len = CMSG_LEN(sizeof(unsigned char));
	*(unsigned char *)CMSG_DATA(cm) = TLS_CT_ALERT;
	if (sendmsg(h->fd, &msg, 0) != (ssize_t)sizeof(alert))
		perror("handoff_sink: close_notify");
}

static void echo(struct sink_conn *c)
{
	char buf[16384], line[256], end[32] = "eof";
	size_t in = 0, out = 0;
	ssize_t n;
	int type;

	for (;;) {
		n = conn_read(c, buf, sizeof(buf), &type);
		if (c->rec && n <= 0) {
			rec_end(c, n, end, sizeof(end));
			break;
		}
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
		if (conn_write(c, buf, (size_t)n) < 0) {
			snprintf(end, sizeof(end), "write-%s", strerrorname_np(errno));
			break;
		}
		out += (size_t)n;
	}
	/* a clean end is answered with close_notify, as OpenSSL clients need
	 * to keep their session; through kTLS that is an alert record */
	if (!strcmp(end, "eof") || !strcmp(end, "close_notify"))
		send_close_notify(c);
	snprintf(line, sizeof(line), "echo peerport=%u in=%zu out=%zu end=%s", c->h->meta.peer.port,
		 in, out, end);
	print_line(line);
}

/* Reads the request head (or EOF), answers with the line, closes. */
static void *serve(void *arg)
{
	struct sink_conn c = { .h = arg };
	struct ts_handoff *h = c.h;
	char req[4096], line[LINE_SIZE], resp[LINE_SIZE + 256];
	size_t got = 0;
	ssize_t n;
	int len, type, err;

	/* hand-offs arrive non-blocking; this thread wants plain blocking reads
	 * (the record layer never blocks: it waits in poll) */
	fcntl(h->fd, F_SETFL, fcntl(h->fd, F_GETFL) & ~O_NONBLOCK);
	if (tlv_mode)
		print_tlv(h);
	describe(h, line, sizeof(line));
	print_line(line);
	if (h->has_records) {
		err = ts_rec_new(&c.rec, &h->records);
		explicit_bzero(&h->records, sizeof(h->records));
		if (err) {
			fprintf(stderr, "handoff_sink: ts_rec_new: %s\n", strerror(-err));
			goto out;
		}
	}
	if (echo_mode) {
		echo(&c);
		goto out;
	}
	while (got < sizeof(req) - 1 && (n = conn_read(&c, req + got, sizeof(req) - 1 - got, &type)) > 0) {
		got += (size_t)n;
		req[got] = '\0';
		if (strstr(req, "\r\n\r\n") || strstr(req, "\n\n"))
			break;
	}
	len = snprintf(resp, sizeof(resp),
		       "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
		       strlen(line) + 1, line);
	if (conn_write(&c, resp, (size_t)len) != len)
		perror("handoff_sink: write");
	else if (c.rec)
		send_close_notify(&c);
out:
	ts_rec_free(c.rec);
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

	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "echo"))
			echo_mode = true;
		else if (!strcmp(argv[i], "tlv"))
			tlv_mode = true;
		else
			break;
	}
	if (argc < 2 || i < argc) {
		fprintf(stderr, "usage: handoff_sink PATH [echo] [tlv]\n");
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
