// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer harness for the hand-off metadata decoder (ts_handoff_parse,
 * lib/handoff.c): the proxy runs it on every message a handshaker sends.
 * Checks that it accepts or refuses with -EBADMSG only, that everything it
 * returns points inside the block, and that a block rebuilt from the parsed
 * fields with the ts_tlv_* builder parses back to the same fields.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ts_handoff.h"

/* The rebuilt block holds at most every byte of the input once per field. */
#define REBUILD_CAP (1 << 20)

static void check_inside(const struct ts_bytes *b, const uint8_t *tlv, size_t len)
{
	if (!b->p) {
		check(b->len == 0);
		return;
	}
	check(b->p >= tlv && b->p + b->len <= tlv + len);
}

static const struct ts_bytes *bytes_fields(const struct ts_handoff_meta *m, int i)
{
	const struct ts_bytes *all[] = { &m->authority, &m->alpn,   &m->version, &m->cn,
					 &m->cipher,    &m->sig_alg, &m->key_alg, &m->policy,
					 &m->cert,      &m->subject, &m->issuer,  &m->serial };

	return i < (int)(sizeof(all) / sizeof(all[0])) ? all[i] : NULL;
}

static void add_bytes(struct ts_tlv_buf *b, uint8_t type, const struct ts_bytes *v)
{
	if (v->p)
		ts_tlv_add(b, type, v->p, v->len);
}

static long rebuild(const struct ts_handoff_meta *m, uint8_t *out)
{
	struct ts_tlv_buf b;

	ts_tlv_init(&b, out, REBUILD_CAP);
	add_bytes(&b, PP2_TYPE_AUTHORITY, &m->authority);
	add_bytes(&b, PP2_TYPE_ALPN, &m->alpn);
	if (m->has_ssl) {
		size_t mark = ts_tlv_open_ssl(&b, m->ssl_client, m->ssl_verify);

		add_bytes(&b, PP2_SUBTYPE_SSL_VERSION, &m->version);
		add_bytes(&b, PP2_SUBTYPE_SSL_CN, &m->cn);
		add_bytes(&b, PP2_SUBTYPE_SSL_CIPHER, &m->cipher);
		add_bytes(&b, PP2_SUBTYPE_SSL_SIG_ALG, &m->sig_alg);
		add_bytes(&b, PP2_SUBTYPE_SSL_KEY_ALG, &m->key_alg);
		ts_tlv_close(&b, mark);
	}
	add_bytes(&b, TS_PP2_TYPE_POLICY, &m->policy);
	add_bytes(&b, TS_PP2_TYPE_CERT, &m->cert);
	add_bytes(&b, TS_PP2_TYPE_SUBJECT, &m->subject);
	add_bytes(&b, TS_PP2_TYPE_ISSUER, &m->issuer);
	add_bytes(&b, TS_PP2_TYPE_SERIAL, &m->serial);
	if (m->fingerprint)
		ts_tlv_add(&b, TS_PP2_TYPE_FINGERPRINT, m->fingerprint, TS_FINGERPRINT_LEN);
	ts_tlv_add_u16(&b, TS_PP2_TYPE_ROUTE, m->route_id);
	ts_tlv_add_u16(&b, TS_PP2_TYPE_CERT_ID, m->cert_id);
	ts_tlv_add_u16(&b, TS_PP2_TYPE_CA_ID, m->ca_id);
	ts_tlv_add_u8(&b, TS_PP2_TYPE_ACTION, m->action);
	ts_tlv_add_u8(&b, TS_PP2_TYPE_MODE, m->mode);
	ts_tlv_add_u8(&b, TS_PP2_TYPE_MATCH, m->match);
	ts_tlv_add_u8(&b, TS_PP2_TYPE_RESUMED, m->resumed);
	if (m->peer.family)
		ts_tlv_add_addr(&b, TS_PP2_TYPE_PEER, &m->peer);
	if (m->local.family)
		ts_tlv_add_addr(&b, TS_PP2_TYPE_LOCAL, &m->local);
	return ts_tlv_finish(&b);
}

static void check_same(const struct ts_handoff_meta *a, const struct ts_handoff_meta *b)
{
	for (int i = 0; bytes_fields(a, i); i++) {
		const struct ts_bytes *x = bytes_fields(a, i), *y = bytes_fields(b, i);

		check(x->len == y->len);
		check((x->p == NULL) == (y->p == NULL));
		check(x->len == 0 || memcmp(x->p, y->p, x->len) == 0);
	}
	check(a->has_ssl == b->has_ssl && a->ssl_client == b->ssl_client &&
	      a->ssl_verify == b->ssl_verify);
	check((a->fingerprint == NULL) == (b->fingerprint == NULL));
	check(!a->fingerprint || memcmp(a->fingerprint, b->fingerprint, TS_FINGERPRINT_LEN) == 0);
	check(a->route_id == b->route_id && a->cert_id == b->cert_id && a->ca_id == b->ca_id);
	check(a->action == b->action && a->mode == b->mode && a->match == b->match &&
	      a->resumed == b->resumed);
	check(memcmp(&a->peer, &b->peer, sizeof(a->peer)) == 0);
	check(memcmp(&a->local, &b->local, sizeof(a->local)) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static uint8_t out[REBUILD_CAP];
	struct ts_handoff_meta m, again;
	int rc = ts_handoff_parse(data, len, &m);
	long n;

	check(rc == 0 || rc == -EBADMSG);
	if (rc)
		return 0;
	for (int i = 0; bytes_fields(&m, i); i++)
		check_inside(bytes_fields(&m, i), data, len);
	check(!m.fingerprint ||
	      (m.fingerprint >= data && m.fingerprint + TS_FINGERPRINT_LEN <= data + len));
	check(m.peer.family == 0 || m.peer.family == 4 || m.peer.family == 6);
	check(m.local.family == 0 || m.local.family == 4 || m.local.family == 6);
	n = rebuild(&m, out);
	check(n > 0);
	check(ts_handoff_parse(out, (size_t)n, &again) == 0);
	check_same(&m, &again);
	return 0;
}
