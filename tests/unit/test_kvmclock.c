/* SPDX-License-Identifier: MIT */
/* The pvclock reading skyvm computes for a paused guest (vmm/kvmclock.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/kvmclock.h"

static struct pvclock_area area(uint32_t version, uint64_t ts, uint64_t sys, uint32_t mul,
				int8_t shift)
{
	struct pvclock_area p;

	memset(&p, 0, sizeof(p));
	p.version = version;
	p.tsc_timestamp = ts;
	p.system_time = sys;
	p.tsc_to_system_mul = mul;
	p.tsc_shift = shift;
	return p;
}

static void test_scale(void **state)
{
	uint64_t ns = 0;
	/* A 2 GHz TSC: mul 2^31 with shift 0 is 0.5 ns per tick. */
	struct pvclock_area p = area(2, 1000, 5000000, 1u << 31, 0);

	(void)state;
	assert_true(pvclock_area_ns(&p, 1000, &ns));
	assert_int_equal(ns, 5000000);
	assert_true(pvclock_area_ns(&p, 1000 + 2000000000ull, &ns));
	assert_int_equal(ns, 5000000 + 1000000000ull);
	/* shift -1 halves the ticks first; shift 1 doubles them. */
	p.tsc_shift = -1;
	assert_true(pvclock_area_ns(&p, 1000 + 4000, &ns));
	assert_int_equal(ns, 5000000 + 1000);
	p.tsc_shift = 1;
	assert_true(pvclock_area_ns(&p, 1000 + 4000, &ns));
	assert_int_equal(ns, 5000000 + 4000);
}

static void test_no_overflow_in_the_product(void **state)
{
	uint64_t ns = 0;
	/* An hour at 3 GHz with mul near 2^32: the product needs more than 64 bits. */
	struct pvclock_area p = area(4, 0, 0, 0xfffffffeu, -2);

	(void)state;
	assert_true(pvclock_area_ns(&p, 3600ull * 3000000000ull * 4, &ns));
	assert_true(ns > 3600ull * 2999999000ull && ns < 3600ull * 3000000001ull);
}

static void test_refusals(void **state)
{
	uint64_t ns = 77;
	struct pvclock_area p = area(3, 0, 100, 1u << 31, 0);

	(void)state;
	assert_false(pvclock_area_ns(&p, 10, &ns)); /* odd: being updated */
	p.version = 0;
	assert_false(pvclock_area_ns(&p, 10, &ns)); /* never written */
	assert_int_equal(ns, 77);
	/* A TSC behind the timestamp reads system_time, not a wrapped huge value. */
	p = area(2, 1000, 100, 1u << 31, 0);
	assert_true(pvclock_area_ns(&p, 10, &ns));
	assert_int_equal(ns, 100);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_no_overflow_in_the_product),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
