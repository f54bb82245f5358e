// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tagshaked/ktls.c on whatever kernel runs it. This project's host has no kTLS:
 * there the tests check the clean fallback (exact reasons per direction, data
 * still flowing through OpenSSL); in the matrix VMs (tests/vm-suites.list)
 * the same tests check that both directions are on. The full kTLS data path
 * is build/tests/ktls_conformance's job.
 */
#include <errno.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ktls.h"
#include "tls_pair.h"

#define IO_TIMEOUT_S 10

struct conn {
	int cfd, sfd;
	SSL *c, *s;
};

static EVP_PKEY *pkey;
static X509 *cert;
static char chained_line[256];

static void chained_keylog(const SSL *ssl, const char *line)
{
	(void)ssl;
	if (!strncmp(line, "CLIENT_TRAFFIC_SECRET_0 ", 24))
		snprintf(chained_line, sizeof(chained_line), "%s", line);
}

/* Whether this kernel has the tls upper layer protocol at all. */
static int host_ulp_errno(void)
{
	int cfd, sfd, err = 0;

	assert_int_equal(ts_test_tcp_pair(&cfd, &sfd, IO_TIMEOUT_S), 0);
	if (setsockopt(cfd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) < 0)
		err = errno;
	close(cfd);
	close(sfd);
	return err;
}

static void open_conn(struct conn *k, int version, const char *cipher, SSL_CTX_keylog_cb_func keylog)
{
	SSL_CTX *cctx = ts_test_ctx(false, version, cipher, pkey, cert, 0);
	SSL_CTX *sctx = ts_test_ctx(true, version, cipher, pkey, cert, 0);

	assert_non_null(cctx);
	assert_non_null(sctx);
	if (keylog)
		SSL_CTX_set_keylog_callback(sctx, keylog);
	assert_int_equal(ts_ktls_ctx_init(cctx), 0);
	assert_int_equal(ts_ktls_ctx_init(sctx), 0);
	assert_true(SSL_CTX_get_options(sctx) & SSL_OP_ENABLE_KTLS);
	assert_int_equal(ts_test_tcp_pair(&k->cfd, &k->sfd, IO_TIMEOUT_S), 0);
	k->c = SSL_new(cctx);
	k->s = SSL_new(sctx);
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	assert_non_null(k->c);
	assert_non_null(k->s);
	SSL_set_fd(k->c, k->cfd);
	SSL_set_fd(k->s, k->sfd);
	assert_int_equal(ts_test_handshake(k->c, k->s), 0);
}

static void close_conn(struct conn *k)
{
	SSL_free(k->c);
	SSL_free(k->s);
	close(k->cfd);
	close(k->sfd);
}

/* Both ways through OpenSSL after the fallback. */
static void assert_data_flows(struct conn *k)
{
	static const char ping[] = "ping through userspace TLS", pong[] = "pong";
	char buf[64];

	assert_int_equal(SSL_write(k->c, ping, sizeof(ping)), sizeof(ping));
	assert_int_equal(SSL_read(k->s, buf, sizeof(buf)), sizeof(ping));
	assert_memory_equal(buf, ping, sizeof(ping));
	assert_int_equal(SSL_write(k->s, pong, sizeof(pong)), sizeof(pong));
	assert_int_equal(SSL_read(k->c, buf, sizeof(buf)), sizeof(pong));
	assert_memory_equal(buf, pong, sizeof(pong));
}

static void assert_off(const struct ts_ktls_status *st, int err)
{
	assert_int_equal(st->tx.by, TS_KTLS_OFF);
	assert_int_equal(st->rx.by, TS_KTLS_OFF);
	assert_int_equal(st->tx.err, err);
	assert_int_equal(st->rx.err, err);
}

/* Both directions on, as the kernel reads them back. */
static void assert_on(SSL *ssl, int fd, uint16_t version, uint16_t cipher_type)
{
	struct ts_ktls_status st;
	uint16_t v, c;

	assert_int_equal(ts_ktls_install(ssl, fd, &st), 0);
	assert_int_equal(st.version, version);
	assert_int_equal(st.cipher_type, cipher_type);
	assert_int_equal(st.tx.by, TS_KTLS_BY_OPENSSL);
	assert_int_equal(st.rx.by, version == TLS_1_3_VERSION ? TS_KTLS_BY_TAGSHAKE : TS_KTLS_BY_OPENSSL);
	assert_int_equal(ts_ktls_sock_info(fd, TLS_RX, &v, &c), 0);
	assert_int_equal(v, version);
	assert_int_equal(c, cipher_type);
}

/*
 * An offloadable suite: without a tls module (this project's host) both
 * directions report -ENOENT and OpenSSL carries the data; with kTLS both
 * directions are on.
 */
static void check_offloadable(int version, const char *cipher, uint16_t kversion, uint16_t kcipher)
{
	struct ts_ktls_status st;
	struct conn k;

	open_conn(&k, version, cipher, NULL);
	if (host_ulp_errno() == 0) {
		assert_on(k.s, k.sfd, kversion, kcipher);
		assert_on(k.c, k.cfd, kversion, kcipher);
		close_conn(&k);
		return;
	}
	assert_int_equal(host_ulp_errno(), ENOENT);
	assert_int_equal(ts_ktls_install(k.s, k.sfd, &st), -ENOENT);
	assert_int_equal(st.version, kversion);
	assert_int_equal(st.cipher_type, kcipher);
	assert_off(&st, -ENOENT);
	assert_int_equal(ts_ktls_install(k.c, k.cfd, &st), -ENOENT);
	assert_off(&st, -ENOENT);
	assert_data_flows(&k);
	close_conn(&k);
}

static void test_offloadable_tls13(void **state)
{
	(void)state;
	check_offloadable(TLS1_3_VERSION, "TLS_AES_128_GCM_SHA256", TLS_1_3_VERSION, TLS_CIPHER_AES_GCM_128);
}

static void test_offloadable_tls12(void **state)
{
	(void)state;
	check_offloadable(TLS1_2_VERSION, "ECDHE-ECDSA-CHACHA20-POLY1305", TLS_1_2_VERSION,
			  TLS_CIPHER_CHACHA20_POLY1305);
}

/* A CBC suite has no kernel cipher on any kernel. */
static void test_cbc_not_offloadable(void **state)
{
	struct ts_ktls_status st;
	struct conn k;

	(void)state;
	open_conn(&k, TLS1_2_VERSION, "ECDHE-ECDSA-AES256-SHA", NULL);
	assert_int_equal(ts_ktls_install(k.s, k.sfd, &st), -EOPNOTSUPP);
	assert_int_equal(st.version, TLS_1_2_VERSION);
	assert_int_equal(st.cipher_type, 0);
	assert_off(&st, -EOPNOTSUPP);
	assert_int_equal(ts_ktls_install(k.c, k.cfd, &st), -EOPNOTSUPP);
	assert_off(&st, -EOPNOTSUPP);
	assert_data_flows(&k);
	close_conn(&k);
}

/* The keylog hook keeps a callback the application had set. */
static void test_keylog_chained(void **state)
{
	struct conn k;

	(void)state;
	chained_line[0] = 0;
	open_conn(&k, TLS1_3_VERSION, "TLS_AES_256_GCM_SHA384", chained_keylog);
	/* label, 64 hex client random, 96 hex SHA-384 secret */
	assert_int_equal(strlen(chained_line), 24 + 64 + 1 + 96);
	close_conn(&k);
}

/* A socket without the tls ULP holds no keys: the check never says on. */
static void test_sock_info_plain_tcp(void **state)
{
	uint16_t v = 1, c = 1;
	int cfd, sfd;

	(void)state;
	assert_int_equal(ts_test_tcp_pair(&cfd, &sfd, IO_TIMEOUT_S), 0);
	assert_int_equal(ts_ktls_sock_info(cfd, TLS_TX, &v, &c), -EOPNOTSUPP);
	assert_int_equal(ts_ktls_sock_info(cfd, TLS_RX, &v, &c), -EOPNOTSUPP);
	assert_int_equal(v, 1);
	assert_int_equal(c, 1);
	close(cfd);
	close(sfd);
}

static void test_by_names(void **state)
{
	(void)state;
	assert_string_equal(ts_ktls_by_name(TS_KTLS_OFF), "off");
	assert_string_equal(ts_ktls_by_name(TS_KTLS_BY_OPENSSL), "openssl");
	assert_string_equal(ts_ktls_by_name(TS_KTLS_BY_TAGSHAKE), "tagshake");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offloadable_tls13), cmocka_unit_test(test_offloadable_tls12),
		cmocka_unit_test(test_cbc_not_offloadable),  cmocka_unit_test(test_keylog_chained),
		cmocka_unit_test(test_sock_info_plain_tcp),  cmocka_unit_test(test_by_names),
	};
	int rc;

	if (ts_test_cert(&pkey, &cert))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	X509_free(cert);
	EVP_PKEY_free(pkey);
	return rc;
}
