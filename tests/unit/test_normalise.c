/* SPDX-License-Identifier: MIT */
/*
 * The encodings normalisation writes, checked against known values from real
 * CPUs and the SDM: signatures (Skylake-SP 0x50654, Milan 0xA00F11, Genoa
 * 0xA10F11), XSAVE sizes for the architectural layout (832 with AVX, 2688
 * with AVX-512, 2696 with PKRU, 11008 with AMX), vendor and brand registers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <string.h>

#include "cpu/normalise.h"
#include "cpu/xsave.h"

static void test_signatures(void **state)
{
	static const struct {
		uint32_t family, model, stepping, eax;
	} known[] = {
		{ 6, 85, 4, 0x00050654 },     /* Skylake-SP */
		{ 6, 106, 6, 0x000606a6 },    /* Ice Lake-SP */
		{ 6, 63, 2, 0x000306f2 },     /* Haswell-EP */
		{ 0x19, 0x01, 1, 0x00a00f11 }, /* Milan */
		{ 0x19, 0x11, 1, 0x00a10f11 }, /* Genoa */
		{ 0x17, 0x31, 0, 0x00830f10 }, /* Rome */
		{ 0x1a, 0x02, 1, 0x00b00f21 }, /* Turin-class, as read on this project's machine */
		{ 0xf, 0x6b, 2, 0x00060fb2 },  /* family 0xF: extended family 0 */
		{ 5, 4, 3, 0x00000543 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		uint32_t f, m, s;

		assert_int_equal(cpu_signature_encode(known[i].family, known[i].model,
						      known[i].stepping), known[i].eax);
		cpu_signature_decode(known[i].eax, &f, &m, &s);
		assert_int_equal(f, known[i].family);
		assert_int_equal(m, known[i].model);
		assert_int_equal(s, known[i].stepping);
	}
	/* the extended model counts only for families 6 and 0xF+ */
	{
		uint32_t f, m, s;

		cpu_signature_decode(0x00010543, &f, &m, &s);
		assert_int_equal(m, 4);
	}
}

static void test_vendor_and_brand(void **state)
{
	struct cpuid_table t = { 0 };
	struct kvm_cpuid_entry2 *e = cpuid_get_or_add(&t, 0, 0, false);
	uint32_t regs[12];
	char out[49];

	(void)state;
	cpu_vendor_encode("GenuineIntel", &e->ebx, &e->ecx, &e->edx);
	/* the values every Intel CPU returns in leaf 0 */
	assert_int_equal(e->ebx, 0x756e6547);
	assert_int_equal(e->edx, 0x49656e69);
	assert_int_equal(e->ecx, 0x6c65746e);
	cpu_vendor_decode(&t, out);
	assert_string_equal(out, "GenuineIntel");
	assert_true(cpu_vendor_is_amd("AuthenticAMD"));
	assert_true(cpu_vendor_is_amd("HygonGenuine"));
	assert_false(cpu_vendor_is_amd("GenuineIntel"));

	cpu_brand_encode("Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz", regs);
	assert_int_equal(regs[0], 0x65746e49); /* "Inte" */
	for (int i = 0; i < 3; i++) {
		e = cpuid_get_or_add(&t, 0x80000002 + i, 0, false);
		memcpy(&e->eax, &regs[4 * i], 16);
	}
	cpu_brand_decode(&t, out);
	assert_string_equal(out, "Intel(R) Xeon(R) Platinum 8380 CPU @ 2.30GHz");
	/* 48 characters fill all twelve registers, with no terminator */
	cpu_brand_encode("0123456789abcdef0123456789abcdef0123456789abcdef", regs);
	assert_int_equal(regs[11], 0x66656463); /* "cdef" */
	cpu_brand_encode("", regs);
	for (int i = 0; i < 12; i++)
		assert_int_equal(regs[i], 0);
}

static void test_xsave_architectural_sizes(void **state)
{
	(void)state;
	/* x87 + SSE only: the 512-byte legacy area and the 64-byte header */
	assert_int_equal(cpu_xsave_size(NULL, 0x3), 576);
	/* + AVX (YMM_Hi128, 256 bytes at 576) */
	assert_int_equal(cpu_xsave_size(NULL, 0x7), 832);
	/* + MPX: BNDREGS at 960, BNDCSR at 1024 */
	assert_int_equal(cpu_xsave_size(NULL, 0x1f), 1088);
	/* + AVX-512: opmask 1088, ZMM_Hi256 1152, Hi16_ZMM 1664..2688 */
	assert_int_equal(cpu_xsave_size(NULL, 0xe7), 2688);
	assert_int_equal(cpu_xsave_size(NULL, 0xff), 2688);
	/* + PKRU at 2688 */
	assert_int_equal(cpu_xsave_size(NULL, 0x2e7), 2696);
	/* + AMX: XTILECFG at 2752, XTILEDATA 8192 at 2816 (Sapphire Rapids: 11008) */
	assert_int_equal(cpu_xsave_size(NULL, 0x602e7), 11008);
	/* compacted: packed in order; XTILEDATA is 64-byte aligned */
	assert_int_equal(cpu_xsave_compacted_size(NULL, 0x7), 832);
	assert_int_equal(cpu_xsave_compacted_size(NULL, 0x2e7), 576 + 256 + 64 + 512 + 1024 + 8);
	assert_int_equal(cpu_xsave_compacted_size(NULL, 0x602e7),
			 ((576 + 256 + 64 + 512 + 1024 + 8 + 64 + 63) & ~63) + 8192);
}

static void test_xsave_host_layout_wins(void **state)
{
	struct cpuid_table amd = { 0 };
	struct kvm_cpuid_entry2 *e;
	uint32_t off, size, flags;

	(void)state;
	/* AMD Zen 4: AVX-512 state right after AVX, no MPX hole; PKRU at 2432 */
	static const uint32_t layout[][3] = {
		{ 2, 256, 576 }, { 5, 64, 832 }, { 6, 512, 896 }, { 7, 1024, 1408 }, { 9, 8, 2432 },
	};
	for (size_t i = 0; i < sizeof(layout) / sizeof(layout[0]); i++) {
		e = cpuid_get_or_add(&amd, 0xd, layout[i][0], true);
		e->eax = layout[i][1];
		e->ebx = layout[i][2];
	}
	assert_int_equal(cpu_xsave_size(&amd, 0x2e7), 2440);
	assert_int_equal(cpu_xsave_component(&amd, 5, &off, &size, &flags), 0);
	assert_int_equal(off, 832);
	/* a component the host does not describe falls back to the SDM layout */
	assert_int_equal(cpu_xsave_component(&amd, 17, &off, &size, &flags), 0);
	assert_int_equal(off, 2752);
	assert_int_equal(cpu_xsave_component(&amd, 8, &off, &size, &flags), -1);
}

static void test_xcr0_from_features(void **state)
{
	struct cpu_featureset fs = { 0 };

	(void)state;
	assert_int_equal(cpu_xsave_xcr0(&fs), 0x3);
	featureset_set(&fs, cpu_feature_find("avx"), true);
	assert_int_equal(cpu_xsave_xcr0(&fs), 0x7);
	featureset_set(&fs, cpu_feature_find("avx512f"), true);
	assert_int_equal(cpu_xsave_xcr0(&fs), 0xe7);
	featureset_set(&fs, cpu_feature_find("pku"), true);
	assert_int_equal(cpu_xsave_xcr0(&fs), 0x2e7);
	featureset_set(&fs, cpu_feature_find("amx-tile"), true);
	assert_int_equal(cpu_xsave_xcr0(&fs), 0x602e7);
}

/*
 * IA32_XSS: the CET states (components 11, 12; SDM Vol. 1 13.5.9: 16 and
 * 24 bytes, supervisor) with cet-ss or cet-ibt, only with XSAVES and only
 * as far as the host's CPUID.(0DH,1):ECX offers them (QEMU 11.0); never in
 * XCR0.
 */
static void test_xss_from_features(void **state)
{
	struct cpu_featureset fs = { 0 };
	struct cpuid_table host = { 0 };
	uint32_t off, size, flags;

	(void)state;
	cpuid_get_or_add(&host, 0xd, 1, true)->ecx = 0x1800;
	featureset_set(&fs, cpu_feature_find("cet-ss"), true);
	assert_int_equal(cpu_xsave_xss(&fs, &host), 0);      /* no xsaves */
	featureset_set(&fs, cpu_feature_find("xsaves"), true);
	assert_int_equal(cpu_xsave_xss(&fs, &host), 0x1800);
	assert_int_equal(cpu_xsave_xss(&fs, NULL), 0);       /* no host: none offered */
	cpuid_find(&host, 0xd, 1)->ecx = 0x800;              /* a host with CET_U only */
	assert_int_equal(cpu_xsave_xss(&fs, &host), 0x800);
	assert_int_equal(cpu_xsave_xcr0(&fs), 0x3);          /* not XCR0 state */
	/* the architectural layout: no offset, ECX[0] supervisor */
	assert_int_equal(cpu_xsave_component(NULL, 11, &off, &size, &flags), 0);
	assert_int_equal(size, 16);
	assert_int_equal(off, 0);
	assert_int_equal(flags, 1);
	assert_int_equal(cpu_xsave_component(NULL, 12, &off, &size, &flags), 0);
	assert_int_equal(size, 24);
	/* compacted: after x87/SSE and AVX, 16 + 24 bytes */
	assert_int_equal(cpu_xsave_compacted_size(NULL, 0x7 | 0x1800), 832 + 16 + 24);
}

static void test_min_levels(void **state)
{
	struct cpu_featureset fs = { 0 };
	uint32_t level, xlevel, func7;

	(void)state;
	featureset_set(&fs, cpu_feature_find("sse2"), true);
	cpu_min_levels(&fs, &level, &xlevel, &func7);
	assert_int_equal(level, 1);
	assert_int_equal(xlevel, 0);
	assert_int_equal(func7, 0);
	featureset_set(&fs, cpu_feature_find("avx2"), true);
	featureset_set(&fs, cpu_feature_find("lm"), true);
	cpu_min_levels(&fs, &level, &xlevel, &func7);
	assert_int_equal(level, 7);
	assert_int_equal(xlevel, 0x80000001);
	assert_int_equal(func7, 0);
	/* a leaf-7 subleaf-1 feature: subleaf count 1 */
	featureset_set(&fs, cpu_feature_find("avx512-bf16"), true);
	cpu_min_levels(&fs, &level, &xlevel, &func7);
	assert_int_equal(level, 7);
	assert_int_equal(func7, 1);
	featureset_set(&fs, cpu_feature_find("avx512-bf16"), false);
	featureset_set(&fs, cpu_feature_find("xsave"), true);
	featureset_set(&fs, cpu_feature_find("invtsc"), true);
	cpu_min_levels(&fs, &level, &xlevel, &func7);
	assert_int_equal(level, 0xd);
	assert_int_equal(xlevel, 0x80000007);
	/* KVM PV bits live in the hypervisor range: they raise neither level */
	memset(&fs, 0, sizeof(fs));
	featureset_set(&fs, cpu_feature_find("kvm-steal-time"), true);
	cpu_min_levels(&fs, &level, &xlevel, &func7);
	assert_int_equal(level, 1);
	assert_int_equal(xlevel, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signatures),
		cmocka_unit_test(test_vendor_and_brand),
		cmocka_unit_test(test_xsave_architectural_sizes),
		cmocka_unit_test(test_xsave_host_layout_wins),
		cmocka_unit_test(test_xcr0_from_features),
		cmocka_unit_test(test_xss_from_features),
		cmocka_unit_test(test_min_levels),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
