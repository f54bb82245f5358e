// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The hand-off metadata of a finished handshake, as PROXY v2 TLVs
 * (layout in include/ts_handoff.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/x509.h>

#include "config.h"
#include "decision.h"
#include "metadata.h"

/* No verify result: PP2 wants non-zero for "not verified". */
#define TS_VERIFY_NO_CERT 1

static void add_name(struct ts_tlv_buf *b, uint8_t type, const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *p = NULL;
	long len;

	if (!bio)
		return;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) >= 0) {
		len = BIO_get_mem_data(bio, &p);
		if (len > 0)
			ts_tlv_add(b, type, p, (size_t)len);
	}
	BIO_free(bio);
}

static void add_serial(struct ts_tlv_buf *b, const X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	if (hex)
		ts_tlv_add_str(b, TS_PP2_TYPE_SERIAL, hex);
	OPENSSL_free(hex);
	BN_free(bn);
}

static void add_cert(struct ts_tlv_buf *b, X509 *x)
{
	unsigned char *der = NULL, fp[TS_FINGERPRINT_LEN];
	unsigned int fplen = 0;
	int len = i2d_X509(x, &der);

	if (len > 0)
		ts_tlv_add(b, TS_PP2_TYPE_CERT, der, (size_t)len);
	OPENSSL_free(der);
	if (X509_digest(x, EVP_sha256(), fp, &fplen) && fplen == sizeof(fp))
		ts_tlv_add(b, TS_PP2_TYPE_FINGERPRINT, fp, sizeof(fp));
	add_name(b, TS_PP2_TYPE_SUBJECT, X509_get_subject_name(x));
	add_name(b, TS_PP2_TYPE_ISSUER, X509_get_issuer_name(x));
	add_serial(b, x);
}

/* The intermediates the client sent (the server side's peer chain has no
 * leaf in OpenSSL, but a copy of it is skipped anyway), as in
 * include/ts_handoff.h. Added last and only whole: when they break a bound
 * or the block has no room, the leaf's identity still goes out. */
static void add_chain(struct ts_tlv_buf *b, SSL *ssl, X509 *leaf)
{
	STACK_OF(X509) *sk = SSL_get_peer_cert_chain(ssl);
	uint8_t val[TS_CHAIN_MAX];
	size_t len = 0;
	int n = 0;

	for (int i = 0; sk && i < sk_X509_num(sk); i++) {
		X509 *x = sk_X509_value(sk, i);
		int dl = i2d_X509(x, NULL);
		unsigned char *p;

		if (!X509_cmp(x, leaf))
			continue;
		if (dl <= 0 || ++n > TS_CHAIN_MAX_CERTS ||
		    (size_t)dl > sizeof(val) - len - TS_CHAIN_LEN_BYTES)
			return;
		val[len] = (uint8_t)(dl >> 16);
		val[len + 1] = (uint8_t)(dl >> 8);
		val[len + 2] = (uint8_t)dl;
		p = val + len + TS_CHAIN_LEN_BYTES;
		if (i2d_X509(x, &p) != dl)
			return;
		len += TS_CHAIN_LEN_BYTES + (size_t)dl;
	}
	if (len && !b->err && b->cap - b->len >= TS_TLV_HDR + len)
		ts_tlv_add(b, TS_PP2_TYPE_CHAIN, val, len);
}

/* Key algorithm as HAProxy writes it: "RSA2048", "EC256". */
static void add_key_alg(struct ts_tlv_buf *b, X509 *x)
{
	EVP_PKEY *k = X509_get0_pubkey(x);
	char buf[32];
	int id = k ? EVP_PKEY_get_base_id(k) : NID_undef;
	const char *name = id == EVP_PKEY_RSA ? "RSA" : id == EVP_PKEY_EC ? "EC" : OBJ_nid2sn(id);

	if (!k)
		return;
	snprintf(buf, sizeof(buf), "%s%d", name ? name : "?", EVP_PKEY_get_bits(k));
	ts_tlv_add_str(b, PP2_SUBTYPE_SSL_KEY_ALG, buf);
}

/* PP2_TYPE_SSL as the PROXY protocol (2.2.5) defines it: the client bits say
 * whether a certificate was presented on this connection (CERT_CONN) or on
 * the session it resumed (CERT_SESS), verify is 0 only when that
 * certificate was verified. `presented` is the client's certificate,
 * `identity` the same when its fields may go out (see ts_metadata_build()). */
static void add_ssl(struct ts_tlv_buf *b, SSL *ssl, X509 *presented, X509 *identity)
{
	bool resumed = SSL_session_reused(ssl);
	long vr = SSL_get_verify_result(ssl);
	uint8_t client = PP2_CLIENT_SSL;
	uint32_t verify = TS_VERIFY_NO_CERT;
	X509 *peer = identity;
	size_t mark;
	char cn[256];

	if (presented) {
		client |= PP2_CLIENT_CERT_SESS | (resumed ? 0 : PP2_CLIENT_CERT_CONN);
		/* X509_V_OK is 0; any failure is non-zero */
		verify = (uint32_t)vr;
	}
	mark = ts_tlv_open_ssl(b, client, verify);
	ts_tlv_add_str(b, PP2_SUBTYPE_SSL_VERSION, SSL_get_version(ssl));
	if (peer && X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn,
					      sizeof(cn)) > 0)
		ts_tlv_add_str(b, PP2_SUBTYPE_SSL_CN, cn);
	ts_tlv_add_str(b, PP2_SUBTYPE_SSL_CIPHER, SSL_get_cipher_name(ssl));
	if (peer) {
		ts_tlv_add_str(b, PP2_SUBTYPE_SSL_SIG_ALG,
			       OBJ_nid2sn(X509_get_signature_nid(peer)));
		add_key_alg(b, peer);
	}
	ts_tlv_close(b, mark);
}

void ts_metadata_addr_of(const struct sockaddr_storage *ss, struct ts_addr *a)
{
	const struct sockaddr_in *in4 = (const struct sockaddr_in *)ss;
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET) {
		a->family = 4;
		memcpy(a->addr, &in4->sin_addr, 4);
		a->port = ntohs(in4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		a->family = 6;
		memcpy(a->addr, &in6->sin6_addr, 16);
		a->port = ntohs(in6->sin6_port);
	}
}

void ts_metadata_addrs(int fd, struct ts_addr *peer, struct ts_addr *local)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(local, 0, sizeof(*local));
	/* the peer usually came from accept4 (ts_conn_accepted) */
	if (!peer->family && getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		ts_metadata_addr_of(&ss, peer);
	len = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0)
		ts_metadata_addr_of(&ss, local);
}

long ts_metadata_build(SSL *ssl, const struct ts_decision *d, const struct ts_cfg_route *route,
		       const struct ts_addr *peer_addr, const struct ts_addr *local_addr,
		       enum ts_handoff_mode mode, const struct ts_rec_params *records,
		       uint8_t **out)
{
	uint8_t *mem = malloc(TS_HANDOFF_MAX);
	X509 *presented = SSL_get0_peer_certificate(ssl), *peer = presented;
	const unsigned char *alpn = NULL;
	unsigned int alpn_len = 0;
	struct ts_tlv_buf b;
	long len;

	if (!mem)
		return -ENOMEM;
	/* only a verified certificate is an identity; an unverified one
	 * (action request) goes out only to a route that asked for it, and
	 * then PP2_TYPE_SSL's verify says so (docs/security.md) */
	if (peer && SSL_get_verify_result(ssl) != X509_V_OK &&
	    !(route && route->unverified == TS_UNVERIFIED_FORWARD))
		peer = NULL;
	ts_tlv_init(&b, mem, TS_HANDOFF_MAX);
	size_t mark = ts_tlv_open_mode(&b, (uint8_t)mode);
	ts_tlv_add_u64(&b, TS_PP2_SUBTYPE_GENERATION, d->value.generation);
	if (records)
		ts_tlv_add_records(&b, records);
	ts_tlv_close(&b, mark);
	if (d->sni_len)
		ts_tlv_add(&b, PP2_TYPE_AUTHORITY, d->sni, d->sni_len);
	SSL_get0_alpn_selected(ssl, &alpn, &alpn_len);
	if (alpn_len)
		ts_tlv_add(&b, PP2_TYPE_ALPN, alpn, alpn_len);
	add_ssl(&b, ssl, presented, peer);
	ts_tlv_add_str(&b, TS_PP2_TYPE_POLICY, d->policy);
	ts_tlv_add_u16(&b, TS_PP2_TYPE_ROUTE, d->value.route_id);
	ts_tlv_add_u8(&b, TS_PP2_TYPE_ACTION, d->value.action);
	ts_tlv_add_u8(&b, TS_PP2_TYPE_MATCH, (uint8_t)d->match);
	ts_tlv_add_u16(&b, TS_PP2_TYPE_CERT_ID, d->value.cert_id);
	ts_tlv_add_u16(&b, TS_PP2_TYPE_CA_ID, d->value.ca_id);
	ts_tlv_add_u8(&b, TS_PP2_TYPE_RESUMED, SSL_session_reused(ssl) ? 1 : 0);
	if (peer_addr->family)
		ts_tlv_add_addr(&b, TS_PP2_TYPE_PEER, peer_addr);
	if (local_addr->family)
		ts_tlv_add_addr(&b, TS_PP2_TYPE_LOCAL, local_addr);
	if (peer) {
		add_cert(&b, peer);
		add_chain(&b, ssl, peer);
	}
	len = ts_tlv_finish(&b);
	/* the block waits for the proxy: keep only what it uses, in a copy
	 * (realloc could leave the secrets behind in freed memory) */
	*out = len > 0 ? malloc((size_t)len) : NULL;
	if (*out)
		memcpy(*out, mem, (size_t)len);
	else if (len > 0)
		len = -ENOMEM;
	OPENSSL_cleanse(mem, b.len);
	free(mem);
	return len;
}

long ts_metadata_early(const struct ts_decision *d, const struct ts_addr *peer,
		       const struct ts_addr *local, enum ts_handoff_mode mode, uint8_t *buf, size_t cap)
{
	struct ts_tlv_buf b;
	size_t mark;

	ts_tlv_init(&b, buf, cap);
	mark = ts_tlv_open_mode(&b, (uint8_t)mode);
	ts_tlv_add_u64(&b, TS_PP2_SUBTYPE_GENERATION, d->value.generation);
	ts_tlv_close(&b, mark);
	ts_tlv_add_str(&b, TS_PP2_TYPE_POLICY, d->policy);
	ts_tlv_add_u16(&b, TS_PP2_TYPE_ROUTE, d->value.route_id);
	ts_tlv_add_u8(&b, TS_PP2_TYPE_ACTION, d->value.action);
	ts_tlv_add_addr(&b, TS_PP2_TYPE_PEER, peer);
	ts_tlv_add_addr(&b, TS_PP2_TYPE_LOCAL, local);
	return ts_tlv_finish(&b);
}
