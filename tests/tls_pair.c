// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Test helpers for real TLS connections over loopback (see tls_pair.h). */
#include "tls_pair.h"

#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

/* Certificate validity around now: enough for any test run. */
#define CERT_BACKDATE_S 60
#define CERT_LIFETIME_S 3600

int ts_test_cert(EVP_PKEY **pkey, X509 **cert)
{
	X509_NAME *name;

	*pkey = EVP_EC_gen("P-256");
	*cert = X509_new();
	if (!*pkey || !*cert)
		return -1;
	X509_set_version(*cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(*cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(*cert), -CERT_BACKDATE_S);
	X509_gmtime_adj(X509_getm_notAfter(*cert), CERT_LIFETIME_S);
	name = X509_get_subject_name(*cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"ktls.test", -1, -1, 0);
	X509_set_issuer_name(*cert, name);
	X509_set_pubkey(*cert, *pkey);
	return X509_sign(*cert, *pkey, EVP_sha256()) > 0 ? 0 : -1;
}

SSL_CTX *ts_test_ctx(bool server, int version, const char *cipher, EVP_PKEY *pkey, X509 *cert, int tickets)
{
	SSL_CTX *ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
	int ok;

	if (!ctx)
		return NULL;
	ok = SSL_CTX_set_min_proto_version(ctx, version) && SSL_CTX_set_max_proto_version(ctx, version);
	if (version == TLS1_3_VERSION)
		ok = ok && SSL_CTX_set_ciphersuites(ctx, cipher);
	else
		ok = ok && SSL_CTX_set_cipher_list(ctx, cipher);
	if (server)
		ok = ok && SSL_CTX_use_certificate(ctx, cert) && SSL_CTX_use_PrivateKey(ctx, pkey) &&
		     SSL_CTX_set_num_tickets(ctx, (size_t)tickets);
	if (!ok) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int ts_test_tcp_pair(int *cfd, int *sfd, int timeout_s)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	struct timeval tv = { .tv_sec = timeout_s };
	socklen_t len = sizeof(a);
	int l = socket(AF_INET, SOCK_STREAM, 0), err = 0;

	*sfd = -1;
	*cfd = socket(AF_INET, SOCK_STREAM, 0);
	if (l < 0 || *cfd < 0 || bind(l, (struct sockaddr *)&a, sizeof(a)) || listen(l, 1) ||
	    getsockname(l, (struct sockaddr *)&a, &len) || connect(*cfd, (struct sockaddr *)&a, sizeof(a)))
		err = -errno;
	else if ((*sfd = accept(l, NULL, NULL)) < 0)
		err = -errno;
	if (l >= 0)
		close(l);
	for (int i = 0; !err && i < 2; i++) {
		int fd = i ? *sfd : *cfd;

		if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
		    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)))
			err = -errno;
	}
	return err;
}

static void *accept_thread(void *arg)
{
	return (void *)(intptr_t)SSL_accept(arg);
}

int ts_test_handshake(SSL *c, SSL *s)
{
	pthread_t t;
	void *srv;
	int rc;

	if (pthread_create(&t, NULL, accept_thread, s))
		return -1;
	rc = SSL_connect(c);
	pthread_join(t, &srv);
	if (rc == 1 && (intptr_t)srv == 1)
		return 0;
	ERR_print_errors_fp(stdout);
	return -1;
}
