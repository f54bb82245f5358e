// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A TLS client for the hand-off edge cases, against tagshaked with
 * tests/handoff_sink in echo mode (every byte sent back):
 *
 *   handshaker_peer HOST PORT SNI MODE BYTES [-c CERT -k KEY] [-2] [-C SUITES] [-r]
 *
 * early      the client's last handshake flight and BYTES of application
 *            data leave in one TCP segment (TCP_CORK from the ServerHello
 *            until after the first SSL_write), so the data is queued behind
 *            Finished when the handshaker installs kTLS receive.
 * keyupdate  BYTES, read back; then a KeyUpdate (update_not_requested) and
 *            BYTES more; what comes back after it is reported.
 * keyupdate-req  the same with update_requested (the server must answer
 *            with its own KeyUpdate before it sends again).
 *
 * -2 TLS 1.2 at most; -C the TLS 1.3 cipher suites to offer; -r a first
 * connection makes a session and the reported one resumes it (in TLS 1.2 the
 * client's Finished then ends the handshake, data right behind it).
 *
 * Every byte read back is compared with what was sent (a different pattern
 * per phase, so a byte out of place shows). Prints one line:
 *   port=P resumed=0|1 first=SENT/BACK/same after=SENT/BACK/same END
 * END: end=eof (close_notify both ways), eof-without-close_notify, reset,
 * timeout or tls-error.
 * "same" is 1 when every byte that came back is the byte sent there.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

/* Longest wait for an echo: the sink answers at once, a stall is a failure. */
#define READ_TIMEOUT_S 5
/* TLS 1.3 handshake message type of the ServerHello (RFC 8446 section 4) */
#define TLS_HS_SERVER_HELLO 2

enum mode { MODE_EARLY, MODE_KEYUPDATE, MODE_KEYUPDATE_REQ };

struct phase {
	size_t sent, back;
	bool same;
};

static const char *end_word = "eof";
/* The newest session the server gave (TLS 1.3: its last ticket). */
static SSL_SESSION *newest;

static int keep_session(SSL *ssl, SSL_SESSION *sess)
{
	(void)ssl;
	SSL_SESSION_free(newest);
	newest = sess;
	return 1; /* the reference is ours */
}

/* Byte i of phase p: an LCG so that shifted or repeated data differs. */
static unsigned char pattern(int p, size_t i)
{
	uint32_t x = (uint32_t)(i * 2654435761u) ^ (uint32_t)(p * 40503u + 17u);

	return (unsigned char)(x >> 13);
}

static int dial(const char *host, int port, int *local_port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct timeval tv = { .tv_sec = READ_TIMEOUT_S };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0 || inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return -1;
	}
	*local_port = ntohs(sa.sin_port);
	return fd;
}

/* Corks the socket once the ServerHello is in: the ClientHello is out, and
 * everything the client writes from here waits for the uncork. */
static void cork_after_server_hello(int write_p, int version, int content_type, const void *buf,
				    size_t len, SSL *ssl, void *arg)
{
	int one = 1;

	(void)version, (void)arg;
	if (!write_p && content_type == SSL3_RT_HANDSHAKE && len > 0 &&
	    ((const unsigned char *)buf)[0] == TLS_HS_SERVER_HELLO)
		setsockopt(SSL_get_fd(ssl), IPPROTO_TCP, TCP_CORK, &one, sizeof(one));
}

static bool send_phase(SSL *ssl, int p, size_t n, struct phase *ph)
{
	unsigned char *buf = malloc(n);
	size_t i;
	int w;

	if (!buf)
		return false;
	for (i = 0; i < n; i++)
		buf[i] = pattern(p, i);
	w = SSL_write(ssl, buf, (int)n);
	free(buf);
	if (w != (int)n)
		return false;
	ph->sent = n;
	return true;
}

/* Reads up to ph->sent bytes back; false when the connection ended. */
static bool read_phase(SSL *ssl, int p, struct phase *ph)
{
	unsigned char buf[16384];
	int r, i;

	ph->same = true;
	while (ph->back < ph->sent) {
		r = SSL_read(ssl, buf, (int)sizeof(buf));
		if (r <= 0) {
			int e = SSL_get_error(ssl, r);

			if (e == SSL_ERROR_ZERO_RETURN)
				end_word = "eof";
			else if (e == SSL_ERROR_SYSCALL && errno == ECONNRESET)
				end_word = "reset";
			else if (e == SSL_ERROR_SYSCALL && (errno == EAGAIN || errno == EWOULDBLOCK))
				end_word = "timeout";
			else if (e == SSL_ERROR_SYSCALL)
				end_word = "eof";
			else
				end_word = "tls-error";
			return false;
		}
		for (i = 0; i < r; i++)
			if (ph->back + (size_t)i >= ph->sent || buf[i] != pattern(p, ph->back + (size_t)i))
				ph->same = false;
		ph->back += (size_t)r;
	}
	return true;
}

/* After the last phase: close_notify, then wait for the server's close. */
static void finish(SSL *ssl)
{
	unsigned char buf[256];
	int r;

	SSL_shutdown(ssl);
	while ((r = SSL_read(ssl, buf, sizeof(buf))) > 0)
		;
	if (SSL_get_error(ssl, r) == SSL_ERROR_SYSCALL && errno == ECONNRESET)
		end_word = "reset";
	else if (SSL_get_error(ssl, r) == SSL_ERROR_SYSCALL && errno == EAGAIN)
		end_word = "timeout";
	else if (!(SSL_get_shutdown(ssl) & SSL_SENT_SHUTDOWN))
		/* OpenSSL 3.0 forgets its own close_notify when it ignores an
		 * EOF without the server's, and would then drop the session */
		end_word = "eof-without-close_notify";
}

static int run(SSL *ssl, enum mode mode, size_t bytes, struct phase ph[2])
{
	int off = 0;

	if (mode == MODE_EARLY) {
		SSL_set_msg_callback(ssl, cork_after_server_hello);
		if (SSL_connect(ssl) != 1 || !send_phase(ssl, 0, bytes, &ph[0]))
			return -1;
		/* uncork: Finished and the data go out together */
		setsockopt(SSL_get_fd(ssl), IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
		if (read_phase(ssl, 0, &ph[0]))
			finish(ssl);
		return 0;
	}
	if (SSL_connect(ssl) != 1 || !send_phase(ssl, 0, bytes, &ph[0]))
		return -1;
	if (!read_phase(ssl, 0, &ph[0]))
		return 0;
	if (!SSL_key_update(ssl, mode == MODE_KEYUPDATE_REQ ? SSL_KEY_UPDATE_REQUESTED
							      : SSL_KEY_UPDATE_NOT_REQUESTED))
		return -1;
	/* the KeyUpdate goes out in front of these bytes */
	if (!send_phase(ssl, 1, bytes, &ph[1]))
		return 0;
	if (read_phase(ssl, 1, &ph[1]))
		finish(ssl);
	return 0;
}

static int parse_mode(const char *s, enum mode *m)
{
	if (!strcmp(s, "early"))
		*m = MODE_EARLY;
	else if (!strcmp(s, "keyupdate"))
		*m = MODE_KEYUPDATE;
	else if (!strcmp(s, "keyupdate-req"))
		*m = MODE_KEYUPDATE_REQ;
	else
		return -1;
	return 0;
}

struct opts {
	const char *host, *sni, *cert, *key, *suites;
	int port;
	enum mode mode;
	size_t bytes;
	bool tls12, resume;
};

static SSL_CTX *client_ctx(const struct opts *o)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (!ctx)
		return NULL;
	/* the sink's kTLS socket closes with a FIN, not a close_notify */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
	SSL_CTX_sess_set_new_cb(ctx, keep_session);
	if ((o->tls12 && !SSL_CTX_set_max_proto_version(ctx, TLS1_2_VERSION)) ||
	    (o->suites && !SSL_CTX_set_ciphersuites(ctx, o->suites)) ||
	    (o->cert && (SSL_CTX_use_certificate_chain_file(ctx, o->cert) != 1 ||
			 SSL_CTX_use_PrivateKey_file(ctx, o->key, SSL_FILETYPE_PEM) != 1))) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* One connection, resuming newest when set; prints its line when print is
 * set. 0 or -1. */
static int connection(SSL_CTX *ctx, const struct opts *o, bool print)
{
	struct phase ph[2] = { { 0 }, { 0 } };
	int fd, port, rc;
	SSL *ssl;

	fd = dial(o->host, o->port, &port);
	if (fd < 0)
		return -1;
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	SSL_set_tlsext_host_name(ssl, o->sni);
	if (newest)
		SSL_set_session(ssl, newest);
	end_word = "eof";
	rc = run(ssl, o->mode, o->bytes, ph);
	if (rc < 0) {
		ERR_print_errors_fp(stderr);
	} else if (print) {
		printf("port=%d resumed=%d first=%zu/%zu/%d after=%zu/%zu/%d end=%s\n", port,
		       SSL_session_reused(ssl), ph[0].sent, ph[0].back, ph[0].same, ph[1].sent,
		       ph[1].back, ph[1].same, end_word);
	}
	SSL_free(ssl);
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o = { 0 };
	SSL_CTX *ctx;
	int c, rc;

	while ((c = getopt(argc, argv, "c:k:2C:r")) != -1) {
		switch (c) {
		case 'c': o.cert = optarg; break;
		case 'k': o.key = optarg; break;
		case '2': o.tls12 = true; break;
		case 'C': o.suites = optarg; break;
		case 'r': o.resume = true; break;
		default: return 2;
		}
	}
	if (argc - optind != 5 || parse_mode(argv[optind + 3], &o.mode) ||
	    atol(argv[optind + 4]) <= 0 || atol(argv[optind + 4]) > (1 << 24)) {
		fprintf(stderr, "usage: handshaker_peer HOST PORT SNI early|keyupdate|keyupdate-req "
				"BYTES [-c CERT -k KEY] [-2] [-C SUITES] [-r]\n");
		return 2;
	}
	o.host = argv[optind];
	o.port = atoi(argv[optind + 1]);
	o.sni = argv[optind + 2];
	o.bytes = (size_t)atol(argv[optind + 4]);
	ctx = client_ctx(&o);
	if (!ctx) {
		fprintf(stderr, "handshaker_peer: bad certificate, key or cipher suites\n");
		return 1;
	}
	rc = o.resume ? connection(ctx, &o, false) : 0;
	if (!rc)
		rc = connection(ctx, &o, true);
	if (rc)
		fprintf(stderr, "handshaker_peer: connect, handshake or write failed\n");
	SSL_SESSION_free(newest);
	SSL_CTX_free(ctx);
	return rc ? 1 : 0;
}
