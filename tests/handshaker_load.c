// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Load generator for the handshaker measurements: sequential TLS
 * connections (connect, handshake, one request, read to EOF), optionally
 * with a client certificate and resuming the previous session.
 *
 *   handshaker_load HOST PORT SNI SECONDS [-c CERT -k KEY] [-r] [-2] [-R]
 * -r resume the first session, -2 TLS 1.2, -R offer RSA signatures only.
 *
 * Prints "handshakes=N resumed=R failed=F seconds=S". The client skips
 * verifying the server so that it stays cheaper than the server.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(const char *host, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	inet_pton(AF_INET, host, &sa.sin_addr);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* One connection; returns 1 resumed, 0 full, -1 failed. */
static int one(SSL_CTX *ctx, const char *host, int port, const char *sni, SSL_SESSION **sess)
{
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	char buf[4096];
	int fd = dial(host, port), rc = -1;
	SSL *ssl;

	if (fd < 0)
		return -1;
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, sni);
	if (sess && *sess)
		SSL_set_session(ssl, *sess);
	if (SSL_connect(ssl) == 1 && SSL_write(ssl, req, sizeof(req) - 1) > 0) {
		while (SSL_read(ssl, buf, sizeof(buf)) > 0)
			;
		rc = SSL_session_reused(ssl) ? 1 : 0;
		/* without close_notify OpenSSL marks the session not resumable */
		SSL_shutdown(ssl);
		/* the newest ticket, as real clients do (TLS 1.3 tickets are
		 * meant for one use) */
		if (sess) {
			SSL_SESSION_free(*sess);
			*sess = SSL_get1_session(ssl);
		}
	}
	ERR_clear_error();
	SSL_free(ssl);
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	const char *cert = NULL, *key = NULL;
	int resume = 0, tls12 = 0, rsa = 0, o, n = 0, resumed = 0, failed = 0;
	SSL_SESSION *sess = NULL;
	double end, start;
	SSL_CTX *ctx;

	while ((o = getopt(argc, argv, "c:k:r2R")) != -1) {
		switch (o) {
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'r': resume = 1; break;
		case '2': tls12 = 1; break;
		case 'R': rsa = 1; break;
		default: return 2;
		}
	}
	if (argc - optind != 4) {
		fprintf(stderr, "usage: handshaker_load HOST PORT SNI SECONDS [-c CERT -k KEY] [-r] [-2]\n");
		return 2;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT);
	if (tls12)
		SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION);
	/* an RSA-only client makes the server pick its RSA certificate */
	if (rsa)
		SSL_CTX_set1_sigalgs_list(ctx, "rsa_pss_rsae_sha256:rsa_pkcs1_sha256");
	if (cert && (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
		     SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1)) {
		fprintf(stderr, "handshaker_load: cannot load %s\n", cert);
		return 1;
	}
	start = now();
	end = start + atof(argv[optind + 3]);
	while (now() < end) {
		int r = one(ctx, argv[optind], atoi(argv[optind + 1]), argv[optind + 2],
			    resume ? &sess : NULL);

		if (r < 0)
			failed++;
		else
			n++, resumed += r;
	}
	printf("handshakes=%d resumed=%d failed=%d seconds=%.2f\n", n, resumed, failed,
	       now() - start);
	SSL_SESSION_free(sess);
	SSL_CTX_free(ctx);
	return 0;
}
