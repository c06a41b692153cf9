/* SPDX-License-Identifier: MIT */
/*
 * Feature MSRs (cpu/msrs.h) stage by stage, without KVM: the names and bits
 * of IA32_ARCH_CAPABILITIES and IA32_CORE_CAPABILITY as QEMU's
 * target/i386/cpu.c feature_word_info[FEAT_ARCH_CAPABILITIES] and
 * [FEAT_CORE_CAPABILITY] spell them; the supported values taken from a fake
 * KVM_GET_MSR_FEATURE_INDEX_LIST answer as QEMU's
 * kvm_arch_get_supported_msr_feature() takes them (target/i386/kvm/kvm.c);
 * filtering with QEMU's warnings (mark_unavailable_features()); the
 * dependency on the CPUID bit (feature_dependencies[]); what each vCPU gets
 * written (kvm_init_msrs()); and the dump format's "feature_msrs".
 *
 * The supported value used is what this project's development host's KVM
 * (Linux 6.18 on AMD) reported for MSR 0x10A: rdctl-no, skip-l1dfl-vmentry,
 * mds-no, pschange-mc-no, gds-no, rfds-no and its-no, no ibrs-all.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "cpu/cpu.h"
#include "cpu/dump.h"
#include "cpu/filter.h"
#include "cpu/msrs.h"
#include "fleet/baseline.h"
#include "fleet/compare.h"
#include "util/err.h"

#define HASWELL "tests/data/supported/intel-haswell-server.json"
#define ARCH_CAP 0x10au
#define CORE_CAP 0xcfu
#define PERF_CAP 0x345u /* listed by KVM, not modelled by skyvm */
#define AMD_KVM_ARCH_CAP 0x400000000c000069ull

static struct cpuid_table supported, vcpu;
static struct cpu_result result;
static char warnings[16384];
static const char *also_offer; /* a CPUID feature the recorded host's KVM lacks, offered */

/* A fake KVM: the MSRs it lists and the values KVM_GET_MSRS gives for them. */
struct fake_kvm {
	uint32_t index[4];
	uint64_t value[4];
	size_t n;
	bool refuse_reads;
};

static int fake_read(void *ctx, uint32_t index, uint64_t *value)
{
	const struct fake_kvm *k = ctx;

	if (k->refuse_reads)
		return -1;
	for (size_t i = 0; i < k->n; i++) {
		if (k->index[i] == index) {
			*value = k->value[i];
			return 0;
		}
	}
	return -1;
}

/* The Haswell server dump with the feature MSRs of `k` (NULL: a dump without them). */
static void load(struct fake_kvm *k)
{
	struct cpuid_dump_meta meta;

	if (cpuid_dump_load(HASWELL, &supported, &meta) < 0)
		fail_msg("%s", err_msg());
	assert_false(supported.msrs_known);
	if (also_offer) {
		const struct cpu_feature *f = cpu_feature_find(also_offer);
		const struct feature_word_info *fw;
		struct kvm_cpuid_entry2 *e;

		assert_non_null(f);
		fw = &feature_words[f->word];
		e = cpuid_find(&supported, fw->leaf, fw->subleaf);
		assert_non_null(e);
		*cpuid_reg_ptr(e, fw->reg) |= 1u << f->bit;
	}
	if (k)
		assert_int_equal(cpu_feature_msrs_from_kvm(&supported, k->index, k->n, fake_read, k),
				 0);
}

static int configure(struct fake_kvm *k, const char *spec)
{
	struct cpu_host_facts facts;
	struct cpu_topology topo = { .cpus = 2 };
	FILE *w = fmemopen(warnings, sizeof(warnings), "w");
	int rc;

	assert_non_null(w);
	memset(warnings, 0, sizeof(warnings));
	load(k);
	cpu_host_facts_default(&facts);
	err_clear();
	rc = cpu_configure_with(spec, &supported, &facts, &topo, &result, w);
	fclose(w);
	return rc;
}

static void must_configure(struct fake_kvm *k, const char *spec)
{
	if (configure(k, spec) < 0)
		fail_msg("%s: %s", spec, err_msg());
}

/* The value vCPU `i` gets written for `index`; -1 when it gets none. */
static long long written(unsigned i, uint32_t index)
{
	uint64_t v;

	assert_int_equal(cpu_vcpu_cpuid(&result, i, &vcpu), 0);
	return cpu_msr_get(&vcpu, index, &v) ? (long long)v : -1;
}

static bool warned(const char *line)
{
	return strstr(warnings, line) != NULL;
}

static struct fake_kvm amd_kvm(void)
{
	struct fake_kvm k = { .index = { ARCH_CAP, PERF_CAP }, .value = { AMD_KVM_ARCH_CAP, 0 },
			      .n = 2 };

	return k;
}

/* QEMU's names and bits: cpu.c feature_word_info[FEAT_ARCH_CAPABILITIES/FEAT_CORE_CAPABILITY] */
static void test_names_as_qemu(void **state)
{
	static const struct {
		const char *name;
		const char *desc; /* cpu_bit_describe(), QEMU's mark_unavailable_features() text */
	} expect[] = {
		{ "rdctl-no", "MSR(10AH).rdctl-no [bit 0]" },
		{ "ibrs-all", "MSR(10AH).ibrs-all [bit 1]" },
		{ "rsba", "MSR(10AH).rsba [bit 2]" },
		{ "skip-l1dfl-vmentry", "MSR(10AH).skip-l1dfl-vmentry [bit 3]" },
		{ "ssb-no", "MSR(10AH).ssb-no [bit 4]" },
		{ "mds-no", "MSR(10AH).mds-no [bit 5]" },
		{ "pschange-mc-no", "MSR(10AH).pschange-mc-no [bit 6]" },
		{ "tsx-ctrl", "MSR(10AH).tsx-ctrl [bit 7]" },
		{ "taa-no", "MSR(10AH).taa-no [bit 8]" },
		{ "sbdr-ssdp-no", "MSR(10AH).sbdr-ssdp-no [bit 13]" },
		{ "fbsdp-no", "MSR(10AH).fbsdp-no [bit 14]" },
		{ "psdp-no", "MSR(10AH).psdp-no [bit 15]" },
		{ "fb-clear", "MSR(10AH).fb-clear [bit 17]" },
		{ "bhi-no", "MSR(10AH).bhi-no [bit 20]" },
		{ "pbrsb-no", "MSR(10AH).pbrsb-no [bit 24]" },
		{ "gds-no", "MSR(10AH).gds-no [bit 26]" },
		{ "rfds-no", "MSR(10AH).rfds-no [bit 27]" },
		{ "rfds-clear", "MSR(10AH).rfds-clear [bit 28]" },
		{ "its-no", "MSR(10AH).its-no [bit 62]" },
		{ "split-lock-detect", "MSR(CFH).split-lock-detect [bit 5]" },
	};
	uint32_t idx[8];

	(void)state;
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		const struct cpu_feature *f = cpu_feature_find(expect[i].name);
		char desc[96];

		assert_non_null(f);
		assert_true(feature_word_is_msr(f->word));
		cpu_bit_describe(f->word, f->bit, desc, sizeof(desc));
		assert_string_equal(desc, expect[i].desc);
	}
	/* the MSRs modelled, each once: ARCH_CAPABILITIES (two words) and CORE_CAPABILITY */
	assert_int_equal(cpu_feature_msr_indices(idx, 8), 2);
	assert_int_equal(idx[0], ARCH_CAP);
	assert_int_equal(idx[1], CORE_CAP);
}

/* kvm.c kvm_arch_get_supported_msr_feature(): only what the feature list has */
static void test_supported_from_fake_kvm(void **state)
{
	struct fake_kvm k = amd_kvm();
	struct cpu_featureset s = { 0 };
	uint64_t v;

	(void)state;
	memset(&supported, 0, sizeof(supported));
	assert_int_equal(cpu_feature_msrs_from_kvm(&supported, k.index, k.n, fake_read, &k), 0);
	assert_true(supported.msrs_known);
	assert_int_equal(supported.nmsrs, 1); /* PERF_CAPABILITIES is listed but not modelled */
	assert_true(cpu_msr_get(&supported, ARCH_CAP, &v));
	assert_int_equal(v, AMD_KVM_ARCH_CAP);
	assert_false(cpu_msr_get(&supported, CORE_CAP, &v));
	featureset_supported_msrs(&s, &supported);
	assert_int_equal(s.w[FW_ARCH_CAP], 0x0c000069u);
	assert_int_equal(s.w[FW_ARCH_CAP_HI], 0x40000000u);
	assert_int_equal(s.w[FW_CORE_CAP], 0); /* not listed: nothing supported */
	assert_int_equal(s.w[FW_1_EDX], 0);   /* CPUID words untouched */

	/* a read KVM refuses leaves the MSR out */
	k.refuse_reads = true;
	assert_int_equal(cpu_feature_msrs_from_kvm(&supported, k.index, k.n, fake_read, &k), 0);
	assert_true(supported.msrs_known);
	assert_int_equal(supported.nmsrs, 0);

	/* a dump that records none: nothing can be said, so nothing is filtered */
	supported.msrs_known = false;
	featureset_supported_msrs(&s, &supported);
	assert_int_equal(s.w[FW_ARCH_CAP], ~0u);
	assert_int_equal(s.w[FW_CORE_CAP], ~0u);
}

/*
 * Cascadelake-Server-v2 (QEMU: rdctl-no, ibrs-all, skip-l1dfl-vmentry, mds-no) on a KVM
 * without ibrs-all: QEMU's warning for the bit, and the rest written to every vCPU
 * (kvm_init_msrs() writes env->features[FEAT_ARCH_CAPABILITIES]).
 */
static void test_model_bits_filtered_and_written(void **state)
{
	struct fake_kvm k = amd_kvm();

	(void)state;
	must_configure(&k, "Cascadelake-Server-v2");
	assert_true(warned("host doesn't support requested feature: MSR(10AH).ibrs-all [bit 1]"));
	assert_false(warned("MSR(10AH).mds-no"));
	assert_true(featureset_has_name(&result.filtered, "ibrs-all"));
	/* rdctl-no | skip-l1dfl-vmentry | mds-no */
	assert_int_equal(written(0, ARCH_CAP), 0x29);
	assert_int_equal(written(1, ARCH_CAP), 0x29);
	assert_int_equal(written(0, CORE_CAP), -1);
	/* the host's own bits the model does not name (pschange-mc-no, gds-no, ...) stay out */
	must_configure(&k, "Cascadelake-Server-v2,-mds-no");
	assert_int_equal(written(0, ARCH_CAP), 0x09);

	/* enforce fails naming the bit, as QEMU's x86_cpu_filter_features() does */
	assert_int_equal(configure(&k, "Cascadelake-Server-v2,enforce"), -1);
	assert_non_null(strstr(err_msg(), "MSR(10AH).ibrs-all [bit 1]"));

	/* a model without the CPUID bit gets no write: the guest would #GP reading it */
	must_configure(&k, "Skylake-Server-v4");
	assert_int_equal(written(0, ARCH_CAP), -1);
}

/* +f/-f on MSR bits, and QEMU's feature_dependencies[] from arch-capabilities */
static void test_options(void **state)
{
	struct fake_kvm k = amd_kvm();

	(void)state;
	must_configure(&k, "Skylake-Server-v4,+arch-capabilities,+mds-no,+its-no");
	assert_int_equal(written(0, ARCH_CAP), (long long)(0x20ull | 1ull << 62));
	/* without the CPUID bit the MSR bit goes, and QEMU reports it as a dependency */
	must_configure(&k, "Skylake-Server-v4,+mds-no");
	assert_true(warned("This feature depends on other features that were not requested: "
			   "MSR(10AH).mds-no [bit 5]"));
	assert_false(featureset_has_name(&result.enabled, "mds-no"));
	assert_int_equal(written(0, ARCH_CAP), -1);
	/* a named bit the host lacks, asked for by the user */
	must_configure(&k, "Cascadelake-Server-v2,-ibrs-all,+taa-no");
	assert_true(warned("host doesn't support requested feature: MSR(10AH).taa-no [bit 8]"));
	assert_int_equal(written(0, ARCH_CAP), 0x29);
}

/* A KVM that lists no ARCH_CAPABILITIES: every bit filtered, nothing written (QEMU's has_msr_arch_capabs) */
static void test_msr_not_listed(void **state)
{
	struct fake_kvm k = { .index = { PERF_CAP }, .value = { 0 }, .n = 1 };

	(void)state;
	must_configure(&k, "Cascadelake-Server-v2");
	assert_true(warned("host doesn't support requested feature: MSR(10AH).rdctl-no [bit 0]"));
	assert_true(warned("host doesn't support requested feature: MSR(10AH).mds-no [bit 5]"));
	assert_int_equal(written(0, ARCH_CAP), -1);
}

/* A dump without "feature_msrs" (every dump recorded before them): no MSR warning */
static void test_dump_without_msrs(void **state)
{
	(void)state;
	must_configure(NULL, "Cascadelake-Server-v2");
	assert_false(warned("MSR(10AH)"));
	assert_int_equal(written(0, ARCH_CAP), 0x2b);
}

/*
 * host: the supported value, named bits only with migratable=on (QEMU's max/host take
 * x86_cpu_get_supported_feature_word(), migratable-only by default).
 */
static void test_host_takes_supported(void **state)
{
	struct fake_kvm k = amd_kvm();
	const uint64_t unnamed = 1ull << 19; /* RRSBA: QEMU has no name for it */

	(void)state;
	k.value[0] |= unnamed;
	must_configure(&k, "host");
	assert_int_equal(written(0, ARCH_CAP), (long long)AMD_KVM_ARCH_CAP);
	must_configure(&k, "host,migratable=off");
	assert_int_equal(written(0, ARCH_CAP), (long long)(AMD_KVM_ARCH_CAP | unnamed));
	must_configure(&k, "base");
	assert_int_equal(written(0, ARCH_CAP), -1);
}

/* its-no is bit 62: SapphireRapids-v6 (QEMU 11.0 "with its-no") */
static void test_its_no_high_word(void **state)
{
	struct fake_kvm k = amd_kvm();
	long long v;

	(void)state;
	must_configure(&k, "SapphireRapids-v6");
	v = written(0, ARCH_CAP);
	assert_true(v >= 0 && ((uint64_t)v >> 62 & 1));
	must_configure(&k, "SapphireRapids-v5");
	v = written(0, ARCH_CAP);
	assert_true(v >= 0 && !((uint64_t)v >> 62 & 1));
	k.value[0] &= ~(1ull << 62);
	must_configure(&k, "SapphireRapids-v6");
	assert_true(warned("host doesn't support requested feature: MSR(10AH).its-no [bit 62]"));
}

/*
 * Snowridge v1-v3 set split-lock-detect (QEMU 7.2), v4 drops it with core-capability.
 * No recorded host's KVM offers core-capability (KVM does only on hosts with split-lock
 * detection), so it is offered here as such a host's would be.
 */
static void test_core_capability(void **state)
{
	struct fake_kvm k = { .index = { CORE_CAP }, .value = { 1u << 5 }, .n = 1 };

	(void)state;
	must_configure(&k, "Snowridge-v3");
	/* the recorded KVM lacks the CPUID bit: the MSR bit goes with it, unwritten, and
	 * unreported (the model, not the user, asked: QEMU reports only user dependents) */
	assert_true(warned("CPUID.07H:EDX.core-capability"));
	assert_false(warned("MSR(CFH)"));
	assert_true(featureset_has_name(&result.dependent, "split-lock-detect"));
	assert_int_equal(written(0, CORE_CAP), -1);

	also_offer = "core-capability";
	must_configure(&k, "Snowridge-v3");
	assert_int_equal(written(0, CORE_CAP), 0x20);
	assert_int_equal(written(1, CORE_CAP), 0x20);
	/* v4: "no split lock detect, no core-capability" */
	must_configure(&k, "Snowridge-v4");
	assert_false(featureset_has_name(&result.requested, "split-lock-detect"));
	assert_int_equal(written(0, CORE_CAP), -1);
	/* a KVM that does not list CORE_CAPABILITY: QEMU's warning, and no write */
	k.n = 0;
	must_configure(&k, "Snowridge-v3");
	assert_true(warned("host doesn't support requested feature: "
			   "MSR(CFH).split-lock-detect [bit 5]"));
	assert_int_equal(written(0, CORE_CAP), -1);
	also_offer = NULL;
}

/* "feature_msrs" in the skyvm dump format (docs/cpuid-dump.md): written, read back, checked */
static void test_dump_round_trip(void **state)
{
	static struct cpuid_table back;
	struct fake_kvm k = amd_kvm();
	struct cpuid_dump_meta meta;
	char *buf = NULL;
	size_t len = 0;
	FILE *f;
	uint64_t v;
	static const char bad_type[] =
		"{\"format\": \"skyvm-cpuid-dump\", \"version\": 1, \"entries\": [{\"leaf\": "
		"\"0x0\", \"eax\": \"0x1\", \"ebx\": \"0x0\", \"ecx\": \"0x0\", \"edx\": \"0x0\"}], \"feature_msrs\": \"0x10a\"}";
	static const char twice[] =
		"{\"format\": \"skyvm-cpuid-dump\", \"version\": 1, \"entries\": [{\"leaf\": "
		"\"0x0\", \"eax\": \"0x1\", \"ebx\": \"0x0\", \"ecx\": \"0x0\", \"edx\": \"0x0\"}], \"feature_msrs\": [{\"index\": \"0x10a\", \"value\": "
		"\"0x1\"}, {\"index\": \"0x10a\", \"value\": \"0x2\"}]}";
	static const char bad_value[] =
		"{\"format\": \"skyvm-cpuid-dump\", \"version\": 1, \"entries\": [{\"leaf\": "
		"\"0x0\", \"eax\": \"0x1\", \"ebx\": \"0x0\", \"ecx\": \"0x0\", \"edx\": \"0x0\"}], \"feature_msrs\": [{\"index\": \"0x10a\", \"value\": "
		"\"many\"}]}";

	(void)state;
	load(&k);
	f = open_memstream(&buf, &len);
	assert_non_null(f);
	assert_int_equal(cpuid_dump_write(f, &supported, NULL), 0);
	fclose(f);
	assert_non_null(strstr(buf, "\"feature_msrs\""));
	assert_int_equal(cpuid_dump_parse(buf, len, "round-trip", &back, &meta), 0);
	free(buf);
	assert_true(back.msrs_known);
	assert_true(cpu_msr_get(&back, ARCH_CAP, &v));
	assert_int_equal(v, AMD_KVM_ARCH_CAP);
	assert_int_equal(back.nent, supported.nent);

	assert_int_equal(cpuid_dump_parse(bad_type, strlen(bad_type), "t", &back, &meta), -1);
	assert_non_null(strstr(err_msg(), "feature_msrs: expected an array"));
	assert_int_equal(cpuid_dump_parse(twice, strlen(twice), "t", &back, &meta), -1);
	assert_non_null(strstr(err_msg(), "MSR 0x10a appears twice"));
	assert_int_equal(cpuid_dump_parse(bad_value, strlen(bad_value), "t", &back, &meta), -1);
	assert_non_null(strstr(err_msg(), "feature_msrs[0].value"));
}

/*
 * Fleets: a baseline's common table ANDs the hosts' feature MSRs (what every host
 * lists), and cpu compare counts MSR bits only where a dump records them.
 */
static void test_fleet_intersect_and_compare(void **state)
{
	static struct cpuid_table a, b, common;
	const struct cpuid_table *hosts[] = { &a, &b };
	const char *names[] = { "a", "b" };
	struct fake_kvm ka = amd_kvm(), kb = { .index = { ARCH_CAP, CORE_CAP },
					       .value = { 0x2b, 0x20 }, .n = 2 };
	struct fleet_demand d;
	struct fleet_offer o;
	struct fleet_comparison c;
	uint64_t v;

	(void)state;
	load(&ka);
	a = supported;
	load(&kb);
	b = supported;
	assert_int_equal(fleet_intersect(hosts, names, 2, &common), 0);
	assert_true(common.msrs_known);
	assert_true(cpu_msr_get(&common, ARCH_CAP, &v));
	assert_int_equal(v, AMD_KVM_ARCH_CAP & 0x2b); /* rdctl-no, skip-l1dfl-vmentry, mds-no */
	assert_false(cpu_msr_get(&common, CORE_CAP, &v)); /* host a does not list it */
	b.msrs_known = false; /* a dump without them: the common table cannot say */
	assert_int_equal(fleet_intersect(hosts, names, 2, &common), 0);
	assert_false(common.msrs_known);

	/* Cascadelake-Server-v2's ibrs-all is missing on host a's KVM ... */
	must_configure(NULL, "Cascadelake-Server-v2");
	fleet_demand_from_model(&d, &result.def, &result.requested);
	fleet_offer_from_cpuid(&o, &a, NULL);
	fleet_compare(&d, &o, &c);
	assert_true(featureset_has_name(&c.missing, "ibrs-all"));
	assert_false(featureset_has_name(&c.missing, "mds-no"));
	/* ... and on a dump that records no MSRs nothing is said about them */
	a.msrs_known = false;
	fleet_offer_from_cpuid(&o, &a, NULL);
	fleet_compare(&d, &o, &c);
	assert_false(featureset_has_name(&c.missing, "ibrs-all"));
	assert_false(featureset_has_name(&c.extra, "pschange-mc-no"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_as_qemu),
		cmocka_unit_test(test_supported_from_fake_kvm),
		cmocka_unit_test(test_model_bits_filtered_and_written),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_msr_not_listed),
		cmocka_unit_test(test_dump_without_msrs),
		cmocka_unit_test(test_host_takes_supported),
		cmocka_unit_test(test_its_no_high_word),
		cmocka_unit_test(test_core_capability),
		cmocka_unit_test(test_dump_round_trip),
		cmocka_unit_test(test_fleet_intersect_and_compare),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
