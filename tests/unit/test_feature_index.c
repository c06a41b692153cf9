/* SPDX-License-Identifier: MIT */
/*
 * The feature table's lookup index (cpu/features.c, the name hash and the
 * (word, bit) index the build generates into cpu_index.h) and the resolved
 * dependency table (cpu/deps.c) against what a plain linear search of the
 * tables gives: for every name and alias in every spelling QEMU accepts,
 * for unknown names, for every (word, bit), and for every dependency.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <ctype.h>
#include <string.h>

#include "cpu/deps.h"
#include "cpu/features.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* QEMU's rule, written out again: case-insensitive, '_' and '-' the same. */
static bool same_name(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '_' ? '-' : (char)tolower((unsigned char)*a);
		char y = *b == '_' ? '-' : (char)tolower((unsigned char)*b);

		if (x != y)
			return false;
	}
	return *a == *b;
}

static bool carries(const struct cpu_feature *f, const char *name)
{
	if (same_name(f->name, name))
		return true;
	for (size_t a = 0; a < ARRAY_SIZE(f->aliases) && f->aliases[a]; a++)
		if (same_name(f->aliases[a], name))
			return true;
	return false;
}

static size_t linear_all(const char *name, const struct cpu_feature **out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < cpu_features_count && n < max; i++)
		if (carries(&cpu_features[i], name))
			out[n++] = &cpu_features[i];
	return n;
}

static void check_name(const char *name)
{
	const struct cpu_feature *want[8], *got[8];
	size_t nw = linear_all(name, want, ARRAY_SIZE(want));
	size_t ng = cpu_feature_find_all(name, got, ARRAY_SIZE(got));

	assert_int_equal(ng, nw);
	for (size_t i = 0; i < nw; i++)
		assert_ptr_equal(got[i], want[i]);
	assert_ptr_equal(cpu_feature_find(name), nw ? want[0] : NULL);
	/* at most one asked for: the first in table order */
	if (nw) {
		assert_int_equal(cpu_feature_find_all(name, got, 1), 1);
		assert_ptr_equal(got[0], want[0]);
	}
}

/* The same name as users may spell it: upper case, '_' for '-'. */
static void check_spellings(const char *name)
{
	char up[64], under[64];
	size_t i;

	check_name(name);
	for (i = 0; name[i] && i < sizeof(up) - 1; i++) {
		up[i] = (char)toupper((unsigned char)name[i]);
		under[i] = name[i] == '-' ? '_' : name[i];
	}
	up[i] = under[i] = 0;
	check_name(up);
	check_name(under);
}

static void test_every_name_and_alias(void **state)
{
	(void)state;
	for (size_t i = 0; i < cpu_features_count; i++) {
		const struct cpu_feature *f = &cpu_features[i];

		check_spellings(f->name);
		for (size_t a = 0; a < ARRAY_SIZE(f->aliases) && f->aliases[a]; a++)
			check_spellings(f->aliases[a]);
	}
}

static void test_unknown_names(void **state)
{
	static const char *const names[] = {
		"", "avx512", "avx512fx", "kvm-steal", "sse4", "sse4.", "x", "-", "_",
		"fpu ", " fpu", "kvmclockx", "AVX-512F",
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++)
		check_name(names[i]);
	assert_null(cpu_feature_find(NULL));
	assert_null(cpu_feature_find("avx512fx"));
}

/* "kvmclock" names two bits; the lookups return both, in table order. */
static void test_a_name_on_two_bits(void **state)
{
	const struct cpu_feature *f[8];

	(void)state;
	assert_int_equal(cpu_feature_find_all("kvmclock", f, ARRAY_SIZE(f)), 2);
	assert_true(f[0] < f[1]);
	assert_int_not_equal(f[0]->bit, f[1]->bit);
}

static void test_every_word_and_bit(void **state)
{
	(void)state;
	for (int w = 0; w < FW_COUNT; w++)
		for (unsigned b = 0; b < 32; b++) {
			const struct cpu_feature *want = NULL;

			for (size_t i = 0; i < cpu_features_count && !want; i++)
				if (cpu_features[i].word == (enum feature_word)w &&
				    cpu_features[i].bit == b)
					want = &cpu_features[i];
			assert_ptr_equal(cpu_feature_at((enum feature_word)w, b), want);
		}
	assert_null(cpu_feature_at(FW_COUNT, 0));
	assert_null(cpu_feature_at(FW_1_EDX, 32));
}

/*
 * Every dependency, through cpu_deps_apply() and cpu_deps_missing(): with
 * everything on but `from`, `to` (or its whole word) is cleared and named.
 */
static void test_every_dependency(void **state)
{
	(void)state;
	for (size_t i = 0; i < cpu_dependencies_count; i++) {
		const struct cpu_dependency *d = &cpu_dependencies[i];
		const struct cpu_feature *from = cpu_feature_find(d->from);
		const struct cpu_feature *to = d->to ? cpu_feature_find(d->to) : NULL;
		struct cpu_featureset fs, cleared = { 0 };

		if (!from || (d->to && !to))
			continue; /* a name the table lacks: the dependency is inert */
		memset(&fs, 0xff, sizeof(fs));
		featureset_set(&fs, from, false);
		if (to) {
			assert_string_equal(cpu_deps_missing(&fs, to->word, to->bit), d->from);
		}
		cpu_deps_apply(&fs, &cleared);
		if (to) {
			assert_false(featureset_has(&fs, to));
			assert_true(featureset_has(&cleared, to));
		} else {
			assert_int_equal(fs.w[d->to_word], 0);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_name_and_alias),
		cmocka_unit_test(test_unknown_names),
		cmocka_unit_test(test_a_name_on_two_bits),
		cmocka_unit_test(test_every_word_and_bit),
		cmocka_unit_test(test_every_dependency),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
