// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * OpenSSL contexts built from the configuration, and the ClientHello
 * callback that applies the decision.
 *
 * Every SSL starts from `base`, which owns the session cache and the ticket
 * keys (OpenSSL keeps them in the SSL's session_ctx, whatever context it
 * switches to), so one ticket works on every worker. The decision then
 * switches to the context of its (certificate, CA set) pair, built once per
 * pair at load: certificate chain and key, the CA store that verifies
 * client certificates, and the CA names sent in the CertificateRequest.
 * Verify mode and session id context are per SSL.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "decision.h"
#include "generation.h"
#include "ktls.h"
#include "records.h"
#include "secrets.h"
#include "log.h"
#include "name.h"
#include "resume.h"
#include "stats.h"
#include "tls_server.h"
#include "worker.h"

/* Contexts for every (certificate, CA set) pair are built at load; beyond
 * this many the configuration is unusual enough to refuse. */
#define TS_COMBOS_MAX 4096
#define SESSION_CACHE_SIZE 20480
/* TLS server_name extension (RFC 6066 3): NameType host_name. */
#define SNI_HOST_NAME 0

struct ts_tls {
	SSL_CTX *base;
	int ncerts, nca;
	SSL_CTX **combo; /* [(cert_id - 1) * (nca + 1) + ca_id] */
	uint8_t (*ca_digest)[32]; /* [ca_id], 0 = no CA set: zeros */
	uint16_t default_cert;
	/* fetched once: EVP_sha256() in EVP_DigestInit_ex would look it up in
	 * OpenSSL 3's method store (a lock and a property query) on every
	 * connection's resumption binding */
	EVP_MD *sha256;
	bool ktls;    /* the kernel has kTLS: OpenSSL may offload */
	bool records; /* handoff.records: keep the secrets, no read-ahead */
};

static int ex_conn = -1;

struct ts_conn *ts_tls_conn(const SSL *ssl)
{
	return SSL_get_ex_data(ssl, ex_conn);
}

static void log_ssl(const char *what, const char *file)
{
	char buf[256];
	unsigned long e = ERR_get_error();

	ERR_error_string_n(e, buf, sizeof(buf));
	ts_log(TS_LOG_ERROR, "%s %s: %s", what, file ? file : "", e ? buf : "failed");
	ERR_clear_error();
}

/* ---- the ClientHello callback ---- */

/* Extracts the host_name from the server_name extension OpenSSL parsed.
 * Returns its length, 0 when absent, -1 when malformed. */
static int hello_sni(SSL *ssl, const char **name)
{
	const unsigned char *p;
	size_t len, list, nlen;

	if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len))
		return 0;
	if (len < 2)
		return -1;
	list = (size_t)p[0] << 8 | p[1];
	if (list != len - 2 || list < 3 || p[2] != SNI_HOST_NAME)
		return -1;
	nlen = (size_t)p[3] << 8 | p[4];
	/* one host_name entry (RFC 6066: no more than one of a type) */
	if (nlen == 0 || nlen != list - 3)
		return -1;
	*name = (const char *)p + 5;
	return (int)nlen;
}

static int hello_again(struct ts_conn *c, const char *sni, int len)
{
	/* a second ClientHello (after HelloRetryRequest) keeps the first
	 * decision; it may not change the name (RFC 8446 4.1.2) */
	if ((size_t)len == c->d.sni_len && !memcmp(sni, c->d.sni, (size_t)len))
		return SSL_CLIENT_HELLO_SUCCESS;
	ts_count(&c->w->stats, TS_HC_SNI_CHANGED);
	return SSL_CLIENT_HELLO_ERROR;
}

/* SHA-256 of the CA set's certificates (for the session binding). */
static const uint8_t *ca_digest(const struct ts_tls *t, unsigned ca_id)
{
	return ca_id <= (unsigned)t->nca ? t->ca_digest[ca_id] : t->ca_digest[0];
}

static int client_hello_cb(SSL *ssl, int *al, void *arg)
{
	struct ts_conn *c = ts_tls_conn(ssl);
	struct ts_tls *t = c->gen->tls;
	char norm[TS_NAME_SIZE];
	const char *raw = NULL;
	int len = hello_sni(ssl, &raw);

	(void)arg;
	*al = SSL_AD_UNRECOGNIZED_NAME;
	if (len > 0)
		len = ts_name_normalise(raw, (size_t)len, norm);
	if (len < 0) {
		ts_count(&c->w->stats, TS_HC_BAD_SNI);
		return SSL_CLIENT_HELLO_ERROR;
	}
	if (c->hellos++ > 0) {
		*al = SSL_AD_ILLEGAL_PARAMETER;
		return hello_again(c, norm, len);
	}
	/* read again: OpenSSL has the whole ClientHello, so the program has
	 * finished every segment of it and the tag can no longer change under
	 * us (the first read, at the first segment, may have raced a later
	 * segment's write) */
	c->tag_err = ts_tag_read(&c->w->maps, c->ep.fd, &c->tag, ts_now_ms());
	ts_decide(&c->w->maps, c->gen->cfg, &c->tag, c->tag_err, norm, (size_t)len, &c->d,
		  &c->w->stats);
	c->decided = true;
	ts_count(&c->w->stats, TS_HC_DECIDE_NONE + c->d.value.action);
	if (c->d.value.action == TS_ACTION_REJECT) {
		/* pause the handshake: the caller closes without sending a byte */
		c->reject = true;
		return SSL_CLIENT_HELLO_RETRY;
	}
	*al = SSL_AD_INTERNAL_ERROR;
	if (ts_resume_bind(ssl, t->sha256, ca_digest(t, c->d.value.ca_id), &c->d) ||
	    ts_tls_apply(t, ssl, &c->d))
		return SSL_CLIENT_HELLO_ERROR;
	return SSL_CLIENT_HELLO_SUCCESS;
}

/*
 * `request`: the chain's verification is recorded (SSL_get_verify_result()
 * keeps the last error, as with nginx's ssl_verify_client optional_no_ca,
 * whose callback does the same) and never fails the handshake. Possession
 * of the key is still proved: OpenSSL checks CertificateVerify whatever
 * this callback says.
 */
static int verify_report_only(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

int ts_tls_apply(struct ts_tls *t, SSL *ssl, struct ts_decision *d)
{
	const struct ts_policy_value *v = &d->value;
	unsigned cert = v->cert_id ? v->cert_id : t->default_cert;
	SSL_verify_cb cb = NULL;
	int mode = SSL_VERIFY_NONE;

	if (cert == 0 || cert > (unsigned)t->ncerts || v->ca_id > t->nca)
		return -EINVAL; /* a map entry this configuration does not know */
	if (v->action == TS_ACTION_REQUEST) {
		/* a CA set, when there is one, verifies and names the CAs */
		mode = SSL_VERIFY_PEER;
		cb = verify_report_only;
	} else if (v->action == TS_ACTION_OPTIONAL || v->action == TS_ACTION_REQUIRE) {
		/* fail closed: asking without a CA set could verify nothing */
		if (!v->ca_id)
			return -EINVAL;
		mode = SSL_VERIFY_PEER;
		if (v->action == TS_ACTION_REQUIRE)
			mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	}
	/* the context switch replaces the SSL's certificate and verify store;
	 * the per-SSL settings come after it */
	if (!SSL_set_SSL_CTX(ssl, t->combo[(cert - 1) * (unsigned)(t->nca + 1) + v->ca_id]))
		return -EINVAL;
	SSL_set_verify(ssl, mode, cb);
	d->value.cert_id = (__u16)cert;
	if (!SSL_set_session_id_context(ssl, d->binding, sizeof(d->binding)))
		return -EINVAL;
	return 0;
}

/* Counts CertificateRequest messages actually sent. */
/* What the server writes: CertificateRequests are counted, and the
 * records after its Finished (a records hand-off's sequence number). */
static void msg_cb(int write_p, int version, int content_type, const void *buf, size_t len,
		   SSL *ssl, void *arg)
{
	struct ts_conn *c;

	(void)version;
	(void)arg;
	if (!write_p || !(c = ts_tls_conn(ssl)))
		return;
	ts_records_written(&c->records_tx, content_type, buf, len);
	if (content_type != SSL3_RT_HANDSHAKE || len < 1 ||
	    ((const uint8_t *)buf)[0] != SSL3_MT_CERTIFICATE_REQUEST)
		return;
	ts_count(&c->w->stats, TS_HC_CERT_REQUESTS);
	ts_hs_count_action(&c->w->stats, c->decided ? &c->d : NULL, TS_HC_CERTREQ_NONE);
}

/* Selects from the route's ALPN list (`alpn:`; http routes default to h2
 * then http/1.1, other routes http/1.1), in the route's order of preference.
 * No common protocol: the handshake goes on without ALPN. */
static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char http11[] = "\x08http/1.1";
	const struct ts_conn *c = ts_tls_conn(ssl);
	const struct ts_cfg_route *r =
		c && c->decided ? ts_config_route(c->gen->cfg, c->d.value.route_id) : NULL;
	const unsigned char *list = r ? r->alpn : http11;
	unsigned list_len = r ? r->alpn_len : sizeof(http11) - 1;
	unsigned char *sel;

	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, list, list_len, in, inlen) !=
	    OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

/* ---- building ---- */

struct keypair {
	X509 *leaf;
	STACK_OF(X509) *chain;
	EVP_PKEY *key;
};

static void keypair_free(struct keypair *k)
{
	X509_free(k->leaf);
	sk_X509_pop_free(k->chain, X509_free);
	EVP_PKEY_free(k->key);
	memset(k, 0, sizeof(*k));
}

static int keypair_load(const struct ts_cfg_keypair *p, struct keypair *k)
{
	FILE *f = fopen(p->chain, "r");
	X509 *x;

	memset(k, 0, sizeof(*k));
	if (!f) {
		ts_log(TS_LOG_ERROR, "cannot open %s: %s", p->chain, strerror(errno));
		return -ENOENT;
	}
	k->leaf = PEM_read_X509(f, NULL, NULL, NULL);
	k->chain = sk_X509_new_null();
	while (k->chain && (x = PEM_read_X509(f, NULL, NULL, NULL)))
		sk_X509_push(k->chain, x);
	fclose(f);
	ERR_clear_error(); /* the end of file reads as an error */
	f = fopen(p->key, "r");
	if (f) {
		k->key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (!k->leaf || !k->chain) {
		log_ssl("no certificate in", p->chain);
		keypair_free(k);
		return -EINVAL;
	}
	if (!k->key || !X509_check_private_key(k->leaf, k->key)) {
		log_ssl("key does not load or does not match its certificate:", p->key);
		keypair_free(k);
		return -EINVAL;
	}
	return 0;
}

/* Options every context shares: versions, no renegotiation, callbacks. */
static SSL_CTX *ctx_new(const struct ts_tls *t)
{
	bool ktls = t->ktls;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (!ctx)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_NO_COMPRESSION |
					 SSL_OP_IGNORE_UNEXPECTED_EOF | (ktls ? SSL_OP_ENABLE_KTLS : 0));
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/* a second ClientHello after HRR runs the callback of the switched context */
	SSL_CTX_set_client_hello_cb(ctx, client_hello_cb, NULL);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	/* every context: the keylog hook must see the secrets whichever
	 * context the SSL has switched to */
	if (ktls ? ts_ktls_ctx_init(ctx) : t->records && ts_secrets_ctx_init(ctx)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

struct ca_set {
	X509_STORE *store;
	STACK_OF(X509_NAME) *names;
};

static int ca_file_load(const char *file, struct ca_set *s, bool send_names, EVP_MD_CTX *md)
{
	FILE *f = fopen(file, "r");
	X509 *x;
	int n = 0;

	if (!f) {
		ts_log(TS_LOG_ERROR, "cannot open %s: %s", file, strerror(errno));
		return -ENOENT;
	}
	while ((x = PEM_read_X509(f, NULL, NULL, NULL))) {
		unsigned char *der = NULL;
		int len = i2d_X509(x, &der);

		if (len > 0)
			EVP_DigestUpdate(md, der, (size_t)len);
		OPENSSL_free(der);
		X509_STORE_add_cert(s->store, x);
		if (send_names)
			sk_X509_NAME_push(s->names, X509_NAME_dup(X509_get_subject_name(x)));
		X509_free(x);
		n++;
	}
	fclose(f);
	ERR_clear_error();
	if (n == 0) {
		ts_log(TS_LOG_ERROR, "no CA certificate in %s", file);
		return -EINVAL;
	}
	return 0;
}

static int ca_set_load(const struct ts_cfg_ca_set *cs, struct ca_set *s, uint8_t digest[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int i, err = 0;

	s->store = X509_STORE_new();
	s->names = sk_X509_NAME_new_null();
	if (!md || !s->store || !s->names || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		err = -ENOMEM;
	for (i = 0; !err && i < cs->nfiles; i++)
		err = ca_file_load(cs->files[i], s, cs->send_names, md);
	if (!err && !EVP_DigestFinal_ex(md, digest, NULL))
		err = -EINVAL;
	EVP_MD_CTX_free(md);
	return err;
}

static void ca_set_free(struct ca_set *s)
{
	X509_STORE_free(s->store);
	sk_X509_NAME_pop_free(s->names, X509_NAME_free);
}

static SSL_CTX *combo_new(const struct ts_tls *t, const struct keypair *kp, int npairs,
			  const struct ca_set *ca)
{
	SSL_CTX *ctx = ctx_new(t);
	int i;

	for (i = 0; ctx && i < npairs; i++)
		if (!SSL_CTX_use_cert_and_key(ctx, kp[i].leaf, kp[i].key, kp[i].chain, 1)) {
			log_ssl("cannot use certificate", NULL);
			SSL_CTX_free(ctx);
			return NULL;
		}
	if (ctx && ca) {
		SSL_CTX_set1_cert_store(ctx, ca->store);
		SSL_CTX_set_client_CA_list(ctx, sk_X509_NAME_deep_copy(ca->names, X509_NAME_dup,
								       X509_NAME_free));
	}
	return ctx;
}

static int build_combos(struct ts_tls *t, const struct ts_config *cfg, struct ca_set *cas)
{
	struct keypair kp[TS_CFG_PAIRS_MAX];
	int i, j, err = 0;

	for (i = 0; !err && i < cfg->ncerts; i++) {
		const struct ts_cfg_cert *cc = &cfg->certs[i];
		int loaded = 0;

		for (j = 0; !err && j < cc->npairs; j++, loaded++)
			err = keypair_load(&cc->pairs[j], &kp[j]);
		if (err)
			ts_log(TS_LOG_ERROR, "%s:%d: certificates[%d] (%s) not loaded",
			       cfg->path, cc->line, i, cc->name);
		for (j = 0; !err && j <= t->nca; j++) {
			SSL_CTX **slot = &t->combo[i * (t->nca + 1) + j];

			*slot = combo_new(t, kp, cc->npairs, j ? &cas[j - 1] : NULL);
			if (!*slot)
				err = -EINVAL;
		}
		for (j = 0; j < loaded; j++)
			keypair_free(&kp[j]);
	}
	return err;
}

static int base_new(struct ts_tls *t, const struct ts_config *cfg, const struct ts_tls *prev)
{
	unsigned char keys[80];
	static const unsigned char sid[] = "tagshake";

	t->base = combo_new(t, NULL, 0, NULL);
	if (!t->base)
		return -ENOMEM;
	SSL_CTX_set_session_cache_mode(t->base, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(t->base, SESSION_CACHE_SIZE);
	SSL_CTX_set_timeout(t->base, (long)cfg->session_timeout_s);
	SSL_CTX_set_num_tickets(t->base, cfg->session_tickets);
	/* stateful: a resumption finds the session in memory instead of
	 * decoding it (and its client certificate) from the ticket */
	if (cfg->resumption == TS_RESUME_CACHE)
		SSL_CTX_set_options(t->base, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_id_context(t->base, sid, sizeof(sid) - 1);
	SSL_CTX_set_msg_callback(t->base, msg_cb);
	/* Relay mode reads the socket in as few read(2)s as it can: without
	 * read-ahead OpenSSL reads every record's 5-byte header and its body
	 * separately (14 reads per full handshake and request, strace). The
	 * relay drains SSL_read() until WANT_READ, so nothing stays buffered
	 * unseen. kTLS and a records hand-off must find no record inside
	 * OpenSSL when they take the socket (ts_ktls_install and
	 * ts_records_state refuse then), so with them it stays off. */
	if (!t->ktls && !t->records)
		SSL_CTX_set_read_ahead(t->base, 1);
	/* keep tickets valid across a reload */
	if (prev && SSL_CTX_get_tlsext_ticket_keys(prev->base, keys, sizeof(keys)) == 1)
		SSL_CTX_set_tlsext_ticket_keys(t->base, keys, sizeof(keys));
	OPENSSL_cleanse(keys, sizeof(keys));
	return ts_resume_setup(t->base);
}

static uint16_t pick_default_cert(const struct ts_config *cfg)
{
	int i;

	for (i = 0; i < cfg->npolicies; i++)
		if (!strcmp(cfg->policies[i].name, TS_POLICY_DEFAULT) &&
		    cfg->policies[i].value.cert_id)
			return cfg->policies[i].value.cert_id;
	return 1;
}

struct ts_tls *ts_tls_build(const struct ts_config *cfg, const struct ts_tls *prev, bool ktls)
{
	struct ts_tls *t = calloc(1, sizeof(*t));
	struct ca_set *cas = NULL;
	int i, err = 0;

	if (ex_conn < 0)
		ex_conn = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (!t)
		return NULL;
	t->ktls = ktls;
	t->records = cfg->handoff_records;
	if (cfg->ncerts == 0) {
		ts_log(TS_LOG_ERROR, "%s: no certificates configured", cfg->path);
		free(t);
		return NULL;
	}
	t->ncerts = cfg->ncerts;
	t->nca = cfg->nca_sets;
	t->sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	t->default_cert = pick_default_cert(cfg);
	if ((long)t->ncerts * (t->nca + 1) > TS_COMBOS_MAX) {
		ts_log(TS_LOG_ERROR, "%d certificates x %d CA sets is too many contexts",
		       t->ncerts, t->nca);
		free(t);
		return NULL;
	}
	t->combo = calloc((size_t)t->ncerts * (size_t)(t->nca + 1), sizeof(*t->combo));
	t->ca_digest = calloc((size_t)t->nca + 1, sizeof(*t->ca_digest));
	cas = calloc((size_t)t->nca + 1, sizeof(*cas));
	if (!t->combo || !t->ca_digest || !cas || !t->sha256)
		err = -ENOMEM;
	for (i = 0; !err && i < t->nca; i++) {
		err = ca_set_load(&cfg->ca_sets[i], &cas[i], t->ca_digest[i + 1]);
		if (err)
			ts_log(TS_LOG_ERROR, "%s:%d: ca_sets[%d] (%s) not loaded", cfg->path,
			       cfg->ca_sets[i].line, i, cfg->ca_sets[i].name);
	}
	if (!err)
		err = build_combos(t, cfg, cas);
	if (!err)
		err = base_new(t, cfg, prev);
	for (i = 0; cas && i < t->nca; i++)
		ca_set_free(&cas[i]);
	free(cas);
	if (err) {
		ts_tls_free(t);
		return NULL;
	}
	return t;
}

void ts_tls_free(struct ts_tls *t)
{
	int i;

	if (!t)
		return;
	for (i = 0; t->combo && i < t->ncerts * (t->nca + 1); i++)
		SSL_CTX_free(t->combo[i]);
	SSL_CTX_free(t->base);
	free(t->combo);
	free(t->ca_digest);
	EVP_MD_free(t->sha256);
	free(t);
}

SSL *ts_tls_new(struct ts_tls *t)
{
	return SSL_new(t->base);
}

int ts_tls_set_conn(SSL *ssl, struct ts_conn *c)
{
	return SSL_set_ex_data(ssl, ex_conn, c) == 1 ? 0 : -ENOMEM;
}
