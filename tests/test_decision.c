// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The decision with every kind of tag (security invariant 2): the tag is
 * used only when its SNI is the one OpenSSL parsed; a wrong, pending,
 * missing or garbled tag falls back to the same lookup in userspace. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "decision.h"
#include "stats.h"

static const char yaml[] = "policies:\n"
			   "  - { sni: open.test, action: none }\n"
			   "  - { sni: api.test, action: reject }\n"
			   "  - { sni: '*.wild.test', action: reject }\n"
			   "defaults:\n"
			   "  default: { action: none }\n"
			   "  no-sni: { action: reject }\n";

/* The loaded configuration's generation: a tag made from it carries it. */
static uint64_t cfg_generation;

struct fixture {
	struct ts_config *cfg;
	struct ts_maps maps; /* pin dir without maps: the configuration decides */
	struct ts_hs_stats st;
};

static int setup(void **state)
{
	static struct fixture f;
	char err[TS_CFG_ERR_SIZE];

	memset(&f, 0, sizeof(f));
	if (ts_config_load_string(yaml, sizeof(yaml) - 1, "t.yaml", &f.cfg, err, sizeof(err)))
		return -1;
	ts_maps_init(&f.maps, "/nonexistent");
	cfg_generation = f.cfg->generation;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ts_config_free(f->cfg);
	return 0;
}

static struct ts_tag tag_for(const char *sni, uint8_t status, uint8_t action)
{
	struct ts_tag t;

	memset(&t, 0, sizeof(t));
	t.status = status;
	t.action = action;
	t.match = TS_MATCH_EXACT;
	t.sni_len = (uint16_t)strlen(sni);
	memcpy(t.sni, sni, t.sni_len);
	t.generation = cfg_generation;
	return t;
}

static void decide(struct fixture *f, const struct ts_tag *t, int err, const char *sni,
		   struct ts_decision *d)
{
	memset(&f->st, 0, sizeof(f->st));
	ts_decide(&f->maps, f->cfg, t, err, sni, strlen(sni), d, &f->st);
}

static void test_agree_uses_tag(void **state)
{
	struct fixture *f = *state;
	struct ts_tag t = tag_for("open.test", TS_STATUS_OK, TS_ACTION_OPTIONAL);
	struct ts_decision d;

	t.ca_id = 4;
	decide(f, &t, 0, "open.test", &d);
	/* the fast path: the tag's own values (the program read the map) */
	assert_int_equal(d.value.action, TS_ACTION_OPTIONAL);
	assert_int_equal(d.value.ca_id, 4);
	assert_string_equal(d.policy, "open.test");
	assert_int_equal(f->st.c[TS_HC_TAG_AGREE], 1);
}

static void test_wrong_sni_ignored(void **state)
{
	struct fixture *f = *state;
	struct ts_tag t = tag_for("open.test", TS_STATUS_OK, TS_ACTION_NONE);
	struct ts_decision d;

	decide(f, &t, 0, "api.test", &d);
	assert_int_equal(d.value.action, TS_ACTION_REJECT);
	assert_int_equal(d.match, TS_MATCH_EXACT);
	assert_string_equal(d.policy, "api.test");
	assert_int_equal(f->st.c[TS_HC_TAG_DISAGREE], 1);
	assert_int_equal(f->st.c[TS_HC_TAG_AGREE], 0);
	/* a prefix is not the name */
	t = tag_for("api.tes", TS_STATUS_OK, TS_ACTION_NONE);
	decide(f, &t, 0, "api.test", &d);
	assert_int_equal(d.value.action, TS_ACTION_REJECT);
	assert_int_equal(f->st.c[TS_HC_TAG_DISAGREE], 1);
}

static void test_no_sni_tag_with_sni(void **state)
{
	struct fixture *f = *state;
	struct ts_tag t = tag_for("", TS_STATUS_NO_SNI, TS_ACTION_NONE);
	struct ts_decision d;

	decide(f, &t, 0, "x.wild.test", &d);
	assert_int_equal(d.value.action, TS_ACTION_REJECT);
	assert_int_equal(d.match, TS_MATCH_WILDCARD);
	assert_string_equal(d.policy, "*.wild.test");
	assert_int_equal(f->st.c[TS_HC_TAG_DISAGREE], 1);
	/* and an SNI tag when OpenSSL saw none */
	t = tag_for("open.test", TS_STATUS_OK, TS_ACTION_NONE);
	decide(f, &t, 0, "", &d);
	assert_int_equal(d.value.action, TS_ACTION_REJECT);
	assert_string_equal(d.policy, "@no-sni");
	assert_int_equal(f->st.c[TS_HC_TAG_DISAGREE], 1);
}

static void test_pending_missing_garbled(void **state)
{
	struct fixture *f = *state;
	struct ts_tag t = tag_for("api.test", TS_STATUS_PENDING, TS_ACTION_NONE);
	struct ts_decision d;

	decide(f, &t, 0, "api.test", &d);
	assert_int_equal(d.value.action, TS_ACTION_REJECT);
	assert_int_equal(f->st.c[TS_HC_TAG_PENDING], 1);
	decide(f, &t, -ENOENT, "api.test", &d);
	assert_int_equal(d.value.action, TS_ACTION_REJECT);
	assert_int_equal(f->st.c[TS_HC_TAG_MISSING], 1);
	decide(f, &t, -ENODEV, "api.test", &d);
	assert_int_equal(f->st.c[TS_HC_TAG_MISSING], 1);
	t = tag_for("api.test", TS_STATUS_MALFORMED, TS_ACTION_NONE);
	decide(f, &t, 0, "api.test", &d);
	assert_int_equal(d.value.action, TS_ACTION_REJECT);
	assert_int_equal(f->st.c[TS_HC_TAG_MISSING], 1);
	/* "no entry at all" (an empty or half-written set, or a torn read)
	 * is settled in userspace */
	t = tag_for("api.test", TS_STATUS_OK, TS_ACTION_NONE);
	t.match = TS_MATCH_NOTHING;
	decide(f, &t, 0, "api.test", &d);
	assert_int_equal(d.value.action, TS_ACTION_REJECT);
	assert_int_equal(f->st.c[TS_HC_TAG_MISSING], 1);
	assert_int_equal(f->st.c[TS_HC_TAG_AGREE], 0);
	/* an action the program cannot produce is not trusted */
	t = tag_for("api.test", TS_STATUS_OK, 9);
	decide(f, &t, 0, "api.test", &d);
	assert_int_equal(d.value.action, TS_ACTION_REJECT);
	assert_int_equal(f->st.c[TS_HC_TAG_DISAGREE], 1);
}

static void test_default_names(void **state)
{
	struct fixture *f = *state;
	struct ts_decision d;

	decide(f, NULL, -ENODEV, "a.b.wild.test", &d);
	assert_int_equal(d.match, TS_MATCH_DEFAULT);
	assert_string_equal(d.policy, "@default");
	assert_int_equal(d.sni_len, 13);
	assert_string_equal(d.sni, "a.b.wild.test");
}

/* Issue 12, case 1: CA sets reordered in the file and tagshaked reloaded,
 * no import since. The kernel's tag (imported from the old order) says
 * require with ca_id 1, which is "partners" in the new file; the file says
 * "staff", id 2. The tag agrees on the SNI and is as strict, but its ids
 * belong to another generation: the configuration decides, counted. */
static const char reordered[] = "ca_sets:\n"
				"  - { name: partners, files: [/dev/null] }\n"
				"  - { name: staff, files: [/dev/null] }\n"
				"policies:\n"
				"  - { sni: admin.test, action: require, ca_set: staff }\n";
static const char original[] = "ca_sets:\n"
			       "  - { name: staff, files: [/dev/null] }\n"
			       "  - { name: partners, files: [/dev/null] }\n"
			       "policies:\n"
			       "  - { sni: admin.test, action: require, ca_set: staff }\n";

static void test_stale_generation(void **state)
{
	struct fixture *f = *state;
	struct ts_config *old = NULL, *now = NULL;
	char err[TS_CFG_ERR_SIZE];
	struct ts_tag t = tag_for("admin.test", TS_STATUS_OK, TS_ACTION_REQUIRE);
	struct ts_decision d;

	assert_int_equal(ts_config_load_string(original, sizeof(original) - 1, "old.yaml", &old,
					       err, sizeof(err)),
			 0);
	assert_int_equal(ts_config_load_string(reordered, sizeof(reordered) - 1, "new.yaml", &now,
					       err, sizeof(err)),
			 0);
	/* same policies by name, other positions: another generation */
	assert_true(old->generation != now->generation);
	assert_true(old->generation != 0 && now->generation != 0);
	t.ca_id = 1; /* "staff" in the old file, "partners" in the new one */
	t.generation = old->generation;

	memset(&f->st, 0, sizeof(f->st));
	ts_decide(&f->maps, now, &t, 0, "admin.test", 10, &d, &f->st);
	assert_int_equal(d.value.action, TS_ACTION_REQUIRE);
	assert_int_equal(d.value.ca_id, 2);
	assert_string_equal(ts_config_ca_set(now, d.value.ca_id)->name, "staff");
	assert_int_equal(d.match, TS_MATCH_EXACT);
	assert_string_equal(d.policy, "admin.test");
	assert_true(d.value.generation == now->generation);
	assert_int_equal(f->st.c[TS_HC_TAG_AGREE], 1);
	assert_int_equal(f->st.c[TS_HC_POLICY_STALE], 1);

	/* negative control: the same tag from the current generation is used
	 * as it is, ids included, and nothing is counted stale */
	t.generation = now->generation;
	t.ca_id = 2;
	t.cert_id = 0;
	memset(&f->st, 0, sizeof(f->st));
	ts_decide(&f->maps, now, &t, 0, "admin.test", 10, &d, &f->st);
	assert_int_equal(d.value.ca_id, 2);
	assert_int_equal(f->st.c[TS_HC_POLICY_STALE], 0);
	/* and a hand-made entry (generation 0) is never trusted for its ids */
	t.generation = 0;
	t.ca_id = 1;
	memset(&f->st, 0, sizeof(f->st));
	ts_decide(&f->maps, now, &t, 0, "admin.test", 10, &d, &f->st);
	assert_int_equal(d.value.ca_id, 2);
	assert_int_equal(f->st.c[TS_HC_POLICY_STALE], 1);
	/* a stale reject still rejects: it needs no ids (the tag fast path
	 * closes on it before any decision) */
	t = tag_for("admin.test", TS_STATUS_OK, TS_ACTION_REJECT);
	t.generation = old->generation;
	memset(&f->st, 0, sizeof(f->st));
	ts_decide(&f->maps, now, &t, 0, "admin.test", 10, &d, &f->st);
	assert_int_equal(d.value.action, TS_ACTION_REJECT);
	assert_int_equal(f->st.c[TS_HC_POLICY_STALE], 1);
	ts_config_free(old);
	ts_config_free(now);
}

/* The generation covers what decides, not the rest of the file. */
static void test_generation_scope(void **state)
{
	static const char a[] = "policies:\n  - { sni: x.test, action: none }\n"
				"timeouts: { handshake: 5s }\n";
	static const char b[] = "policies:\n  - { sni: x.test, action: none }\n"
				"timeouts: { handshake: 7s }\n";
	static const char c[] = "policies:\n  - { sni: x.test, action: reject }\n"
				"timeouts: { handshake: 5s }\n";
	struct ts_config *ca = NULL, *cb = NULL, *cc = NULL;
	char err[TS_CFG_ERR_SIZE];

	(void)state;
	assert_int_equal(ts_config_load_string(a, sizeof(a) - 1, "a", &ca, err, sizeof(err)), 0);
	assert_int_equal(ts_config_load_string(b, sizeof(b) - 1, "b", &cb, err, sizeof(err)), 0);
	assert_int_equal(ts_config_load_string(c, sizeof(c) - 1, "c", &cc, err, sizeof(err)), 0);
	assert_true(ca->generation == cb->generation);
	assert_true(ca->generation != cc->generation);
	/* every entry of the file carries it, for `policy import` */
	assert_true(ca->policies[0].value.generation == ca->generation);
	ts_config_free(ca);
	ts_config_free(cb);
	ts_config_free(cc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agree_uses_tag),
		cmocka_unit_test(test_wrong_sni_ignored),
		cmocka_unit_test(test_no_sni_tag_with_sni),
		cmocka_unit_test(test_pending_missing_garbled),
		cmocka_unit_test(test_default_names),
		cmocka_unit_test(test_stale_generation),
		cmocka_unit_test(test_generation_scope),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
