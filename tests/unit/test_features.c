/* SPDX-License-Identifier: MIT */
/*
 * The feature table (cpu/features.c): lookups by name and alias with QEMU's
 * spelling rules, flags, suggestions for misspellings, the table's own
 * consistency, and the feature-word <-> CPUID table conversion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <string.h>

#include "cpu/dump.h"
#include "cpu/features.h"
#include "cpu/xsave.h"
#include "util/err.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Bit positions as the SDM/APM and Linux's asm/kvm_para.h give them. */
static const struct {
	const char *spelling;
	const char *name; /* canonical */
	enum feature_word word;
	unsigned bit;
} lookups[] = {
	{ "avx512f", "avx512f", FW_7_0_EBX, 16 },
	{ "AVX512F", "avx512f", FW_7_0_EBX, 16 },
	{ "fpu", "fpu", FW_1_EDX, 0 },
	{ "pni", "pni", FW_1_ECX, 0 },
	{ "sse3", "pni", FW_1_ECX, 0 },
	{ "pclmuldq", "pclmulqdq", FW_1_ECX, 1 },
	{ "sse4.1", "sse4.1", FW_1_ECX, 19 },
	{ "sse4-1", "sse4.1", FW_1_ECX, 19 },
	{ "sse4_1", "sse4.1", FW_1_ECX, 19 },
	{ "sse4_2", "sse4.2", FW_1_ECX, 20 },
	{ "x2apic", "x2apic", FW_1_ECX, 21 },
	{ "hypervisor", "hypervisor", FW_1_ECX, 31 },
	{ "arat", "arat", FW_6_EAX, 2 },
	{ "tsc_adjust", "tsc-adjust", FW_7_0_EBX, 1 },
	{ "la57", "la57", FW_7_0_ECX, 16 },
	{ "md-clear", "md-clear", FW_7_0_EDX, 10 },
	{ "arch-capabilities", "arch-capabilities", FW_7_0_EDX, 29 },
	{ "avx512-bf16", "avx512-bf16", FW_7_1_EAX, 5 },
	{ "xsaves", "xsaves", FW_D_1_EAX, 3 },
	{ "intel-pt-lip", "intel-pt-lip", FW_14_0_ECX, 31 },
	{ "lm", "lm", FW_8000_0001_EDX, 29 },
	{ "i64", "lm", FW_8000_0001_EDX, 29 },
	{ "xd", "nx", FW_8000_0001_EDX, 20 },
	{ "ffxsr", "fxsr-opt", FW_8000_0001_EDX, 25 },
	{ "fxsr_opt", "fxsr-opt", FW_8000_0001_EDX, 25 },
	{ "lahf_lm", "lahf-lm", FW_8000_0001_ECX, 0 },
	{ "svm", "svm", FW_8000_0001_ECX, 2 },
	{ "invtsc", "invtsc", FW_8000_0007_EDX, 8 },
	{ "amd-ssbd", "amd-ssbd", FW_8000_0008_EBX, 24 },
	{ "npt", "npt", FW_8000_000A_EDX, 0 },
	{ "nrip_save", "nrip-save", FW_8000_000A_EDX, 3 },
	{ "xstore", "xstore", FW_C000_0001_EDX, 2 },
	{ "kvmclock", "kvmclock", FW_KVM_FEATURES, 0 },
	{ "kvm_steal_time", "kvm-steal-time", FW_KVM_FEATURES, 5 },
	{ "kvm-pv-unhalt", "kvm-pv-unhalt", FW_KVM_FEATURES, 7 },
	{ "KVM-PV-IPI", "kvm-pv-ipi", FW_KVM_FEATURES, 11 },
	{ "kvm-msi-ext-dest-id", "kvm-msi-ext-dest-id", FW_KVM_FEATURES, 15 },
	{ "kvmclock-stable-bit", "kvmclock-stable-bit", FW_KVM_FEATURES, 24 },
	{ "kvm-hint-dedicated", "kvm-hint-dedicated", FW_KVM_HINTS, 0 },
};

static void test_lookup(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(lookups); i++) {
		const struct cpu_feature *f = cpu_feature_find(lookups[i].spelling);

		if (!f)
			fail_msg("'%s' not found", lookups[i].spelling);
		assert_string_equal(f->name, lookups[i].name);
		assert_int_equal(f->word, lookups[i].word);
		assert_int_equal(f->bit, lookups[i].bit);
	}
}

static const char *const unknown_names[] = {
	"", "avx512", "sse4.3", "sse4", "kvm-steal", "osxsave", "ospke", "avx512f ", "-avx512f",
};

static void test_unknown_names(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(unknown_names); i++)
		if (cpu_feature_find(unknown_names[i]))
			fail_msg("'%s' should be unknown", unknown_names[i]);
	assert_null(cpu_feature_find(NULL));
}

static const struct {
	const char *name;
	uint32_t flags;
} flag_rows[] = {
	{ "invtsc", FEAT_UNMIGRATABLE },
	{ "avx2", 0 },
	{ "x2apic", 0 },
	{ "kvmclock", FEAT_KVM_PV },
	{ "kvm-nopiodelay", FEAT_KVM_PV },
	{ "kvm-steal-time", FEAT_KVM_PV },
	{ "kvm-pv-eoi", FEAT_KVM_PV },
	{ "kvm-poll-control", FEAT_KVM_PV },
	{ "kvm-hint-dedicated", FEAT_KVM_PV },
	{ "kvm-pv-unhalt", FEAT_KVM_PV | FEAT_NEEDS_HYPERCALL },
	{ "kvm-pv-ipi", FEAT_KVM_PV | FEAT_NEEDS_HYPERCALL },
	{ "kvm-pv-sched-yield", FEAT_KVM_PV | FEAT_NEEDS_HYPERCALL },
	{ "kvm-pv-tlb-flush", FEAT_KVM_PV | FEAT_NEEDS_HYPERCALL },
};

static void test_flags(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(flag_rows); i++) {
		const struct cpu_feature *f = cpu_feature_find(flag_rows[i].name);

		assert_non_null(f);
		if (f->flags != flag_rows[i].flags)
			fail_msg("%s: flags %#x, want %#x", f->name, f->flags, flag_rows[i].flags);
	}
}

/* QEMU marks only invtsc unmigratable; PV flags belong to leaf 0x40000001 alone. */
static void test_flags_follow_their_words(void **state)
{
	for (size_t i = 0; i < cpu_features_count; i++) {
		const struct cpu_feature *f = &cpu_features[i];
		bool pv_word = f->word == FW_KVM_FEATURES || f->word == FW_KVM_HINTS;

		if ((f->flags & FEAT_UNMIGRATABLE) && strcmp(f->name, "invtsc"))
			fail_msg("%s marked unmigratable", f->name);
		if (!!(f->flags & FEAT_KVM_PV) != pv_word)
			fail_msg("%s: FEAT_KVM_PV does not match its word", f->name);
		if ((f->flags & FEAT_NEEDS_HYPERCALL) && !pv_word)
			fail_msg("%s: needs a hypercall outside the PV leaf", f->name);
	}
}

/*
 * One name per bit, one bit per name (except QEMU's two-bit "kvmclock"),
 * names in QEMU's lower-case '-' spelling, aliases colliding with nothing.
 */
static void test_table_is_consistent(void **state)
{
	assert_true(cpu_features_count > 250);
	for (size_t i = 0; i < cpu_features_count; i++) {
		const struct cpu_feature *a = &cpu_features[i];

		assert_true(a->word < FW_COUNT);
		assert_true(a->bit < 32);
		for (const char *p = a->name; *p; p++)
			if ((*p >= 'A' && *p <= 'Z') || *p == '_')
				fail_msg("%s: not QEMU's spelling", a->name);
		for (size_t j = i + 1; j < cpu_features_count; j++) {
			const struct cpu_feature *b = &cpu_features[j];

			if (a->word == b->word && a->bit == b->bit)
				fail_msg("%s and %s share a bit", a->name, b->name);
			if (!strcmp(a->name, b->name) && strcmp(a->name, "kvmclock"))
				fail_msg("%s named twice", a->name);
		}
		for (size_t k = 0; k < ARRAY_SIZE(a->aliases) && a->aliases[k]; k++)
			if (cpu_feature_find(a->aliases[k]) != a)
				fail_msg("alias %s of %s finds another feature", a->aliases[k], a->name);
	}
}

static void test_feature_at(void **state)
{
	assert_string_equal(cpu_feature_at(FW_7_0_EBX, 16)->name, "avx512f");
	assert_string_equal(cpu_feature_at(FW_KVM_FEATURES, 3)->name, "kvmclock");
	assert_null(cpu_feature_at(FW_1_ECX, 27));  /* OSXSAVE: dynamic, nameless */
	assert_null(cpu_feature_at(FW_7_0_ECX, 4)); /* OSPKE */
	assert_null(cpu_feature_at(FW_1_EDX, 10));  /* reserved */
	assert_null(cpu_feature_at(FW_8000_0021_EBX, 0));
}

static void test_kvmclock_names_two_bits(void **state)
{
	const struct cpu_feature *all[4];

	assert_int_equal(cpu_feature_find_all("kvmclock", all, ARRAY_SIZE(all)), 2);
	assert_int_equal(all[0]->bit, 0);
	assert_int_equal(all[1]->bit, 3);
	assert_int_equal(cpu_feature_find_all("sse3", all, ARRAY_SIZE(all)), 1);
	assert_int_equal(cpu_feature_find_all("nope", all, ARRAY_SIZE(all)), 0);
	assert_int_equal(cpu_feature_find_all("kvmclock", all, 1), 1);
}

/* vm.c asks these instead of testing bits: either kvmclock pair counts. */
static void test_featureset_has_name(void **state)
{
	const struct cpu_feature *all[2];
	struct cpu_featureset fs;

	(void)state;
	assert_int_equal(cpu_feature_find_all("kvmclock", all, ARRAY_SIZE(all)), 2);
	memset(&fs, 0, sizeof(fs));
	assert_false(featureset_has_name(&fs, "kvmclock"));
	featureset_set(&fs, all[1], true); /* only the new MSR pair */
	assert_true(featureset_has_name(&fs, "kvmclock"));
	memset(&fs, 0, sizeof(fs));
	featureset_set(&fs, all[0], true); /* only the old one */
	assert_true(featureset_has_name(&fs, "kvmclock"));
	assert_false(featureset_has_name(&fs, "kvmclock-stable-bit"));
	assert_false(featureset_has_name(&fs, "no-such-feature"));
}

/* AMX tile data in 0xD.0 EAX is what needs the guest XSAVE permission. */
static void test_xsave_guest_perm(void **state)
{
	static struct cpuid_table t;
	struct kvm_cpuid_entry2 *e;

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_int_equal(cpu_xsave_guest_perm(&t), -1);
	e = cpuid_get_or_add(&t, 0xd, 0, true);
	assert_non_null(e);
	e->eax = 0x7 | (1u << 17); /* x87, SSE, AVX, tile config alone */
	assert_int_equal(cpu_xsave_guest_perm(&t), -1);
	e->eax |= 1u << 18;
	assert_int_equal(cpu_xsave_guest_perm(&t), 18);
}

/* The label is what QEMU prints in "host doesn't support requested feature". */
static void test_word_labels(void **state)
{
	assert_string_equal(feature_words[FW_7_0_EBX].label, "CPUID.07H:EBX");
	assert_string_equal(feature_words[FW_1_ECX].label, "CPUID.01H:ECX");
	assert_string_equal(feature_words[FW_8000_0001_EDX].label, "CPUID.80000001H:EDX");
	assert_string_equal(feature_words[FW_KVM_FEATURES].label, "CPUID.40000001H:EAX");
	/* QEMU's labels name the leaf and register only, also for subleaves (1EH.1, 24H.1) */
	assert_string_equal(feature_words[FW_1E_1_EAX].label, "CPUID.1EH:EAX");
	assert_string_equal(feature_words[FW_24_1_ECX].label, "CPUID.24H:ECX");
	assert_string_equal(feature_words[FW_29_0_EBX].label, "CPUID.29H:EBX");
	for (int w = 0; w < FW_COUNT; w++) {
		assert_non_null(feature_words[w].label);
		assert_true(feature_words[w].indexed == (feature_words[w].leaf == 7 ||
							 feature_words[w].leaf == 0xd ||
							 feature_words[w].leaf == 0x14 ||
							 feature_words[w].leaf == 0x1e ||
							 feature_words[w].leaf == 0x24 ||
							 feature_words[w].leaf == 0x29));
	}
}

static const struct {
	const char *unknown;
	const char *first; /* the best suggestion, NULL = none */
	const char *also;  /* another expected suggestion, or NULL */
} suggestions[] = {
	{ "avx512", "avx512f", NULL },
	{ "avx-512f", "avx512f", NULL },
	{ "sse4.3", "sse4.1", "sse4.2" },
	{ "xsaveopts", "xsaveopt", NULL },
	{ "kvm-steal", "kvm-steal-time", NULL },
	{ "kvm_pv_unhalted", "kvm-pv-unhalt", NULL },
	{ "invtcs", "invtsc", NULL },
	{ "SSE3x", "pni", NULL }, /* via the alias, suggested by its name */
	{ "qqqqqqqqq", NULL, NULL },
};

static void test_suggestions(void **state)
{
	for (size_t i = 0; i < ARRAY_SIZE(suggestions); i++) {
		const char *out[8];
		size_t n = cpu_feature_suggest(suggestions[i].unknown, out, ARRAY_SIZE(out));
		bool also = !suggestions[i].also;

		if (!suggestions[i].first) {
			if (n)
				fail_msg("%s: unexpected suggestion %s", suggestions[i].unknown, out[0]);
			continue;
		}
		if (!n || strcmp(out[0], suggestions[i].first))
			fail_msg("%s: best suggestion %s, want %s", suggestions[i].unknown,
				 n ? out[0] : "(none)", suggestions[i].first);
		for (size_t k = 0; k < n; k++)
			also |= suggestions[i].also && !strcmp(out[k], suggestions[i].also);
		if (!also)
			fail_msg("%s: %s not suggested", suggestions[i].unknown, suggestions[i].also);
	}
}

static void test_suggestions_respect_max_and_are_unique(void **state)
{
	const char *out[3];
	size_t n = cpu_feature_suggest("avx", out, ARRAY_SIZE(out));

	assert_int_equal(n, 3);
	assert_string_not_equal(out[0], out[1]);
	assert_string_not_equal(out[1], out[2]);
	n = cpu_feature_suggest("kvmclok", out, ARRAY_SIZE(out));
	assert_true(n >= 1);
	assert_string_equal(out[0], "kvmclock");
	if (n > 1)
		assert_string_not_equal(out[1], "kvmclock");
	assert_int_equal(cpu_feature_suggest("avx", out, 0), 0);
}

/* A pattern per word with nameless bits too: the conversion is by register, not by name. */
static void test_featureset_cpuid_round_trip(void **state)
{
	static struct cpuid_table t;
	struct cpu_featureset in, out;

	memset(&t, 0, sizeof(t));
	for (int w = 0; w < FW_COUNT; w++)
		in.w[w] = 0x9e3779b9u * (uint32_t)(w + 1);
	assert_int_equal(featureset_to_cpuid(&in, &t), 0);
	featureset_from_cpuid(&out, &t);
	/* MSR words are no CPUID: not written, read back as 0 (cpu/msrs.h carries them) */
	for (int w = 0; w < FW_COUNT; w++) {
		if (feature_word_is_msr(w)) {
			assert_int_equal(out.w[w], 0);
			in.w[w] = 0;
		}
	}
	assert_memory_equal(&in, &out, sizeof(in));
	/* ... and they never made a CPUID leaf: leaf 0 is only what FW words put there */
	assert_null(cpuid_find_const(&t, 0, 0));

	const struct kvm_cpuid_entry2 *e = cpuid_find_const(&t, 7, 1);

	assert_non_null(e);
	assert_true(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	assert_int_equal(e->eax, in.w[FW_7_1_EAX]);
	assert_ptr_not_equal(cpuid_find_const(&t, 7, 0), e);
	e = cpuid_find_const(&t, 0x80000001, 0);
	assert_non_null(e);
	assert_false(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	assert_int_equal(e->edx, in.w[FW_8000_0001_EDX]);
	assert_int_equal(e->ecx, in.w[FW_8000_0001_ECX]);
}

/* Writing features leaves the rest of a leaf alone and adds no empty leaves. */
static void test_featureset_to_cpuid_keeps_other_registers(void **state)
{
	static struct cpuid_table t;
	struct cpu_featureset s;
	struct kvm_cpuid_entry2 *e;

	memset(&t, 0, sizeof(t));
	memset(&s, 0, sizeof(s));
	e = cpuid_get_or_add(&t, 1, 0, false);
	e->eax = 0x000306f2; /* signature */
	e->ebx = 0x00010800;
	featureset_set(&s, cpu_feature_find("avx"), true);
	featureset_set(&s, cpu_feature_find("fpu"), true);
	assert_int_equal(featureset_to_cpuid(&s, &t), 0);
	assert_int_equal(t.nent, 1);
	assert_int_equal(t.ent[0].eax, 0x000306f2);
	assert_int_equal(t.ent[0].ebx, 0x00010800);
	assert_int_equal(t.ent[0].ecx, 1u << 28);
	assert_int_equal(t.ent[0].edx, 1u << 0);
	/* An existing leaf is cleared when the set clears it. */
	featureset_set(&s, cpu_feature_find("avx"), false);
	assert_int_equal(featureset_to_cpuid(&s, &t), 0);
	assert_int_equal(t.ent[0].ecx, 0);
}

static void test_featureset_to_full_table_fails(void **state)
{
	static struct cpuid_table t;
	struct cpu_featureset s;

	memset(&s, 0, sizeof(s));
	memset(&t, 0, sizeof(t));
	for (uint32_t i = 0; i < CPUID_MAX_ENTRIES; i++)
		assert_non_null(cpuid_get_or_add(&t, 0x100 + i, 0, false));
	featureset_set(&s, cpu_feature_find("avx512f"), true);
	assert_int_equal(featureset_to_cpuid(&s, &t), -1);
	assert_non_null(strstr(err_msg(), "CPUID.07H:EBX"));
}

/* Feature words read from a recorded host: the bits a Haswell-EP has, and not later ones. */
static void test_featureset_from_recorded_host(void **state)
{
	static struct cpuid_table t;
	struct cpuid_dump_meta meta;
	struct cpu_featureset s;
	static const struct {
		const char *name;
		bool on;
	} rows[] = {
		{ "avx2", true }, { "fma", true },      { "movbe", true },   { "invpcid", true },
		{ "lm", true },   { "avx512f", false }, { "sha-ni", false }, { "clwb", false },
	};

	if (cpuid_dump_load("tests/data/supported/intel-haswell-server.json", &t, &meta) < 0)
		fail_msg("%s", err_msg());
	featureset_from_cpuid(&s, &t);
	for (size_t i = 0; i < ARRAY_SIZE(rows); i++)
		if (featureset_has(&s, cpu_feature_find(rows[i].name)) != rows[i].on)
			fail_msg("recorded Haswell-EP: %s should be %s", rows[i].name,
				 rows[i].on ? "on" : "off");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_unknown_names),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_flags_follow_their_words),
		cmocka_unit_test(test_table_is_consistent),
		cmocka_unit_test(test_feature_at),
		cmocka_unit_test(test_kvmclock_names_two_bits),
		cmocka_unit_test(test_featureset_has_name),
		cmocka_unit_test(test_xsave_guest_perm),
		cmocka_unit_test(test_word_labels),
		cmocka_unit_test(test_suggestions),
		cmocka_unit_test(test_suggestions_respect_max_and_are_unique),
		cmocka_unit_test(test_featureset_cpuid_round_trip),
		cmocka_unit_test(test_featureset_to_cpuid_keeps_other_registers),
		cmocka_unit_test(test_featureset_to_full_table_fails),
		cmocka_unit_test(test_featureset_from_recorded_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
