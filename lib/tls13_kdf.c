// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * HKDF-Expand-Label of RFC 8446 7.1 (see tls13_kdf.h), with HKDF-Expand
 * (RFC 5869 2.3) over HMAC; TLS 1.3's labels need one block at most.
 *
 * HMAC is fetched once per process and kept as one keyless context per
 * TLS 1.3 hash, digest already set; each derivation duplicates one, so
 * neither HMAC nor the digest is looked up again (a lookup takes the
 * method store's lock, and a record layer derives four keys a
 * connection). OpenSSL 3.0's HKDF cannot be duplicated, hence HMAC.
 */
#include "tls13_kdf.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

/* "tls13 " label prefix and the HkdfLabel limits (RFC 8446 7.1). */
#define TLS13_LABEL_PREFIX "tls13 "
#define HKDF_LABEL_MAX 255
/* HkdfLabel: uint16 length, opaque label<7..255>, opaque context<0..255>. */
#define HKDF_INFO_MAX (2 + 1 + HKDF_LABEL_MAX + 1)

struct hmac_template {
	const char *names[2]; /* the digest's names, as EVP_MD_get0_name() may give them */
	EVP_MAC_CTX *ctx;
};

static struct hmac_template templates[] = {
	{ { "SHA256", "SHA2-256" }, NULL },
	{ { "SHA384", "SHA2-384" }, NULL },
};
static EVP_MAC *hmac;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

/* A keyless HMAC context for digest, or NULL. */
static EVP_MAC_CTX *hmac_new(const char *digest)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx = hmac ? EVP_MAC_CTX_new(hmac) : NULL;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (ctx && EVP_MAC_CTX_set_params(ctx, params) != 1) {
		EVP_MAC_CTX_free(ctx);
		ctx = NULL;
	}
	return ctx;
}

static void fetch_hmac(void)
{
	hmac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	for (size_t i = 0; i < sizeof(templates) / sizeof(templates[0]); i++)
		templates[i].ctx = hmac_new(templates[i].names[0]);
}

/* A fresh context for digest: a copy of its template, else a new one. */
static EVP_MAC_CTX *hmac_for(const char *digest)
{
	pthread_once(&hmac_once, fetch_hmac);
	for (size_t i = 0; i < sizeof(templates) / sizeof(templates[0]); i++)
		if (templates[i].ctx && (!strcmp(digest, templates[i].names[0]) ||
					 !strcmp(digest, templates[i].names[1])))
			return EVP_MAC_CTX_dup(templates[i].ctx);
	return hmac_new(digest);
}

/* The HkdfLabel structure with an empty context; its length or -EINVAL. */
static int hkdf_label(const char *label, size_t out_len, uint8_t *info)
{
	size_t prefix = strlen(TLS13_LABEL_PREFIX), full = prefix + strlen(label), n = 0;

	if (full > HKDF_LABEL_MAX || out_len > UINT16_MAX)
		return -EINVAL;
	info[n++] = (uint8_t)(out_len >> 8);
	info[n++] = (uint8_t)out_len;
	info[n++] = (uint8_t)full;
	memcpy(info + n, TLS13_LABEL_PREFIX, prefix);
	n += prefix;
	memcpy(info + n, label, full - prefix);
	n += full - prefix;
	info[n++] = 0; /* empty context */
	return (int)n;
}

/* HKDF-Expand(secret, info, out_len) with ctx's digest, for out_len up to
 * the hash length (every TLS 1.3 label): T(1) = HMAC(secret, info | 0x01),
 * cut to out_len. 0 or -EINVAL. */
static int hkdf_expand(EVP_MAC_CTX *ctx, const uint8_t *secret, size_t secret_len,
		       const uint8_t *info, size_t info_len, uint8_t *out, size_t out_len)
{
	static const uint8_t first_block = 1;
	uint8_t t[EVP_MAX_MD_SIZE];
	size_t t_len;
	int err = 0;

	if (EVP_MAC_init(ctx, secret, secret_len, NULL) != 1 ||
	    EVP_MAC_update(ctx, info, info_len) != 1 ||
	    EVP_MAC_update(ctx, &first_block, 1) != 1 ||
	    EVP_MAC_final(ctx, t, &t_len, sizeof(t)) != 1 || out_len > t_len)
		err = -EINVAL;
	else
		memcpy(out, t, out_len);
	OPENSSL_cleanse(t, sizeof(t));
	return err;
}

int ts_tls13_expand_label(const char *digest, const uint8_t *secret, size_t secret_len,
			  const char *label, uint8_t *out, size_t out_len)
{
	uint8_t info[HKDF_INFO_MAX];
	EVP_MAC_CTX *ctx;
	int err, n;

	n = hkdf_label(label, out_len, info);
	if (n < 0)
		return n;
	ctx = hmac_for(digest);
	if (!ctx)
		return -ENOMEM;
	err = hkdf_expand(ctx, secret, secret_len, info, (size_t)n, out, out_len);
	EVP_MAC_CTX_free(ctx);
	return err;
}
