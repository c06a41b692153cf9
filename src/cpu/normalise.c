/* SPDX-License-Identifier: MIT */
#include "cpu/normalise.h"

#include <asm/kvm_para.h>
#include <string.h>

#include "cpu/xsave.h"
#include "util/err.h"

uint32_t cpu_signature_encode(uint32_t family, uint32_t model, uint32_t stepping)
{
	uint32_t eax = stepping & 0xf;

	/* CPUID.01H:EAX[11:8] family, [27:20] extended family when family > 0xF */
	if (family > 0xf)
		eax |= (0xfu << 8) | (((family - 0xf) & 0xff) << 20);
	else
		eax |= family << 8;
	/* CPUID.01H:EAX[7:4] model, [19:16] extended model (model >> 4) */
	eax |= ((model & 0xf) << 4) | (((model >> 4) & 0xf) << 16);
	return eax;
}

void cpu_signature_decode(uint32_t eax, uint32_t *family, uint32_t *model, uint32_t *stepping)
{
	uint32_t base_family = (eax >> 8) & 0xf;

	*family = base_family == 0xf ? base_family + ((eax >> 20) & 0xff) : base_family;
	*model = (eax >> 4) & 0xf;
	/* The extended model counts only for families 6 and 0xF and above (SDM). */
	if (base_family == 0x6 || base_family == 0xf)
		*model |= ((eax >> 16) & 0xf) << 4;
	*stepping = eax & 0xf;
}

void cpu_vendor_encode(const char *vendor, uint32_t *ebx, uint32_t *ecx, uint32_t *edx)
{
	char v[12] = { 0 };

	memcpy(v, vendor, strnlen(vendor, 12));
	memcpy(ebx, v, 4);
	memcpy(edx, v + 4, 4);
	memcpy(ecx, v + 8, 4);
}

void cpu_vendor_from_regs(uint32_t ebx, uint32_t ecx, uint32_t edx, char out[13])
{
	memcpy(out, &ebx, 4);
	memcpy(out + 4, &edx, 4);
	memcpy(out + 8, &ecx, 4);
	out[12] = '\0';
}

void cpu_vendor_decode(const struct cpuid_table *t, char out[13])
{
	const struct kvm_cpuid_entry2 *e = cpuid_find_const(t, 0, 0);

	memset(out, 0, 13);
	if (e)
		cpu_vendor_from_regs(e->ebx, e->ecx, e->edx, out);
}

bool cpu_vendor_is_amd(const char *vendor)
{
	return !strcmp(vendor, "AuthenticAMD") || !strcmp(vendor, "HygonGenuine");
}

bool cpu_vendor_is_zhaoxin(const char *vendor)
{
	return !strcmp(vendor, "CentaurHauls") || !strcmp(vendor, "  Shanghai  ");
}

void cpu_brand_encode(const char *model_id, uint32_t regs[12])
{
	char s[48] = { 0 };

	memcpy(s, model_id, strnlen(model_id, 48));
	memcpy(regs, s, 48);
}

void cpu_brand_decode(const struct cpuid_table *t, char out[49])
{
	memset(out, 0, 49);
	for (int i = 0; i < 3; i++) {
		const struct kvm_cpuid_entry2 *e = cpuid_find_const(t, 0x80000002 + i, 0);

		if (!e)
			return;
		memcpy(out + 16 * i, &e->eax, 4);
		memcpy(out + 16 * i + 4, &e->ebx, 4);
		memcpy(out + 16 * i + 8, &e->ecx, 4);
		memcpy(out + 16 * i + 12, &e->edx, 4);
	}
}

static bool has(const struct cpu_featureset *fs, const char *name)
{
	const struct cpu_feature *f = cpu_feature_find(name);

	return f && featureset_has(fs, f);
}

void cpu_min_levels(const struct cpu_featureset *fs, uint32_t *level, uint32_t *xlevel,
		    uint32_t *func7)
{
	*level = 1;
	*xlevel = 0;
	*func7 = 0;
	for (int w = 0; w < FW_COUNT; w++) {
		uint32_t leaf = feature_words[w].leaf;

		if (!fs->w[w] || feature_word_is_msr(w))
			continue;
		if (leaf == 7 && feature_words[w].subleaf > *func7)
			*func7 = feature_words[w].subleaf;
		if (leaf < 0x40000000 && leaf > *level)
			*level = leaf;
		else if (leaf >= 0x80000000 && leaf < 0xc0000000 && leaf > *xlevel)
			*xlevel = leaf;
	}
	/* XSAVE is described in leaf 0xD even with no 0xD.1 feature enabled. */
	if (has(fs, "xsave") && *level < 0xd)
		*level = 0xd;
}

/*
 * Leaves that describe a feature and mean nothing without it.  Without the
 * feature, QEMU under KVM still writes `zero_subleaves` zero entries where
 * the level reaches the leaf (kvm_arch_init_vcpu).  For most leaves that
 * reads the same as no entry, but not for SGX: KVM rewrites an existing
 * CPUID.(12H,1):ECX:EDX (the allowed enclave XFRM) to x87|SSE plus the
 * guest's XCR0 bits (kvm_vcpu_after_set_cpuid), so a Snowridge guest reads
 * ECX 3 under QEMU, and must under skyvm.
 */
static const struct {
	uint32_t leaf;
	const char *feature;
	uint32_t zero_subleaves;
} feature_leaves[] = {
	{ 0x12, "sgx", 2 },          /* SGX capabilities and EPC */
	{ 0x14, "intel-pt", 0 },     /* Processor Trace */
	{ 0x1d, "amx-tile", 0 },     /* tile palette */
	{ 0x1e, "amx-tile", 0 },     /* TMUL */
	{ 0x24, "avx10", 0 },        /* AVX10 version and vector lengths */
	{ 0x29, "apxf", 0 },         /* APX sub-features */
	{ 0x8000000a, "svm", 0 },    /* SVM revision and ASIDs */
	/*
	 * Not here, as in QEMU: leaf 5 (written below whether or not MONITOR is
	 * on), 0x8000001D (cpu/cache.c) and 0x8000001E (cpu/topology.c), which
	 * exist wherever the levels reach them, topoext or not.
	 */
};

/*
 * Remove what the model does not reach, or describes nothing it enables.
 * Returns 0, or -1 when the table is full.
 */
static int trim(struct cpuid_table *t, uint32_t level, uint32_t xlevel,
		const struct cpu_featureset *fs)
{
	uint32_t out = 0;

	for (uint32_t i = 0; i < t->nent; i++) {
		uint32_t f = t->ent[i].function;
		bool keep;

		if (f < 0x40000000)
			keep = f <= level;
		else if (f < 0x80000000)
			keep = false; /* hypervisor leaves are ours: rebuilt below */
		else if (f < 0xc0000000)
			keep = f <= xlevel;
		else
			keep = fs->w[FW_C000_0001_EDX] != 0; /* Centaur/Zhaoxin leaves */
		if (keep)
			t->ent[out++] = t->ent[i];
	}
	t->nent = out;
	for (size_t i = 0; i < sizeof(feature_leaves) / sizeof(feature_leaves[0]); i++) {
		uint32_t leaf = feature_leaves[i].leaf;

		if (has(fs, feature_leaves[i].feature))
			continue;
		cpuid_remove_leaf(t, leaf);
		if (leaf > (leaf < 0x80000000 ? level : xlevel))
			continue;
		for (uint32_t sub = 0; sub < feature_leaves[i].zero_subleaves; sub++)
			if (!cpuid_get_or_add(t, leaf, sub, true))
				return -1;
	}
	/* CPUID.0AH architectural PMU: skyvm offers no vPMU (QEMU's pmu=off). */
	cpuid_remove_leaf(t, 0xa);
	/* CPUID.8000001FH SEV: not offered. */
	cpuid_remove_leaf(t, 0x8000001f);
	return 0;
}

/*
 * CPUID.07H:EAX max subleaf: the model's (QEMU's cpuid_level_func7, which
 * counts features the host then filtered out: a Cooperlake guest on a host
 * without avx512-bf16 still reads 1 and a zero subleaf 1), or higher to
 * reach every enabled word.
 */
static void leaf7_subleaves(struct cpuid_table *t, const struct cpu_def *def,
			    const struct cpu_featureset *fs)
{
	uint32_t level, xlevel, max, out = 0;
	struct kvm_cpuid_entry2 *e;

	cpu_min_levels(fs, &level, &xlevel, &max);
	if (def->level_func7 > max)
		max = def->level_func7;
	for (uint32_t i = 0; i < t->nent; i++)
		if (t->ent[i].function != 7 || t->ent[i].index <= max)
			t->ent[out++] = t->ent[i];
	t->nent = out;
	e = cpuid_find(t, 7, 0);
	if (e)
		e->eax = max;
}

static int kvm_leaves(struct cpuid_table *t, const struct cpu_featureset *fs)
{
	struct kvm_cpuid_entry2 *e = cpuid_get_or_add(t, KVM_CPUID_SIGNATURE, 0, false);
	uint32_t ebx, ecx, edx;

	if (!e)
		return -1;
	/* CPUID.40000000H: EAX max hypervisor leaf, EBX:ECX:EDX "KVMKVMKVM\0\0\0" */
	cpu_vendor_encode("KVMKVMKVM", &ebx, &ecx, &edx);
	e->eax = KVM_CPUID_FEATURES;
	e->ebx = ebx;
	e->ecx = edx; /* the signature is stored EBX, ECX, EDX in order */
	e->edx = ecx;
	e = cpuid_get_or_add(t, KVM_CPUID_FEATURES, 0, false);
	if (!e)
		return -1;
	/* CPUID.40000001H: EAX KVM PV features, EDX hints (EBX, ECX reserved) */
	e->eax = fs->w[FW_KVM_FEATURES];
	e->ebx = 0;
	e->ecx = 0;
	e->edx = fs->w[FW_KVM_HINTS];
	return 0;
}

static struct kvm_cpuid_entry2 *reset_leaf(struct cpuid_table *t, uint32_t leaf);

/*
 * AMX tile and TMUL leaves as QEMU writes them (cpu_x86_cpuid 0x1D/0x1E):
 * one palette of 8 KiB in 8 tiles of 16 rows of 64 bytes; TMUL K 16, N 64.
 */
static int amx_leaves(struct cpuid_table *t, const struct cpu_featureset *fs,
		      const struct cpuid_table *supported)
{
	struct kvm_cpuid_entry2 *e;

	cpuid_remove_leaf(t, 0x1d);
	cpuid_remove_leaf(t, 0x1e);
	e = cpuid_get_or_add(t, 0x1d, 0, true);
	if (!e)
		return -1;
	e->eax = 1; /* CPUID.(EAX=1DH,ECX=0):EAX highest palette */
	e = cpuid_get_or_add(t, 0x1d, 1, true);
	if (!e)
		return -1;
	/* palette 1: EAX total tile bytes | bytes per tile << 16, EBX bytes per row | names << 16,
	 * ECX max rows */
	e->eax = 0x2000 | 0x400u << 16;
	e->ebx = 0x40 | 8u << 16;
	e->ecx = 0x10;
	e = cpuid_get_or_add(t, 0x1e, 0, true);
	if (!e)
		return -1;
	e->ebx = 0x10 | 0x40u << 8; /* CPUID.(EAX=1EH,ECX=0):EBX TMUL max K, max N */
	/*
	 * CPUID.(EAX=1EH,ECX=0):EAX highest subleaf: the host's, whatever the
	 * model enables there (QEMU 11.0's cpu_x86_cpuid(0x1E) takes it from
	 * x86_cpu_get_supported_cpuid(0x1E, 0)); (EAX=1EH,ECX=1):EAX the TMUL
	 * features the model enables.  Subleaves past 1 are QEMU's zeros, which
	 * is what the guest reads without an entry.
	 */
	e->eax = cpuid_value(supported, 0x1e, 0, CPUID_EAX);
	if (e->eax >= 1) {
		e = cpuid_get_or_add(t, 0x1e, 1, true);
		if (!e)
			return -1;
		e->eax = fs->w[FW_1E_1_EAX];
	}
	return 0;
}

/*
 * AVX10 version: the model's, never above what the host reports (QEMU's
 * x86_cpu_filter_features() lowers it).  host and max carry the host's
 * (cpu/pipeline.c); a named model without `avx10-version` has 0, as in
 * QEMU, whose x86_cpu_load_model() sets the property only when the
 * definition has one.
 */
static uint32_t avx10_version(const struct cpu_def *def, const struct cpuid_table *supported)
{
	uint32_t host = cpuid_value(supported, 0x24, 0, CPUID_EBX) & 0xff;

	return def->avx10_version < host ? def->avx10_version : host;
}

/*
 * CPUID.(EAX=24H,ECX=0):EAX, the highest AVX10 subleaf: QEMU 11.0's
 * avx10_max_subleaf, set with the version asked for (builtin_avx10_defs[]:
 * avx10.1 has subleaf 0 only, avx10.2 subleaf 1 too) and not lowered when
 * the host's version is lower ("i386/cpu: Support AVX10.2 with AVX10
 * feature models").
 */
static uint32_t avx10_max_subleaf(const struct cpu_def *def)
{
	return def->avx10_version >= 2 ? 1 : 0;
}

static struct kvm_cpuid_entry2 *reset_leaf(struct cpuid_table *t, uint32_t leaf)
{
	struct kvm_cpuid_entry2 *e;

	cpuid_remove_leaf(t, leaf);
	e = cpuid_get_or_add(t, leaf, 0, false);
	if (e)
		e->eax = e->ebx = e->ecx = e->edx = 0;
	return e;
}

/*
 * Physical address bits, QEMU's rule: host and max have the host's
 * (host-phys-bits); every other model 40 with long mode (QEMU's default,
 * whatever the host has), else 36 with PSE-36, else 32.
 */
static uint32_t phys_bits(const struct cpu_def *def, const struct cpu_featureset *enabled,
			  const struct cpuid_table *supported)
{
	if (def->kind == CPU_DEF_HOST || def->kind == CPU_DEF_MAX) {
		uint32_t host = cpuid_value(supported, 0x80000008, 0, CPUID_EAX) & 0xff;

		return host ? host : 40;
	}
	if (has(enabled, "lm"))
		return 40;
	return has(enabled, "pse36") ? 36 : 32;
}

int cpu_build_table(struct cpuid_table *t, const struct cpuid_table *supported,
		    const struct cpu_def *def, const struct cpu_featureset *enabled)
{
	struct kvm_cpuid_entry2 *e;
	uint32_t vb, vc, vd, sig = cpu_signature_encode(def->family, def->model, def->stepping);

	*t = *supported;
	if (trim(t, def->level, def->xlevel, enabled) < 0)
		goto full;
	if (featureset_to_cpuid(enabled, t) < 0)
		return -1;
	/* Words of leaves past an explicit level=/xlevel= stay out of reach. */
	if (trim(t, def->level, def->xlevel, enabled) < 0)
		goto full;
	cpu_vendor_encode(def->vendor, &vb, &vc, &vd);
	e = cpuid_get_or_add(t, 0, 0, false);
	if (!e)
		goto full;
	/* CPUID.00H: EAX max basic leaf (level), EBX/EDX/ECX vendor */
	e->eax = def->level;
	e->ebx = vb;
	e->ecx = vc;
	e->edx = vd;
	e = cpuid_get_or_add(t, 1, 0, false);
	if (!e)
		goto full;
	/* CPUID.01H:EAX family/model/stepping */
	e->eax = sig;
	/* CPUID.01H:EBX[15:8] CLFLUSH line size in 8-byte units: 64 bytes (QEMU: always) */
	e->ebx = (e->ebx & ~0xff00u) | 8u << 8;
	/* CPUID.01H:EBX[7:0] brand index: none (the brand string is used) */
	e->ebx &= ~0xffu;
	/* CPUID.01H:ECX[27] OSXSAVE: KVM derives it from the guest's CR4 */
	e->ecx &= ~CPUID_1_ECX_OSXSAVE;
	if (def->level >= 5) {
		e = reset_leaf(t, 5);
		if (!e)
			goto full;
		/*
		 * CPUID.05H MONITOR/MWAIT: line sizes 0, ECX[0] EMX (enumeration of
		 * extensions) and [1] IBE (interrupts break MWAIT), EDX no C-states:
		 * QEMU's constant answer under KVM, MONITOR on or off.
		 */
		e->ecx = 0x3;
	}
	if (def->level >= 6 && (e = cpuid_find(t, 6, 0))) {
		/* CPUID.06H: EAX is the feature word; EBX/ECX/EDX (thresholds, EPB, ...) 0 */
		e->ebx = e->ecx = e->edx = 0;
	}
	if (def->level >= 9 && (e = cpuid_find(t, 9, 0)))
		e->eax = e->ebx = e->ecx = e->edx = 0; /* CPUID.09H direct cache access: none */
	if (def->level >= 7)
		leaf7_subleaves(t, def, enabled);
	/*
	 * CPUID.1FH V2 extended topology, QEMU's rule (x86_has_cpuid_0x1f():
	 * x-force-cpuid-0x1f, or a topology with modules or dies, which skyvm's
	 * has not): with x-force-cpuid-0x1f (QEMU 10.1's newer Intel and
	 * Zhaoxin versions) it exists on any host, and cpu/topology.c writes
	 * its levels per vCPU; without it there is no entry, even for host and
	 * max on a host that has one (kvm_x86_build_cpuid() skips the leaf), so
	 * the guest reads zeros there while the level reaches it.
	 */
	cpuid_remove_leaf(t, 0x1f);
	if (def->force_0x1f && def->level >= 0x1f && !cpuid_get_or_add(t, 0x1f, 0, true))
		goto full;
	if (def->level >= 0x1d && has(enabled, "amx-tile") && amx_leaves(t, enabled, supported) < 0)
		goto full;
	if (def->level >= 0x24 && has(enabled, "avx10")) {
		uint32_t word = cpuid_value(t, 0x24, 0, CPUID_EBX) & ~0xffu;

		e = reset_leaf(t, 0x24);
		if (!e)
			goto full;
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		/*
		 * CPUID.(EAX=24H,ECX=0): EAX the highest subleaf (by the version
		 * asked for); EBX[7:0] the AVX10 version (the model's, at most the
		 * host's), EBX[18:16] the vector lengths (feature bits, already
		 * written)
		 */
		e->eax = avx10_max_subleaf(def);
		e->ebx = word | avx10_version(def, supported);
		if (e->eax >= 1) {
			/* (EAX=24H,ECX=1):ECX the AVX10.2 features left after filtering */
			e = cpuid_get_or_add(t, 0x24, 1, true);
			if (!e)
				goto full;
			e->eax = e->ebx = e->edx = 0;
			e->ecx = enabled->w[FW_24_1_ECX];
		}
	}
	if (def->level >= 0x29 && has(enabled, "apxf")) {
		uint32_t word = enabled->w[FW_29_0_EBX];

		e = reset_leaf(t, 0x29);
		if (!e)
			goto full;
		e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		/* CPUID.(EAX=29H,ECX=0): EBX the APX sub-features, the rest 0 (QEMU) */
		e->ebx = word;
	}
	if (def->level >= 0xd && cpu_xsave_leaf(t, supported, enabled) < 0)
		return -1;
	if (def->xlevel >= 0x80000000) {
		e = cpuid_get_or_add(t, 0x80000000, 0, false);
		if (!e)
			goto full;
		/* CPUID.80000000H: EAX max extended leaf (xlevel); vendor as QEMU does */
		e->eax = def->xlevel;
		e->ebx = vb;
		e->ecx = vc;
		e->edx = vd;
	}
	if (def->xlevel >= 0x80000001) {
		e = cpuid_get_or_add(t, 0x80000001, 0, false);
		if (!e)
			goto full;
		/* CPUID.80000001H:EAX extended signature: the same family/model/stepping */
		e->eax = sig;
		/* CPUID.80000001H:EBX brand id / package type: the host's mean nothing here */
		e->ebx = 0;
		/* CPUID.80000001H:EDX AMD aliases of leaf-1 EDX bits: on AMD, copy them */
		e->edx &= ~CPUID_8000_0001_EDX_AMD_ALIASES;
		if (cpu_vendor_is_amd(def->vendor))
			e->edx |= cpuid_value(t, 1, 0, CPUID_EDX) & CPUID_8000_0001_EDX_AMD_ALIASES;
	}
	if (def->xlevel >= 0x80000004 && def->model_id[0]) {
		uint32_t regs[12];

		cpu_brand_encode(def->model_id, regs);
		for (int i = 0; i < 3; i++) {
			e = cpuid_get_or_add(t, 0x80000002 + i, 0, false);
			if (!e)
				goto full;
			/* CPUID.80000002H-80000004H processor brand string */
			e->eax = regs[4 * i];
			e->ebx = regs[4 * i + 1];
			e->ecx = regs[4 * i + 2];
			e->edx = regs[4 * i + 3];
		}
	}
	if (def->xlevel >= 0x80000007 && (e = cpuid_find(t, 0x80000007, 0))) {
		/* CPUID.80000007H: EBX/EDX are feature words; EAX, ECX (power reporting) 0 */
		e->eax = e->ecx = 0;
	}
	e = def->xlevel >= 0x80000008 ? cpuid_find(t, 0x80000008, 0) : NULL;
	if (e) {
		/* CPUID.80000008H:EAX[7:0] physical, [15:8] linear address bits; EDX 0 */
		e->eax = phys_bits(def, enabled, supported);
		if (has(enabled, "lm"))
			e->eax |= (has(enabled, "la57") ? 57u : 48u) << 8;
		e->edx = 0;
	}
	if (def->xlevel >= 0x8000000a && has(enabled, "svm") &&
	    (e = cpuid_find(t, 0x8000000a, 0))) {
		/* CPUID.8000000AH: EAX SVM revision 1, EBX 16 ASIDs, ECX 0 (QEMU's values) */
		e->eax = 1;
		e->ebx = 0x10;
		e->ecx = 0;
	}
	if (kvm_leaves(t, enabled) < 0)
		goto full;
	cpuid_sort(t);
	return 0;
full:
	return err_set("CPUID table full (%d entries)", CPUID_MAX_ENTRIES);
}
