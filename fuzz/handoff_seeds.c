// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Writes seed TLV blocks for fuzz_handoff into DIR: the blocks a handshaker
 * sends (built with the same ts_tlv_* builder), with and without a client
 * certificate, over IPv4 and IPv6.
 */
#include <stdio.h>
#include <string.h>

#include "tagshake.h"
#include "ts_handoff.h"

static int write_seed(const char *dir, const char *name, const uint8_t *p, long len)
{
	char path[512];
	FILE *f;

	if (len < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	if (!f)
		return -1;
	fwrite(p, 1, (size_t)len, f);
	return fclose(f);
}

static long build(uint8_t *mem, size_t cap, int with_cert, int family)
{
	static const uint8_t der[] = { 0x30, 0x82, 0x01, 0x0a, 0x02, 0x01, 0x01, 0x30, 0x00 };
	struct ts_addr peer = { .family = (uint8_t)family, .port = 40000 };
	struct ts_addr local = { .family = (uint8_t)family, .port = 443 };
	uint8_t fp[TS_FINGERPRINT_LEN];
	struct ts_tlv_buf b;
	size_t mark;

	memset(peer.addr, 0, sizeof(peer.addr));
	peer.addr[family == 6 ? 15 : 0] = family == 6 ? 1 : 127;
	memcpy(local.addr, peer.addr, sizeof(local.addr));
	memset(fp, 0xab, sizeof(fp));
	ts_tlv_init(&b, mem, cap);
	ts_tlv_add_u8(&b, TS_PP2_TYPE_MODE, TS_MODE_RELAY);
	ts_tlv_add_str(&b, PP2_TYPE_AUTHORITY, "api.example.com");
	ts_tlv_add_str(&b, PP2_TYPE_ALPN, "h2");
	mark = ts_tlv_open_ssl(&b, PP2_CLIENT_SSL | (with_cert ? PP2_CLIENT_CERT_CONN : 0),
			       with_cert ? 0 : 1);
	ts_tlv_add_str(&b, PP2_SUBTYPE_SSL_VERSION, "TLSv1.3");
	ts_tlv_add_str(&b, PP2_SUBTYPE_SSL_CIPHER, "TLS_AES_128_GCM_SHA256");
	if (with_cert) {
		ts_tlv_add_str(&b, PP2_SUBTYPE_SSL_CN, "client one");
		ts_tlv_add_str(&b, PP2_SUBTYPE_SSL_SIG_ALG, "ecdsa-with-SHA256");
		ts_tlv_add_str(&b, PP2_SUBTYPE_SSL_KEY_ALG, "EC256");
	}
	ts_tlv_close(&b, mark);
	ts_tlv_add_str(&b, TS_PP2_TYPE_POLICY, with_cert ? "api.example.com" : "@default");
	ts_tlv_add_u16(&b, TS_PP2_TYPE_ROUTE, 1);
	ts_tlv_add_u8(&b, TS_PP2_TYPE_ACTION, with_cert ? TS_ACTION_REQUIRE : TS_ACTION_NONE);
	ts_tlv_add_u8(&b, TS_PP2_TYPE_MATCH, with_cert ? TS_MATCH_EXACT : TS_MATCH_DEFAULT);
	ts_tlv_add_u16(&b, TS_PP2_TYPE_CERT_ID, 1);
	if (with_cert) {
		ts_tlv_add_u16(&b, TS_PP2_TYPE_CA_ID, 2);
		ts_tlv_add(&b, TS_PP2_TYPE_CERT, der, sizeof(der));
		ts_tlv_add(&b, TS_PP2_TYPE_FINGERPRINT, fp, sizeof(fp));
		ts_tlv_add_str(&b, TS_PP2_TYPE_SUBJECT, "CN=client one,O=Example");
		ts_tlv_add_str(&b, TS_PP2_TYPE_ISSUER, "CN=Staff CA,O=Example");
		ts_tlv_add_str(&b, TS_PP2_TYPE_SERIAL, "01AF");
	}
	ts_tlv_add_u8(&b, TS_PP2_TYPE_RESUMED, 0);
	ts_tlv_add_addr(&b, TS_PP2_TYPE_PEER, &peer);
	ts_tlv_add_addr(&b, TS_PP2_TYPE_LOCAL, &local);
	return ts_tlv_finish(&b);
}

int main(int argc, char **argv)
{
	static uint8_t mem[TS_HANDOFF_MAX];
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: handoff_seeds DIR\n");
		return 2;
	}
	rc |= write_seed(argv[1], "none-v4", mem, build(mem, sizeof(mem), 0, 4));
	rc |= write_seed(argv[1], "require-v4", mem, build(mem, sizeof(mem), 1, 4));
	rc |= write_seed(argv[1], "require-v6", mem, build(mem, sizeof(mem), 1, 6));
	return rc ? 1 : 0;
}
