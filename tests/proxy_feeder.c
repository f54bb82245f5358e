// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A stand-in handshaker for the proxy's tests: terminates real TLS with
 * OpenSSL (policy from the same configuration file: verify mode and CA set
 * per SNI), builds the hand-off TLVs of include/ts_handoff.h, hands a
 * socketpair end to the proxy with ts_handoff_send() and relays TLS to
 * plaintext behind it, as tagshaked does in relay mode. One process per
 * connection. Test tool only: no BPF, no timeouts beyond the test's own.
 *
 *   proxy_feeder --config FILE --port PORT [--ready FILE]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "config.h"
#include "name.h"
#include "ts_handoff.h"

static struct ts_config *cfg;

struct decision {
	const struct ts_cfg_policy *pol;
	struct ts_policy_value v;
	enum ts_match match;
};

static X509_STORE *ca_store(const struct ts_cfg_ca_set *ca, STACK_OF(X509_NAME) **names)
{
	X509_STORE *st = X509_STORE_new();

	*names = sk_X509_NAME_new_null();
	for (int i = 0; i < ca->nfiles; i++) {
		X509_STORE_load_file(st, ca->files[i]);
		SSL_add_file_cert_subjects_to_stack(*names, ca->files[i]);
	}
	return st;
}

/* The decision, from the SNI OpenSSL parsed, with the configuration's lookup. */
static int on_sni(SSL *ssl, int *alert, void *arg)
{
	struct decision *d = arg;
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	char name[TS_NAME_SIZE];
	int len = sni ? ts_name_normalise(sni, strlen(sni), name) : 0;

	(void)alert;
	if (len < 0)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	d->pol = ts_config_decide(cfg, name, (size_t)len, &d->v, &d->match);
	if (d->v.action == TS_ACTION_REJECT)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	const struct ts_cfg_ca_set *ca = ts_config_ca_set(cfg, d->v.ca_id);
	if (ca && d->v.action != TS_ACTION_NONE) {
		STACK_OF(X509_NAME) *names;
		X509_STORE *st = ca_store(ca, &names);
		SSL_set1_verify_cert_store(ssl, st);
		X509_STORE_free(st);
		SSL_set_client_CA_list(ssl, names);
		SSL_set_verify(ssl,
			       SSL_VERIFY_PEER | (d->v.action == TS_ACTION_REQUIRE
							  ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT
							  : 0),
			       NULL);
	}
	return SSL_TLSEXT_ERR_OK;
}

/* The CHAIN TLV as tagshaked sends it (include/ts_handoff.h). */
static void add_chain_tlv(struct ts_tlv_buf *b, SSL *ssl)
{
	STACK_OF(X509) *sk = SSL_get_peer_cert_chain(ssl);
	uint8_t val[TS_CHAIN_MAX];
	size_t len = 0;

	for (int i = 0; sk && i < sk_X509_num(sk) && i < TS_CHAIN_MAX_CERTS; i++) {
		int n = i2d_X509(sk_X509_value(sk, i), NULL);
		unsigned char *p = val + len + TS_CHAIN_LEN_BYTES;

		if (n <= 0 || (size_t)n > sizeof(val) - len - TS_CHAIN_LEN_BYTES)
			return;
		val[len] = (uint8_t)(n >> 16);
		val[len + 1] = (uint8_t)(n >> 8);
		val[len + 2] = (uint8_t)n;
		i2d_X509(sk_X509_value(sk, i), &p);
		len += TS_CHAIN_LEN_BYTES + (size_t)n;
	}
	if (len)
		ts_tlv_add(b, TS_PP2_TYPE_CHAIN, val, len);
}

static void add_cert_tlvs(struct ts_tlv_buf *b, X509 *x)
{
	unsigned char *der = NULL, md[32];
	unsigned int mdlen = 0;
	int n = i2d_X509(x, &der);
	char buf[1024];
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = BN_bn2hex(bn);

	ts_tlv_add(b, TS_PP2_TYPE_CERT, der, (size_t)n);
	X509_digest(x, EVP_sha256(), md, &mdlen);
	ts_tlv_add(b, TS_PP2_TYPE_FINGERPRINT, md, mdlen);
	for (int i = 0; i < 2; i++) {
		BIO *bio = BIO_new(BIO_s_mem());
		X509_NAME_print_ex(bio, i ? X509_get_issuer_name(x) : X509_get_subject_name(x), 0,
				   XN_FLAG_RFC2253);
		n = BIO_read(bio, buf, sizeof(buf));
		ts_tlv_add(b, i ? TS_PP2_TYPE_ISSUER : TS_PP2_TYPE_SUBJECT, buf, n > 0 ? (size_t)n : 0);
		BIO_free(bio);
	}
	ts_tlv_add_str(b, TS_PP2_TYPE_SERIAL, hex);
	OPENSSL_free(hex);
	BN_free(bn);
	OPENSSL_free(der);
}

static void add_addr(struct ts_tlv_buf *b, uint8_t type, const struct sockaddr_storage *ss)
{
	struct ts_addr a = { 0 };

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;
		a.family = 4;
		memcpy(a.addr, &s->sin_addr, 4);
		a.port = ntohs(s->sin_port);
	} else {
		const struct sockaddr_in6 *s = (const void *)ss;
		a.family = 6;
		memcpy(a.addr, &s->sin6_addr, 16);
		a.port = ntohs(s->sin6_port);
	}
	ts_tlv_add_addr(b, type, &a);
}

static long build_tlvs(SSL *ssl, int tcp, const struct decision *d, uint8_t *mem, size_t cap)
{
	struct ts_tlv_buf b;
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	const unsigned char *alpn = NULL;
	unsigned int alpn_len = 0;
	X509 *peer = SSL_get1_peer_certificate(ssl);
	long vr = SSL_get_verify_result(ssl);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char name[TS_NAME_SIZE], cn[256];
	int nl = sni ? ts_name_normalise(sni, strlen(sni), name) : 0;
	uint8_t client = PP2_CLIENT_SSL;

	ts_tlv_init(&b, mem, cap);
	if (nl > 0)
		ts_tlv_add(&b, PP2_TYPE_AUTHORITY, name, (size_t)nl);
	SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
	if (alpn_len)
		ts_tlv_add(&b, PP2_TYPE_ALPN, alpn, alpn_len);
	/* HAProxy's meaning: CERT_SESS whenever the session has a certificate,
	 * CERT_CONN when it was sent on this connection (not resumed) */
	if (peer)
		client |= PP2_CLIENT_CERT_SESS | (SSL_session_reused(ssl) ? 0 : PP2_CLIENT_CERT_CONN);
	size_t mark = ts_tlv_open_ssl(&b, client, peer ? (uint32_t)vr : 1);
	ts_tlv_add_str(&b, PP2_SUBTYPE_SSL_VERSION, SSL_get_version(ssl));
	if (peer && X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn,
					      sizeof(cn)) > 0)
		ts_tlv_add_str(&b, PP2_SUBTYPE_SSL_CN, cn);
	ts_tlv_add_str(&b, PP2_SUBTYPE_SSL_CIPHER, SSL_get_cipher_name(ssl));
	if (peer) {
		ts_tlv_add_str(&b, PP2_SUBTYPE_SSL_SIG_ALG, OBJ_nid2sn(X509_get_signature_nid(peer)));
		EVP_PKEY *pk = X509_get0_pubkey(peer);
		char alg[32];
		snprintf(alg, sizeof(alg), "%s%d", EVP_PKEY_get_base_id(pk) == EVP_PKEY_EC ? "EC" : "RSA",
			 EVP_PKEY_get_bits(pk));
		ts_tlv_add_str(&b, PP2_SUBTYPE_SSL_KEY_ALG, alg);
	}
	ts_tlv_close(&b, mark);
	if (d->pol)
		ts_tlv_add_str(&b, TS_PP2_TYPE_POLICY, d->pol->name);
	ts_tlv_add_u16(&b, TS_PP2_TYPE_ROUTE, d->v.route_id);
	ts_tlv_add_u8(&b, TS_PP2_TYPE_ACTION, d->v.action);
	/* the configuration's generation, or FEEDER_GENERATION (hex) to play a
	 * handshaker that runs another one */
	const char *gen_env = getenv("FEEDER_GENERATION");
	size_t mode_mark = ts_tlv_open_mode(&b, TS_MODE_RELAY);
	ts_tlv_add_u64(&b, TS_PP2_SUBTYPE_GENERATION,
		       gen_env ? strtoull(gen_env, NULL, 16) : cfg->generation);
	ts_tlv_close(&b, mode_mark);
	ts_tlv_add_u16(&b, TS_PP2_TYPE_CERT_ID, d->v.cert_id ? d->v.cert_id : 1);
	ts_tlv_add_u16(&b, TS_PP2_TYPE_CA_ID, d->v.ca_id);
	if (peer && vr == X509_V_OK) {
		add_cert_tlvs(&b, peer);
		add_chain_tlv(&b, ssl);
	}
	ts_tlv_add_u8(&b, TS_PP2_TYPE_RESUMED, SSL_session_reused(ssl) ? 1 : 0);
	if (getpeername(tcp, (struct sockaddr *)&ss, &sl) == 0)
		add_addr(&b, TS_PP2_TYPE_PEER, &ss);
	sl = sizeof(ss);
	if (getsockname(tcp, (struct sockaddr *)&ss, &sl) == 0)
		add_addr(&b, TS_PP2_TYPE_LOCAL, &ss);
	ts_tlv_add_u8(&b, TS_PP2_TYPE_MATCH, (uint8_t)d->match);
	X509_free(peer);
	return ts_tlv_finish(&b);
}

/* Plaintext between the TLS connection and the socketpair end, both ways,
 * with half-close: close_notify/EOF from the client → shutdown(pair). */
static void relay(SSL *ssl, int tcp, int pair)
{
	char buf[16384];
	int client_done = 0, proxy_done = 0;

	while (!client_done || !proxy_done) {
		struct pollfd p[2] = { { tcp, client_done ? 0 : POLLIN, 0 },
				       { pair, proxy_done ? 0 : POLLIN, 0 } };
		if (!client_done && SSL_pending(ssl) == 0 && poll(p, 2, -1) < 0)
			return;
		if (client_done && poll(p + 1, 1, -1) < 0)
			return;
		if (!client_done && (SSL_pending(ssl) || p[0].revents)) {
			int n = SSL_read(ssl, buf, sizeof(buf));
			if (n > 0) {
				if (send(pair, buf, (size_t)n, MSG_NOSIGNAL) != n)
					return;
			} else if (SSL_get_error(ssl, n) != SSL_ERROR_WANT_READ) {
				client_done = 1;
				shutdown(pair, SHUT_WR);
			}
		}
		if (!proxy_done && p[1].revents) {
			ssize_t n = recv(pair, buf, sizeof(buf), 0);
			if (n > 0) {
				if (SSL_write(ssl, buf, (int)n) <= 0)
					return;
			} else {
				proxy_done = 1;
				SSL_shutdown(ssl);
			}
		}
	}
}

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg);

static void serve(SSL_CTX *ctx, int tcp, const char *handoff)
{
	struct decision d = { 0 };
	SSL *ssl = SSL_new(ctx);
	static uint8_t tlv[TS_HANDOFF_MAX];
	int sp[2], ufd;
	long n;

	SSL_CTX_set_tlsext_servername_arg(ctx, &d);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, &d);
	SSL_set_fd(ssl, tcp);
	if (SSL_accept(ssl) != 1) {
		ERR_print_errors_fp(stderr);
		return;
	}
	n = build_tlvs(ssl, tcp, &d, tlv, sizeof(tlv));
	ufd = ts_handoff_connect(handoff);
	if (n < 0 || ufd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		fprintf(stderr, "proxy_feeder: hand-off failed: %s\n", strerror(ufd < 0 ? -ufd : EINVAL));
		return;
	}
	if (ts_handoff_send(ufd, sp[1], tlv, (size_t)n) < 0)
		return;
	close(sp[1]);
	close(ufd);
	relay(ssl, tcp, sp[0]);
	SSL_free(ssl);
}

/* As tagshaked: the route's alpn: list (http routes: h2 then http/1.1),
 * http/1.1 without a route. */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char h11[] = "\x08http/1.1";
	const struct decision *d = arg;
	const struct ts_cfg_route *r = d && d->pol ? ts_config_route(cfg, d->v.route_id) : NULL;

	(void)ssl;
	if (SSL_select_next_proto((unsigned char **)out, outlen, r ? r->alpn : h11,
				  r ? r->alpn_len : sizeof(h11) - 1, in, inlen) == OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_OK;
	return SSL_TLSEXT_ERR_NOACK;
}

static SSL_CTX *make_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	const struct ts_cfg_cert *c = ts_config_cert(cfg, 1);
	static const unsigned char sid_ctx[] = "tagshake-feeder";

	if (!c || SSL_CTX_use_certificate_chain_file(ctx, c->pairs[0].chain) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, c->pairs[0].key, SSL_FILETYPE_PEM) != 1) {
		ERR_print_errors_fp(stderr);
		exit(1);
	}
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	/* a TCP FIN from the client is its half-close: keep writing to it */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_tlsext_servername_callback(ctx, on_sni);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	return ctx;
}

int main(int argc, char **argv)
{
	char err[TS_CFG_ERR_SIZE];
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int one = 1, lfd;

	if (argc < 5 || strcmp(argv[1], "--config") || strcmp(argv[3], "--port")) {
		fprintf(stderr, "usage: proxy_feeder --config FILE --port PORT [--ready FILE]\n");
		return 2;
	}
	if (ts_config_load(argv[2], &cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "proxy_feeder: %s\n", err);
		return 1;
	}
	SSL_CTX *ctx = make_ctx();
	signal(SIGCHLD, SIG_IGN);
	a.sin_port = htons((uint16_t)atoi(argv[4]));
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 128) < 0) {
		perror("proxy_feeder: listen");
		return 1;
	}
	if (argc >= 7 && !strcmp(argv[5], "--ready"))
		fclose(fopen(argv[6], "w"));
	for (;;) {
		int c = accept(lfd, NULL, NULL);
		if (c < 0)
			continue;
		/* small relayed records must not wait for the client's delayed ACK */
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (fork() == 0) {
			close(lfd);
			serve(ctx, c, cfg->handoff_path);
			_exit(0);
		}
		close(c);
	}
}
