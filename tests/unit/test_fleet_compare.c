/* SPDX-License-Identifier: MIT */
/*
 * The per-field rules of fleet/compare.c: subset for feature words,
 * not-greater for max leaves, equality for vendor and signature; and the
 * names QEMU gives missing bits.
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
#include "fleet/compare.h"
#include "test_fleet_hosts.h"

static void demand_of(struct fleet_demand *d, const char *vendor, uint32_t level, uint32_t xlevel,
		      const char *const *features)
{
	struct cpu_def def;
	struct cpu_featureset fs = { 0 };

	memset(&def, 0, sizeof(def));
	snprintf(def.vendor, sizeof(def.vendor), "%s", vendor);
	def.level = level;
	def.xlevel = xlevel;
	for (size_t i = 0; features[i]; i++)
		featureset_set(&fs, feat(features[i]), true);
	fleet_demand_from_model(d, &def, &fs);
}

static const char *const haswellish[] = { "sse4.2", "avx", "avx2", "x2apic", "kvmclock", NULL };
static const char *const skylakeish[] = { "sse4.2", "avx", "avx2", "x2apic", "kvmclock",
					  "avx512f", "avx512bw", NULL };

static struct cpuid_table table;

static void test_same_features_and_levels_are_identical(void **state)
{
	struct fleet_demand d;
	struct fleet_offer o;
	struct fleet_comparison c;

	(void)state;
	host_table(&table, "GenuineIntel", 0xd, 0x80000008, haswellish);
	fleet_offer_from_cpuid(&o, &table, NULL);
	demand_of(&d, "GenuineIntel", 0xd, 0x80000008, haswellish);
	fleet_compare(&d, &o, &c);
	assert_int_equal(c.verdict, FLEET_IDENTICAL);
	assert_int_equal(c.missing_count, 0);
	assert_int_equal(c.extra_count, 0);
	assert_string_equal(fleet_verdict_name(c.verdict), "identical");
}

static void test_superset_host_runs(void **state)
{
	struct fleet_demand d;
	struct fleet_offer o;
	struct fleet_comparison c;

	(void)state;
	host_table(&table, "GenuineIntel", 0x16, 0x80000008, skylakeish);
	fleet_offer_from_cpuid(&o, &table, NULL);
	demand_of(&d, "GenuineIntel", 0xd, 0x80000008, haswellish);
	fleet_compare(&d, &o, &c);
	assert_int_equal(c.verdict, FLEET_RUNS);
	assert_int_equal(c.extra_count, 2);
	assert_true(featureset_has(&c.extra, feat("avx512f")));

	/* A higher max leaf alone is also "runs", not "identical". */
	host_table(&table, "GenuineIntel", 0x16, 0x80000008, haswellish);
	fleet_offer_from_cpuid(&o, &table, NULL);
	fleet_compare(&d, &o, &c);
	assert_int_equal(c.verdict, FLEET_RUNS);
	assert_int_equal(c.extra_count, 0);
}

static void test_missing_features_are_each_named(void **state)
{
	struct fleet_demand d;
	struct fleet_offer o;
	struct fleet_comparison c;

	(void)state;
	host_table(&table, "GenuineIntel", 0xd, 0x80000008, haswellish);
	fleet_offer_from_cpuid(&o, &table, NULL);
	demand_of(&d, "GenuineIntel", 0xd, 0x80000008, skylakeish);
	fleet_compare(&d, &o, &c);
	assert_int_equal(c.verdict, FLEET_INCOMPATIBLE);
	assert_int_equal(c.missing_count, 2);
	assert_true(featureset_has(&c.missing, feat("avx512f")));
	assert_true(featureset_has(&c.missing, feat("avx512bw")));
	assert_false(c.level_exceeds || c.xlevel_exceeds || c.vendor_differs || c.signature_differs);
}

/* Features given to fleet_offer_from_cpuid() replace the table's (the host after fix-ups). */
static void test_offer_features_can_come_from_fixups(void **state)
{
	struct fleet_demand d;
	struct fleet_offer o;
	struct fleet_comparison c;
	struct cpu_featureset fixed;
	static const char *const with_hypervisor[] = { "sse4.2", "hypervisor", NULL };
	static const char *const without[] = { "sse4.2", NULL };

	(void)state;
	host_table(&table, "GenuineIntel", 0xd, 0x80000008, without);
	demand_of(&d, "GenuineIntel", 0xd, 0x80000008, with_hypervisor);
	fleet_offer_from_cpuid(&o, &table, NULL);
	fleet_compare(&d, &o, &c);
	assert_int_equal(c.verdict, FLEET_INCOMPATIBLE);
	featureset_from_cpuid(&fixed, &table);
	featureset_set(&fixed, feat("hypervisor"), true);
	fleet_offer_from_cpuid(&o, &table, &fixed);
	fleet_compare(&d, &o, &c);
	assert_int_equal(c.verdict, FLEET_IDENTICAL);
}

/* The hypervisor bit and KVM hints are the VMM's: a host offering them is not "more". */
static void test_vmm_owned_bits_are_never_extra(void **state)
{
	struct fleet_demand d;
	struct fleet_offer o;
	struct fleet_comparison c;
	static const char *const host[] = { "sse4.2", "hypervisor", "kvm-hint-dedicated",
					    "kvm-msi-ext-dest-id", NULL };
	static const char *const model[] = { "sse4.2", NULL };

	(void)state;
	host_table(&table, "GenuineIntel", 0xd, 0x80000008, host);
	fleet_offer_from_cpuid(&o, &table, NULL);
	demand_of(&d, "GenuineIntel", 0xd, 0x80000008, model);
	fleet_compare(&d, &o, &c);
	assert_int_equal(c.extra_count, 0);
	assert_int_equal(c.verdict, FLEET_IDENTICAL);
	/* Asked for and not offered, they are still missing. */
	demand_of(&d, "GenuineIntel", 0xd, 0x80000008, host);
	host_table(&table, "GenuineIntel", 0xd, 0x80000008, model);
	fleet_offer_from_cpuid(&o, &table, NULL);
	fleet_compare(&d, &o, &c);
	assert_int_equal(c.missing_count, 3);
	assert_int_equal(c.verdict, FLEET_INCOMPATIBLE);
}

static void test_max_leaves_must_not_be_greater(void **state)
{
	static const struct {
		uint32_t model_level, model_xlevel, host_level, host_xlevel;
		bool level_exceeds, xlevel_exceeds;
	} cases[] = {
		{ 0xd, 0x80000008, 0xd, 0x80000008, false, false },
		{ 0x20, 0x80000008, 0x1f, 0x80000008, true, false },
		{ 0xd, 0x80000022, 0x10, 0x80000021, false, true },
		{ 0x20, 0x80000022, 0x1f, 0x80000021, true, true },
		{ 0x1, 0x80000001, 0x24, 0x80000022, false, false },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fleet_demand d;
		struct fleet_offer o;
		struct fleet_comparison c;

		host_table(&table, "AuthenticAMD", cases[i].host_level, cases[i].host_xlevel,
			   haswellish);
		fleet_offer_from_cpuid(&o, &table, NULL);
		demand_of(&d, "AuthenticAMD", cases[i].model_level, cases[i].model_xlevel,
			  haswellish);
		fleet_compare(&d, &o, &c);
		assert_int_equal(c.level_exceeds, cases[i].level_exceeds);
		assert_int_equal(c.xlevel_exceeds, cases[i].xlevel_exceeds);
		assert_int_equal(c.verdict == FLEET_INCOMPATIBLE,
				 cases[i].level_exceeds || cases[i].xlevel_exceeds);
	}
}

static void test_vendor_must_be_equal_unless_the_model_takes_the_hosts(void **state)
{
	struct fleet_demand d;
	struct fleet_offer o;
	struct fleet_comparison c;

	(void)state;
	host_table(&table, "AuthenticAMD", 0xd, 0x80000008, haswellish);
	fleet_offer_from_cpuid(&o, &table, NULL);
	assert_string_equal(o.vendor, "AuthenticAMD");
	demand_of(&d, "GenuineIntel", 0xd, 0x80000008, haswellish);
	fleet_compare(&d, &o, &c);
	assert_int_equal(c.verdict, FLEET_INCOMPATIBLE);
	assert_true(c.vendor_differs);
	demand_of(&d, "", 0xd, 0x80000008, haswellish);
	fleet_compare(&d, &o, &c);
	assert_false(c.vendor_differs);
	assert_int_equal(c.verdict, FLEET_IDENTICAL);
}

static void test_hypervisor_signature_and_leaf(void **state)
{
	struct fleet_demand d;
	struct fleet_offer o;
	struct fleet_comparison c;
	struct kvm_cpuid_entry2 *e;
	char text[64];

	(void)state;
	host_table(&table, "GenuineIntel", 0xd, 0x80000008, haswellish);
	demand_of(&d, "GenuineIntel", 0xd, 0x80000008, haswellish);
	assert_int_equal(d.hv_level, KVM_CPUID_FEATURES);
	assert_memory_equal(d.hv_signature, "KVMKVMKVM\0\0\0", 12);

	e = cpuid_find(&table, KVM_CPUID_SIGNATURE, 0);
	memcpy(&e->ebx, "Microsoft Hv", 12);
	fleet_offer_from_cpuid(&o, &table, NULL);
	fleet_compare(&d, &o, &c);
	assert_int_equal(c.verdict, FLEET_INCOMPATIBLE);
	assert_true(c.signature_differs);
	assert_false(c.hv_level_exceeds);
	assert_string_equal(fleet_signature_text(o.hv_signature, text, sizeof(text)),
			    "Microsoft Hv");

	/* No KVM leaves at all: the signature differs and the max leaf is too low. */
	cpuid_remove_leaf(&table, KVM_CPUID_SIGNATURE);
	fleet_offer_from_cpuid(&o, &table, NULL);
	fleet_compare(&d, &o, &c);
	assert_true(c.signature_differs);
	assert_true(c.hv_level_exceeds);
	assert_string_equal(fleet_signature_text(o.hv_signature, text, sizeof(text)), "");
}

static void test_signature_text_escapes(void **state)
{
	char text[64];

	(void)state;
	assert_string_equal(fleet_signature_text("KVMKVMKVM\0\0\0", text, sizeof(text)),
			    "KVMKVMKVM");
	assert_string_equal(fleet_signature_text("ab\001\"\0\0\0\0\0\0\0\0", text, sizeof(text)),
			    "ab\\x01\\x22");
	/* A small buffer truncates, never overflows. */
	assert_string_equal(fleet_signature_text("KVMKVMKVM\0\0\0", text, 6), "K");
}

/* QEMU's warning names: `host doesn't support requested feature: CPUID.07H:EBX.avx512f [bit 16]`. */
static void test_feature_labels_as_qemu_prints_them(void **state)
{
	char label[96];
	const struct cpu_feature *f;

	(void)state;
	f = feat("avx512f");
	assert_string_equal(fleet_feature_label(f->word, f->bit, label, sizeof(label)),
			    "CPUID.07H:EBX.avx512f [bit 16]");
	f = feat("invtsc");
	assert_string_equal(fleet_feature_label(f->word, f->bit, label, sizeof(label)),
			    "CPUID.80000007H:EDX.invtsc [bit 8]");
	/* CPUID.01H:EDX bit 10 is reserved: no name, QEMU prints the bit alone. */
	assert_null(cpu_feature_at(FW_1_EDX, 10));
	assert_string_equal(fleet_feature_label(FW_1_EDX, 10, label, sizeof(label)),
			    "CPUID.01H:EDX [bit 10]");
}

/* The synthesised dumps: a newer generation's features are missing on an older host. */
static void test_dumps_older_host_lacks_newer_features(void **state)
{
	static struct cpuid_table old_host, new_host;
	struct cpuid_dump_meta meta;
	struct fleet_demand d;
	struct fleet_offer old_offer, new_offer;
	struct fleet_comparison c;
	struct cpu_def def;

	(void)state;
	assert_int_equal(cpuid_dump_load("tests/data/hosts/intel-haswell-ep.json", &old_host,
					 &meta), 0);
	assert_int_equal(cpuid_dump_load("tests/data/hosts/intel-icelake-sp.json", &new_host,
					 &meta), 0);
	fleet_offer_from_cpuid(&old_offer, &old_host, NULL);
	fleet_offer_from_cpuid(&new_offer, &new_host, NULL);

	/* The newer host, taken as a model, on the older host. */
	memset(&def, 0, sizeof(def));
	snprintf(def.vendor, sizeof(def.vendor), "%s", new_offer.vendor);
	def.level = 0xd;
	def.xlevel = 0x80000008;
	fleet_demand_from_model(&d, &def, &new_offer.features);
	fleet_compare(&d, &old_offer, &c);
	assert_int_equal(c.verdict, FLEET_INCOMPATIBLE);
	assert_true(featureset_has(&c.missing, feat("avx512f")));
	assert_true(featureset_has(&c.missing, feat("avx512vnni")));
	assert_true(featureset_has(&c.missing, feat("vaes")));
	assert_false(featureset_has(&c.missing, feat("avx2")));
	/* And the other way round it runs. */
	fleet_demand_from_model(&d, &def, &old_offer.features);
	fleet_compare(&d, &new_offer, &c);
	assert_int_equal(c.verdict, FLEET_RUNS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_features_and_levels_are_identical),
		cmocka_unit_test(test_superset_host_runs),
		cmocka_unit_test(test_missing_features_are_each_named),
		cmocka_unit_test(test_offer_features_can_come_from_fixups),
		cmocka_unit_test(test_vmm_owned_bits_are_never_extra),
		cmocka_unit_test(test_max_leaves_must_not_be_greater),
		cmocka_unit_test(test_vendor_must_be_equal_unless_the_model_takes_the_hosts),
		cmocka_unit_test(test_hypervisor_signature_and_leaf),
		cmocka_unit_test(test_signature_text_escapes),
		cmocka_unit_test(test_feature_labels_as_qemu_prints_them),
		cmocka_unit_test(test_dumps_older_host_lacks_newer_features),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
