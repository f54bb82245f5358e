// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * lib/tls_record.c against a real OpenSSL TLS 1.3 client. A real OpenSSL
 * server does the handshake over loopback TCP; its traffic secrets come
 * from its keylog callback and its sequence number from the records it
 * wrote after its Finished (the session tickets), exactly what tagshaked
 * hands over. Then the server side switches to ts_rec and every test talks
 * to the unchanged OpenSSL client, once per suite.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/crypto.h>

#include "keylog.h"
#include "tls_pair.h"
#include "tls_record.h"

#define IO_TIMEOUT_S 10
#define POLL_MS (IO_TIMEOUT_S * 1000)
/* Session tickets the server sends after its Finished: its first records
 * under the application key, so the hand-off's tx sequence number. */
#define TICKETS 2
#define MIB (1024 * 1024)
/* A send buffer small enough that sends are partial. */
#define SMALL_SOCKBUF 4096

struct suite_case {
	const char *name;
	uint16_t id;
};

static const struct suite_case suites[] = {
	{ "TLS_AES_128_GCM_SHA256", TS_REC_AES_128_GCM_SHA256 },
	{ "TLS_AES_256_GCM_SHA384", TS_REC_AES_256_GCM_SHA384 },
	{ "TLS_CHACHA20_POLY1305_SHA256", TS_REC_CHACHA20_POLY1305_SHA256 },
};

/* What the server's callbacks saw during the handshake. */
static struct {
	struct ts_rec_params p;
	bool finished_written;
	uint64_t records_after_finished;
} hs;

/* KeyUpdate messages the client received. */
static int client_key_updates;

static EVP_PKEY *pkey;
static X509 *cert;

struct pair {
	int cfd, sfd;
	SSL *c;
	struct ts_rec *r;
};

static void server_keylog(const SSL *ssl, const char *line)
{
	int n;

	(void)ssl;
	n = ts_keylog_secret(line, TS_KEYLOG_CLIENT_TRAFFIC_0, hs.p.rx.secret, sizeof(hs.p.rx.secret));
	if (n > 0)
		hs.p.rx.secret_len = (uint8_t)n;
	n = ts_keylog_secret(line, TS_KEYLOG_SERVER_TRAFFIC_0, hs.p.tx.secret, sizeof(hs.p.tx.secret));
	if (n > 0)
		hs.p.tx.secret_len = (uint8_t)n;
}

/* OpenSSL reports a written record's header before the message in it, so
 * the headers seen after the Finished message are the records after it. */
static void server_records(int write_p, int version, int type, const void *buf, size_t len, SSL *ssl, void *arg)
{
	(void)version, (void)ssl, (void)arg;
	if (!write_p)
		return;
	if (type == SSL3_RT_HEADER && hs.finished_written)
		hs.records_after_finished++;
	if (type == SSL3_RT_HANDSHAKE && len && ((const uint8_t *)buf)[0] == SSL3_MT_FINISHED)
		hs.finished_written = true;
}

static void client_msgs(int write_p, int version, int type, const void *buf, size_t len, SSL *ssl, void *arg)
{
	(void)version, (void)ssl, (void)arg;
	if (!write_p && type == SSL3_RT_HANDSHAKE && len && ((const uint8_t *)buf)[0] == SSL3_MT_KEY_UPDATE)
		client_key_updates++;
}

static void open_pair(struct pair *k, const struct suite_case *sc)
{
	SSL_CTX *cctx = ts_test_ctx(false, TLS1_3_VERSION, sc->name, pkey, cert, 0);
	SSL_CTX *sctx = ts_test_ctx(true, TLS1_3_VERSION, sc->name, pkey, cert, TICKETS);
	SSL *s;

	assert_non_null(cctx);
	assert_non_null(sctx);
	memset(&hs, 0, sizeof(hs));
	client_key_updates = 0;
	SSL_CTX_set_keylog_callback(sctx, server_keylog);
	SSL_CTX_set_msg_callback(sctx, server_records);
	SSL_CTX_set_msg_callback(cctx, client_msgs);
	assert_int_equal(ts_test_tcp_pair(&k->cfd, &k->sfd, IO_TIMEOUT_S), 0);
	k->c = SSL_new(cctx);
	s = SSL_new(sctx);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	assert_non_null(k->c);
	assert_non_null(s);
	SSL_set_fd(k->c, k->cfd);
	SSL_set_fd(s, k->sfd);
	assert_int_equal(ts_test_handshake(k->c, s), 0);

	/* The hand-off: OpenSSL holds nothing unread, wrote its tickets. */
	assert_false(SSL_has_pending(s));
	assert_int_equal(hs.records_after_finished, TICKETS);
	hs.p.suite = sc->id;
	hs.p.tx.seq = hs.records_after_finished;
	assert_int_equal(ts_rec_new(&k->r, &hs.p), 0);
	OPENSSL_cleanse(&hs.p, sizeof(hs.p));
	SSL_free(s);
	assert_int_equal(fcntl(k->sfd, F_SETFL, O_NONBLOCK), 0);
}

static void close_pair(struct pair *k)
{
	ts_rec_free(k->r);
	SSL_free(k->c);
	close(k->cfd);
	close(k->sfd);
}

static void wait_fd(int fd, short events)
{
	struct pollfd p = { .fd = fd, .events = events };

	assert_int_equal(poll(&p, 1, POLL_MS), 1);
}

/* ---- the server side, through ts_rec ---- */

static void rec_read_exact(struct pair *k, uint8_t *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = ts_rec_recv(k->r, k->sfd, buf + got, len - got);

		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			assert_false(ts_rec_has_input(k->r));
			wait_fd(k->sfd, POLLIN);
			continue;
		}
		assert_true(n > 0);
		got += (size_t)n;
	}
}

static void rec_write_all(struct pair *k, const uint8_t *buf, size_t len)
{
	size_t sent = 0;

	while (sent < len) {
		ssize_t n = ts_rec_send(k->r, k->sfd, buf + sent, len - sent);

		if (n < 0) {
			assert_int_equal(errno, EAGAIN);
			wait_fd(k->sfd, POLLOUT);
			continue;
		}
		sent += (size_t)n;
	}
	while (ts_rec_want_write(k->r)) {
		if (ts_rec_flush(k->r, k->sfd) < 0) {
			assert_int_equal(errno, EAGAIN);
			wait_fd(k->sfd, POLLOUT);
		}
	}
}

/* After the bytes in flight are gone, nothing is held. */
static void assert_idle(const struct pair *k)
{
	assert_false(ts_rec_has_input(k->r));
	assert_false(ts_rec_want_write(k->r));
	assert_int_equal(ts_rec_buffer_bytes(k->r), 0);
}

/* ---- the client side, OpenSSL in a thread ---- */

struct client_job {
	SSL *c;
	uint8_t *buf;
	size_t len;
	bool write;
	bool ok;
	pthread_t t;
};

static void *client_run(void *arg)
{
	struct client_job *j = arg;
	size_t done = 0, n;

	while (done < j->len) {
		int ok = j->write ? SSL_write_ex(j->c, j->buf + done, j->len - done, &n)
				  : SSL_read_ex(j->c, j->buf + done, j->len - done, &n);

		if (ok != 1)
			return NULL;
		done += n;
	}
	j->ok = true;
	return NULL;
}

static void client_start(struct client_job *j, SSL *c, uint8_t *buf, size_t len, bool write)
{
	*j = (struct client_job){ .c = c, .buf = buf, .len = len, .write = write };
	assert_int_equal(pthread_create(&j->t, NULL, client_run, j), 0);
}

static void client_join(struct client_job *j)
{
	assert_int_equal(pthread_join(j->t, NULL), 0);
	assert_true(j->ok);
}

static void fill_pattern(uint8_t *buf, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)(i * 31 + seed + (i >> 12));
}

/* len bytes client to server, then len bytes back, both compared. */
static void exchange(struct pair *k, size_t len)
{
	uint8_t *want = malloc(len), *got = malloc(len);
	struct client_job j;

	assert_non_null(want);
	assert_non_null(got);
	fill_pattern(want, len, (unsigned)len);
	client_start(&j, k->c, want, len, true);
	rec_read_exact(k, got, len);
	client_join(&j);
	assert_memory_equal(got, want, len);

	fill_pattern(want, len, (unsigned)len + 1);
	memset(got, 0, len);
	client_start(&j, k->c, got, len, false);
	rec_write_all(k, want, len);
	client_join(&j);
	assert_memory_equal(got, want, len);
	assert_idle(k);
	free(want);
	free(got);
}

/* The protected bytes of one SSL_write, taken before they reach the socket. */
static size_t client_record(struct pair *k, const void *data, size_t len, uint8_t *out, size_t cap)
{
	BIO *mem = BIO_new(BIO_s_mem());
	int n;

	assert_non_null(mem);
	SSL_set0_wbio(k->c, mem);
	assert_int_equal(SSL_write(k->c, data, (int)len), (int)len);
	n = BIO_read(mem, out, (int)cap);
	assert_true(n > 0);
	SSL_set0_wbio(k->c, BIO_new_socket(k->cfd, BIO_NOCLOSE));
	return (size_t)n;
}

static void raw_send(int fd, const uint8_t *p, size_t len)
{
	assert_int_equal(send(fd, p, len, 0), (ssize_t)len);
}

/* ---- tests ---- */

static void test_data(void **state)
{
	static const size_t sizes[] = { 1, 100, 16383, 16384, 16385, 3 * 16384 + 7, MIB };
	struct pair k;

	open_pair(&k, *state);
	assert_idle(&k);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		exchange(&k, sizes[i]);
	close_pair(&k);
}

/* A record arriving one byte at a time: nothing until its last byte. */
static void test_one_byte_at_a_time(void **state)
{
	static const char msg[] = "one record, byte by byte";
	uint8_t rec[256], buf[64];
	struct pair k;
	size_t n;

	open_pair(&k, *state);
	exchange(&k, 1); /* the client has read the tickets */
	n = client_record(&k, msg, sizeof(msg), rec, sizeof(rec));
	assert_int_equal(n, 5 + sizeof(msg) + 1 + 16);
	for (size_t i = 0; i + 1 < n; i++) {
		raw_send(k.cfd, rec + i, 1);
		wait_fd(k.sfd, POLLIN);
		assert_int_equal(ts_rec_recv(k.r, k.sfd, buf, sizeof(buf)), -1);
		assert_int_equal(errno, EAGAIN);
		assert_false(ts_rec_has_input(k.r));
		assert_true(ts_rec_buffer_bytes(k.r) > 0);
	}
	raw_send(k.cfd, rec + n - 1, 1);
	wait_fd(k.sfd, POLLIN);
	assert_int_equal(ts_rec_recv(k.r, k.sfd, buf, sizeof(buf)), sizeof(msg));
	assert_memory_equal(buf, msg, sizeof(msg));
	assert_idle(&k);
	exchange(&k, 100);
	close_pair(&k);
}

/* Several records in one recv, read through a buffer smaller than one:
 * the rest waits inside, where has_input sees it and epoll does not. */
static void test_small_reader(void **state)
{
	uint8_t want[3 * 100], got[sizeof(want)], rec[3 * 200];
	size_t len = 0, off = 0;
	struct pair k;

	open_pair(&k, *state);
	exchange(&k, 1);
	fill_pattern(want, sizeof(want), 9);
	for (int i = 0; i < 3; i++)
		len += client_record(&k, want + 100 * i, 100, rec + len, sizeof(rec) - len);
	raw_send(k.cfd, rec, len);
	wait_fd(k.sfd, POLLIN);
	while (off < sizeof(want)) {
		ssize_t n = ts_rec_recv(k.r, k.sfd, got + off, 7);

		assert_true(n > 0 && n <= 7);
		off += (size_t)n;
		assert_int_equal(ts_rec_has_input(k.r), off < sizeof(want));
	}
	assert_memory_equal(got, want, sizeof(want));
	assert_idle(&k);
	close_pair(&k);
}

/* KeyUpdate from the client, without and with update_requested; the
 * server answers the request with its own KeyUpdate before its data. */
static void test_key_update(void **state)
{
	struct pair k;

	open_pair(&k, *state);
	exchange(&k, 100);
	assert_int_equal(SSL_key_update(k.c, SSL_KEY_UPDATE_NOT_REQUESTED), 1);
	exchange(&k, 20000);
	assert_int_equal(client_key_updates, 0);
	assert_int_equal(SSL_key_update(k.c, SSL_KEY_UPDATE_REQUESTED), 1);
	exchange(&k, 20000);
	assert_int_equal(client_key_updates, 1);
	assert_int_equal(SSL_key_update(k.c, SSL_KEY_UPDATE_REQUESTED), 1);
	exchange(&k, MIB);
	assert_int_equal(client_key_updates, 2);
	close_pair(&k);
}

static void test_close_notify_from_client(void **state)
{
	uint8_t buf[16];
	struct pair k;

	open_pair(&k, *state);
	exchange(&k, 100);
	assert_true(SSL_shutdown(k.c) >= 0);
	wait_fd(k.sfd, POLLIN);
	assert_int_equal(ts_rec_peer_alert(k.r), -1);
	assert_int_equal(ts_rec_recv(k.r, k.sfd, buf, sizeof(buf)), 0);
	assert_int_equal(ts_rec_recv(k.r, k.sfd, buf, sizeof(buf)), 0);
	assert_int_equal(ts_rec_peer_alert(k.r), 0);
	assert_idle(&k);
	close_pair(&k);
}

/* Data and close_notify in one read: the data first, then has_input says
 * the end is still to be read, then 0, then has_input is quiet. */
static void test_data_then_close_notify(void **state)
{
	uint8_t rec[256], buf[64];
	struct pair k;
	size_t n;

	open_pair(&k, *state);
	exchange(&k, 1);
	n = client_record(&k, "last", 4, rec, sizeof(rec));
	raw_send(k.cfd, rec, n);
	assert_true(SSL_shutdown(k.c) >= 0);
	wait_fd(k.sfd, POLLIN);
	usleep(100000); /* both records queued: one recv takes them */
	assert_int_equal(ts_rec_recv(k.r, k.sfd, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "last", 4);
	assert_true(ts_rec_has_input(k.r));
	assert_int_equal(ts_rec_recv(k.r, k.sfd, buf, sizeof(buf)), 0);
	assert_false(ts_rec_has_input(k.r));
	assert_idle(&k);
	close_pair(&k);
}

static void test_close_notify_to_client(void **state)
{
	uint8_t buf[16];
	struct pair k;

	open_pair(&k, *state);
	exchange(&k, 100);
	assert_int_equal(ts_rec_close_notify(k.r, k.sfd), 0);
	assert_int_equal(SSL_read(k.c, buf, sizeof(buf)), 0);
	assert_int_equal(SSL_get_error(k.c, 0), SSL_ERROR_ZERO_RETURN);
	assert_int_equal(ts_rec_send(k.r, k.sfd, "x", 1), -1);
	assert_int_equal(errno, EPIPE);
	assert_idle(&k);
	close_pair(&k);
}

/* One flipped byte at `at` of a record: EBADMSG, for good, and the
 * caller's buffer untouched. */
static void check_tampered(const struct suite_case *sc, size_t at)
{
	static const char msg[] = "never delivered";
	uint8_t rec[256], buf[64], untouched[sizeof(buf)];
	struct pair k;
	size_t n;

	open_pair(&k, sc);
	exchange(&k, 1);
	n = client_record(&k, msg, sizeof(msg), rec, sizeof(rec));
	rec[at] ^= 0x01;
	raw_send(k.cfd, rec, n);
	wait_fd(k.sfd, POLLIN);
	memset(buf, 0xee, sizeof(buf));
	memcpy(untouched, buf, sizeof(buf));
	assert_int_equal(ts_rec_recv(k.r, k.sfd, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EBADMSG);
	assert_memory_equal(buf, untouched, sizeof(buf));
	assert_int_equal(ts_rec_recv(k.r, k.sfd, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(ts_rec_buffer_bytes(k.r), 0);
	close_pair(&k);
}

static void test_tampered(void **state)
{
	check_tampered(*state, 5 + 3); /* ciphertext */
	check_tampered(*state, 2);     /* header, the additional data */
	check_tampered(*state, 5 + 16 + 1 + 16 - 1); /* last byte of the tag */
}

/* A plaintext change_cipher_spec after the handshake breaks the protocol. */
static void test_change_cipher_spec(void **state)
{
	static const uint8_t ccs[] = { 20, 3, 3, 0, 1, 1 };
	uint8_t buf[16];
	struct pair k;

	open_pair(&k, *state);
	exchange(&k, 1);
	raw_send(k.cfd, ccs, sizeof(ccs));
	wait_fd(k.sfd, POLLIN);
	assert_int_equal(ts_rec_recv(k.r, k.sfd, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EBADMSG);
	close_pair(&k);
}

/* A record longer than 2^14 + 256 is refused from its header. */
static void test_oversized_record(void **state)
{
	static const uint8_t hdr[] = { 23, 3, 3, (16384 + 257) >> 8, (16384 + 257) & 0xff };
	uint8_t buf[16];
	struct pair k;

	open_pair(&k, *state);
	raw_send(k.cfd, hdr, sizeof(hdr));
	wait_fd(k.sfd, POLLIN);
	assert_int_equal(ts_rec_recv(k.r, k.sfd, buf, sizeof(buf)), -1);
	assert_int_equal(errno, EBADMSG);
	close_pair(&k);
}

/* The client refuses a record the server sent (one byte flipped on the
 * way) with a fatal alert, which the server reads as ECONNRESET. */
static void test_fatal_alert(void **state)
{
	uint8_t rec[64], buf[16];
	struct pair k;
	BIO *mem;

	open_pair(&k, *state);
	exchange(&k, 1);
	rec_write_all(&k, (const uint8_t *)"x", 1);
	assert_int_equal(recv(k.cfd, rec, 5 + 1 + 1 + 16, MSG_WAITALL), 5 + 1 + 1 + 16);
	rec[5] ^= 0x80;
	mem = BIO_new_mem_buf(rec, 5 + 1 + 1 + 16);
	assert_non_null(mem);
	SSL_set0_rbio(k.c, mem);
	assert_true(SSL_read(k.c, buf, sizeof(buf)) <= 0);
	wait_fd(k.sfd, POLLIN);
	assert_int_equal(ts_rec_recv(k.r, k.sfd, buf, sizeof(buf)), -1);
	assert_int_equal(errno, ECONNRESET);
	assert_int_equal(ts_rec_peer_alert(k.r), SSL_AD_BAD_RECORD_MAC);
	close_pair(&k);
}

/* The client's EOF without close_notify: 0, and no alert to show for it. */
static void test_bare_eof(void **state)
{
	uint8_t buf[16];
	struct pair k;

	open_pair(&k, *state);
	exchange(&k, 100);
	assert_int_equal(shutdown(k.cfd, SHUT_WR), 0);
	wait_fd(k.sfd, POLLIN);
	assert_int_equal(ts_rec_recv(k.r, k.sfd, buf, sizeof(buf)), 0);
	assert_int_equal(ts_rec_peer_alert(k.r), -1);
	assert_idle(&k);
	close_pair(&k);
}

/* A tiny send buffer and a client not reading: sends are partial, the rest
 * waits in the bounded queue (want_write), send refuses more with EAGAIN,
 * flush finishes once the client reads. */
static void test_partial_sends(void **state)
{
	int small = SMALL_SOCKBUF;
	uint8_t *want = malloc(MIB), *got = malloc(MIB);
	struct client_job j;
	size_t sent = 0;
	ssize_t n;
	struct pair k;

	assert_non_null(want);
	assert_non_null(got);
	open_pair(&k, *state);
	exchange(&k, 1);
	/* the client reads nothing yet: its receive window fills, then the
	 * small send buffer */
	assert_int_equal(setsockopt(k.sfd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
	fill_pattern(want, MIB, 77);
	while ((n = ts_rec_send(k.r, k.sfd, want + sent, MIB - sent)) > 0)
		sent += (size_t)n;
	assert_int_equal(errno, EAGAIN);
	assert_true(sent > 0 && sent < MIB);
	assert_true(ts_rec_want_write(k.r));
	assert_true(ts_rec_buffer_bytes(k.r) > 0);
	assert_int_equal(ts_rec_flush(k.r, k.sfd), -1);
	assert_int_equal(errno, EAGAIN);

	client_start(&j, k.c, got, MIB, false);
	rec_write_all(&k, want + sent, MIB - sent);
	client_join(&j);
	assert_memory_equal(got, want, MIB);
	assert_idle(&k);
	assert_int_equal(ts_rec_flush(k.r, k.sfd), 0);
	close_pair(&k);
	free(want);
	free(got);
}

static void test_params_checked(void **state)
{
	struct ts_rec_params p = { .suite = TS_REC_AES_256_GCM_SHA384 };
	struct ts_rec *r = (struct ts_rec *)&p;

	(void)state;
	p.rx.secret_len = p.tx.secret_len = 32; /* SHA-384 wants 48 */
	assert_int_equal(ts_rec_new(&r, &p), -EINVAL);
	assert_null(r);
	p.suite = 0x1304; /* TLS_AES_128_CCM_SHA256: not taken */
	p.rx.secret_len = p.tx.secret_len = 32;
	assert_false(ts_rec_suite_supported(p.suite));
	assert_int_equal(ts_rec_new(&r, &p), -EINVAL);
	assert_true(ts_rec_suite_supported(TS_REC_AES_128_GCM_SHA256));
	assert_true(ts_rec_suite_supported(TS_REC_AES_256_GCM_SHA384));
	assert_true(ts_rec_suite_supported(TS_REC_CHACHA20_POLY1305_SHA256));
}

#define PER_SUITE(fn, i) cmocka_unit_test_prestate(fn, (void *)&suites[i])
#define ALL_SUITES(fn) PER_SUITE(fn, 0), PER_SUITE(fn, 1), PER_SUITE(fn, 2)

int main(void)
{
	const struct CMUnitTest tests[] = {
		ALL_SUITES(test_data),
		ALL_SUITES(test_one_byte_at_a_time),
		ALL_SUITES(test_small_reader),
		ALL_SUITES(test_key_update),
		ALL_SUITES(test_close_notify_from_client),
		ALL_SUITES(test_close_notify_to_client),
		ALL_SUITES(test_tampered),
		ALL_SUITES(test_change_cipher_spec),
		ALL_SUITES(test_oversized_record),
		ALL_SUITES(test_fatal_alert),
		ALL_SUITES(test_bare_eof),
		ALL_SUITES(test_data_then_close_notify),
		ALL_SUITES(test_partial_sends),
		cmocka_unit_test(test_params_checked),
	};
	int rc;

	if (ts_test_cert(&pkey, &cert))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	X509_free(cert);
	EVP_PKEY_free(pkey);
	return rc;
}
