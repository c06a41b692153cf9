/* SPDX-License-Identifier: MIT */
#include "cpu/xsave.h"

#include "util/err.h"

/* XCR0 bit of each state component (SDM Vol. 1, 13.1). */
enum {
	XS_X87 = 0,
	XS_SSE = 1,
	XS_AVX = 2,
	XS_BNDREGS = 3,
	XS_BNDCSR = 4,
	XS_OPMASK = 5,
	XS_ZMM_HI256 = 6,
	XS_HI16_ZMM = 7,
	XS_PKRU = 9,
	XS_CET_U = 11, /* supervisor (IA32_XSS): IA32_U_CET, IA32_PL3_SSP */
	XS_CET_S = 12, /* supervisor (IA32_XSS): IA32_PL0_SSP..IA32_PL2_SSP */
	XS_XTILECFG = 17,
	XS_XTILEDATA = 18,
	XS_APX = 19,
};

/* The feature that brings each user component into XCR0. */
static const struct {
	const char *feature;
	uint64_t components;
} xsave_features[] = {
	{ "fpu", 1ull << XS_X87 },
	{ "sse", 1ull << XS_SSE },
	{ "avx", 1ull << XS_AVX },
	{ "mpx", (1ull << XS_BNDREGS) | (1ull << XS_BNDCSR) },
	{ "avx512f", (1ull << XS_OPMASK) | (1ull << XS_ZMM_HI256) | (1ull << XS_HI16_ZMM) },
	{ "pku", 1ull << XS_PKRU },
	{ "amx-tile", (1ull << XS_XTILECFG) | (1ull << XS_XTILEDATA) },
	{ "apxf", 1ull << XS_APX },
};

/*
 * The features that bring each supervisor component into IA32_XSS, as
 * QEMU 11.0 has them (x86_ext_save_areas[], "i386/cpu: Enable xsave
 * support for CET states"): the two CET states come with either CET
 * feature, since shadow stacks and IBT share IA32_U_CET / IA32_S_CET.
 */
static const struct {
	const char *feature;
	uint64_t components;
} xss_features[] = {
	{ "cet-ss", (1ull << XS_CET_U) | (1ull << XS_CET_S) },
	{ "cet-ibt", (1ull << XS_CET_U) | (1ull << XS_CET_S) },
};

/*
 * Intel's standard-format layout (SDM Vol. 1, 13.4 and CPUID.(EAX=0DH,
 * ECX=i) on parts that have each component); flags = ECX of 0xD.i, bit 0
 * meaning "supervisor state, managed in IA32_XSS" (no standard-format
 * offset: EBX 0), bit 1 "64-byte aligned in the compacted format" (AMX
 * tile data), bit 2 "XFD can arm it".
 */
static const struct {
	uint32_t offset, size, flags;
} intel_layout[XSAVE_COMPONENTS] = {
	[XS_AVX] = { 576, 256, 0 },
	[XS_BNDREGS] = { 960, 64, 0 },
	[XS_BNDCSR] = { 1024, 64, 0 },
	[XS_OPMASK] = { 1088, 64, 0 },
	[XS_ZMM_HI256] = { 1152, 512, 0 },
	[XS_HI16_ZMM] = { 1664, 1024, 0 },
	[XS_PKRU] = { 2688, 8, 0 },
	/* CET: 2 and 3 MSRs of 8 bytes, compacted format only (SDM Vol. 1, 13.5.9) */
	[XS_CET_U] = { 0, 16, 1 },
	[XS_CET_S] = { 0, 24, 1 },
	[XS_XTILECFG] = { 2752, 64, 0 },
	[XS_XTILEDATA] = { 2816, 8192, 2 },
	/* APX extended GPRs R16-R31: MPX's old place in the standard format */
	[XS_APX] = { 960, 128, 0 },
};

uint64_t cpu_xsave_xcr0(const struct cpu_featureset *fs)
{
	uint64_t xcr0 = 0;

	for (size_t i = 0; i < sizeof(xsave_features) / sizeof(xsave_features[0]); i++) {
		const struct cpu_feature *f = cpu_feature_find(xsave_features[i].feature);

		if (f && featureset_has(fs, f))
			xcr0 |= xsave_features[i].components;
	}
	/* x87 and SSE state are architecturally always in XCR0 (bit 0 must be 1). */
	return xcr0 | (1ull << XS_X87) | (1ull << XS_SSE);
}

uint64_t cpu_xsave_xss(const struct cpu_featureset *fs, const struct cpuid_table *host)
{
	const struct cpu_feature *xsaves = cpu_feature_find("xsaves");
	const struct kvm_cpuid_entry2 *e = host ? cpuid_find_const(host, 0xd, 1) : NULL;
	uint64_t xss = 0, offered;

	/*
	 * Supervisor state needs XSAVES (QEMU 11.0 skips supervisor components
	 * without it: "i386/cpu: Reorganize dependency check for arch lbr
	 * state"), and the host's KVM must offer it: CPUID.(EAX=0DH,ECX=1):
	 * EDX:ECX are the IA32_XSS bits it supports (QEMU filters its
	 * FEAT_XSAVE_XSS_LO/HI words against them).
	 */
	if (!xsaves || !featureset_has(fs, xsaves) || !e)
		return 0;
	for (size_t i = 0; i < sizeof(xss_features) / sizeof(xss_features[0]); i++) {
		const struct cpu_feature *f = cpu_feature_find(xss_features[i].feature);

		if (f && featureset_has(fs, f))
			xss |= xss_features[i].components;
	}
	offered = (uint64_t)e->edx << 32 | e->ecx;
	return xss & offered;
}

int cpu_xsave_guest_perm(const struct cpuid_table *t)
{
	return cpuid_value(t, 0xd, 0, CPUID_EAX) & (1u << XS_XTILEDATA) ? XS_XTILEDATA : -1;
}

int cpu_xsave_component(const struct cpuid_table *host, unsigned i, uint32_t *offset,
			uint32_t *size, uint32_t *flags)
{
	const struct kvm_cpuid_entry2 *e = host ? cpuid_find_const(host, 0xd, i) : NULL;

	if (i < 2 || i >= XSAVE_COMPONENTS)
		return -1;
	/* CPUID.(EAX=0DH,ECX=i):EAX size, EBX offset, ECX[1] align-64 */
	if (e && (e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->eax) {
		*size = e->eax;
		*offset = e->ebx;
		*flags = e->ecx;
		return 0;
	}
	if (!intel_layout[i].size)
		return -1;
	*offset = intel_layout[i].offset;
	*size = intel_layout[i].size;
	*flags = intel_layout[i].flags;
	return 0;
}

/*
 * The sizes in 64 bits: a dump's 0xD.i may claim any 32-bit offset and
 * size, and their sums must not wrap into a small, plausible-looking size.
 */
static uint64_t xsave_size64(const struct cpuid_table *host, uint64_t xcr0)
{
	uint64_t end = XSAVE_LEGACY_SIZE + XSAVE_HEADER_SIZE;

	for (unsigned i = 2; i < XSAVE_COMPONENTS; i++) {
		uint32_t off, size, flags;

		if (!(xcr0 & (1ull << i)) || cpu_xsave_component(host, i, &off, &size, &flags) < 0)
			continue;
		if ((uint64_t)off + size > end)
			end = (uint64_t)off + size;
	}
	return end;
}

static uint64_t xsave_compacted_size64(const struct cpuid_table *host, uint64_t xcr0)
{
	uint64_t end = XSAVE_LEGACY_SIZE + XSAVE_HEADER_SIZE;

	/* Compacted: components packed in index order, some 64-byte aligned. */
	for (unsigned i = 2; i < XSAVE_COMPONENTS; i++) {
		uint32_t off, size, flags;

		if (!(xcr0 & (1ull << i)) || cpu_xsave_component(host, i, &off, &size, &flags) < 0)
			continue;
		if (flags & 2)
			end = (end + 63) & ~63ull;
		end += size; /* at most 18 sizes below 2^32: no wrap */
	}
	return end;
}

static uint32_t saturate32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

uint32_t cpu_xsave_size(const struct cpuid_table *host, uint64_t xcr0)
{
	return saturate32(xsave_size64(host, xcr0));
}

uint32_t cpu_xsave_compacted_size(const struct cpuid_table *host, uint64_t xcr0)
{
	return saturate32(xsave_compacted_size64(host, xcr0));
}

int cpu_xsave_leaf(struct cpuid_table *t, const struct cpuid_table *host,
		   const struct cpu_featureset *fs)
{
	const struct cpu_feature *xsave = cpu_feature_find("xsave");
	struct kvm_cpuid_entry2 *e;
	uint64_t xcr0, xss;
	uint32_t size;

	cpuid_remove_leaf(t, 0xd);
	if (!xsave || !featureset_has(fs, xsave))
		return 0; /* no XSAVE: leaf 0xD reads as zeros */
	xcr0 = cpu_xsave_xcr0(fs);
	xss = cpu_xsave_xss(fs, host);
	if (xsave_size64(host, xcr0) > UINT32_MAX ||
	    xsave_compacted_size64(host, xcr0 | xss) > UINT32_MAX)
		return err_set("host CPUID leaf 0xD: the XSAVE layout it gives for XCR0 0x%llx "
			       "needs more than 4 GiB (a corrupt dump?)",
			       (unsigned long long)xcr0);
	size = cpu_xsave_size(host, xcr0);
	e = cpuid_get_or_add(t, 0xd, 0, true);
	if (!e)
		goto full;
	/* CPUID.(EAX=0DH,ECX=0):EDX:EAX XCR0 bits the guest may set */
	e->eax = (uint32_t)xcr0;
	e->edx = (uint32_t)(xcr0 >> 32);
	/*
	 * CPUID.(EAX=0DH,ECX=0):EBX size for the XCR0 now set, ECX size for all
	 * of EAX.  KVM recomputes EBX when the guest writes XCR0; start as QEMU
	 * does, with every enabled component.
	 */
	e->ebx = size;
	e->ecx = size;
	/*
	 * CPUID.(EAX=0DH,ECX=1):EAX xsaveopt/xsavec/xgetbv1/xsaves; EBX the
	 * compacted size of XCR0 | IA32_XSS; EDX:ECX the IA32_XSS bits offered
	 * (QEMU's FEAT_XSAVE_XSS_LO/HI: the CET states with cet-ss or cet-ibt).
	 * QEMU under KVM writes no leaf-0xD subleaf whose EAX is 0
	 * (kvm_arch_init_vcpu): a model with none of those four (Opteron_G4)
	 * has no subleaf 1, and its guest reads zeros there, size included.
	 */
	if (fs->w[FW_D_1_EAX]) {
		e = cpuid_get_or_add(t, 0xd, 1, true);
		if (!e)
			goto full;
		e->eax = fs->w[FW_D_1_EAX];
		e->ebx = cpu_xsave_compacted_size(host, xcr0 | xss);
		e->ecx = (uint32_t)xss;
		e->edx = (uint32_t)(xss >> 32);
	}
	for (unsigned i = 2; i < XSAVE_COMPONENTS; i++) {
		bool supervisor = (xss >> i) & 1;
		uint32_t off, sz, flags;

		if (!((xcr0 | xss) & (1ull << i)) ||
		    cpu_xsave_component(host, i, &off, &sz, &flags) < 0)
			continue;
		e = cpuid_get_or_add(t, 0xd, i, true);
		if (!e)
			goto full;
		/*
		 * CPUID.(EAX=0DH,ECX=i): EAX size; EBX the standard-format offset
		 * (0 for supervisor state, which has none); ECX[0] supervisor,
		 * [1] 64-byte aligned when compacted, [2] XFD-capable: the host's
		 * (QEMU takes ECX from the host's CPUID.(0DH,i))
		 */
		e->eax = sz;
		e->ebx = supervisor ? 0 : off;
		e->ecx = (flags & 6) | (supervisor ? 1u : 0);
		e->edx = 0;
	}
	return 0;
full:
	return err_set("CPUID table full writing leaf 0xD");
}
