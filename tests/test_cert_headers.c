// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Client-certificate headers: exact header text for each style from a
 * certificate made here (quotes in the DN, ';' in a URI SAN, several DNS
 * SANs), custom Kong names, and no header splitting through metadata; the
 * verify status in nginx's $ssl_client_verify values and the rule for
 * unverified certificates (docs/security.md). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/x509v3.h>

#include "cert_headers.h"

#define VERIFY_OK "X-Client-Cert-Verify: SUCCESS\r\n"

static unsigned char *der;
static int der_len;

static void add_san(X509 *x, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, NULL, NID_subject_alt_name, value);

	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
}

static int make_cert(void **state)
{
	(void)state;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1234);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"a \"q\" name", -1,
				   -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	add_san(x, "URI:spiffe://x/y;z,DNS:a.test,URI:spiffe://second,DNS:b.test");
	X509_sign(x, key, EVP_sha256());
	der_len = i2d_X509(x, &der);
	X509_NAME_free(n);
	X509_free(x);
	EVP_PKEY_free(key);
	return der_len > 0 ? 0 : -1;
}

static int free_cert(void **state)
{
	(void)state;
	OPENSSL_free(der);
	return 0;
}

static struct ts_handoff_meta meta(const char *subject)
{
	struct ts_handoff_meta m = { 0 };

	m.cert = (struct ts_bytes){ der, (uint16_t)der_len };
	m.subject = (struct ts_bytes){ (const uint8_t *)subject, (uint16_t)strlen(subject) };
	m.issuer = m.subject;
	m.serial = (struct ts_bytes){ (const uint8_t *)"1234", 4 };
	m.has_ssl = 1;
	m.ssl_client = PP2_CLIENT_SSL | PP2_CLIENT_CERT_CONN | PP2_CLIENT_CERT_SESS;
	m.ssl_verify = 0;
	return m;
}

static char *hex_digest(const EVP_MD *md)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n;
	char *out = malloc(2 * EVP_MAX_MD_SIZE + 1);

	EVP_Digest(der, (size_t)der_len, d, &n, md, NULL);
	for (unsigned int i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
	return out;
}

static void test_xfcc_quoting_and_sans(void **state)
{
	(void)state;
	struct ts_handoff_meta m = meta("CN=a \\\"q\\\" name");
	char *out = NULL, *hash = hex_digest(EVP_sha256()), want[256];
	ssize_t n = ts_cert_headers(TS_HEADERS_XFCC, NULL, &m, &out);

	assert_true(n > 0);
	snprintf(want, sizeof(want), VERIFY_OK "x-forwarded-client-cert: Hash=%s;Cert=\"-----BEGIN%%20CERTIFICATE-----%%0A", hash);
	assert_memory_equal(out, want, strlen(want));
	/* the subject's quotes and backslashes escaped inside the quoted value;
	 * a URI with ';' quoted; only the first URI; every DNS name */
	const char *tail = "-----END%20CERTIFICATE-----%0A\";Subject=\"CN=a \\\\\\\"q\\\\\\\" name\";"
			   "URI=\"spiffe://x/y;z\";DNS=a.test;DNS=b.test\r\n";
	assert_string_equal(out + n - (ssize_t)strlen(tail), tail);
	free(out);
	free(hash);
}

static void test_kong_custom_names(void **state)
{
	(void)state;
	const struct ts_kong_names names = { "X-Cert", "X-Serial", "X-Issuer", "X-Subject", "X-Fp",
					     "X-Verify", TS_UNVERIFIED_OMIT };
	struct ts_handoff_meta m = meta("CN=client");
	char *out = NULL, *sha1 = hex_digest(EVP_sha1()), want[256];
	ssize_t n = ts_cert_headers(TS_HEADERS_KONG, &names, &m, &out);

	assert_true(n > 0);
	assert_memory_equal(out, "X-Verify: SUCCESS\r\nX-Cert: -----BEGIN%20CERTIFICATE-----%0A", 59);
	snprintf(want, sizeof(want),
		 "-----END%%20CERTIFICATE-----%%0A\r\nX-Serial: 1234\r\nX-Issuer: CN=client\r\n"
		 "X-Subject: CN=client\r\nX-Fp: %s\r\n", sha1);
	assert_string_equal(out + n - (ssize_t)strlen(want), want);
	free(out);
	free(sha1);
}

static void test_rfc9440(void **state)
{
	(void)state;
	struct ts_handoff_meta m = meta("CN=client");
	char *out = NULL, b64[4096], want[4200];

	EVP_EncodeBlock((unsigned char *)b64, der, der_len);
	snprintf(want, sizeof(want), VERIFY_OK "Client-Cert: :%s:\r\n", b64);
	assert_int_equal(ts_cert_headers(TS_HEADERS_RFC9440, NULL, &m, &out), (ssize_t)strlen(want));
	assert_string_equal(out, want);
	free(out);
}

/* Client-Cert-Chain: each chain certificate a Byte Sequence, in order,
 * ", " between them (RFC 8941 list serialisation). */
static void test_rfc9440_chain(void **state)
{
	(void)state;
	static const uint8_t chain[] = { 0, 0, 3, 'a', 'b', 'c', 0, 0, 2, 0xff, 0xfe };
	struct ts_handoff_meta m = meta("CN=client");
	char *out = NULL, b64[4096], want[4300];

	m.chain = (struct ts_bytes){ chain, sizeof(chain) };
	EVP_EncodeBlock((unsigned char *)b64, der, der_len);
	snprintf(want, sizeof(want), VERIFY_OK "Client-Cert: :%s:\r\nClient-Cert-Chain: :YWJj:, ://4=:\r\n",
		 b64);
	assert_int_equal(ts_cert_headers(TS_HEADERS_RFC9440, NULL, &m, &out), (ssize_t)strlen(want));
	assert_string_equal(out, want);
	free(out);
}

static void test_no_header_splitting(void **state)
{
	(void)state;
	struct ts_handoff_meta m = meta("CN=x\r\nX-Client-Cert-Subject-DN: CN=admin");
	char *out = NULL;

	for (int style = TS_HEADERS_KONG; style <= TS_HEADERS_XFCC; style++)
		assert_int_equal(ts_cert_headers(style, NULL, &m, &out), -EBADMSG);
}

/* The default rule: an unverified certificate gets its verify status and
 * nothing else, in every style. */
static void test_unverified_omitted(void **state)
{
	(void)state;
	static const char want[] =
		"X-Client-Cert-Verify: FAILED:unable to get local issuer certificate\r\n";
	struct ts_handoff_meta m = meta("CN=client");
	char *out = NULL;

	m.ssl_verify = 20; /* X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY */
	for (int style = TS_HEADERS_KONG; style <= TS_HEADERS_RFC9440; style++) {
		assert_int_equal(ts_cert_headers(style, NULL, &m, &out), (ssize_t)strlen(want));
		assert_string_equal(out, want);
		free(out);
	}
}

/* unverified: forward: the certificate headers as if verified, after a
 * status that says it was not. */
static void test_unverified_forwarded(void **state)
{
	(void)state;
	struct ts_kong_names names = ts_kong_default_names;
	struct ts_handoff_meta m = meta("CN=client");
	char *out = NULL, b64[4096], want[4300];

	names.unverified = TS_UNVERIFIED_FORWARD;
	m.ssl_verify = 10; /* X509_V_ERR_CERT_HAS_EXPIRED */
	EVP_EncodeBlock((unsigned char *)b64, der, der_len);
	snprintf(want, sizeof(want),
		 "X-Client-Cert-Verify: FAILED:certificate has expired\r\nClient-Cert: :%s:\r\n", b64);
	assert_int_equal(ts_cert_headers(TS_HEADERS_RFC9440, &names, &m, &out),
			 (ssize_t)strlen(want));
	assert_string_equal(out, want);
	free(out);
}

/* NONE without a certificate (client bits clear), SUCCESS on a resumed
 * connection whose session had one (PP2_CLIENT_CERT_SESS only). */
static void test_verify_none_and_resumed(void **state)
{
	(void)state;
	struct ts_handoff_meta m = meta("CN=client");
	char *out = NULL, buf[64];

	m.ssl_client = PP2_CLIENT_SSL;
	m.ssl_verify = 1;
	m.cert.len = 0;
	assert_int_equal(ts_cert_headers(TS_HEADERS_KONG, NULL, &m, &out), 28);
	assert_string_equal(out, "X-Client-Cert-Verify: NONE\r\n");
	free(out);
	m.has_ssl = 0;
	assert_string_equal(ts_cert_verify_status(&m, buf, sizeof(buf)), "NONE");
	m = meta("CN=client");
	m.ssl_client = PP2_CLIENT_SSL | PP2_CLIENT_CERT_SESS;
	assert_string_equal(ts_cert_verify_status(&m, buf, sizeof(buf)), "SUCCESS");
}

static void collect(void *ctx, const char *name)
{
	strcat(ctx, name);
	strcat(ctx, ",");
}

static void test_names_and_url_encoding(void **state)
{
	(void)state;
	const struct ts_kong_names names = { "X-Cert", "X-Serial", "X-Issuer", "X-Subject", "X-Fp",
					     "X-Verify", TS_UNVERIFIED_OMIT };
	char all[256] = "", enc[64];

	ts_cert_header_names(&names, collect, all);
	assert_string_equal(all, "x-cert,x-serial,x-issuer,x-subject,x-fp,x-verify,x-forwarded-client-cert,"
				 "client-cert,client-cert-chain,");
	assert_int_equal(ts_url_encode("a b/+~\n", 7, enc), 15);
	assert_string_equal(enc, "a%20b%2F%2B~%0A");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xfcc_quoting_and_sans),
		cmocka_unit_test(test_kong_custom_names),
		cmocka_unit_test(test_rfc9440),
		cmocka_unit_test(test_rfc9440_chain),
		cmocka_unit_test(test_no_header_splitting),
		cmocka_unit_test(test_unverified_omitted),
		cmocka_unit_test(test_unverified_forwarded),
		cmocka_unit_test(test_verify_none_and_resumed),
		cmocka_unit_test(test_names_and_url_encoding),
	};
	return cmocka_run_group_tests(tests, make_cert, free_cert);
}
