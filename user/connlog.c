// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* logfmt connection lines: ts level msg result sni policy action mode
 * resumed subject ms [reason]. Each line is built whole and written with
 * one write(2), so lines from different workers never interleave. */
#include "connlog.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "config.h"
#include "worker.h"

/* A line: SNI and policy (253 each), a subject DN, the rest. */
#define CONNLOG_LINE_MAX 2048

bool ts_connlog_enabled;

struct line {
	char buf[CONNLOG_LINE_MAX];
	size_t len;
};

static void raw(struct line *l, const char *s, size_t n)
{
	if (l->len + n >= sizeof(l->buf) - 1)
		n = sizeof(l->buf) - 2 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

/* key=value, quoted when the value has a space, '"', '=' or nothing in it;
 * control characters (from a client's certificate) become '?'. */
static void field(struct line *l, const char *key, const char *v)
{
	bool quote = !*v || strpbrk(v, " \"=\\") != NULL;

	if (l->len)
		raw(l, " ", 1);
	raw(l, key, strlen(key));
	raw(l, "=", 1);
	if (quote)
		raw(l, "\"", 1);
	for (; *v; v++) {
		char ch = (unsigned char)*v < 0x20 || *v == 0x7f ? '?' : *v;

		if (quote && (ch == '"' || ch == '\\'))
			raw(l, "\\", 1);
		raw(l, &ch, 1);
	}
	if (quote)
		raw(l, "\"", 1);
}

static void timestamp(char *out, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char sec[24];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%.19s.%03dZ", sec, (int)(ts.tv_nsec / 1000000) % 1000);
}

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
	struct line l = { .len = 0 };
	char ts[40], dn[512], ms[32];
	bool decided = c->decided;
	const char *sni = decided ? c->d.sni : c->tag.sni;

	if (!ts_connlog_enabled)
		return;
	timestamp(ts, sizeof(ts));
	field(&l, "ts", ts);
	field(&l, "level", "info");
	field(&l, "msg", "conn");
	field(&l, "result", result);
	/* before a decision (a reject tag) the tag's SNI and action are all there is */
	field(&l, "sni", sni);
	if (decided && c->d.policy[0])
		field(&l, "policy", c->d.policy);
	field(&l, "action", ts_action_name(decided ? c->d.value.action : c->tag.action));
	if (!strcmp(result, "ok")) {
		field(&l, "mode", c->proxy_fd < 0 ? "ktls" : "relay");
		field(&l, "resumed", c->ssl && SSL_session_reused(c->ssl) ? "1" : "0");
	}
	subject(c->ssl, dn, sizeof(dn));
	if (dn[0])
		field(&l, "subject", dn);
	if (reason && *reason)
		field(&l, "reason", reason);
	snprintf(ms, sizeof(ms), "%.3f", (double)(ts_now_us() - c->accepted_us) / 1000.0);
	field(&l, "ms", ms);
	raw(&l, "\n", 1);
	if (write(STDERR_FILENO, l.buf, l.len) < 0)
		return; /* stderr gone: nothing better to do with a log line */
}
