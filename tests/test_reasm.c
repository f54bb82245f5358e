// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Unit tests of the reassembly bookkeeping shared with the BPF program. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "reasm.h"

static struct ts_reasm *fresh(void)
{
	return calloc(1, sizeof(struct ts_reasm));
}

/* What the BPF program does per segment, without the byte copy. */
static void segment(struct ts_reasm *r, __u32 start, __u32 end)
{
	if (ts_reasm_clip(r, &start, &end))
		ts_reasm_note(r, start, end);
}

static void test_in_order(void **state)
{
	struct ts_reasm *r = fresh();

	(void)state;
	segment(r, 0, 100);
	segment(r, 100, 250);
	assert_int_equal(r->have, 250);
	assert_int_equal(r->nranges, 0);
	free(r);
}

static void test_reverse_order_fills_the_gap(void **state)
{
	struct ts_reasm *r = fresh();

	(void)state;
	segment(r, 300, 400);
	segment(r, 200, 300);
	segment(r, 100, 200);
	assert_int_equal(r->have, 0);
	segment(r, 0, 100);
	assert_int_equal(r->have, 400);
	assert_int_equal(r->overflow, 0);
	free(r);
}

static void test_duplicates_and_overlaps(void **state)
{
	struct ts_reasm *r = fresh();

	(void)state;
	segment(r, 0, 100);
	segment(r, 50, 120); /* overlap: only 100..120 is new */
	assert_int_equal(r->have, 120);
	segment(r, 0, 120); /* pure retransmit */
	assert_int_equal(r->have, 120);
	segment(r, 200, 260);
	segment(r, 230, 300); /* merges with the remembered range */
	segment(r, 120, 200);
	assert_int_equal(r->have, 300);
	free(r);
}

static void test_beyond_the_bound_is_dropped(void **state)
{
	struct ts_reasm *r = fresh();
	__u32 start = TS_HELLO_MAX - 10, end = TS_HELLO_MAX + 100;

	(void)state;
	assert_int_equal(ts_reasm_clip(r, &start, &end), 1);
	assert_int_equal(end, TS_HELLO_MAX);
	start = TS_HELLO_MAX;
	end = TS_HELLO_MAX + 5;
	assert_int_equal(ts_reasm_clip(r, &start, &end), 0);
	free(r);
}

static void test_too_many_gaps_overflow(void **state)
{
	struct ts_reasm *r = fresh();

	(void)state;
	for (__u32 i = 0; i < TS_GAPS_MAX; i++)
		segment(r, 100 + i * 20, 110 + i * 20);
	assert_int_equal(r->overflow, 0);
	segment(r, 1000, 1010);
	assert_int_equal(r->overflow, 1);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_reverse_order_fills_the_gap),
		cmocka_unit_test(test_duplicates_and_overlaps),
		cmocka_unit_test(test_beyond_the_bound_is_dropped),
		cmocka_unit_test(test_too_many_gaps_overflow),
	};

	return cmocka_run_group_tests_name("reasm", tests, NULL, NULL);
}
