// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* logfmt connection lines: ts level msg result sni policy action mode
 * resumed subject ms [reason], built by lib/logfmt.c (one write(2) per
 * line, so lines from different workers never interleave). */
#include "connlog.h"

#include <stdio.h>
#include <string.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "clock.h"
#include "config.h"
#include "conn.h"
#include "logfmt.h"

bool ts_connlog_enabled;

static void subject(const SSL *ssl, char *out, size_t len)
{
	X509 *cert = ssl ? SSL_get0_peer_certificate(ssl) : NULL;
	BIO *b;
	int n;

	out[0] = '\0';
	if (!cert || !(b = BIO_new(BIO_s_mem())))
		return;
	if (X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253) >= 0) {
		n = BIO_read(b, out, (int)len - 1);
		out[n > 0 ? n : 0] = '\0';
	}
	BIO_free(b);
}

void ts_connlog(const struct ts_conn *c, const char *result, const char *reason)
{
	struct ts_logfmt l;
	char dn[512], ms[32];
	bool decided = c->decided;
	const char *sni = decided ? c->d.sni : c->tag.sni;

	if (!ts_connlog_enabled)
		return;
	ts_logfmt_begin(&l, "conn");
	ts_logfmt_field(&l, "result", result);
	/* before a decision (a reject tag) the tag's SNI and action are all there is */
	ts_logfmt_field(&l, "sni", sni);
	if (decided && c->d.policy[0])
		ts_logfmt_field(&l, "policy", c->d.policy);
	ts_logfmt_field(&l, "action", ts_action_name(decided ? c->d.value.action : c->tag.action));
	if (!strcmp(result, "ok")) {
		ts_logfmt_field(&l, "mode", ts_handoff_mode_name(c->mode));
		if (c->mode_why)
			ts_logfmt_field(&l, "mode_why", c->mode_why);
		ts_logfmt_field(&l, "resumed", c->ssl && SSL_session_reused(c->ssl) ? "1" : "0");
	}
	subject(c->ssl, dn, sizeof(dn));
	if (dn[0])
		ts_logfmt_field(&l, "subject", dn);
	/* action request: a subject that was not verified says so */
	if (dn[0] && SSL_get_verify_result(c->ssl) != X509_V_OK) {
		const char *why = X509_verify_cert_error_string(SSL_get_verify_result(c->ssl));

		snprintf(dn, sizeof(dn), "FAILED:%s", why ? why : "unknown");
		ts_logfmt_field(&l, "verify", dn);
	}
	if (reason && *reason)
		ts_logfmt_field(&l, "reason", reason);
	snprintf(ms, sizeof(ms), "%.3f", (double)(ts_now_us() - c->accepted_us) / 1000.0);
	ts_logfmt_field(&l, "ms", ms);
	ts_logfmt_write(&l);
}
