// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The hand-off API: TLV build/parse and fd passing over a real socketpair. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "tagshake.h"
#include "ts_handoff.h"

static long build_sample(uint8_t *mem, size_t cap)
{
	struct ts_tlv_buf b;
	struct ts_addr peer = { .family = 4, .addr = { 127, 0, 0, 1 }, .port = 40000 };
	uint8_t fp[TS_FINGERPRINT_LEN];
	size_t ssl;

	memset(fp, 0xab, sizeof(fp));
	ts_tlv_init(&b, mem, cap);
	ts_tlv_add_str(&b, PP2_TYPE_AUTHORITY, "api.example.com");
	ts_tlv_add_str(&b, PP2_TYPE_ALPN, "h2");
	ssl = ts_tlv_open_ssl(&b, PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS, 0);
	ts_tlv_add_str(&b, PP2_SUBTYPE_SSL_VERSION, "TLSv1.3");
	ts_tlv_add_str(&b, PP2_SUBTYPE_SSL_CN, "client one");
	ts_tlv_add_str(&b, PP2_SUBTYPE_SSL_CIPHER, "TLS_AES_128_GCM_SHA256");
	ts_tlv_close(&b, ssl);
	ts_tlv_add_str(&b, TS_PP2_TYPE_POLICY, "*.example.com");
	ts_tlv_add_u16(&b, TS_PP2_TYPE_ROUTE, 3);
	ts_tlv_add_u8(&b, TS_PP2_TYPE_ACTION, TS_ACTION_REQUIRE);
	ts_tlv_add_u8(&b, TS_PP2_TYPE_MODE, TS_MODE_RELAY);
	ts_tlv_add(&b, TS_PP2_TYPE_FINGERPRINT, fp, sizeof(fp));
	ts_tlv_add_str(&b, TS_PP2_TYPE_SERIAL, "1F");
	ts_tlv_add_addr(&b, TS_PP2_TYPE_PEER, &peer);
	ts_tlv_add(&b, 0xF0, "future", 6); /* unknown (PP2 experimental range): skipped */
	return ts_tlv_finish(&b);
}

static void check_sample(const struct ts_handoff_meta *m)
{
	assert_int_equal(m->authority.len, 15);
	assert_memory_equal(m->authority.p, "api.example.com", 15);
	assert_memory_equal(m->alpn.p, "h2", 2);
	assert_int_equal(m->has_ssl, 1);
	assert_int_equal(m->ssl_client, 7);
	assert_int_equal(m->ssl_verify, 0);
	assert_memory_equal(m->version.p, "TLSv1.3", 7);
	assert_int_equal(m->cn.len, 10);
	assert_memory_equal(m->cipher.p, "TLS_AES_128_GCM_SHA256", 22);
	assert_memory_equal(m->policy.p, "*.example.com", 13);
	assert_int_equal(m->route_id, 3);
	assert_int_equal(m->action, TS_ACTION_REQUIRE);
	assert_int_equal(m->mode, TS_MODE_RELAY);
	assert_non_null(m->fingerprint);
	assert_int_equal(m->fingerprint[31], 0xab);
	assert_memory_equal(m->serial.p, "1F", 2);
	assert_int_equal(m->peer.family, 4);
	assert_int_equal(m->peer.port, 40000);
	assert_int_equal(m->peer.addr[0], 127);
	assert_int_equal(m->cert.len, 0);
}

static void test_build_parse(void **state)
{
	uint8_t mem[512];
	struct ts_handoff_meta m;
	long n = build_sample(mem, sizeof(mem));

	(void)state;
	assert_true(n > 0);
	/* SSL TLV: header, client, verify, 3 sub-TLVs (7+10+22 bytes + 3 headers) */
	assert_int_equal(ts_handoff_parse(mem, (size_t)n, &m), 0);
	check_sample(&m);
}

static void test_truncated(void **state)
{
	uint8_t mem[512];
	struct ts_handoff_meta m;
	long n = build_sample(mem, sizeof(mem));

	(void)state;
	assert_int_equal(ts_handoff_parse(mem, (size_t)n - 1, &m), -EBADMSG);
	assert_int_equal(ts_handoff_parse(mem, 2, &m), -EBADMSG);
	/* a fixed-size TLV with the wrong length */
	assert_int_equal(ts_handoff_parse((const uint8_t *)"\xE1\x00\x01\x05", 4, &m), -EBADMSG);
}

/* One CHAIN TLV around `val` (n bytes) parsed on its own. */
static int parse_chain_tlv(const uint8_t *val, size_t n, struct ts_handoff_meta *m)
{
	uint8_t mem[64];
	struct ts_tlv_buf b;

	ts_tlv_init(&b, mem, sizeof(mem));
	ts_tlv_add(&b, TS_PP2_TYPE_CHAIN, val, n);
	return ts_handoff_parse(mem, (size_t)ts_tlv_finish(&b), m);
}

/* CHAIN: 3-byte lengths, each certificate in order; anything not whole is
 * refused (zero length, a length past the end, a cut prefix, too many). */
static void test_chain(void **state)
{
	static const uint8_t two[] = { 0, 0, 3, 'a', 'b', 'c', 0, 0, 1, 'd' };
	static const uint8_t zero[] = { 0, 0, 0 }, over[] = { 0, 0, 4, 'a', 'b', 'c' };
	static const uint8_t cut[] = { 0, 0, 1, 'a', 0, 0 };
	static const uint8_t five[] = { 0, 0, 1, 'a', 0, 0, 1, 'b', 0, 0, 1, 'c',
					0, 0, 1, 'd', 0, 0, 1, 'e' };
	struct ts_handoff_meta m;
	struct ts_bytes x;
	size_t off = 0;

	(void)state;
	assert_int_equal(parse_chain_tlv(two, sizeof(two), &m), 0);
	assert_int_equal(m.chain.len, sizeof(two));
	assert_int_equal(ts_handoff_chain_next(&m.chain, &off, &x), 1);
	assert_int_equal(x.len, 3);
	assert_memory_equal(x.p, "abc", 3);
	assert_int_equal(ts_handoff_chain_next(&m.chain, &off, &x), 1);
	assert_int_equal(x.len, 1);
	assert_memory_equal(x.p, "d", 1);
	assert_int_equal(ts_handoff_chain_next(&m.chain, &off, &x), 0);
	assert_int_equal(parse_chain_tlv(five, sizeof(five) - 4, &m), 0); /* four: the bound */
	assert_int_equal(parse_chain_tlv(five, sizeof(five), &m), -EBADMSG);
	assert_int_equal(parse_chain_tlv(zero, sizeof(zero), &m), -EBADMSG);
	assert_int_equal(parse_chain_tlv(over, sizeof(over), &m), -EBADMSG);
	assert_int_equal(parse_chain_tlv(cut, sizeof(cut), &m), -EBADMSG);
	assert_int_equal(parse_chain_tlv(two, 0, &m), -EBADMSG);
	/* no CHAIN TLV: an empty chain, nothing to iterate */
	assert_int_equal(ts_handoff_parse((const uint8_t *)"\xE3\x00\x01\x01", 4, &m), 0);
	off = 0;
	assert_int_equal(ts_handoff_chain_next(&m.chain, &off, &x), 0);
}

static void test_overflow(void **state)
{
	uint8_t mem[16];
	struct ts_tlv_buf b;

	(void)state;
	ts_tlv_init(&b, mem, sizeof(mem));
	ts_tlv_add_str(&b, PP2_TYPE_AUTHORITY, "0123456789");
	assert_int_equal(ts_tlv_finish(&b), 13);
	ts_tlv_add_str(&b, PP2_TYPE_ALPN, "h2");
	assert_int_equal(ts_tlv_finish(&b), -EMSGSIZE);
}

static void test_send_recv(void **state)
{
	uint8_t mem[512];
	long n = build_sample(mem, sizeof(mem));
	int sp[2], pair[2];
	struct ts_handoff h;
	char c = 0;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	assert_int_equal(ts_handoff_send(sp[0], pair[0], mem, (size_t)n), 0);
	close(pair[0]);
	assert_int_equal(ts_handoff_recv(sp[1], &h), 0);
	assert_true(h.fd >= 0);
	assert_int_equal(h.tlv_len, (size_t)n);
	assert_memory_equal(h.tlv, mem, (size_t)n);
	check_sample(&h.meta);
	/* the passed fd is the same connection */
	assert_int_equal(write(h.fd, "x", 1), 1);
	assert_int_equal(read(pair[1], &c, 1), 1);
	assert_int_equal(c, 'x');
	ts_handoff_release(&h);
	assert_int_equal(h.fd, -1);
	assert_int_equal(read(pair[1], &c, 1), 0); /* last copy closed: EOF */
	close(sp[0]);
	assert_int_equal(ts_handoff_recv(sp[1], &h), -EPIPE);
	close(sp[1]);
	close(pair[1]);
}

static void test_recv_without_fd(void **state)
{
	int sp[2];
	struct ts_handoff h;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	assert_int_equal(send(sp[0], "\xE3\x00\x01\x01", 4, 0), 4);
	assert_int_equal(ts_handoff_recv(sp[1], &h), -EBADMSG);
	assert_int_equal(h.fd, -1);
	close(sp[0]);
	close(sp[1]);
}

/* Early connect: no fd with the early modes, and only then. */
static void test_early_modes(void **state)
{
	struct ts_addr peer = { .family = 4, .addr = { 127, 0, 0, 1 }, .port = 40000 };
	struct ts_addr local = { .family = 4, .addr = { 127, 0, 0, 1 }, .port = 443 };
	uint8_t mem[128];
	struct ts_tlv_buf b;
	struct ts_handoff h;
	int sp[2], pair[2];
	size_t mark;
	char c;
	long n;

	(void)state;
	ts_tlv_init(&b, mem, sizeof(mem));
	mark = ts_tlv_open_mode(&b, TS_MODE_EARLY);
	ts_tlv_add_u64(&b, TS_PP2_SUBTYPE_GENERATION, 0x0102030405060708ULL);
	ts_tlv_close(&b, mark);
	ts_tlv_add_str(&b, TS_PP2_TYPE_POLICY, "raw.test");
	ts_tlv_add_addr(&b, TS_PP2_TYPE_PEER, &peer);
	ts_tlv_add_addr(&b, TS_PP2_TYPE_LOCAL, &local);
	n = ts_tlv_finish(&b);
	assert_true(n > 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	/* sent without an fd: received with fd -1 and its metadata */
	assert_int_equal(ts_handoff_send(sp[0], -1, mem, (size_t)n), 0);
	assert_int_equal(ts_handoff_recv(sp[1], &h), 0);
	assert_int_equal(h.fd, -1);
	assert_int_equal(h.meta.mode, TS_MODE_EARLY);
	assert_true(ts_handoff_mode_early(h.meta.mode));
	assert_true(h.meta.generation == 0x0102030405060708ULL);
	assert_int_equal(h.meta.peer.port, 40000);
	assert_int_equal(h.meta.local.port, 443);
	assert_int_equal(h.meta.policy.len, 8);
	ts_handoff_release(&h);
	/* an early message that carries an fd is refused, the fd closed */
	assert_int_equal(ts_handoff_send(sp[0], pair[0], mem, (size_t)n), 0);
	close(pair[0]);
	assert_int_equal(ts_handoff_recv(sp[1], &h), -EBADMSG);
	assert_int_equal(h.fd, -1);
	assert_int_equal(read(pair[1], &c, 1), 0); /* its last copy closed: EOF */
	/* and a connection (relay) without one still is */
	mem[3] = TS_MODE_RELAY;
	assert_int_equal(ts_handoff_send(sp[0], -1, mem, (size_t)n), 0);
	assert_int_equal(ts_handoff_recv(sp[1], &h), -EBADMSG);
	assert_false(ts_handoff_mode_early(TS_MODE_KTLS) || ts_handoff_mode_early(TS_MODE_RELAY));
	assert_true(ts_handoff_mode_early(TS_MODE_EARLY_CANCEL));
	close(sp[0]);
	close(sp[1]);
	close(pair[1]);
}

static void test_listen_connect(void **state)
{
	char path[] = "/tmp/ts_handoff_test.XXXXXX";
	char sock[64];
	int l, c, a;

	(void)state;
	assert_non_null(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/h.sock", path);
	l = ts_handoff_listen(sock, 4);
	assert_true(l >= 0);
	c = ts_handoff_connect(sock);
	assert_true(c >= 0);
	a = accept(l, NULL, NULL);
	assert_true(a >= 0);
	close(a);
	close(c);
	close(l);
	/* a second listen replaces the stale socket */
	l = ts_handoff_listen(sock, 4);
	assert_true(l >= 0);
	close(l);
	unlink(sock);
	rmdir(path);
	assert_int_equal(ts_handoff_connect(sock), -ENOENT);
}

/* The socket file is 0660 whatever the umask: the documented setup (the
 * handshaker's user in the proxy's group) must be able to connect. */
static void test_listen_mode(void **state)
{
	char path[] = "/tmp/ts_handoff_mode.XXXXXX";
	char sock[64];
	struct stat st;
	mode_t old = umask(022);
	int l;

	(void)state;
	assert_non_null(mkdtemp(path));
	snprintf(sock, sizeof(sock), "%s/h.sock", path);
	l = ts_handoff_listen(sock, 4);
	umask(old);
	assert_true(l >= 0);
	assert_int_equal(stat(sock, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0660);
	close(l);
	unlink(sock);
	rmdir(path);
}

/* The generation rides in MODE's sub-TLVs; a MODE byte alone (an older
 * sender) still parses, with generation 0. */
static void test_mode_generation(void **state)
{
	uint8_t mem[64];
	struct ts_tlv_buf b;
	struct ts_handoff_meta m;
	size_t mark;
	long n;

	(void)state;
	ts_tlv_init(&b, mem, sizeof(mem));
	mark = ts_tlv_open_mode(&b, TS_MODE_KTLS);
	ts_tlv_add_u64(&b, TS_PP2_SUBTYPE_GENERATION, 0x0123456789abcdefULL);
	ts_tlv_add(&b, 0x7f, "x", 1); /* unknown sub-TLV: skipped */
	ts_tlv_close(&b, mark);
	n = ts_tlv_finish(&b);
	assert_int_equal(n, 3 + 1 + 11 + 4);
	assert_int_equal(mem[0], TS_PP2_TYPE_MODE);
	assert_int_equal(mem[2], 16);
	assert_int_equal(ts_handoff_parse(mem, (size_t)n, &m), 0);
	assert_int_equal(m.mode, TS_MODE_KTLS);
	assert_true(m.generation == 0x0123456789abcdefULL);

	ts_tlv_init(&b, mem, sizeof(mem));
	ts_tlv_add_u8(&b, TS_PP2_TYPE_MODE, TS_MODE_RELAY);
	n = ts_tlv_finish(&b);
	assert_int_equal(ts_handoff_parse(mem, (size_t)n, &m), 0);
	assert_int_equal(m.mode, TS_MODE_RELAY);
	assert_true(m.generation == 0);

	/* a generation of the wrong size is a bad message */
	ts_tlv_init(&b, mem, sizeof(mem));
	mark = ts_tlv_open_mode(&b, TS_MODE_RELAY);
	ts_tlv_add_u16(&b, TS_PP2_SUBTYPE_GENERATION, 7);
	ts_tlv_close(&b, mark);
	n = ts_tlv_finish(&b);
	assert_int_equal(ts_handoff_parse(mem, (size_t)n, &m), -EBADMSG);
	/* MODE with no byte at all too */
	ts_tlv_init(&b, mem, sizeof(mem));
	ts_tlv_add(&b, TS_PP2_TYPE_MODE, NULL, 0);
	n = ts_tlv_finish(&b);
	assert_int_equal(ts_handoff_parse(mem, (size_t)n, &m), -EBADMSG);
}

/* A records hand-off: MODE holds the generation and the secrets, then the
 * other TLVs. Its length. */
static long build_records(uint8_t *mem, size_t cap, uint8_t mode, const struct ts_rec_params *p)
{
	struct ts_tlv_buf b;
	size_t mark;

	ts_tlv_init(&b, mem, cap);
	ts_tlv_add_str(&b, PP2_TYPE_AUTHORITY, "api.example.com");
	mark = ts_tlv_open_mode(&b, mode);
	ts_tlv_add_u64(&b, TS_PP2_SUBTYPE_GENERATION, 7);
	if (p)
		ts_tlv_add_records(&b, p);
	ts_tlv_close(&b, mark);
	ts_tlv_add_str(&b, TS_PP2_TYPE_POLICY, "*.example.com");
	return ts_tlv_finish(&b);
}

static void sample_params(struct ts_rec_params *p)
{
	memset(p, 0, sizeof(*p));
	p->suite = TS_REC_AES_256_GCM_SHA384;
	p->rx.secret_len = p->tx.secret_len = 48;
	memset(p->rx.secret, 0xa5, 48);
	memset(p->tx.secret, 0x5a, 48);
	p->rx.seq = 0;
	p->tx.seq = 0x0102030405060708ULL;
}

/* The secrets leave the block on receipt: `tlv` is what a records-less
 * sender would have built, byte for byte, and release wipes the copy. */
static void test_records_stripped(void **state)
{
	uint8_t mem[512], plain[512];
	struct ts_rec_params p;
	struct ts_handoff h;
	int sp[2], pair[2];
	long n, plain_n;

	(void)state;
	sample_params(&p);
	n = build_records(mem, sizeof(mem), TS_MODE_RECORDS, &p);
	plain_n = build_records(plain, sizeof(plain), TS_MODE_RECORDS, NULL);
	assert_int_equal(n, plain_n + TS_TLV_HDR + TS_RECORDS_FIXED_LEN + 2 * 48);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	assert_int_equal(ts_handoff_send(sp[0], pair[0], mem, (size_t)n), 0);
	assert_int_equal(ts_handoff_recv(sp[1], &h), 0);
	assert_int_equal(h.tlv_len, (size_t)plain_n);
	assert_memory_equal(h.tlv, plain, (size_t)plain_n);
	assert_null(memmem(h.tlv, TS_HANDOFF_MAX, p.rx.secret, 8));
	assert_null(memmem(h.tlv, TS_HANDOFF_MAX, p.tx.secret, 8));
	assert_int_equal(h.meta.mode, TS_MODE_RECORDS);
	assert_true(h.meta.generation == 7);
	assert_int_equal(h.meta.policy.len, strlen("*.example.com"));
	assert_int_equal(h.has_records, 1);
	assert_memory_equal(&h.records, &p, sizeof(p));
	ts_handoff_release(&h);
	assert_int_equal(h.has_records, 0);
	assert_int_equal(h.records.rx.secret[0], 0);
	assert_int_equal(h.records.tx.secret[47], 0);
	close(pair[0]);
	close(pair[1]);
	close(sp[0]);
	close(sp[1]);
}

/* Secrets come with records mode and only with it, once, well formed. */
static void test_records_refused(void **state)
{
	uint8_t mem[512];
	struct ts_rec_params p;
	struct ts_handoff h;
	struct ts_tlv_buf b;
	int sp[2], pair[2];
	size_t mark;
	long n;

	(void)state;
	sample_params(&p);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
	/* records mode without secrets */
	n = build_records(mem, sizeof(mem), TS_MODE_RECORDS, NULL);
	assert_int_equal(ts_handoff_send(sp[0], pair[0], mem, (size_t)n), 0);
	assert_int_equal(ts_handoff_recv(sp[1], &h), -EBADMSG);
	/* secrets in relay mode */
	n = build_records(mem, sizeof(mem), TS_MODE_RELAY, &p);
	assert_int_equal(ts_handoff_send(sp[0], pair[0], mem, (size_t)n), 0);
	assert_int_equal(ts_handoff_recv(sp[1], &h), -EBADMSG);
	assert_int_equal(h.has_records, 0);
	/* twice */
	ts_tlv_init(&b, mem, sizeof(mem));
	mark = ts_tlv_open_mode(&b, TS_MODE_RECORDS);
	ts_tlv_add_records(&b, &p);
	ts_tlv_add_records(&b, &p);
	ts_tlv_close(&b, mark);
	n = ts_tlv_finish(&b);
	assert_int_equal(ts_handoff_send(sp[0], pair[0], mem, (size_t)n), 0);
	assert_int_equal(ts_handoff_recv(sp[1], &h), -EBADMSG);
	/* a secret length that does not match the value's */
	n = build_records(mem, sizeof(mem), TS_MODE_RECORDS, &p);
	/* AUTHORITY, MODE header and byte, GENERATION, RECORDS header, fixed */
	mem[TS_TLV_HDR + 15 + TS_TLV_HDR + 1 + TS_TLV_HDR + 8 + TS_TLV_HDR + TS_RECORDS_FIXED_LEN - 1] = 47;
	assert_int_equal(ts_handoff_send(sp[0], pair[0], mem, (size_t)n), 0);
	assert_int_equal(ts_handoff_recv(sp[1], &h), -EBADMSG);
	/* the builder refuses secrets of two lengths */
	p.tx.secret_len = 32;
	ts_tlv_init(&b, mem, sizeof(mem));
	ts_tlv_add_records(&b, &p);
	assert_int_equal(ts_tlv_finish(&b), -EINVAL);
	close(pair[0]);
	close(pair[1]);
	close(sp[0]);
	close(sp[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_parse),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_chain),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_send_recv),
		cmocka_unit_test(test_recv_without_fd),
		cmocka_unit_test(test_early_modes),
		cmocka_unit_test(test_listen_connect),
		cmocka_unit_test(test_listen_mode),
		cmocka_unit_test(test_mode_generation),
		cmocka_unit_test(test_records_stripped),
		cmocka_unit_test(test_records_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
