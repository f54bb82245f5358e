// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A stand-in handshaker for the proxy's tests: terminates real TLS with
 * OpenSSL (policy from the same configuration file: verify mode and CA set
 * per SNI), builds the hand-off TLVs with tagshaked's own builder
 * (tagshaked/metadata.c, linked from its object), hands a socketpair end to
 * the proxy with ts_handoff_send() and relays TLS to plaintext behind it, as
 * tagshaked does in relay mode. One process per connection. Test tool only:
 * no BPF, no timeouts beyond the test's own.
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

#include "config.h"
#include "decision.h"
#include "metadata.h"
#include "name.h"
#include "ts_handoff.h"

static struct ts_config *cfg;

struct decision {
	bool decided;
	struct ts_decision d;
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
	struct decision *dec = arg;
	struct ts_decision *d = &dec->d;
	const char *sni = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	/* the configuration's generation, or FEEDER_GENERATION (hex) to play a
	 * handshaker that runs another one */
	const char *gen_env = getenv("FEEDER_GENERATION");
	int len = sni ? ts_name_normalise(sni, strlen(sni), d->sni) : 0;

	(void)alert;
	if (len < 0)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	d->sni_len = (size_t)len;
	ts_config_decide(cfg, d->sni, d->sni_len, &d->value, &d->match);
	ts_decision_name(d);
	d->value.generation = gen_env ? strtoull(gen_env, NULL, 16) : cfg->generation;
	/* the feeder serves the first certificate whatever the policy names */
	if (!d->value.cert_id)
		d->value.cert_id = 1;
	dec->decided = true;
	if (d->value.action == TS_ACTION_REJECT)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	const struct ts_cfg_ca_set *ca = ts_config_ca_set(cfg, d->value.ca_id);
	if (ca && d->value.action != TS_ACTION_NONE) {
		STACK_OF(X509_NAME) *names;
		X509_STORE *st = ca_store(ca, &names);
		SSL_set1_verify_cert_store(ssl, st);
		X509_STORE_free(st);
		SSL_set_client_CA_list(ssl, names);
		SSL_set_verify(ssl,
			       SSL_VERIFY_PEER | (d->value.action == TS_ACTION_REQUIRE
							  ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT
							  : 0),
			       NULL);
	}
	return SSL_TLSEXT_ERR_OK;
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
	struct ts_addr peer = { .family = 0 }, local; /* peer unset: ts_metadata_addrs looks it up */
	uint8_t *tlv = NULL;
	int sp[2], ufd;
	long n;

	SSL_CTX_set_tlsext_servername_arg(ctx, &d);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, &d);
	SSL_set_fd(ssl, tcp);
	if (SSL_accept(ssl) != 1) {
		ERR_print_errors_fp(stderr);
		return;
	}
	ts_metadata_addrs(tcp, &peer, &local);
	n = ts_metadata_build(ssl, &d.d, ts_config_route(cfg, d.d.value.route_id), &peer, &local,
			      TS_MODE_RELAY, NULL, &tlv);
	ufd = ts_handoff_connect(handoff);
	if (n < 0 || ufd < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		fprintf(stderr, "proxy_feeder: hand-off failed: %s\n", strerror(ufd < 0 ? -ufd : EINVAL));
		return;
	}
	if (ts_handoff_send(ufd, sp[1], tlv, (size_t)n) < 0)
		return;
	free(tlv);
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
	const struct ts_cfg_route *r =
		d && d->decided ? ts_config_route(cfg, d->d.value.route_id) : NULL;

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
