// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The configuration parser: every key, defaults, ids, lookup order, and
 * errors that name the file, the line and the key. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "name.h"

static char dir[64];

static void touch(const char *name)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("x\n", f);
	fclose(f);
}

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/ts_config_test.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	touch("ec.crt");
	touch("ec.key");
	touch("rsa.crt");
	touch("rsa.key");
	touch("ca1.pem");
	touch("ca2.pem");
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

/* Writes yaml into dir/t.yaml and loads it. */
static int load(const char *yaml, struct ts_config **cfg, char *err)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/t.yaml", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(yaml, f);
	fclose(f);
	*cfg = NULL;
	return ts_config_load(path, cfg, err, TS_CFG_ERR_SIZE);
}

static const char full[] =
	"listeners:\n"
	"  - address: 127.0.0.1\n"
	"    port: 8443\n"
	"    workers: 2\n"
	"  - port: 443\n"
	"certificates:\n"
	"  - name: edge\n"
	"    pairs:\n"
	"      - { chain: ec.crt, key: ec.key }\n"
	"      - { chain: rsa.crt, key: rsa.key }\n"
	"  - name: other\n"
	"    chain: rsa.crt\n"
	"    key: rsa.key\n"
	"ca_sets:\n"
	"  - name: partners\n"
	"    files: [ca1.pem, ca2.pem]\n"
	"    send_names: false\n"
	"  - name: staff\n"
	"    files: ca1.pem\n"
	"routes:\n"
	"  - name: api\n"
	"    upstream: 127.0.0.1:8080\n"
	"    metadata: http\n"
	"    headers: xfcc\n"
	"  - name: sock\n"
	"    upstream: unix:/run/app.sock\n"
	"  - name: v6\n"
	"    upstream: '[::1]:9000'\n"
	"    metadata: raw\n"
	"policies:\n"
	"  - sni: API.Example.COM.\n"
	"    action: require\n"
	"    certificate: other\n"
	"    ca_set: staff\n"
	"    route: api\n"
	"  - sni: '*.example.com'\n"
	"    action: optional\n"
	"    ca_set: partners\n"
	"    route: v6\n"
	"  - sni: blocked.example.org\n"
	"    action: reject\n"
	"defaults:\n"
	"  default: { action: none, certificate: edge, route: sock }\n"
	"  no-sni: { action: reject }\n"
	"handoff:\n"
	"  socket: /tmp/h.sock\n"
	"  handshaker_user: 4242\n"
	"  proxy_user: root\n"
	"  records: false\n"
	"timeouts:\n"
	"  handshake: 5s\n"
	"  client_hello: 1500ms\n"
	"  handoff: 250ms\n"
	"  idle: 2m\n"
	"limits:\n"
	"  handshakes_in_flight: 64\n"
	"  handshakes_per_source: 8\n"
	"tls:\n"
	"  session_tickets: 0\n"
	"  session_timeout: 1h\n"
	"  resumption: tickets\n"
	"bpf:\n"
	"  pin_dir: /sys/fs/bpf/other\n";

static void test_every_key(void **state)
{
	struct ts_config *c;
	char err[TS_CFG_ERR_SIZE], path[128];

	(void)state;
	assert_int_equal(load(full, &c, err), 0);
	assert_int_equal(c->nlisteners, 2);
	assert_string_equal(c->listeners[0].address, "127.0.0.1");
	assert_int_equal(c->listeners[0].port, 8443);
	assert_int_equal(c->listeners[0].workers, 2);
	assert_string_equal(c->listeners[1].address, "0.0.0.0");
	assert_int_equal(c->listeners[1].port, 443);
	assert_int_equal(c->listeners[1].workers, 0);
	assert_int_equal(c->ncerts, 2);
	assert_int_equal(c->certs[0].npairs, 2);
	snprintf(path, sizeof(path), "%s/rsa.key", dir);
	assert_string_equal(c->certs[0].pairs[1].key, path);
	assert_int_equal(c->certs[1].npairs, 1);
	assert_int_equal(c->certs[1].line, 11);
	assert_int_equal(c->nca_sets, 2);
	assert_int_equal(c->ca_sets[0].nfiles, 2);
	assert_false(c->ca_sets[0].send_names);
	assert_int_equal(c->ca_sets[1].nfiles, 1);
	assert_true(c->ca_sets[1].send_names);
	assert_int_equal(c->nroutes, 3);
	assert_string_equal(c->routes[0].host, "127.0.0.1");
	assert_int_equal(c->routes[0].port, 8080);
	assert_int_equal(c->routes[0].mode, TS_META_HTTP);
	assert_int_equal(c->routes[0].headers, TS_HEADERS_XFCC);
	assert_string_equal(c->routes[1].unix_path, "/run/app.sock");
	assert_int_equal(c->routes[1].mode, TS_META_PROXY_V2);
	assert_string_equal(c->routes[2].host, "::1");
	assert_int_equal(c->routes[2].port, 9000);
	assert_int_equal(c->routes[2].mode, TS_META_RAW);
	assert_string_equal(c->handoff_path, "/tmp/h.sock");
	assert_int_equal(c->handshake_timeout_ms, 5000);
	assert_int_equal(c->handoff_timeout_ms, 250);
	assert_int_equal(c->idle_timeout_ms, 120000);
	assert_int_equal(c->max_inflight, 64);
	assert_int_equal(c->max_per_source, 8);
	assert_int_equal(c->hello_timeout_ms, 1500);
	assert_int_equal(c->handoff_handshaker_uid, 4242);
	assert_int_equal(c->handoff_proxy_uid, 0);
	assert_false(c->handoff_records);
	assert_int_equal(c->session_tickets, 0);
	assert_int_equal(c->session_timeout_s, 3600);
	assert_int_equal(c->resumption, TS_RESUME_TICKETS);
	assert_string_equal(c->pin_dir, "/sys/fs/bpf/other");
	ts_config_free(c);
}

static void test_policy_export(void **state)
{
	static const struct {
		const char *name;
		struct ts_policy_value v;
	} want[] = {
		/* sorted by strcmp: '*' < '@' < letters */
		{ "*.example.com", { .action = TS_ACTION_OPTIONAL, .ca_id = 1, .route_id = 3 } },
		{ "@default", { .action = TS_ACTION_NONE, .cert_id = 1, .route_id = 2 } },
		{ "@no-sni", { .action = TS_ACTION_REJECT } },
		{ "api.example.com", { .action = TS_ACTION_REQUIRE, .cert_id = 2, .ca_id = 2, .route_id = 1 } },
		{ "blocked.example.org", { .action = TS_ACTION_REJECT } },
	};
	struct ts_config *c;
	struct ts_policy_value v;
	char err[TS_CFG_ERR_SIZE];
	size_t i;

	(void)state;
	assert_int_equal(load(full, &c, err), 0);
	assert_int_equal(ts_config_policy_count(c), 5);
	for (i = 0; i < 5; i++) {
		struct ts_policy_value w = want[i].v;

		/* every entry carries the file's policy generation */
		w.generation = c->generation;
		assert_string_equal(ts_config_policy_at(c, i, &v), want[i].name);
		assert_memory_equal(&v, &w, sizeof(v));
	}
	assert_null(ts_config_policy_at(c, 5, &v));
	ts_config_free(c);
}

static void test_decide_order(void **state)
{
	struct ts_config *c;
	struct ts_policy_value v;
	enum ts_match m;
	char err[TS_CFG_ERR_SIZE];

	(void)state;
	assert_int_equal(load(full, &c, err), 0);
	ts_config_decide(c, "api.example.com", 15, &v, &m);
	assert_int_equal(m, TS_MATCH_EXACT);
	assert_int_equal(v.action, TS_ACTION_REQUIRE);
	ts_config_decide(c, "www.example.com", 15, &v, &m);
	assert_int_equal(m, TS_MATCH_WILDCARD);
	assert_int_equal(v.action, TS_ACTION_OPTIONAL);
	/* one level only */
	ts_config_decide(c, "a.b.example.com", 15, &v, &m);
	assert_int_equal(m, TS_MATCH_DEFAULT);
	assert_int_equal(v.action, TS_ACTION_NONE);
	assert_int_equal(v.cert_id, 1);
	/* the parent itself does not match its wildcard */
	ts_config_decide(c, "example.com", 11, &v, &m);
	assert_int_equal(m, TS_MATCH_DEFAULT);
	ts_config_decide(c, "", 0, &v, &m);
	assert_int_equal(m, TS_MATCH_NO_SNI);
	assert_int_equal(v.action, TS_ACTION_REJECT);
	ts_config_free(c);
	/* no defaults at all */
	assert_int_equal(load("policies: [{sni: a.b, action: reject}]\n", &c, err), 0);
	assert_null(ts_config_decide(c, "x.y", 3, &v, &m));
	assert_int_equal(m, TS_MATCH_NOTHING);
	assert_int_equal(v.action, TS_ACTION_NONE);
	assert_null(ts_config_decide(c, "", 0, &v, &m));
	assert_int_equal(m, TS_MATCH_NOTHING);
	ts_config_free(c);
}

static void test_defaults(void **state)
{
	struct ts_config *c;
	char err[TS_CFG_ERR_SIZE];

	(void)state;
	assert_int_equal(load("{}\n", &c, err), 0);
	assert_int_equal(c->nlisteners, 0);
	assert_int_equal(c->npolicies, 0);
	assert_string_equal(c->handoff_path, "/run/tagshake/handoff.sock");
	assert_string_equal(c->pin_dir, "/sys/fs/bpf/tagshake");
	assert_int_equal(c->handshake_timeout_ms, 10000);
	assert_int_equal(c->handoff_timeout_ms, 2000);
	assert_int_equal(c->max_inflight, 1024);
	assert_int_equal(c->max_per_source, 256);
	assert_int_equal(c->hello_timeout_ms, 3000);
	assert_int_equal(c->handoff_handshaker_uid, -1);
	assert_int_equal(c->handoff_proxy_uid, -1);
	assert_true(c->handoff_records); /* tagshake-proxy takes the mode */
	assert_int_equal(c->session_tickets, 1);
	assert_int_equal(c->resumption, TS_RESUME_CACHE);
	ts_config_free(c);
}

/* Each case: a document and the exact message after "DIR/t.yaml:". */
static const struct {
	const char *yaml, *msg;
} bad[] = {
	{ "listeners:\n  - port: 0\n", "2: listeners[0].port: port 0 is not a listening port" },
	{ "listeners:\n  - port: 70000\n",
	  "2: listeners[0].port: expected an integer from 0 to 65535, got '70000'" },
	{ "listeners:\n  - address: ::1\n", "2: listeners[0]: missing required key 'port'" },
	{ "listeners:\n  - port: 1\n    wokers: 2\n", "3: listeners[0].wokers: unknown key" },
	{ "listener: []\n", "1: listener: unknown section" },
	{ "certificates:\n  - name: a\n    chain: ec.crt\n",
	  "2: certificates[0]: missing required key 'key'" },
	{ "certificates:\n  - name: a\n    chain: nope.crt\n    key: ec.key\n",
	  "3: certificates[0].chain: cannot read 'DIR/nope.crt': No such file or directory" },
	{ "certificates:\n  - {name: a, chain: ec.crt, key: ec.key}\n"
	  "  - {name: a, chain: ec.crt, key: ec.key}\n",
	  "3: certificates[1]: duplicate name 'a'" },
	{ "ca_sets:\n  - name: x\n    send_names: maybe\n",
	  "3: ca_sets[0].send_names: expected true or false, got 'maybe'" },
	{ "ca_sets:\n  - name: x\n", "2: ca_sets[0]: missing required key 'files'" },
	{ "routes:\n  - name: r\n    upstream: localhost\n",
	  "3: routes[0].upstream: expected host:port or unix:/path, got 'localhost'" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: json\n",
	  "4: routes[0].metadata: unknown value 'json'" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    headers: kong\n",
	  "4: routes[0]: 'headers' only applies to metadata: http" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: http\n    headers: xfcc\n"
	  "    kong_headers: {cert: X-Cert}\n",
	  "6: routes[0]: 'kong_headers' only applies to metadata: http with headers: kong" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    alpn: [h2]\n",
	  "4: routes[0]: 'alpn' only applies to metadata: http" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: http\n    alpn: [h3]\n",
	  "5: routes[0].alpn: 'h3' is not a protocol the proxy speaks (h2, http/1.1)" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: http\n    alpn: [h2, h2]\n",
	  "5: routes[0].alpn: 'h2' is listed twice" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: http\n    alpn: []\n",
	  "5: routes[0].alpn: an empty ALPN list" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: http\n    alpn: h2\n",
	  "5: routes[0].alpn: expected a list" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    kong_headers: {cert: X-Cert}\n",
	  "4: routes[0]: 'kong_headers' only applies to metadata: http with headers: kong" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: http\n    kong_headers:\n"
	  "      serial: 'X Serial'\n",
	  "6: routes[0].kong_headers.serial: 'X Serial' is not an HTTP header name" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: http\n    kong_headers:\n"
	  "      subject_dn: 'X-DN:'\n",
	  "6: routes[0].kong_headers.subject_dn: 'X-DN:' is not an HTTP header name" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: http\n    kong_headers:\n"
	  "      fingerprint: Content-Length\n",
	  "6: routes[0].kong_headers.fingerprint: 'Content-Length' is a header the proxy itself uses" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: http\n    kong_headers:\n"
	  "      fingerprint: Content_Length\n",
	  "6: routes[0].kong_headers.fingerprint: 'Content_Length' is a header the proxy itself uses" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: http\n    kong_headers:\n"
	  "      cert: X_Forwarded_For\n",
	  "6: routes[0].kong_headers.cert: 'X_Forwarded_For' is a header the proxy itself uses" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: http\n    kong_headers:\n"
	  "      issuer_dn: X-DN\n      subject_dn: x_dn\n",
	  "6: routes[0].kong_headers: 'X-DN' names two headers" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    forwarded: false\n",
	  "4: routes[0]: 'forwarded' only applies to metadata: http" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: http\n    forwarded: maybe\n",
	  "5: routes[0].forwarded: expected true or false, got 'maybe'" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: http\n    kong_headers:\n"
	  "      issuer_dn: X-DN\n      subject_dn: x-dn\n",
	  "6: routes[0].kong_headers: 'X-DN' names two headers" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: http\n    kong_headers:\n"
	  "      sha1: X-FP\n",
	  "6: routes[0].kong_headers.sha1: unknown key" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: http\n    kong_headers:\n"
	  "      cert: " "X-Very-Long-Name-That-Goes-On-And-On-Past-Sixty-Three-Characters-Total\n",
	  "6: routes[0].kong_headers.cert: longer than 63 bytes" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    verify_header: X-V\n",
	  "4: routes[0]: 'verify_header' only applies to metadata: http (proxy-v2 carries the "
	  "status in PP2_TYPE_SSL)" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: raw\n    unverified: forward\n",
	  "5: routes[0]: 'unverified' does not apply to metadata: raw (it sends nothing)" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: http\n    unverified: maybe\n",
	  "5: routes[0].unverified: unknown value 'maybe'" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: http\n    verify_header: Client-Cert\n",
	  "5: routes[0]: 'client-cert' is a certificate header" },
	{ "routes:\n  - name: r\n    upstream: a:1\n    metadata: http\n    verify_header: Host\n",
	  "5: routes[0].verify_header: 'Host' is a header the proxy itself uses" },
	{ "policies:\n  - sni: a.com\n    action: allow\n",
	  "3: policies[0].action: unknown action 'allow' (none, request, optional, require, reject)" },
	{ "policies:\n  - sni: a..com\n    action: none\n",
	  "2: policies[0].sni: 'a..com' is not a host name or *.parent" },
	{ "policies:\n  - sni: a.com\n    action: require\n",
	  "2: policies[0]: action require needs a ca_set" },
	{ "policies:\n  - sni: a.com\n    action: none\n    certificate: nope\n",
	  "4: policies[0].certificate: no certificate named 'nope'" },
	{ "policies:\n  - sni: a.com\n    action: none\n    route: r\n",
	  "4: policies[0].route: no route named 'r'" },
	{ "policies:\n  - sni: a.com\n", "2: policies[0]: missing required key 'action'" },
	{ "policies:\n  - {sni: a.com, action: none}\n  - {sni: A.com., action: reject}\n",
	  "3: policies: 'a.com' already defined at line 2" },
	{ "defaults:\n  default:\n    action: optional\n",
	  "3: defaults.default: action optional needs a ca_set" },
	{ "defaults:\n  nosni: {action: none}\n", "2: defaults.nosni: unknown key" },
	{ "timeouts:\n  handshake: 10\n",
	  "2: timeouts.handshake: expected a duration like 500ms, 10s, 2m or 1h, got '10'" },
	{ "limits:\n  handshakes_in_flight: 0\n",
	  "2: limits.handshakes_in_flight: must be at least 1" },
	{ "handoff:\n  proxy_user: no-such-user-xyz\n",
	  "2: handoff.proxy_user: no user named 'no-such-user-xyz'" },
	{ "limits:\n  handshakes_per_source: 0\n",
	  "2: limits.handshakes_per_source: must be at least 1" },
	{ "policies: {a: b}\n", "1: policies: expected a list" },
	{ "tls:\n  resumption: psk\n", "2: tls.resumption: unknown value 'psk'" },
	{ "- a\n", "1: (top): expected a mapping" },
	{ "a: [\n", "2: (yaml): did not find expected node content while parsing a flow node" },
};

static void test_errors(void **state)
{
	char err[TS_CFG_ERR_SIZE], want[TS_CFG_ERR_SIZE + 128], msg[TS_CFG_ERR_SIZE];
	struct ts_config *c;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *d = strstr(bad[i].msg, "DIR");

		if (d)
			snprintf(msg, sizeof(msg), "%.*s%s%s", (int)(d - bad[i].msg), bad[i].msg,
				 dir, d + 3);
		else
			snprintf(msg, sizeof(msg), "%s", bad[i].msg);
		snprintf(want, sizeof(want), "%s/t.yaml:%s", dir, msg);
		assert_int_equal(load(bad[i].yaml, &c, err), -EINVAL);
		assert_null(c);
		assert_string_equal(err, want);
	}
}

/* An unknown key is refused in every section and nested mapping, with the
 * file, the line and the key path, never taken for a neighbour's field. */
static const struct {
	const char *yaml, *msg;
} unknown[] = {
	{ "listeners:\n  - port: 1\n    bogus: 1\n", "3: listeners[0].bogus: unknown key" },
	{ "certificates:\n  - name: a\n    bogus: 1\n", "3: certificates[0].bogus: unknown key" },
	{ "certificates:\n  - name: a\n    pairs:\n      - bogus: 1\n",
	  "4: certificates[0].pairs[0].bogus: unknown key" },
	{ "ca_sets:\n  - name: x\n    bogus: 1\n", "3: ca_sets[0].bogus: unknown key" },
	{ "routes:\n  - name: r\n    bogus: 1\n", "3: routes[0].bogus: unknown key" },
	{ "routes:\n  - name: r\n    kong_headers:\n      bogus: X-A\n",
	  "4: routes[0].kong_headers.bogus: unknown key" },
	{ "policies:\n  - sni: a.test\n    bogus: 1\n", "3: policies[0].bogus: unknown key" },
	{ "defaults:\n  bogus: {action: none}\n", "2: defaults.bogus: unknown key" },
	{ "defaults:\n  default:\n    sni: a.test\n", "3: defaults.default.sni: unknown key" },
	{ "defaults:\n  no-sni:\n    bogus: 1\n", "3: defaults.no-sni.bogus: unknown key" },
	{ "handoff:\n  bogus: 1\n", "2: handoff.bogus: unknown key" },
	{ "bpf:\n  bogus: 1\n", "2: bpf.bogus: unknown key" },
	{ "timeouts:\n  bogus: 1s\n", "2: timeouts.bogus: unknown key" },
	{ "tls:\n  bogus: 1\n", "2: tls.bogus: unknown key" },
	{ "logging:\n  bogus: 1\n", "2: logging.bogus: unknown key" },
	{ "limits:\n  bogus: 1\n", "2: limits.bogus: unknown key" },
	/* a key of one section is unknown in another */
	{ "limits:\n  idle: 1s\n", "2: limits.idle: unknown key" },
	{ "bogus: 1\n", "1: bogus: unknown section" },
};

static void test_unknown_keys(void **state)
{
	char err[TS_CFG_ERR_SIZE], want[TS_CFG_ERR_SIZE + 128];
	struct ts_config *c;

	(void)state;
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
		snprintf(want, sizeof(want), "%s/t.yaml:%s", dir, unknown[i].msg);
		assert_int_equal(load(unknown[i].yaml, &c, err), -EINVAL);
		assert_null(c);
		assert_string_equal(err, want);
	}
}

/* kong_headers: set names kept as written, the others left to Kong's
 * defaults (""), in any key order relative to metadata/headers. */
static void test_kong_headers(void **state)
{
	static const char yaml[] = "routes:\n"
				   "  - name: k\n"
				   "    kong_headers:\n"
				   "      cert: X-SSL-Client-Cert\n"
				   "      subject_dn: Ssl_Client_S_DN\n"
				   "      fingerprint: \"x-fp!#$%&'*+.^`|~\"\n"
				   "    upstream: 127.0.0.1:80\n"
				   "    metadata: http\n"
				   "  - name: d\n"
				   "    upstream: 127.0.0.1:81\n"
				   "    metadata: http\n"
				   "    forwarded: false\n"
				   "    headers: kong\n";
	struct ts_config *c = NULL;
	char err[TS_CFG_ERR_SIZE];

	(void)state;
	assert_int_equal(load(yaml, &c, err), 0);
	assert_int_equal(c->nroutes, 2);
	assert_int_equal(c->routes[0].headers, TS_HEADERS_KONG);
	assert_string_equal(c->routes[0].kong.cert, "X-SSL-Client-Cert");
	assert_string_equal(c->routes[0].kong.serial, "");
	assert_string_equal(c->routes[0].kong.issuer_dn, "");
	assert_string_equal(c->routes[0].kong.subject_dn, "Ssl_Client_S_DN");
	assert_string_equal(c->routes[0].kong.fingerprint, "x-fp!#$%&'*+.^`|~");
	assert_string_equal(c->routes[1].kong.cert, "");
	assert_string_equal(c->routes[1].kong.fingerprint, "");
	assert_false(c->routes[0].no_forwarded);
	assert_true(c->routes[1].no_forwarded);
	ts_config_free(c);
}

/* The ALPN list each route offers, in wire format (RFC 7301). */
static void test_alpn(void **state)
{
	static const char yaml[] = "routes:\n"
				   "  - { name: web, upstream: 127.0.0.1:80, metadata: http }\n"
				   "  - { name: h1, upstream: 127.0.0.1:80, metadata: http, alpn: [http/1.1] }\n"
				   "  - { name: pref, upstream: 127.0.0.1:80, metadata: http,"
				   " alpn: [http/1.1, h2] }\n"
				   "  - { name: pp, upstream: 127.0.0.1:81, metadata: proxy-v2 }\n"
				   "  - { name: raw, upstream: 127.0.0.1:82 }\n";
	struct ts_config *c = NULL;
	char err[TS_CFG_ERR_SIZE];

	(void)state;
	assert_int_equal(load(yaml, &c, err), 0);
	assert_int_equal(c->routes[0].alpn_len, 12);
	assert_memory_equal(c->routes[0].alpn, "\x02h2\x08http/1.1", 12);
	assert_int_equal(c->routes[1].alpn_len, 9);
	assert_memory_equal(c->routes[1].alpn, "\x08http/1.1", 9);
	assert_int_equal(c->routes[2].alpn_len, 12);
	assert_memory_equal(c->routes[2].alpn, "\x08http/1.1\x02h2", 12);
	assert_int_equal(c->routes[3].alpn_len, 9);
	assert_memory_equal(c->routes[3].alpn, "\x08http/1.1", 9);
	assert_int_equal(c->routes[4].alpn_len, 9);
	ts_config_free(c);
}

static void test_missing_file(void **state)
{
	struct ts_config *c = NULL;
	char err[TS_CFG_ERR_SIZE];

	(void)state;
	assert_int_equal(ts_config_load("/nonexistent/t.yaml", &c, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "/nonexistent/t.yaml: No such file or directory");
}

/* The shipped example, with its /etc/tagshake/ files created in the temp dir. */
static void test_example_parses(void **state)
{
	static const char *const files[] = { "edge-ecdsa.crt", "edge-ecdsa.key", "edge-rsa.crt",
					     "edge-rsa.key",   "partners-ca.pem", "staff-ca.pem" };
	struct ts_config *c = NULL;
	struct ts_policy_value v;
	enum ts_match m;
	char err[TS_CFG_ERR_SIZE], cmd[512], path[128];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		touch(files[i]);
	snprintf(path, sizeof(path), "%s/example.yaml", dir);
	snprintf(cmd, sizeof(cmd), "sed 's|/etc/tagshake/|%s/|g' docs/tagshake.example.yaml > %s",
		 dir, path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(ts_config_load(path, &c, err, sizeof(err)), 0);
	assert_int_equal(c->ncerts, 2);
	assert_int_equal(c->certs[0].npairs, 2);
	assert_int_equal(c->npolicies, 7);
	ts_config_decide(c, "x.partners.example.com", 22, &v, &m);
	assert_int_equal(m, TS_MATCH_WILDCARD);
	assert_int_equal(v.action, TS_ACTION_REQUIRE);
	assert_int_equal(v.cert_id, 2);
	assert_int_equal(v.ca_id, 1);
	assert_int_equal(v.route_id, 2);
	assert_string_equal(c->routes[3].kong.subject_dn, "X-SSL-Client-S-DN");
	assert_string_equal(c->routes[3].verify_header, "X-SSL-Client-Verify");
	assert_int_equal(c->routes[3].unverified, TS_UNVERIFIED_FORWARD);
	assert_int_equal(c->routes[0].unverified, TS_UNVERIFIED_OMIT);
	ts_config_decide(c, "upload.example.com", 18, &v, &m);
	assert_int_equal(v.action, TS_ACTION_REQUEST);
	assert_int_equal(v.ca_id, 1);
	assert_int_equal(v.route_id, 4);
	ts_config_free(c);
}

/* The normalisation shared with the BPF parser (bpf/sni.h). */
static void test_names(void **state)
{
	char out[TS_NAME_SIZE], label[80], longname[300];

	(void)state;
	assert_int_equal(ts_name_normalise("API.Example.COM.", 16, out), 15);
	assert_string_equal(out, "api.example.com");
	assert_int_equal(ts_name_normalise("a_b.c-d", 7, out), 7);
	assert_int_equal(ts_name_normalise("-a.com", 6, out), -EINVAL);
	assert_int_equal(ts_name_normalise("a-.com", 6, out), -EINVAL);
	assert_int_equal(ts_name_normalise("a..com", 6, out), -EINVAL);
	assert_int_equal(ts_name_normalise("a.com..", 7, out), -EINVAL);
	assert_int_equal(ts_name_normalise("a com", 5, out), -EINVAL);
	assert_int_equal(ts_name_normalise("a\0b", 3, out), -EINVAL);
	assert_int_equal(ts_name_normalise(".", 1, out), -EINVAL);
	memset(label, 'a', 63);
	assert_int_equal(ts_name_normalise(label, 63, out), 63);
	memset(label, 'a', 64);
	assert_int_equal(ts_name_normalise(label, 64, out), -EINVAL);
	/* 253 bytes: labels of 63 + dots */
	memset(longname, 'b', sizeof(longname));
	longname[63] = longname[127] = longname[191] = '.';
	assert_int_equal(ts_name_normalise(longname, 253, out), 253);
	assert_int_equal(ts_name_normalise(longname, 254, out), -EINVAL);
	assert_int_equal(ts_name_normalise_key("*.Wild.Test", 11, out), 11);
	assert_string_equal(out, "*.wild.test");
	assert_int_equal(ts_name_normalise_key("*x.test", 7, out), -EINVAL);
	assert_int_equal(ts_name_normalise_key("x.*.test", 8, out), -EINVAL);
	assert_int_equal(ts_name_normalise_key("*.", 2, out), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_key),    cmocka_unit_test(test_policy_export),
		cmocka_unit_test(test_decide_order), cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_errors),       cmocka_unit_test(test_unknown_keys),
		cmocka_unit_test(test_kong_headers),
		cmocka_unit_test(test_missing_file), cmocka_unit_test(test_alpn),
		cmocka_unit_test(test_example_parses), cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
