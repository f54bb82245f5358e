// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* TLS 1.3 traffic secrets from the keylog hook (see secrets.h). */
#include "secrets.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/crypto.h>

#include "keylog.h"

struct ctx_hook {
	SSL_CTX_keylog_cb_func chained;
};

static int ssl_idx = -1;
static int ctx_idx = -1;
static pthread_once_t idx_once = PTHREAD_ONCE_INIT;

static void free_secrets(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	if (ptr)
		OPENSSL_clear_free(ptr, sizeof(struct ts_secrets));
}

static void free_hook(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
	(void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
	OPENSSL_free(ptr);
}

static void init_indexes(void)
{
	ssl_idx = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_secrets);
	ctx_idx = SSL_CTX_get_ex_new_index(0, NULL, NULL, NULL, free_hook);
}

static struct ts_secrets *secrets_new(const SSL *ssl)
{
	struct ts_secrets *s = SSL_get_ex_data(ssl, ssl_idx);

	if (!s) {
		s = OPENSSL_zalloc(sizeof(*s));
		/* ex_data is ours to set even on a const SSL: OpenSSL hands
		 * the keylog callback a const pointer only by convention. */
		if (s && !SSL_set_ex_data((SSL *)ssl, ssl_idx, s)) {
			OPENSSL_free(s);
			s = NULL;
		}
	}
	return s;
}

static void keep_secret(const SSL *ssl, const char *line)
{
	struct ts_secrets *s;
	int n;

	if (strncmp(line, TS_KEYLOG_CLIENT_TRAFFIC_0, sizeof(TS_KEYLOG_CLIENT_TRAFFIC_0) - 1) &&
	    strncmp(line, TS_KEYLOG_SERVER_TRAFFIC_0, sizeof(TS_KEYLOG_SERVER_TRAFFIC_0) - 1))
		return;
	s = secrets_new(ssl);
	if (!s)
		return;
	n = ts_keylog_secret(line, TS_KEYLOG_CLIENT_TRAFFIC_0, s->client, sizeof(s->client));
	if (n > 0)
		s->client_len = (size_t)n;
	n = ts_keylog_secret(line, TS_KEYLOG_SERVER_TRAFFIC_0, s->server, sizeof(s->server));
	if (n > 0)
		s->server_len = (size_t)n;
}

static void keylog_cb(const SSL *ssl, const char *line)
{
	struct ctx_hook *hook = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), ctx_idx);

	keep_secret(ssl, line);
	if (hook && hook->chained)
		hook->chained(ssl, line);
}

int ts_secrets_ctx_init(SSL_CTX *ctx)
{
	struct ctx_hook *hook;

	pthread_once(&idx_once, init_indexes);
	if (ssl_idx < 0 || ctx_idx < 0)
		return -ENOMEM;
	if (SSL_CTX_get_keylog_callback(ctx) == keylog_cb)
		return 0;
	hook = OPENSSL_zalloc(sizeof(*hook));
	if (!hook)
		return -ENOMEM;
	hook->chained = SSL_CTX_get_keylog_callback(ctx);
	if (!SSL_CTX_set_ex_data(ctx, ctx_idx, hook)) {
		OPENSSL_free(hook);
		return -ENOMEM;
	}
	SSL_CTX_set_keylog_callback(ctx, keylog_cb);
	return 0;
}

const struct ts_secrets *ts_secrets_of(const SSL *ssl)
{
	return ssl_idx < 0 ? NULL : SSL_get_ex_data(ssl, ssl_idx);
}

void ts_secrets_forget(SSL *ssl)
{
	struct ts_secrets *s = ssl_idx < 0 ? NULL : SSL_get_ex_data(ssl, ssl_idx);

	if (s)
		OPENSSL_cleanse(s, sizeof(*s));
}
