// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * kTLS key installation after an OpenSSL handshake (see ktls.h).
 *
 * TLS 1.3 receive keys (RFC 8446 section 7.3):
 *   key = HKDF-Expand-Label(secret, "key", "", key_length)
 *   iv  = HKDF-Expand-Label(secret, "iv",  "", 12)
 * with the peer's application traffic secret _0 and record sequence 0: the
 * key changes with the peer's Finished, and no record under the new key has
 * been read yet when the handshake just completed.
 */
#include "ktls.h"

#include <errno.h>
#include <linux/tls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "secrets.h"
#include "tls13_kdf.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif

int ts_ktls_ctx_init(SSL_CTX *ctx)
{
	SSL_CTX_set_options(ctx, SSL_OP_ENABLE_KTLS);
	return ts_secrets_ctx_init(ctx);
}

const char *ts_ktls_by_name(enum ts_ktls_by by)
{
	switch (by) {
	case TS_KTLS_BY_OPENSSL:
		return "openssl";
	case TS_KTLS_BY_TAGSHAKE:
		return "tagshake";
	case TS_KTLS_OFF:
		break;
	}
	return "off";
}

static uint16_t kernel_version(const SSL *ssl)
{
	switch (SSL_version(ssl)) {
	case TLS1_2_VERSION:
		return TLS_1_2_VERSION;
	case TLS1_3_VERSION:
		return TLS_1_3_VERSION;
	}
	return 0;
}

static uint16_t kernel_cipher(const SSL *ssl)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);

	switch (c ? SSL_CIPHER_get_cipher_nid(c) : NID_undef) {
	case NID_aes_128_gcm:
		return TLS_CIPHER_AES_GCM_128;
	case NID_aes_256_gcm:
		return TLS_CIPHER_AES_GCM_256;
	case NID_chacha20_poly1305:
		return TLS_CIPHER_CHACHA20_POLY1305;
	case NID_aes_128_ccm:
		return TLS_CIPHER_AES_CCM_128;
	}
	return 0;
}

/* Attaches the "tls" upper layer protocol; already attached is fine. */
static int attach_ulp(int fd)
{
	static const char ulp[] = "tls";

	if (setsockopt(fd, SOL_TCP, TCP_ULP, ulp, sizeof(ulp)) == 0 || errno == EEXIST)
		return 0;
	return -errno;
}

/* Why a direction OpenSSL left off is off. */
static int off_reason(const struct ts_ktls_status *st, int fd)
{
	int err;

	if (!st->version || !st->cipher_type)
		return -EOPNOTSUPP;
	err = attach_ulp(fd);
	return err ? err : -EOPNOTSUPP;
}

/* The kernel's crypto_info for one TLS 1.3 direction, all layouts in one. */
union crypto_info {
	struct tls_crypto_info info;
	struct tls12_crypto_info_aes_gcm_128 gcm128;
	struct tls12_crypto_info_aes_gcm_256 gcm256;
	struct tls12_crypto_info_aes_ccm_128 ccm128;
	struct tls12_crypto_info_chacha20_poly1305 chacha;
};

/* The GCM and CCM layouts: the IV's first 4 bytes are the salt, the other 8
 * the explicit IV (include/uapi/linux/tls.h). */
#define SPLIT_SALTED(c)                                                \
	do {                                                           \
		memcpy((c).key, key, sizeof((c).key));                 \
		memcpy((c).salt, iv, sizeof((c).salt));                \
		memcpy((c).iv, iv + sizeof((c).salt), sizeof((c).iv)); \
	} while (0)

/* Splits key and 12-byte IV into the layout of cipher_type; its size or <0. */
static int fill_info(union crypto_info *ci, uint16_t cipher_type, const uint8_t *key, const uint8_t *iv)
{
	memset(ci, 0, sizeof(*ci));
	ci->info.version = TLS_1_3_VERSION;
	ci->info.cipher_type = cipher_type;
	/* rec_seq stays 0: the first record under a fresh traffic key. */
	switch (cipher_type) {
	case TLS_CIPHER_AES_GCM_128:
		SPLIT_SALTED(ci->gcm128);
		return sizeof(ci->gcm128);
	case TLS_CIPHER_AES_GCM_256:
		SPLIT_SALTED(ci->gcm256);
		return sizeof(ci->gcm256);
	case TLS_CIPHER_AES_CCM_128:
		SPLIT_SALTED(ci->ccm128);
		return sizeof(ci->ccm128);
	case TLS_CIPHER_CHACHA20_POLY1305:
		memcpy(ci->chacha.key, key, sizeof(ci->chacha.key));
		memcpy(ci->chacha.iv, iv, sizeof(ci->chacha.iv));
		return sizeof(ci->chacha);
	}
	return -EOPNOTSUPP;
}
#undef SPLIT_SALTED

static int tls13_install_rx(SSL *ssl, int fd, uint16_t cipher_type)
{
	const SSL_CIPHER *c = SSL_get_current_cipher(ssl);
	const struct ts_secrets *s = ts_secrets_of(ssl);
	const EVP_MD *md = c ? SSL_CIPHER_get_handshake_digest(c) : NULL;
	const EVP_CIPHER *cipher = c ? EVP_get_cipherbynid(SSL_CIPHER_get_cipher_nid(c)) : NULL;
	/* The receive key is the peer's: the client's secret on a server. */
	const uint8_t *secret = s ? (SSL_is_server(ssl) ? s->client : s->server) : NULL;
	size_t secret_len = s ? (SSL_is_server(ssl) ? s->client_len : s->server_len) : 0;
	uint8_t key[EVP_MAX_KEY_LENGTH], iv[TS_TLS13_IV_LEN];
	union crypto_info ci;
	int err, len;

	if (!md || !cipher || !secret_len)
		return -ENOKEY;
	if (SSL_has_pending(ssl))
		return -EBUSY;
	err = ts_tls13_expand_label(EVP_MD_get0_name(md), secret, secret_len, "key", key,
				    (size_t)EVP_CIPHER_get_key_length(cipher));
	if (!err)
		err = ts_tls13_expand_label(EVP_MD_get0_name(md), secret, secret_len, "iv", iv, sizeof(iv));
	len = err ? err : fill_info(&ci, cipher_type, key, iv);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(iv, sizeof(iv));
	if (len < 0)
		return len;
	err = attach_ulp(fd);
	if (!err && setsockopt(fd, SOL_TLS, TLS_RX, &ci, (socklen_t)len) < 0)
		err = -errno;
	OPENSSL_cleanse(&ci, sizeof(ci));
	return err;
}

int ts_ktls_install(SSL *ssl, int fd, struct ts_ktls_status *st)
{
	memset(st, 0, sizeof(*st));
	st->version = kernel_version(ssl);
	st->cipher_type = kernel_cipher(ssl);

	if (BIO_get_ktls_send(SSL_get_wbio(ssl)))
		st->tx.by = TS_KTLS_BY_OPENSSL;
	else
		st->tx.err = off_reason(st, fd);

	if (BIO_get_ktls_recv(SSL_get_rbio(ssl))) {
		st->rx.by = TS_KTLS_BY_OPENSSL;
	} else if (st->version == TLS_1_3_VERSION && st->cipher_type && st->tx.by) {
		/* Only next to kernel TX: with TX in userspace the caller keeps
		 * SSL_read, which must not find plaintext on the socket. */
		st->rx.err = tls13_install_rx(ssl, fd, st->cipher_type);
		if (!st->rx.err)
			st->rx.by = TS_KTLS_BY_TAGSHAKE;
	} else {
		st->rx.err = off_reason(st, fd);
	}

	/* Both directions in the kernel: the secrets served their one use.
	 * Otherwise a records hand-off may still need them (the caller
	 * forgets them then). */
	if (!st->tx.err && !st->rx.err)
		ts_secrets_forget(ssl);
	if (st->tx.err)
		return st->tx.err;
	return st->rx.err;
}

int ts_ktls_sock_info(int fd, int optname, uint16_t *version, uint16_t *cipher_type)
{
	/* Only the common header: the kernel wants either exactly that or the
	 * exact size of the cipher's struct, and would copy keys out for it. */
	struct tls_crypto_info info;
	socklen_t len = sizeof(info);

	if (getsockopt(fd, SOL_TLS, optname, &info, &len) < 0)
		return -errno;
	if (len != sizeof(info))
		return -EPROTO;
	*version = info.version;
	*cipher_type = info.cipher_type;
	return 0;
}
