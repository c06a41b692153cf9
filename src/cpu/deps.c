/* SPDX-License-Identifier: MIT */
#include "cpu/deps.h"

#include <pthread.h>

#define WORD(from_, w_) { from_, NULL, w_ }
#define DEP(from_, to_) { from_, to_, 0 }

/*
 * From QEMU 7.2's feature_dependencies[] (the CPUID ones and the feature
 * MSRs; the VMX capability words are not modelled) first, then skyvm's own.
 */
const struct cpu_dependency cpu_dependencies[] = {
	/* QEMU: a feature MSR exists only where its CPUID bit announces it */
	WORD("arch-capabilities", FW_ARCH_CAP),
	WORD("arch-capabilities", FW_ARCH_CAP_HI),
	WORD("core-capability", FW_CORE_CAP),
	/* QEMU: XSAVE sub-features, Intel PT leaf, SVM leaf, SGX launch control */
	WORD("xsave", FW_D_1_EAX),
	WORD("intel-pt", FW_14_0_ECX),
	WORD("svm", FW_8000_000A_EDX),
	DEP("sgx", "sgxlc"),

	/* The XSAVE chain: state components exist only inside the XSAVE area. */
	DEP("xsave", "avx"),
	DEP("xsave", "pku"),
	DEP("xsave", "amx-tile"),
	DEP("avx", "avx2"),
	DEP("avx", "fma"),
	DEP("avx", "f16c"),
	DEP("avx", "vaes"),
	DEP("avx", "vpclmulqdq"),
	DEP("avx", "avx-vnni"),
	DEP("avx", "fma4"),
	DEP("avx", "xop"),
	DEP("avx", "avx512f"),
	/* AVX-512 extensions need the foundation (ZMM state, opmask). */
	DEP("avx512f", "avx512dq"),
	DEP("avx512f", "avx512ifma"),
	DEP("avx512f", "avx512cd"),
	DEP("avx512f", "avx512bw"),
	DEP("avx512f", "avx512vl"),
	DEP("avx512f", "avx512-4vnniw"),
	DEP("avx512f", "avx512-4fmaps"),
	DEP("avx512f", "avx512vbmi"),
	DEP("avx512f", "avx512vbmi2"),
	DEP("avx512f", "avx512vnni"),
	DEP("avx512f", "avx512bitalg"),
	DEP("avx512f", "avx512-vpopcntdq"),
	DEP("avx512f", "avx512-vp2intersect"),
	DEP("avx512f", "avx512-fp16"),
	DEP("avx512f", "avx512-bf16"),
	/* AMX: tile data/config are one state pair; the ops need it. */
	DEP("amx-tile", "amx-int8"),
	DEP("amx-tile", "amx-bf16"),
	DEP("amx-tile", "amx-fp16"),
	DEP("amx-tile", "amx-complex"),
	DEP("amx-tile", "amx-int8-alias"),
	DEP("amx-tile", "amx-bf16-alias"),
	DEP("amx-tile", "amx-complex-alias"),
	DEP("amx-tile", "amx-fp16-alias"),
	DEP("amx-tile", "amx-fp8"),
	DEP("amx-tile", "amx-tf32"),
	DEP("amx-tile", "amx-avx512"),
	DEP("amx-tile", "amx-movrs"),
	/* AVX10.2's subleaf 1 and APX's leaf 0x29 describe their feature (QEMU's deps). */
	DEP("avx10", "avx10-vnni-int"),
	DEP("xsave", "apxf"),
	DEP("apxf", "apx-nci-ndd-nf"),

	/*
	 * KVM PV: Linux enables PV TLB flush and PV sched-yield only with steal
	 * time (kvm_guest_init), and async-PF delivery by interrupt only with
	 * async PF itself.
	 */
	DEP("kvm-steal-time", "kvm-pv-tlb-flush"),
	DEP("kvm-steal-time", "kvm-pv-sched-yield"),
	DEP("kvm-asyncpf", "kvm-asyncpf-int"),
	DEP("kvm-asyncpf", "kvm-asyncpf-vmexit"),
};

#define NDEPS (sizeof(cpu_dependencies) / sizeof(cpu_dependencies[0]))

const size_t cpu_dependencies_count = NDEPS;

/*
 * The table's names resolved to features: cpu_feature_find() costs a hash and
 * a compare, and cpu_deps_apply() asks for every dependency on every pass.
 * The build resolves them (scripts/gen-cpu-index.c writes cpu_index.h); a
 * build without that header resolves them once at run time.  A name the
 * table does not know (a table typo) resolves to NULL: nothing.
 */
#if !defined(SKYVM_CPU_INDEX_GEN) && __has_include("cpu_index.h")
#define CPU_INDEX_WANT_DEPS
#include "cpu_index.h"
_Static_assert(CPU_INDEX_DEPS == NDEPS,
	       "cpu_index.h is stale: the Makefile regenerates it from deps.c");

static const struct cpu_feature *dep_from_at(size_t i)
{
	return dep_from_index[i] < 0 ? NULL : &cpu_features[dep_from_index[i]];
}

static const struct cpu_feature *dep_to_at(size_t i)
{
	return dep_to_index[i] < 0 ? NULL : &cpu_features[dep_to_index[i]];
}
#define ensure_resolved() ((void)0)
#else
static const struct cpu_feature *dep_from[NDEPS], *dep_to[NDEPS];
static pthread_once_t deps_resolved = PTHREAD_ONCE_INIT;

static void resolve_deps(void)
{
	for (size_t i = 0; i < NDEPS; i++) {
		dep_from[i] = cpu_feature_find(cpu_dependencies[i].from);
		dep_to[i] = cpu_dependencies[i].to ? cpu_feature_find(cpu_dependencies[i].to) : NULL;
	}
}

static const struct cpu_feature *dep_from_at(size_t i)
{
	return dep_from[i];
}

static const struct cpu_feature *dep_to_at(size_t i)
{
	return dep_to[i];
}
#define ensure_resolved() pthread_once(&deps_resolved, resolve_deps)
#endif

/* Dependency i's source feature is off in fs (ensure_resolved() has run). */
static bool dep_from_off(size_t i, const struct cpu_featureset *fs)
{
	const struct cpu_feature *from = dep_from_at(i);

	return from && !featureset_has(fs, from);
}

/* The to-mask of dependency i per word: one bit, or a whole word. */
static void dep_to_mask(size_t i, struct cpu_featureset *mask)
{
	const struct cpu_dependency *d = &cpu_dependencies[i];
	const struct cpu_feature *to = dep_to_at(i);

	if (!d->to) {
		mask->w[d->to_word] = ~0u;
		return;
	}
	if (to)
		featureset_set(mask, to, true);
}

void cpu_deps_apply(struct cpu_featureset *fs, struct cpu_featureset *cleared)
{
	bool changed = true;

	ensure_resolved();
	while (changed) {
		changed = false;
		for (size_t i = 0; i < NDEPS; i++) {
			struct cpu_featureset mask = { 0 };

			if (!dep_from_off(i, fs))
				continue;
			dep_to_mask(i, &mask);
			for (int w = 0; w < FW_COUNT; w++) {
				uint32_t drop = fs->w[w] & mask.w[w];

				if (!drop)
					continue;
				fs->w[w] &= ~drop;
				if (cleared)
					cleared->w[w] |= drop;
				changed = true;
			}
		}
	}
}

const char *cpu_deps_missing(const struct cpu_featureset *fs, enum feature_word w, unsigned bit)
{
	ensure_resolved();
	for (size_t i = 0; i < NDEPS; i++) {
		struct cpu_featureset mask = { 0 };

		if (!dep_from_off(i, fs))
			continue;
		dep_to_mask(i, &mask);
		if ((mask.w[w] >> bit) & 1u)
			return cpu_dependencies[i].from;
	}
	return NULL;
}
