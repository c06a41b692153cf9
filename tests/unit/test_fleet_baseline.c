/* SPDX-License-Identifier: MIT */
/*
 * Fleet baseline (fleet/baseline.c): intersecting hosts, choosing the
 * closest model, writing the +f/-f string; and the baseline's properties on
 * the synthesised host dumps in tests/data/hosts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include <asm/kvm_para.h>

#include "cpu/dump.h"
#include "fleet/baseline.h"
#include "fleet/compare.h"
#include "test_fleet_hosts.h"
#include "util/err.h"

static struct cpuid_table host_a, host_b, host_c, out;

static void test_intersect_ands_features_and_lowers_max_leaves(void **state)
{
	static const char *const a[] = { "sse4.2", "avx2", "avx512f", "invtsc", NULL };
	static const char *const b[] = { "sse4.2", "avx2", "rdseed", "invtsc", NULL };
	const struct cpuid_table *hosts[] = { &host_a, &host_b };
	const char *names[] = { "a", "b" };
	struct cpu_featureset fs, expect;
	static const char *const both[] = { "sse4.2", "avx2", "invtsc", NULL };

	(void)state;
	host_table(&host_a, "GenuineIntel", 0x16, 0x80000008, a);
	host_table(&host_b, "GenuineIntel", 0x0d, 0x80000008, b);
	/* Leaf 0x14 exists on a only, and is above b's max leaf anyway. */
	cpuid_get_or_add(&host_a, 0x14, 0, true)->ebx = 0x5;
	/* A non-feature register keeps the first host's value. */
	cpuid_get_or_add(&host_a, 0x80000008u, 0, false)->eax = 0x302e;
	cpuid_get_or_add(&host_b, 0x80000008u, 0, false)->eax = 0x3030;
	assert_int_equal(fleet_intersect(hosts, names, 2, &out), 0);
	featureset_from_cpuid(&fs, &out);
	set_features(&expect, both);
	assert_memory_equal(&fs, &expect, sizeof(fs));
	assert_int_equal(cpuid_value(&out, 0, 0, CPUID_EAX), 0x0d);
	assert_int_equal(cpuid_value(&out, 0x80000000u, 0, CPUID_EAX), 0x80000008);
	assert_null(cpuid_find_const(&out, 0x14, 0));
	assert_int_equal(cpuid_value(&out, 0x80000008u, 0, CPUID_EAX), 0x302e);
	assert_int_equal(cpuid_value(&out, KVM_CPUID_SIGNATURE, 0, CPUID_EAX), KVM_CPUID_FEATURES);
}

static void test_intersect_drops_leaves_a_host_lacks(void **state)
{
	static const char *const a[] = { "sse4.2", "kvmclock", NULL };
	const struct cpuid_table *hosts[] = { &host_a, &host_b };
	const char *names[] = { "a", "b" };

	(void)state;
	host_table(&host_a, "AuthenticAMD", 0x10, 0x80000021, a);
	host_table(&host_b, "AuthenticAMD", 0x10, 0x80000021, a);
	/* b has no KVM leaves at all: no host in the set offers 0x4000000x then. */
	cpuid_remove_leaf(&host_b, KVM_CPUID_SIGNATURE);
	cpuid_remove_leaf(&host_b, KVM_CPUID_FEATURES);
	assert_int_equal(fleet_intersect(hosts, names, 2, &out), 0);
	assert_null(cpuid_find_const(&out, KVM_CPUID_SIGNATURE, 0));
	assert_null(cpuid_find_const(&out, KVM_CPUID_FEATURES, 0));
	assert_non_null(cpuid_find_const(&out, 1, 0));
}

static void test_intersect_refuses_mixed_vendors_naming_each_host(void **state)
{
	static const char *const f[] = { "sse4.2", NULL };
	const struct cpuid_table *hosts[] = { &host_a, &host_b, &host_c };
	const char *names[] = { "skx.json", "rome.json", "clx.json" };

	(void)state;
	host_table(&host_a, "GenuineIntel", 0xd, 0x80000008, f);
	host_table(&host_b, "AuthenticAMD", 0xd, 0x80000008, f);
	host_table(&host_c, "GenuineIntel", 0xd, 0x80000008, f);
	err_clear();
	assert_int_equal(fleet_intersect(hosts, names, 3, &out), -1);
	assert_non_null(strstr(err_msg(), "one CPU vendor"));
	assert_non_null(strstr(err_msg(), "skx.json is GenuineIntel"));
	assert_non_null(strstr(err_msg(), "rome.json is AuthenticAMD"));
	assert_non_null(strstr(err_msg(), "clx.json is GenuineIntel"));

	/* No hosts, and a host without leaf 0, are errors too. */
	assert_int_equal(fleet_intersect(hosts, names, 0, &out), -1);
	cpuid_remove_leaf(&host_b, 0);
	assert_int_equal(fleet_intersect(hosts, names, 3, &out), -1);
	assert_non_null(strstr(err_msg(), "rome.json: no CPUID leaf 0"));
}

/* Candidates, oldest first, as the model table lists them. */
static const char *const old_model[] = { "sse4.2", "avx", NULL };
static const char *const mid_model[] = { "sse4.2", "avx", "avx2", NULL };
static const char *const mid_model_v2[] = { "sse4.2", "avx", "avx2", "rdseed", NULL };
static const char *const new_model[] = { "sse4.2", "avx", "avx2", "avx512f", NULL };
static const char *const amd_model[] = { "sse4.2", "avx", "avx2", "rdseed", "sha-ni", NULL };

static size_t make_candidates(struct fleet_candidate *c)
{
	static const struct {
		const char *name;
		int version;
		const char *vendor;
		uint32_t level;
		const char *const *features;
	} defs[] = {
		{ "Old-v1", 1, "GenuineIntel", 0xd, old_model },
		{ "Mid-v1", 1, "GenuineIntel", 0xd, mid_model },
		{ "Mid-v2", 2, "GenuineIntel", 0xd, mid_model_v2 },
		{ "New-v1", 1, "GenuineIntel", 0xd, new_model },
		{ "Amd-v1", 1, "AuthenticAMD", 0xd, amd_model },
		{ "Tall-v1", 1, "GenuineIntel", 0x20, old_model },
	};
	size_t n = sizeof(defs) / sizeof(defs[0]);

	for (size_t i = 0; i < n; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].name = defs[i].name;
		c[i].version = defs[i].version;
		snprintf(c[i].vendor, sizeof(c[i].vendor), "%s", defs[i].vendor);
		c[i].level = defs[i].level;
		c[i].xlevel = 0x80000008;
		set_features(&c[i].features, defs[i].features);
	}
	return n;
}

static void test_choose_prefers_a_subset_model_with_fewest_additions(void **state)
{
	struct fleet_candidate c[8];
	size_t n = make_candidates(c);
	struct fleet_choice ch;
	struct cpu_featureset target;
	static const char *const t[] = { "sse4.2", "avx", "avx2", "rdseed", "adx", NULL };

	(void)state;
	set_features(&target, t);
	fleet_choose_model(&target, NULL, "GenuineIntel", 0xd, 0x80000008, c, n, &ch);
	assert_string_equal(c[ch.index].name, "Mid-v2");
	assert_int_equal(ch.changes, 1);
	assert_true(featureset_has(&ch.add, feat("adx")));
	assert_int_equal(fleet_featureset_count(&ch.remove), 0);
}

static void test_choose_never_picks_another_vendor_or_a_taller_model(void **state)
{
	struct fleet_candidate c[8];
	size_t n = make_candidates(c);
	struct fleet_choice ch;
	struct cpu_featureset target;

	(void)state;
	set_features(&target, old_model);
	/* Tall-v1 matches the features exactly, but needs leaf 0x20. */
	fleet_choose_model(&target, NULL, "GenuineIntel", 0x1f, 0x80000008, c, n, &ch);
	assert_string_equal(c[ch.index].name, "Old-v1");
	assert_int_equal(ch.changes, 0);
	fleet_choose_model(&target, NULL, "GenuineIntel", 0x20, 0x80000008, c, n, &ch);
	assert_string_equal(c[ch.index].name, "Tall-v1"); /* same cost, later in the list */
	set_features(&target, amd_model);
	fleet_choose_model(&target, NULL, "AuthenticAMD", 0xd, 0x80000008, c, n, &ch);
	assert_string_equal(c[ch.index].name, "Amd-v1");
	fleet_choose_model(&target, NULL, "CentaurHauls", 0xd, 0x80000008, c, n, &ch);
	assert_int_equal(ch.index, FLEET_NO_MODEL);
	assert_memory_equal(&ch.add, &target, sizeof(target));
}

static void test_choose_falls_back_to_removals_when_no_model_fits(void **state)
{
	struct fleet_candidate c[8];
	size_t n = make_candidates(c);
	struct fleet_choice ch;
	struct cpu_featureset target;
	/* A host whose kernel masked avx: every Intel model has it. */
	static const char *const t[] = { "sse4.2", "avx2", "avx512f", NULL };

	(void)state;
	set_features(&target, t);
	fleet_choose_model(&target, NULL, "GenuineIntel", 0xd, 0x80000008, c, n, &ch);
	assert_string_equal(c[ch.index].name, "New-v1");
	assert_int_equal(ch.changes, 1);
	assert_true(featureset_has(&ch.remove, feat("avx")));
}

static void test_choose_ties_go_to_the_newer_model(void **state)
{
	struct fleet_candidate c[8];
	size_t n = make_candidates(c);
	struct fleet_choice ch;
	struct cpu_featureset target;
	/* One addition from Mid-v2 (+avx512f) or from New-v1 (+rdseed). */
	static const char *const t[] = { "sse4.2", "avx", "avx2", "rdseed", "avx512f", NULL };

	(void)state;
	set_features(&target, t);
	fleet_choose_model(&target, NULL, "GenuineIntel", 0xd, 0x80000008, c, n, &ch);
	assert_int_equal(ch.changes, 1);
	/* Same feature count and cost: the higher version (Mid-v2) wins over New-v1. */
	assert_string_equal(c[ch.index].name, "Mid-v2");
	/* Same everything: the later candidate. */
	c[3].version = 2;
	fleet_choose_model(&target, NULL, "GenuineIntel", 0xd, 0x80000008, c, n, &ch);
	assert_string_equal(c[ch.index].name, "New-v1");
}

static void test_choose_ignores_vmm_owned_bits(void **state)
{
	struct fleet_candidate c[8];
	size_t n = make_candidates(c);
	struct fleet_choice ch;
	struct cpu_featureset target, ignore;
	static const char *const t[] = { "sse4.2", "avx", "hypervisor", "kvm-hint-dedicated", NULL };

	(void)state;
	set_features(&target, t);
	fleet_vmm_owned_features(&ignore);
	assert_true(featureset_has(&ignore, feat("hypervisor")));
	assert_true(featureset_has(&ignore, feat("kvm-hint-dedicated")));
	assert_true(featureset_has(&ignore, feat("kvm-msi-ext-dest-id")));
	assert_false(featureset_has(&ignore, feat("kvmclock")));
	fleet_choose_model(&target, &ignore, "GenuineIntel", 0xd, 0x80000008, c, n, &ch);
	assert_string_equal(c[ch.index].name, "Old-v1");
	assert_int_equal(ch.changes, 0);
	fleet_choose_model(&target, NULL, "GenuineIntel", 0xd, 0x80000008, c, n, &ch);
	assert_int_equal(ch.changes, 2);
}

static void test_spec_format_names_each_feature_once(void **state)
{
	struct cpu_featureset add = { 0 }, remove = { 0 };
	char buf[256];
	size_t kvmclock_bits = 0;

	(void)state;
	featureset_set(&add, feat("avx512f"), true);
	featureset_set(&add, feat("sse4.2"), true);
	featureset_set(&remove, feat("rtm"), true);
	/* Both bits QEMU calls "kvmclock": one "+kvmclock". */
	for (size_t i = 0; i < cpu_features_count; i++)
		if (!strcmp(cpu_features[i].name, "kvmclock")) {
			featureset_set(&add, &cpu_features[i], true);
			kvmclock_bits++;
		}
	assert_int_equal(kvmclock_bits, 2);
	assert_int_equal(fleet_spec_format("Skylake-Server-v4", &add, &remove, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "Skylake-Server-v4,+sse4.2,+avx512f,+kvmclock,-rtm");
	assert_int_equal(fleet_spec_format("base", &remove, &remove, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "base,+rtm,-rtm");
}

static void test_spec_format_errors(void **state)
{
	struct cpu_featureset add = { 0 }, none = { 0 };
	char buf[16];

	(void)state;
	featureset_set(&add, feat("avx512f"), true);
	assert_int_equal(fleet_spec_format("Skylake-Server-v4", &add, &none, buf, sizeof(buf)), -1);
	assert_non_null(strstr(err_msg(), "longer than 15 bytes"));
	add.w[FW_1_EDX] = 1u << 10; /* reserved: no name */
	assert_int_equal(fleet_spec_format("M", &add, &none, buf, sizeof(buf)), -1);
	assert_non_null(strstr(err_msg(), "CPUID.01H:EDX [bit 10] has no name"));
}

static void test_named_and_unmigratable_sets(void **state)
{
	struct cpu_featureset named, unmig;

	(void)state;
	fleet_named_features(&named);
	fleet_unmigratable_features(&unmig);
	assert_true(featureset_has(&named, feat("avx512f")));
	assert_false((named.w[FW_1_EDX] >> 10) & 1u);
	assert_true(featureset_has(&unmig, feat("invtsc")));
	assert_false(featureset_has(&unmig, feat("avx512f")));
	assert_int_equal(fleet_featureset_count(&unmig) > 0, 1);
}

/* ---- properties on the synthesised dumps of real generations */

static const char *const intel_hosts[] = {
	"tests/data/hosts/intel-sapphirerapids.json", "tests/data/hosts/intel-icelake-sp.json",
	"tests/data/hosts/intel-cascadelake.json",    "tests/data/hosts/intel-skylake-sp.json",
	"tests/data/hosts/intel-haswell-ep.json",
};
static const char *const amd_hosts[] = {
	"tests/data/hosts/amd-epyc-genoa.json", "tests/data/hosts/amd-epyc-milan.json",
	"tests/data/hosts/amd-epyc-rome.json", "tests/data/hosts/amd-epyc-naples.json",
};

#define MAX_HOSTS 5
static struct cpuid_table dumps[MAX_HOSTS];

static size_t load(const char *const *paths, size_t n)
{
	struct cpuid_dump_meta meta;

	for (size_t i = 0; i < n; i++)
		assert_int_equal(cpuid_dump_load(paths[i], &dumps[i], &meta), 0);
	return n;
}

static bool subset(const struct cpu_featureset *a, const struct cpu_featureset *b)
{
	for (unsigned w = 0; w < FW_COUNT; w++)
		if (a->w[w] & ~b->w[w])
			return false;
	return true;
}

/* The intersection of one host is that host; of several, within each. */
static void check_properties(const char *const *paths, size_t n)
{
	const struct cpuid_table *hosts[MAX_HOSTS];
	struct cpu_featureset prev = { 0 }, cur, each;

	load(paths, n);
	for (size_t k = 1; k <= n; k++) {
		hosts[k - 1] = &dumps[k - 1];
		assert_int_equal(fleet_intersect(hosts, paths, k, &out), 0);
		featureset_from_cpuid(&cur, &out);
		if (k == 1) {
			featureset_from_cpuid(&each, &dumps[0]);
			assert_memory_equal(&cur, &each, sizeof(cur));
		} else {
			/* Adding a host never adds a feature... */
			assert_true(subset(&cur, &prev));
		}
		for (size_t i = 0; i < k; i++) {
			struct fleet_offer o;
			struct fleet_demand d;
			struct fleet_comparison c;
			struct cpu_def def;

			/* ...and the intersection, as a model, runs on every host in it. */
			memset(&def, 0, sizeof(def));
			fleet_offer_from_cpuid(&o, &out, NULL);
			snprintf(def.vendor, sizeof(def.vendor), "%s", o.vendor);
			def.level = o.level;
			def.xlevel = o.xlevel;
			fleet_demand_from_model(&d, &def, &cur);
			fleet_offer_from_cpuid(&o, &dumps[i], NULL);
			fleet_compare(&d, &o, &c);
			assert_int_not_equal(c.verdict, FLEET_INCOMPATIBLE);
		}
		prev = cur;
	}
	/* Newest to oldest: each step here really removes features. */
	featureset_from_cpuid(&each, &dumps[0]);
	assert_true(fleet_featureset_count(&cur) < fleet_featureset_count(&each));
}

static void test_properties_on_intel_generations(void **state)
{
	(void)state;
	check_properties(intel_hosts, sizeof(intel_hosts) / sizeof(intel_hosts[0]));
}

static void test_properties_on_amd_generations(void **state)
{
	(void)state;
	check_properties(amd_hosts, sizeof(amd_hosts) / sizeof(amd_hosts[0]));
}

static void test_dumps_of_both_vendors_do_not_intersect(void **state)
{
	const char *paths[] = { intel_hosts[2], amd_hosts[1] };
	const struct cpuid_table *hosts[] = { &dumps[0], &dumps[1] };

	(void)state;
	load(paths, 2);
	assert_int_equal(fleet_intersect(hosts, paths, 2, &out), -1);
	assert_non_null(strstr(err_msg(), "intel-cascadelake.json is GenuineIntel"));
	assert_non_null(strstr(err_msg(), "amd-epyc-milan.json is AuthenticAMD"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intersect_ands_features_and_lowers_max_leaves),
		cmocka_unit_test(test_intersect_drops_leaves_a_host_lacks),
		cmocka_unit_test(test_intersect_refuses_mixed_vendors_naming_each_host),
		cmocka_unit_test(test_choose_prefers_a_subset_model_with_fewest_additions),
		cmocka_unit_test(test_choose_never_picks_another_vendor_or_a_taller_model),
		cmocka_unit_test(test_choose_falls_back_to_removals_when_no_model_fits),
		cmocka_unit_test(test_choose_ties_go_to_the_newer_model),
		cmocka_unit_test(test_choose_ignores_vmm_owned_bits),
		cmocka_unit_test(test_spec_format_names_each_feature_once),
		cmocka_unit_test(test_spec_format_errors),
		cmocka_unit_test(test_named_and_unmigratable_sets),
		cmocka_unit_test(test_properties_on_intel_generations),
		cmocka_unit_test(test_properties_on_amd_generations),
		cmocka_unit_test(test_dumps_of_both_vendors_do_not_intersect),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
