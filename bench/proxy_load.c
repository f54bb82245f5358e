// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Load for the proxy benchmark (bench/proxy_bench.sh): the same client and
 * upstream in front of tagshake and of nginx's own TLS termination.
 *
 *   proxy_load upstream PORT
 *       accepts connections one at a time; writes "hello\n" at once, then
 *       reads one command byte and an 8-byte big-endian count: 'U' reads
 *       that many bytes, all 'y', then answers "done\n" (or "bad!\n" when a
 *       byte differs); 'D' writes that many 'x'; anything else: close.
 *   proxy_load holder PORT
 *       accepts every connection, writes "hello\n" and keeps it open (the
 *       upstream of the hold row).
 *   proxy_load latency HOST PORT SNI N
 *       N sequential connections: TLS handshake, then the time until the
 *       upstream's "hello" arrives (handshake done → first upstream byte).
 *       Prints "latency_us median=M p90=P mean=A n=N".
 *   proxy_load throughput HOST PORT SNI MB U|D
 *       one connection moving MB MiB up or down, every byte checked; prints
 *       "mbps=X seconds=S" (exit 1 on a short or corrupted transfer).
 *   proxy_load hold HOST PORT SNI N
 *       N TLS connections held open at once (each read its upstream's
 *       "hello"); prints "held N" and keeps them until stdin closes or
 *       gives a line (bench/proxy_bench.sh counts the servers' fds and RSS
 *       meanwhile). Needs an upstream that accepts many connections.
 *
 * The client does not verify the server (it measures, it does not test).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#define CHUNK 16384 /* one TLS record of plaintext */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int full_read(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, (char *)p + got, n - got);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

static void serve_one(int c)
{
	static char buf[1 << 16];
	unsigned char cmd[9];
	uint64_t n = 0;

	if (write(c, "hello\n", 6) != 6 || full_read(c, cmd, 9) < 0)
		return;
	for (int i = 1; i < 9; i++)
		n = n << 8 | cmd[i];
	if (cmd[0] == 'U') {
		int bad = 0;
		while (n) {
			ssize_t r = read(c, buf, n < sizeof(buf) ? n : sizeof(buf));
			if (r <= 0)
				return;
			for (ssize_t i = 0; i < r; i++)
				bad |= buf[i] != 'y';
			n -= (uint64_t)r;
		}
		if (write(c, bad ? "bad!\n" : "done\n", 5) != 5)
			return;
	} else if (cmd[0] == 'D') {
		memset(buf, 'x', sizeof(buf));
		while (n) {
			ssize_t w = write(c, buf, n < sizeof(buf) ? n : sizeof(buf));
			if (w <= 0)
				return;
			n -= (uint64_t)w;
		}
	}
}

static int upstream(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 128) < 0) {
		perror("upstream");
		return 1;
	}
	for (;;) {
		int c = accept(l, NULL, NULL);
		if (c < 0)
			continue;
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		serve_one(c);
		close(c);
	}
}

static int holder(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, l = socket(AF_INET, SOCK_STREAM, 0);

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 4096) < 0) {
		perror("holder");
		return 1;
	}
	for (;;) {
		int c = accept(l, NULL, NULL);
		/* kept open until the process ends: the connection is held */
		if (c >= 0 && write(c, "hello\n", 6) != 6)
			close(c);
	}
}

static SSL *dial(SSL_CTX *ctx, const char *host, int port, const char *sni, int *fdp)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	SSL *ssl;

	inet_pton(AF_INET, host, &sa.sin_addr);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("connect");
		exit(1);
	}
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, sni);
	if (SSL_connect(ssl) != 1) {
		ERR_print_errors_fp(stderr);
		exit(1);
	}
	*fdp = fd;
	return ssl;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int latency(SSL_CTX *ctx, const char *host, int port, const char *sni, int n)
{
	double *us = calloc((size_t)n, sizeof(double)), sum = 0;
	char buf[16];

	for (int i = 0; i < n; i++) {
		int fd;
		SSL *ssl = dial(ctx, host, port, sni, &fd);
		double t0 = now();
		if (SSL_read(ssl, buf, sizeof(buf)) <= 0) {
			fprintf(stderr, "no greeting\n");
			return 1;
		}
		us[i] = (now() - t0) * 1e6;
		sum += us[i];
		SSL_write(ssl, "X", 1); /* unknown command: the upstream closes */
		SSL_free(ssl);
		close(fd);
	}
	qsort(us, (size_t)n, sizeof(double), cmp);
	printf("latency_us median=%.0f p90=%.0f mean=%.0f n=%d\n", us[n / 2], us[n * 9 / 10],
	       sum / n, n);
	return 0;
}

static int throughput(SSL_CTX *ctx, const char *host, int port, const char *sni, long mb,
		      char dir)
{
	static char buf[CHUNK];
	uint64_t total = (uint64_t)mb << 20, left = total;
	unsigned char cmd[9] = { (unsigned char)dir };
	int fd;
	SSL *ssl = dial(ctx, host, port, sni, &fd);
	double t0;

	for (int i = 8; i >= 1; i--, total >>= 8)
		cmd[i] = (unsigned char)total;
	total = left;
	if (SSL_read(ssl, buf, 6) != 6)
		return 1;
	t0 = now();
	SSL_write(ssl, cmd, 9);
	memset(buf, 'y', sizeof(buf)); /* upload payload; downloads overwrite it */
	while (left) {
		int n = left < sizeof(buf) ? (int)left : (int)sizeof(buf);
		n = dir == 'U' ? SSL_write(ssl, buf, n) : SSL_read(ssl, buf, n);
		if (n <= 0) {
			fprintf(stderr, "transfer failed with %llu left\n", (unsigned long long)left);
			return 1;
		}
		for (int i = 0; dir == 'D' && i < n; i++)
			if (buf[i] != 'x') {
				fprintf(stderr, "corrupted byte %llu\n", (unsigned long long)(total - left) + (unsigned)i);
				return 1;
			}
		left -= (uint64_t)n;
	}
	if (dir == 'U' && (SSL_read(ssl, buf, 5) != 5 || memcmp(buf, "done\n", 5))) {
		fprintf(stderr, "upstream did not confirm the upload\n");
		return 1;
	}
	double s = now() - t0;
	printf("mbps=%.0f seconds=%.2f\n", (double)total / s / 1e6, s);
	SSL_free(ssl);
	close(fd);
	return 0;
}

static int hold(SSL_CTX *ctx, const char *host, int port, const char *sni, int n)
{
	char buf[16];
	int held = 0;

	for (int i = 0; i < n; i++) {
		int fd;
		SSL *ssl = dial(ctx, host, port, sni, &fd);
		if (SSL_read(ssl, buf, sizeof(buf)) > 0)
			held++;
		/* the SSL object is kept: freeing it would send nothing, but keep
		 * the client's side as a real client keeps it */
	}
	printf("held %d\n", held);
	fflush(stdout);
	if (!fgets(buf, sizeof(buf), stdin))
		return 0;
	return 0;
}

int main(int argc, char **argv)
{
	SSL_CTX *ctx;

	if (argc == 3 && !strcmp(argv[1], "holder"))
		return holder(atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "upstream"))
		return upstream(atoi(argv[2]));
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	if (argc == 6 && !strcmp(argv[1], "latency"))
		return latency(ctx, argv[2], atoi(argv[3]), argv[4], atoi(argv[5]));
	if (argc == 6 && !strcmp(argv[1], "hold"))
		return hold(ctx, argv[2], atoi(argv[3]), argv[4], atoi(argv[5]));
	if (argc == 7 && !strcmp(argv[1], "throughput"))
		return throughput(ctx, argv[2], atoi(argv[3]), argv[4], atol(argv[5]), argv[6][0]);
	fprintf(stderr, "usage: see the comment at the top of bench/proxy_load.c\n");
	return 2;
}
