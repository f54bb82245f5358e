// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * kTLS conformance: runs inside the kernel matrix VMs (tests/test_vm_matrix.sh),
 * not on the host, whose kernel has no kTLS. Prints TAP.
 *
 * For each suite a TCP pair over loopback completes a real OpenSSL handshake,
 * ts_ktls_install() puts the keys into the kernel on both ends, and the test
 * asserts that the kernel holds them (OpenSSL's BIO flags and getsockopt
 * SOL_TLS read back the exact version and cipher), then moves data through the
 * kernel only (read/write/sendfile/splice on the fd) and compares it byte for
 * byte. Suites the kernel cannot offload must fall back cleanly: kTLS reported
 * off, data still flowing through OpenSSL.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "ktls.h"
#include "tls_pair.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

#define MIB (1024 * 1024)
/* A stuck peer fails the test instead of hanging the VM. */
#define IO_TIMEOUT_S 20
/* TLS record content types (RFC 8446 section 5.1). */
#define CT_HANDSHAKE 22
#define CT_APPLICATION_DATA 23
/* OpenSSL's TLS 1.3 server default: two NewSessionTicket messages. */
#define DEFAULT_TICKETS 2

/* Sizes around the 16 KiB record limit, odd sizes, and 1 MiB. */
static const size_t sizes[] = { 1, 2, 1000, 16383, 16384, 16385, 65537, 300001, MIB };

struct suite {
	const char *name;
	int version;       /* TLS1_2_VERSION or TLS1_3_VERSION */
	const char *cipher; /* cipher list (1.2) or ciphersuite (1.3) */
	uint16_t kernel_cipher; /* expected TLS_CIPHER_*, 0 for a fallback suite */
	bool offload;      /* whether both directions must be in the kernel */
};

static const struct suite suites[] = {
	{ "tls1.2 aes-128-gcm", TLS1_2_VERSION, "ECDHE-ECDSA-AES128-GCM-SHA256", TLS_CIPHER_AES_GCM_128, true },
	{ "tls1.2 aes-256-gcm", TLS1_2_VERSION, "ECDHE-ECDSA-AES256-GCM-SHA384", TLS_CIPHER_AES_GCM_256, true },
	{ "tls1.2 chacha20-poly1305", TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305", TLS_CIPHER_CHACHA20_POLY1305,
	  true },
	{ "tls1.3 aes-128-gcm", TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", TLS_CIPHER_AES_GCM_128, true },
	{ "tls1.3 aes-256-gcm", TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", TLS_CIPHER_AES_GCM_256, true },
	{ "tls1.3 chacha20-poly1305", TLS1_3_VERSION, "TLS_CHACHA20_POLY1305_SHA256", TLS_CIPHER_CHACHA20_POLY1305,
	  true },
	{ "tls1.2 aes-128-ccm", TLS1_2_VERSION, "ECDHE-ECDSA-AES128-CCM", TLS_CIPHER_AES_CCM_128, true },
	/* CBC with HMAC: no kernel cipher, OpenSSL must stay in userspace. */
	{ "tls1.2 aes-128-cbc-sha (no kernel cipher)", TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA", 0, false },
	/* The kernel has the cipher but OpenSSL 3.0 does not offload it for
	 * TLS 1.3: no half-kernel connection either. */
	{ "tls1.3 aes-128-ccm (OpenSSL does not offload)", TLS1_3_VERSION, "TLS_AES_128_CCM_SHA256",
	  TLS_CIPHER_AES_CCM_128, false },
};

struct end {
	SSL *ssl;
	int fd;
	bool kernel; /* both directions in the kernel: plain fd I/O */
	struct ts_ktls_status st;
};

struct pair {
	struct end c, s;
};

static EVP_PKEY *pkey;
static X509 *cert;
static int test_no;
static int failures;
/* Connections with both ends in the kernel, for the tls_stat check. */
static int kernel_pairs;

static void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

static void report(int rc, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", rc ? "not ok" : "ok", ++test_no);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	failures += rc != 0;
}

#define CHECK(cond, ...)                                                                      \
	do {                                                                                  \
		if (!(cond)) {                                                                \
			diag("%s:%d: %s", __FILE__, __LINE__, #cond);                         \
			diag(__VA_ARGS__);                                                    \
			return -1;                                                            \
		}                                                                             \
	} while (0)

/* Deterministic bytes that differ per position and per seed. */
static void fill(uint8_t *buf, size_t n, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
}

static size_t first_diff(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return i;
	return n;
}

static SSL_CTX *make_ctx(const struct suite *su, bool server, int tickets)
{
	SSL_CTX *ctx = ts_test_ctx(server, su->version, su->cipher, pkey, cert, tickets);

	if (ctx && ts_ktls_ctx_init(ctx) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static void free_pair(struct pair *p)
{
	kernel_pairs += p->c.kernel && p->s.kernel;
	for (int i = 0; i < 2; i++) {
		struct end *e = i ? &p->s : &p->c;

		if (e->ssl) {
			SSL_CTX_free(SSL_get_SSL_CTX(e->ssl)); /* drops make_ctx's reference */
			SSL_free(e->ssl);
		}
		if (e->fd >= 0)
			close(e->fd);
	}
}

/* Connects, handshakes and installs kTLS on the client end only. */
static int open_pair(const struct suite *su, int tickets, struct pair *p)
{
	SSL_CTX *cctx = make_ctx(su, false, 0), *sctx = make_ctx(su, true, tickets);
	int rc;

	memset(p, 0, sizeof(*p));
	p->c.fd = p->s.fd = -1;
	CHECK(cctx && sctx, "SSL_CTX setup failed");
	rc = ts_test_tcp_pair(&p->c.fd, &p->s.fd, IO_TIMEOUT_S);
	CHECK(rc == 0, "tcp pair: %s", strerror(-rc));
	p->c.ssl = SSL_new(cctx);
	p->s.ssl = SSL_new(sctx);
	CHECK(p->c.ssl && p->s.ssl, "SSL_new failed");
	SSL_set_fd(p->c.ssl, p->c.fd);
	SSL_set_fd(p->s.ssl, p->s.fd);
	CHECK(ts_test_handshake(p->c.ssl, p->s.ssl) == 0, "handshake failed");
	CHECK(SSL_version(p->c.ssl) == su->version, "negotiated 0x%x", SSL_version(p->c.ssl));
	rc = ts_ktls_install(p->c.ssl, p->c.fd, &p->c.st);
	p->c.kernel = rc == 0;
	return 0;
}

static int install_server(struct pair *p)
{
	int rc = ts_ktls_install(p->s.ssl, p->s.fd, &p->s.st);

	p->s.kernel = rc == 0;
	return rc;
}

static int write_all(struct end *e, const uint8_t *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = e->kernel ? write(e->fd, buf, n) : SSL_write(e->ssl, buf, (int)(n > INT32_MAX ? INT32_MAX : n));

		if (w <= 0)
			return e->kernel ? -errno : -EIO;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

static int read_all(struct end *e, uint8_t *buf, size_t n)
{
	while (n > 0) {
		ssize_t r = e->kernel ? read(e->fd, buf, n) : SSL_read(e->ssl, buf, (int)(n > INT32_MAX ? INT32_MAX : n));

		if (r <= 0)
			return r == 0 ? -EPIPE : e->kernel ? -errno : -EIO;
		buf += r;
		n -= (size_t)r;
	}
	return 0;
}

/* The sending half of a transfer runs in a thread: 1 MiB does not fit in
 * the socket buffers. */
struct sender {
	struct end *e;
	const uint8_t *buf;
	size_t n;
	int mode; /* how the bytes reach the socket */
	int rc;
};

enum { SEND_WRITE, SEND_SENDFILE, SEND_SPLICE };

static int send_sendfile(struct sender *s)
{
	int mfd = memfd_create("ktls-src", 0);
	off_t off = 0;
	int rc = 0;

	if (mfd < 0 || write(mfd, s->buf, s->n) != (ssize_t)s->n)
		rc = -errno;
	while (!rc && (size_t)off < s->n)
		if (sendfile(s->e->fd, mfd, &off, s->n - (size_t)off) < 0)
			rc = -errno;
	if (mfd >= 0)
		close(mfd);
	return rc;
}

static int send_splice(struct sender *s)
{
	size_t done = 0;
	int p[2], rc = 0;

	if (pipe(p) < 0)
		return -errno;
	while (!rc && done < s->n) {
		size_t chunk = s->n - done < 65536 ? s->n - done : 65536;
		ssize_t w = write(p[1], s->buf + done, chunk);

		if (w <= 0) {
			rc = -errno;
			break;
		}
		for (ssize_t left = w; left > 0 && !rc;) {
			ssize_t m = splice(p[0], NULL, s->e->fd, NULL, (size_t)left, SPLICE_F_MOVE);

			if (m <= 0)
				rc = m < 0 ? -errno : -EPIPE;
			else
				left -= m;
		}
		done += (size_t)w;
	}
	close(p[0]);
	close(p[1]);
	return rc;
}

static void *sender_thread(void *arg)
{
	struct sender *s = arg;

	switch (s->mode) {
	case SEND_SENDFILE:
		s->rc = send_sendfile(s);
		break;
	case SEND_SPLICE:
		s->rc = send_splice(s);
		break;
	default:
		s->rc = write_all(s->e, s->buf, s->n);
	}
	return NULL;
}

/* Receives n bytes from a kTLS socket through a pipe with splice(2). */
static int recv_splice(struct end *e, uint8_t *buf, size_t n)
{
	size_t done = 0;
	int p[2], rc = 0;

	if (pipe(p) < 0)
		return -errno;
	while (!rc && done < n) {
		ssize_t m = splice(e->fd, NULL, p[1], NULL, n - done < 65536 ? n - done : 65536, 0);

		if (m <= 0) {
			rc = m < 0 ? -errno : -EPIPE;
			break;
		}
		for (ssize_t left = m; left > 0;) {
			ssize_t r = read(p[0], buf + done, (size_t)left);

			if (r <= 0) {
				rc = -EIO;
				break;
			}
			left -= r;
			done += (size_t)r;
		}
	}
	close(p[0]);
	close(p[1]);
	return rc;
}

/* Moves n pattern bytes from `from` to `to` and compares them. */
static int transfer(struct end *from, struct end *to, size_t n, uint32_t seed, int mode, bool splice_in)
{
	uint8_t *want = malloc(n), *got = malloc(n);
	struct sender s = { .e = from, .buf = want, .n = n, .mode = mode };
	pthread_t t;
	size_t diff;
	int rc;

	CHECK(want && got, "out of memory");
	fill(want, n, seed);
	memset(got, 0, n);
	CHECK(pthread_create(&t, NULL, sender_thread, &s) == 0, "pthread_create");
	rc = splice_in ? recv_splice(to, got, n) : read_all(to, got, n);
	pthread_join(t, NULL);
	diff = first_diff(want, got, n);
	free(want);
	free(got);
	CHECK(s.rc == 0, "%zu bytes: sender: %s", n, strerror(-s.rc));
	CHECK(rc == 0, "%zu bytes: receiver: %s", n, strerror(-rc));
	CHECK(diff == n, "%zu bytes: first difference at byte %zu", n, diff);
	return 0;
}

static int check_dir(const char *who, const char *dir, int fd, int opt, const struct ts_ktls_dir *d,
		     enum ts_ktls_by want_by, const struct suite *su)
{
	uint16_t version = 0, cipher = 0;
	int want_version = su->version == TLS1_3_VERSION ? TLS_1_3_VERSION : TLS_1_2_VERSION;
	int rc;

	CHECK(d->by == want_by, "%s %s: kTLS by %s (err %d), want %s", who, dir, ts_ktls_by_name(d->by), d->err,
	      ts_ktls_by_name(want_by));
	rc = ts_ktls_sock_info(fd, opt, &version, &cipher);
	CHECK(rc == 0, "%s %s: getsockopt(SOL_TLS): %s", who, dir, strerror(-rc));
	CHECK(version == want_version && cipher == su->kernel_cipher, "%s %s: kernel holds version 0x%x cipher %u",
	      who, dir, version, cipher);
	return 0;
}

/* kTLS is on, by whom we expect, and the kernel reads back the suite. */
static int check_on(const struct suite *su, struct pair *p)
{
	enum ts_ktls_by rx_by = su->version == TLS1_3_VERSION ? TS_KTLS_BY_TAGSHAKE : TS_KTLS_BY_OPENSSL;

	for (int i = 0; i < 2; i++) {
		struct end *e = i ? &p->s : &p->c;
		const char *who = i ? "server" : "client";

		CHECK(BIO_get_ktls_send(SSL_get_wbio(e->ssl)) == 1, "%s: OpenSSL does not send with kTLS", who);
		CHECK(e->kernel, "%s: ts_ktls_install: tx %s (%d) rx %s (%d)", who, ts_ktls_by_name(e->st.tx.by),
		      e->st.tx.err, ts_ktls_by_name(e->st.rx.by), e->st.rx.err);
		if (check_dir(who, "tx", e->fd, TLS_TX, &e->st.tx, TS_KTLS_BY_OPENSSL, su) ||
		    check_dir(who, "rx", e->fd, TLS_RX, &e->st.rx, rx_by, su))
			return -1;
	}
	return 0;
}

/* Handshake; the client sends before the server installs its receive key,
 * so the kernel must decrypt a record that was queued before TLS_RX. */
static int test_setup(const struct suite *su, struct pair *p)
{
	static const char early[] = "sent before the server's TLS_RX";
	char got[sizeof(early)];
	int rc;

	if (open_pair(su, 0, p))
		return -1;
	CHECK(p->c.kernel, "client: ts_ktls_install: tx %s (%d) rx %s (%d)", ts_ktls_by_name(p->c.st.tx.by),
	      p->c.st.tx.err, ts_ktls_by_name(p->c.st.rx.by), p->c.st.rx.err);
	CHECK(write_all(&p->c, (const uint8_t *)early, sizeof(early)) == 0, "early write: %s", strerror(errno));
	rc = install_server(p);
	CHECK(rc == 0, "server: ts_ktls_install: %s", strerror(-rc));
	if (check_on(su, p))
		return -1;
	CHECK(read_all(&p->s, (uint8_t *)got, sizeof(got)) == 0, "early read: %s", strerror(errno));
	CHECK(!memcmp(got, early, sizeof(early)), "early bytes differ");
	return 0;
}

static int test_sizes(struct end *from, struct end *to)
{
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (transfer(from, to, sizes[i], (uint32_t)i + 1, SEND_WRITE, false))
			return -1;
	return 0;
}

static int run_offload_suite(const struct suite *su)
{
	struct pair p;
	int rc;

	rc = test_setup(su, &p);
	report(rc, "%s: handshake, kTLS tx+rx on both ends, kernel holds the suite", su->name);
	if (rc) {
		free_pair(&p);
		return -1;
	}
	report(test_sizes(&p.c, &p.s), "%s: client->server 1 B..1 MiB through kTLS, byte for byte", su->name);
	report(test_sizes(&p.s, &p.c), "%s: server->client 1 B..1 MiB through kTLS, byte for byte", su->name);
	report(transfer(&p.c, &p.s, MIB + 3, 101, SEND_SENDFILE, false), "%s: sendfile 1 MiB+3 into a kTLS socket",
	       su->name);
	report(transfer(&p.s, &p.c, MIB + 5, 102, SEND_SPLICE, false), "%s: splice 1 MiB+5 pipe->kTLS socket",
	       su->name);
	report(transfer(&p.c, &p.s, MIB + 7, 103, SEND_WRITE, true), "%s: splice 1 MiB+7 kTLS socket->pipe",
	       su->name);
	free_pair(&p);
	return 0;
}

/* A suite without a kernel cipher: kTLS reported off with a reason, data
 * flows through OpenSSL in userspace. */
static int test_fallback(const struct suite *su)
{
	struct pair p;
	int rc = -1;

	if (open_pair(su, 0, &p))
		goto out;
	install_server(&p);
	for (int i = 0; i < 2; i++) {
		struct end *e = i ? &p.s : &p.c;
		uint16_t v, c;

		CHECK(!e->kernel && e->st.tx.by == TS_KTLS_OFF && e->st.rx.by == TS_KTLS_OFF,
		      "kTLS reported on: tx %s rx %s", ts_ktls_by_name(e->st.tx.by), ts_ktls_by_name(e->st.rx.by));
		CHECK(e->st.tx.err == -EOPNOTSUPP && e->st.rx.err == -EOPNOTSUPP, "errors tx %d rx %d, want %d",
		      e->st.tx.err, e->st.rx.err, -EOPNOTSUPP);
		CHECK(e->st.cipher_type == su->kernel_cipher, "cipher_type %u, want %u", e->st.cipher_type,
		      su->kernel_cipher);
		CHECK(!BIO_get_ktls_send(SSL_get_wbio(e->ssl)) && !BIO_get_ktls_recv(SSL_get_rbio(e->ssl)),
		      "OpenSSL says kTLS is on");
		CHECK(ts_ktls_sock_info(e->fd, TLS_TX, &v, &c) < 0, "kernel holds a TX key");
		CHECK(ts_ktls_sock_info(e->fd, TLS_RX, &v, &c) < 0, "kernel holds an RX key");
	}
	rc = transfer(&p.c, &p.s, MIB, 201, SEND_WRITE, false) || transfer(&p.s, &p.c, 65537, 202, SEND_WRITE, false);
out:
	free_pair(&p);
	return rc;
}

/* TLS 1.3 client receive key installed at sequence 0 while the server's
 * NewSessionTickets are still in flight: the kernel must decrypt them as
 * handshake records (proving the sequence numbering) before the data. */
static int test_tickets(const struct suite *su)
{
	static const char msg[] = "after the tickets";
	char buf[4096], cbuf[CMSG_SPACE(sizeof(unsigned char))];
	int handshake_records = 0, rc = -1;
	struct pair p;

	if (open_pair(su, DEFAULT_TICKETS, &p))
		goto out;
	CHECK(p.c.kernel && p.c.st.rx.by == TS_KTLS_BY_TAGSHAKE, "client kTLS rx %s (%d)",
	      ts_ktls_by_name(p.c.st.rx.by), p.c.st.rx.err);
	CHECK(install_server(&p) == 0, "server kTLS");
	CHECK(write_all(&p.s, (const uint8_t *)msg, sizeof(msg)) == 0, "server write");
	for (;;) {
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *cm;
		unsigned char type = 0;
		ssize_t n = recvmsg(p.c.fd, &mh, 0);

		CHECK(n > 0, "recvmsg: %s", n < 0 ? strerror(errno) : "EOF");
		cm = CMSG_FIRSTHDR(&mh);
		if (cm && cm->cmsg_level == SOL_TLS && cm->cmsg_type == TLS_GET_RECORD_TYPE)
			type = *CMSG_DATA(cm);
		if (type == CT_HANDSHAKE) {
			CHECK(buf[0] == SSL3_MT_NEWSESSION_TICKET, "handshake message type %d", buf[0]);
			handshake_records++;
			continue;
		}
		CHECK(type == CT_APPLICATION_DATA, "record type %u", type);
		CHECK(n == sizeof(msg) && !memcmp(buf, msg, sizeof(msg)), "data differs (%zd bytes)", n);
		break;
	}
	CHECK(handshake_records == DEFAULT_TICKETS, "%d NewSessionTicket records, want %d", handshake_records,
	      DEFAULT_TICKETS);
	rc = 0;
out:
	free_pair(&p);
	return rc;
}

/* Reads one counter of /proc/net/tls_stat; -1 when absent. */
static long tls_stat(const char *name)
{
	char key[64];
	long val, found = -1;
	FILE *f = fopen("/proc/net/tls_stat", "r");

	if (!f)
		return -1;
	while (fscanf(f, "%63s %ld", key, &val) == 2)
		if (!strcmp(key, name))
			found = val;
	fclose(f);
	return found;
}

static int test_no_decrypt_errors(void)
{
	long errs = tls_stat("TlsDecryptError");

	CHECK(errs == 0, "TlsDecryptError = %ld", errs);
	return 0;
}

int main(void)
{
	long tx0 = tls_stat("TlsTxSw"), rx0 = tls_stat("TlsRxSw"), tx, rx;
	int want_pairs = 1; /* the session ticket test's */

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (ts_test_cert(&pkey, &cert)) {
		printf("not ok 1 - test certificate\n1..1\n");
		return 1;
	}
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		const struct suite *su = &suites[i];

		if (su->offload)
			run_offload_suite(su);
		else
			report(test_fallback(su), "%s: kTLS off with -EOPNOTSUPP, 1 MiB flows through OpenSSL",
			       su->name);
		want_pairs += su->offload;
	}
	report(test_tickets(&suites[3]) /* tls1.3 aes-128-gcm */, "tls1.3 client rx: NewSessionTickets decrypt as handshake records, then data");
	/* Each kTLS connection opened two software TX and two RX contexts;
	 * the fallback suite none. */
	tx = tls_stat("TlsTxSw") - tx0;
	rx = tls_stat("TlsRxSw") - rx0;
	report(kernel_pairs == want_pairs && tx == 2 * kernel_pairs && rx == 2 * kernel_pairs ? 0 : -1,
	       "/proc/net/tls_stat: TlsTxSw +%ld TlsRxSw +%ld for %d kTLS connections (want %d)", tx, rx,
	       kernel_pairs, want_pairs);
	report(test_no_decrypt_errors(), "/proc/net/tls_stat: TlsDecryptError 0");
	printf("1..%d\n", test_no);
	X509_free(cert);
	EVP_PKEY_free(pkey);
	return failures ? 1 : 0;
}
