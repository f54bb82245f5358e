// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* HKDF-Expand-Label of RFC 8446 7.1 over OpenSSL's HKDF (see tls13_kdf.h). */
#include "tls13_kdf.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

/* "tls13 " label prefix and the HkdfLabel limits (RFC 8446 7.1). */
#define TLS13_LABEL_PREFIX "tls13 "
#define HKDF_LABEL_MAX 255
/* HkdfLabel: uint16 length, opaque label<7..255>, opaque context<0..255>. */
#define HKDF_INFO_MAX (2 + 1 + HKDF_LABEL_MAX + 1)

static EVP_KDF *hkdf;
static pthread_once_t hkdf_once = PTHREAD_ONCE_INIT;

static void fetch_hkdf(void)
{
	hkdf = EVP_KDF_fetch(NULL, OSSL_KDF_NAME_HKDF, NULL);
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

int ts_tls13_expand_label(const char *digest, const uint8_t *secret, size_t secret_len,
			  const char *label, uint8_t *out, size_t out_len)
{
	int mode = EVP_KDF_HKDF_MODE_EXPAND_ONLY, ok, n;
	uint8_t info[HKDF_INFO_MAX];
	OSSL_PARAM params[5];
	EVP_KDF_CTX *kctx;

	n = hkdf_label(label, out_len, info);
	if (n < 0)
		return n;
	pthread_once(&hkdf_once, fetch_hkdf);
	kctx = hkdf ? EVP_KDF_CTX_new(hkdf) : NULL;
	if (!kctx)
		return -ENOMEM;
	params[0] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)digest, 0);
	params[2] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secret_len);
	params[3] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, (size_t)n);
	params[4] = OSSL_PARAM_construct_end();
	ok = EVP_KDF_derive(kctx, out, out_len, params);
	EVP_KDF_CTX_free(kctx);
	return ok == 1 ? 0 : -EINVAL;
}
