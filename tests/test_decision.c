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

#include "handshaker.h"

static const char yaml[] = "policies:\n"
			   "  - { sni: open.test, action: none }\n"
			   "  - { sni: api.test, action: reject }\n"
			   "  - { sni: '*.wild.test', action: reject }\n"
			   "defaults:\n"
			   "  default: { action: none }\n"
			   "  no-sni: { action: reject }\n";

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agree_uses_tag),
		cmocka_unit_test(test_wrong_sni_ignored),
		cmocka_unit_test(test_no_sni_tag_with_sni),
		cmocka_unit_test(test_pending_missing_garbled),
		cmocka_unit_test(test_default_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
