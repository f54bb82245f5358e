// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Resumption bound to the policy (security invariant 4). A connection's
 * binding is a digest of the policy entry that decided, its action, server
 * certificate, CA set id, the policy generation and the CA certificates
 * themselves. It is the
 * session id context (OpenSSL refuses to resume a session made under another
 * context, for session ids and tickets, TLS 1.2 and 1.3) and it is stored in
 * every ticket and checked again when a ticket is decrypted. A reload that
 * changes a CA set or the policy generation changes the digest, so older
 * sessions stop resuming.
 * The session keeps the verified client certificate, so resumed connections
 * carry the same identity in their metadata.
 */
#include <errno.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "decision.h"
#include "resume.h"

/* Domain separation for the binding digest. */
static const char binding_label[] = "tagshake session binding v1";

/* The SSL's decision, which the ticket callbacks check: absent until the
 * ClientHello is decided. */
static int ex_decision = -1;

int ts_resume_bind(SSL *ssl, const EVP_MD *sha256, const uint8_t *ca_digest,
		   struct ts_decision *d)
{
	const struct ts_policy_value *v = &d->value;
	uint8_t ids[5] = { v->action, (uint8_t)(v->cert_id >> 8), (uint8_t)v->cert_id,
			   (uint8_t)(v->ca_id >> 8), (uint8_t)v->ca_id };
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned int len = 0;
	int ok = md && EVP_DigestInit_ex2(md, sha256, NULL) &&
		 EVP_DigestUpdate(md, binding_label, sizeof(binding_label)) &&
		 EVP_DigestUpdate(md, d->policy, strlen(d->policy) + 1) &&
		 EVP_DigestUpdate(md, ids, sizeof(ids)) &&
		 EVP_DigestUpdate(md, &v->generation, sizeof(v->generation)) &&
		 EVP_DigestUpdate(md, ca_digest, 32) &&
		 EVP_DigestFinal_ex(md, d->binding, &len);

	EVP_MD_CTX_free(md);
	/* without a digest, a random binding: no resumption, never a wrong one */
	if (!ok)
		RAND_bytes(d->binding, sizeof(d->binding));
	return SSL_set_ex_data(ssl, ex_decision, d) == 1 ? 0 : -ENOMEM;
}

/* New ticket: stamp it with the binding it was made under. */
static int ticket_gen(SSL *ssl, void *arg)
{
	const struct ts_decision *d = SSL_get_ex_data(ssl, ex_decision);
	SSL_SESSION *s = SSL_get0_session(ssl);

	(void)arg;
	if (!d || !s)
		return 0;
	return SSL_SESSION_set1_ticket_appdata(s, d->binding, sizeof(d->binding));
}

/* Ticket presented: use it only under the very same binding. */
static SSL_TICKET_RETURN ticket_dec(SSL *ssl, SSL_SESSION *s, const unsigned char *keyname,
				    size_t keyname_len, SSL_TICKET_STATUS status, void *arg)
{
	const struct ts_decision *d = SSL_get_ex_data(ssl, ex_decision);
	void *data = NULL;
	size_t len = 0;

	(void)keyname;
	(void)keyname_len;
	(void)arg;
	switch (status) {
	case SSL_TICKET_SUCCESS:
	case SSL_TICKET_SUCCESS_RENEW:
		break;
	case SSL_TICKET_FATAL_ERR_MALLOC:
	case SSL_TICKET_FATAL_ERR_OTHER:
		return SSL_TICKET_RETURN_ABORT;
	default: /* empty or undecryptable: full handshake and a new ticket */
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	}
	if (!d || !SSL_SESSION_get0_ticket_appdata(s, &data, &len) || len != sizeof(d->binding) ||
	    memcmp(data, d->binding, len))
		return SSL_TICKET_RETURN_IGNORE_RENEW;
	return status == SSL_TICKET_SUCCESS ? SSL_TICKET_RETURN_USE : SSL_TICKET_RETURN_USE_RENEW;
}

int ts_resume_setup(SSL_CTX *ctx)
{
	/* once, from the main thread, before any worker runs */
	if (ex_decision < 0)
		ex_decision = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	if (ex_decision < 0)
		return -EINVAL;
	return SSL_CTX_set_session_ticket_cb(ctx, ticket_gen, ticket_dec, NULL) == 1 ? 0 : -EINVAL;
}

bool ts_resume_bound(SSL *ssl, const struct ts_decision *d)
{
	const SSL_SESSION *s = SSL_get0_session(ssl);
	unsigned int len = 0;
	const unsigned char *ctx = s ? SSL_SESSION_get0_id_context(s, &len) : NULL;

	/* OpenSSL already refuses other contexts; this holds it to that for
	 * cached sessions, which no ticket callback sees */
	return !SSL_session_reused(ssl) ||
	       (ctx && len == sizeof(d->binding) && !memcmp(ctx, d->binding, len));
}
