// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The shared policy lookup (bpf/policy_lookup.h) through ts_policy_decide()
 * on a real BPF hash map with the policy's key and value: lookup order,
 * reserved names, and that a hash hit whose stored name differs is a miss.
 * Needs root (it creates a map).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>
#include <bpf/bpf.h>

#include "name_hash.h"
#include "policy.h"

static int set_fd = -1;

static void put(const char *name, unsigned action, unsigned cert)
{
	struct ts_policy_value ids = { .action = (__u8)action, .cert_id = (__u16)cert };
	struct ts_policy_entry e;

	ts_policy_entry_set(&e, name, &ids);
	assert_int_equal(ts_policy_put(set_fd, &e), 0);
}

static int decide(const char *sni, struct ts_policy_value *v)
{
	return ts_policy_decide(set_fd, sni, strlen(sni), v);
}

static int setup(void **state)
{
	(void)state;
	set_fd = bpf_map_create(BPF_MAP_TYPE_HASH, "policy_test", sizeof(struct ts_policy_key),
				sizeof(struct ts_policy_value), 64, NULL);
	return set_fd < 0 ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	close(set_fd);
	return 0;
}

static void test_reserved_hashes(void **state)
{
	(void)state;
	assert_true(ts_name_hash(TS_POLICY_DEFAULT) == TS_HASH_DEFAULT);
	assert_true(ts_name_hash(TS_POLICY_NO_SNI) == TS_HASH_NO_SNI);
	assert_true(ts_name_hash("*.") == TS_HASH_STAR_DOT);
}

static void test_order(void **state)
{
	struct ts_policy_value v;

	(void)state;
	assert_int_equal(decide("a.example.com", &v), TS_MATCH_NOTHING);
	assert_int_equal(v.action, TS_ACTION_NONE);
	put(TS_POLICY_DEFAULT, TS_ACTION_REJECT, 1);
	put("*.example.com", TS_ACTION_OPTIONAL, 2);
	put("a.example.com", TS_ACTION_REQUIRE, 3);
	put(TS_POLICY_NO_SNI, TS_ACTION_NONE, 4);
	assert_int_equal(decide("a.example.com", &v), TS_MATCH_EXACT);
	assert_int_equal(v.action, TS_ACTION_REQUIRE);
	assert_int_equal(v.cert_id, 3);
	assert_int_equal(decide("b.example.com", &v), TS_MATCH_WILDCARD);
	assert_int_equal(v.cert_id, 2);
	/* one level only, and the parent itself is not covered */
	assert_int_equal(decide("c.b.example.com", &v), TS_MATCH_DEFAULT);
	assert_int_equal(decide("example.com", &v), TS_MATCH_DEFAULT);
	assert_int_equal(v.cert_id, 1);
	assert_int_equal(decide("com", &v), TS_MATCH_DEFAULT);
	assert_int_equal(decide("", &v), TS_MATCH_NO_SNI);
	assert_int_equal(v.cert_id, 4);
}

/* A key whose stored name is another name: what a hash collision looks like. */
static void test_hash_hit_with_another_name_is_a_miss(void **state)
{
	struct ts_policy_value ids = { .action = TS_ACTION_NONE, .cert_id = 9 };
	struct ts_policy_entry e;
	struct ts_policy_value v;

	(void)state;
	ts_policy_entry_set(&e, "x.example.org", &ids);
	ts_policy_key_set(&e.key, "victim.example.org");
	assert_int_equal(bpf_map_update_elem(set_fd, &e.key, &e.value, BPF_ANY), 0);
	ts_policy_entry_set(&e, "*.example.org", &ids);
	ts_policy_key_set(&e.key, "*.other.org");
	assert_int_equal(bpf_map_update_elem(set_fd, &e.key, &e.value, BPF_ANY), 0);
	assert_int_equal(decide("victim.example.org", &v), TS_MATCH_DEFAULT);
	assert_int_equal(decide("y.other.org", &v), TS_MATCH_DEFAULT);
	/* and ts_policy_put refuses a second name on a taken hash */
	ts_policy_entry_set(&e, "another.example.org", &ids);
	ts_policy_key_set(&e.key, "victim.example.org");
	assert_int_equal(ts_policy_put(set_fd, &e), -ENOTUNIQ);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reserved_hashes),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_hash_hit_with_another_name_is_a_miss),
	};

	return cmocka_run_group_tests_name("policy_lookup", tests, setup, teardown);
}
