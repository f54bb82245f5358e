// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Client-certificate headers in Kong, Envoy (XFCC) and RFC 9440 styles.
 * DNs and the serial come from the hand-off metadata (the handshaker
 * already extracted them); digests and encodings are computed from the
 * DER; only XFCC parses the certificate, for its URI and DNS SANs.
 */
#include "cert_headers.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

const struct ts_kong_names ts_kong_default_names = {
	.cert = "X-Client-Cert",
	.serial = "X-Client-Cert-Serial",
	.issuer_dn = "X-Client-Cert-Issuer-DN",
	.subject_dn = "X-Client-Cert-Subject-DN",
	.fingerprint = "X-Client-Cert-Fingerprint",
	.verify = TS_VERIFY_HEADER_DEFAULT,
	.unverified = TS_UNVERIFIED_OMIT,
};

static const char *name_or(const char *set, const char *dflt)
{
	return set[0] ? set : dflt;
}

void ts_kong_names_of(const struct ts_cfg_route *r, struct ts_kong_names *out)
{
	const struct ts_kong_names *d = &ts_kong_default_names;

	out->cert = name_or(r->kong.cert, d->cert);
	out->serial = name_or(r->kong.serial, d->serial);
	out->issuer_dn = name_or(r->kong.issuer_dn, d->issuer_dn);
	out->subject_dn = name_or(r->kong.subject_dn, d->subject_dn);
	out->fingerprint = name_or(r->kong.fingerprint, d->fingerprint);
	out->verify = name_or(r->verify_header, d->verify);
	out->unverified = (int)r->unverified;
}

#define PEM_LINE 64 /* RFC 7468 base64 line width */

/* A growing string; err is sticky so callers check once. */
struct sbuf {
	char *p;
	size_t len, cap;
	int err;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->err)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->err = -ENOMEM;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

size_t ts_url_encode(const char *in, size_t len, char *out)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '.' || c == '_' || c == '~') {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}

static void sb_hex(struct sbuf *b, const unsigned char *p, size_t n)
{
	char two[3];

	for (size_t i = 0; i < n; i++) {
		snprintf(two, sizeof(two), "%02x", p[i]);
		sb_add(b, two, 2);
	}
}

/* Base64 of der, optionally wrapped at PEM_LINE with '\n'. */
static char *base64(const uint8_t *der, size_t len, int wrap)
{
	size_t step = wrap ? PEM_LINE / 4 * 3 : len; /* input bytes per output line */
	char *out = malloc(4 * (len / 3 + 1) + len / 48 + 2);
	size_t o = 0;

	if (!out)
		return NULL;
	for (size_t i = 0; i < len; i += step) {
		size_t n = len - i < step ? len - i : step;
		o += (size_t)EVP_EncodeBlock((unsigned char *)out + o, der + i, (int)n);
		if (wrap)
			out[o++] = '\n';
	}
	out[o] = '\0';
	return out;
}

static char *pem_urlencoded(const struct ts_bytes *der)
{
	char *b64 = base64(der->p, der->len, 1);
	struct sbuf pem = { 0 };
	char *enc;

	if (!b64)
		return NULL;
	sb_str(&pem, "-----BEGIN CERTIFICATE-----\n");
	sb_str(&pem, b64);
	sb_str(&pem, "-----END CERTIFICATE-----\n");
	free(b64);
	/* a failed append leaves what was appended before it in pem.p */
	enc = pem.err ? NULL : malloc(3 * pem.len + 1);
	if (enc)
		ts_url_encode(pem.p, pem.len, enc);
	free(pem.p);
	return enc;
}

/* A header value must not carry CTLs (no header splitting through a DN). */
static int value_ok(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] == 0x7f)
			return 0;
	return 1;
}

static void header(struct sbuf *b, const char *name, const char *v, size_t n)
{
	if (!value_ok((const uint8_t *)v, n)) {
		b->err = -EBADMSG;
		return;
	}
	sb_str(b, name);
	sb_add(b, ": ", 2);
	sb_add(b, v, n);
	sb_add(b, "\r\n", 2);
}

static void header_bytes(struct sbuf *b, const char *name, const struct ts_bytes *v)
{
	if (v->len)
		header(b, name, (const char *)v->p, v->len);
}

static void render_kong(struct sbuf *b, const struct ts_kong_names *k,
			const struct ts_handoff_meta *m)
{
	unsigned char sha1[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	struct sbuf fp = { 0 };
	char *pem = pem_urlencoded(&m->cert);

	if (!pem || !EVP_Digest(m->cert.p, m->cert.len, sha1, &n, EVP_sha1(), NULL)) {
		free(pem);
		b->err = -ENOMEM;
		return;
	}
	sb_hex(&fp, sha1, n);
	header(b, k->cert, pem, strlen(pem));
	header_bytes(b, k->serial, &m->serial);
	header_bytes(b, k->issuer_dn, &m->issuer);
	header_bytes(b, k->subject_dn, &m->subject);
	if (fp.err)
		b->err = fp.err;
	else
		header(b, k->fingerprint, fp.p, fp.len);
	free(fp.p);
	free(pem);
}

/* XFCC value: quoted (with \" escapes) when it has a character that
 * separates XFCC elements or pairs. */
static void xfcc_pair(struct sbuf *b, const char *key, const char *v, size_t n, int force_quote)
{
	int quote = force_quote || strpbrk(v, ",;=\"") != NULL;

	if (b->len)
		sb_add(b, ";", 1);
	sb_str(b, key);
	sb_add(b, "=", 1);
	if (quote)
		sb_add(b, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (quote && (v[i] == '"' || v[i] == '\\'))
			sb_add(b, "\\", 1);
		sb_add(b, v + i, 1);
	}
	if (quote)
		sb_add(b, "\"", 1);
}

static void xfcc_sans(struct sbuf *b, const struct ts_bytes *der)
{
	const unsigned char *p = der->p;
	X509 *x = d2i_X509(NULL, &p, der->len);
	GENERAL_NAMES *names;
	int uri_done = 0;

	if (!x) {
		b->err = -EBADMSG;
		return;
	}
	names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
	for (int i = 0; names && i < sk_GENERAL_NAME_num(names); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(names, i);
		const ASN1_IA5STRING *s = g->d.ia5;
		if (g->type == GEN_URI && !uri_done) {
			/* Envoy sends the first URI SAN only */
			xfcc_pair(b, "URI", (const char *)s->data, (size_t)s->length, 0);
			uri_done = 1;
		} else if (g->type == GEN_DNS) {
			xfcc_pair(b, "DNS", (const char *)s->data, (size_t)s->length, 0);
		}
	}
	GENERAL_NAMES_free(names);
	X509_free(x);
}

static void render_xfcc(struct sbuf *b, const struct ts_handoff_meta *m)
{
	unsigned char sha256[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	struct sbuf v = { 0 }, hash = { 0 };
	char *pem = pem_urlencoded(&m->cert);

	if (!pem || !EVP_Digest(m->cert.p, m->cert.len, sha256, &n, EVP_sha256(), NULL)) {
		free(pem);
		b->err = -ENOMEM;
		return;
	}
	sb_hex(&hash, sha256, n);
	if (!hash.err)
		xfcc_pair(&v, "Hash", hash.p, hash.len, 0);
	xfcc_pair(&v, "Cert", pem, strlen(pem), 1);
	if (m->subject.len) {
		char *s = strndup((const char *)m->subject.p, m->subject.len);
		if (s)
			xfcc_pair(&v, "Subject", s, m->subject.len, 1);
		else
			v.err = -ENOMEM;
		free(s);
	}
	xfcc_sans(&v, &m->cert);
	if (v.err || hash.err)
		b->err = v.err ? v.err : hash.err;
	else
		header(b, "x-forwarded-client-cert", v.p, v.len);
	free(v.p);
	free(hash.p);
	free(pem);
}

/* A Structured Field Byte Sequence (RFC 8941, 3.3.5): ":base64:". */
static void sf_bytes(struct sbuf *v, const uint8_t *der, size_t len)
{
	char *b64 = base64(der, len, 0);

	if (!b64) {
		v->err = -ENOMEM;
		return;
	}
	sb_add(v, ":", 1);
	sb_str(v, b64);
	sb_add(v, ":", 1);
	free(b64);
}

/* RFC 9440: Client-Cert, the leaf DER as a Byte Sequence; Client-Cert-Chain,
 * the certificates the client sent after it, a List of Byte Sequences in TLS
 * order (only when there are any: the hand-off omits a chain over its
 * bounds, see include/ts_handoff.h). */
static void render_rfc9440(struct sbuf *b, const struct ts_handoff_meta *m)
{
	struct sbuf v = { 0 }, chain = { 0 };
	struct ts_bytes x;
	size_t off = 0;

	sf_bytes(&v, m->cert.p, m->cert.len);
	while (ts_handoff_chain_next(&m->chain, &off, &x)) {
		if (chain.len)
			sb_add(&chain, ", ", 2);
		sf_bytes(&chain, x.p, x.len);
	}
	if (v.err || chain.err) {
		b->err = v.err ? v.err : chain.err;
	} else {
		header(b, "Client-Cert", v.p, v.len);
		if (chain.len)
			header(b, "Client-Cert-Chain", chain.p, chain.len);
	}
	free(v.p);
	free(chain.p);
}

const char *ts_cert_verify_status(const struct ts_handoff_meta *m, char *buf, size_t len)
{
	/* PP2_CLIENT_CERT_SESS: a certificate on this connection or, resumed,
	 * on the session's first one (PROXY protocol 2.2.5) */
	const char *why = X509_verify_cert_error_string((long)m->ssl_verify);

	if (!m->has_ssl || !(m->ssl_client & (PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS)))
		snprintf(buf, len, "NONE");
	else if (m->ssl_verify == X509_V_OK)
		snprintf(buf, len, "SUCCESS");
	else
		snprintf(buf, len, "FAILED:%s", why ? why : "unknown");
	return buf;
}

ssize_t ts_cert_headers(enum ts_header_style style, const struct ts_kong_names *kong,
			const struct ts_handoff_meta *m, char **out)
{
	struct sbuf b = { 0 };
	char status[128];
	bool verified;

	if (!kong)
		kong = &ts_kong_default_names;
	ts_cert_verify_status(m, status, sizeof(status));
	verified = !strcmp(status, "SUCCESS");
	sb_add(&b, "", 0);
	header(&b, kong->verify, status, strlen(status));
	/* the rule of docs/security.md: an unverified certificate is never
	 * rendered as an identity unless the route asks for it */
	if (m->cert.len && (verified || (!strncmp(status, "FAILED:", 7) &&
					 kong->unverified == TS_UNVERIFIED_FORWARD))) {
		switch (style) {
		case TS_HEADERS_KONG:
			render_kong(&b, kong, m);
			break;
		case TS_HEADERS_XFCC:
			render_xfcc(&b, m);
			break;
		case TS_HEADERS_RFC9440:
			render_rfc9440(&b, m);
			break;
		default:
			b.err = -EINVAL;
		}
	}
	if (b.err) {
		free(b.p);
		return b.err;
	}
	*out = b.p;
	return (ssize_t)b.len;
}

static void lower_call(const char *name, void (*fn)(void *, const char *), void *ctx)
{
	char low[256];
	size_t i;

	for (i = 0; name[i] && i + 1 < sizeof(low); i++)
		low[i] = (name[i] >= 'A' && name[i] <= 'Z') ? (char)(name[i] + 32) : name[i];
	low[i] = '\0';
	fn(ctx, low);
}

void ts_cert_header_names(const struct ts_kong_names *kong,
			  void (*fn)(void *ctx, const char *name), void *ctx)
{
	const struct ts_kong_names *k = kong ? kong : &ts_kong_default_names;
	const char *all[] = { k->cert,
			      k->serial,
			      k->issuer_dn,
			      k->subject_dn,
			      k->fingerprint,
			      k->verify ? k->verify : TS_VERIFY_HEADER_DEFAULT,
			      "x-forwarded-client-cert",
			      "client-cert",
			      "client-cert-chain" };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		lower_call(all[i], fn, ctx);
}
