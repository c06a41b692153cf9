/* SPDX-License-Identifier: MIT */
/*
 * The one table of named CPUID bits.
 *
 * Every feature name skyvm knows lives in features.c and nowhere else:
 * parsing, warnings, `cpu features`, JSON and docs all read it.  Bits are
 * grouped into feature words, one per (leaf, subleaf, register) that QEMU
 * names; a feature set is one uint32_t per word (struct cpu_featureset).
 */
#ifndef SKYVM_CPU_FEATURES_H
#define SKYVM_CPU_FEATURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/cpuid.h"

enum feature_word {
	FW_1_EDX,
	FW_1_ECX,
	FW_6_EAX,
	FW_7_0_EBX,
	FW_7_0_ECX,
	FW_7_0_EDX,
	FW_7_1_EAX,
	FW_7_1_EDX,
	FW_7_2_EDX,
	FW_D_1_EAX,
	FW_14_0_ECX,
	FW_24_0_EBX,
	FW_24_1_ECX,
	FW_1E_1_EAX,
	FW_29_0_EBX,
	FW_8000_0001_EDX,
	FW_8000_0001_ECX,
	FW_8000_0007_EDX,
	FW_8000_0007_EBX,
	FW_8000_0008_EBX,
	FW_8000_0021_EAX,
	FW_8000_0021_EBX,
	FW_8000_0022_EAX,
	FW_C000_0001_EDX,
	FW_8000_000A_EDX,
	FW_KVM_FEATURES, /* 0x40000001.EAX */
	FW_KVM_HINTS,    /* 0x40000001.EDX */
	/*
	 * Feature MSRs (QEMU's MSR_FEATURE_WORDs): read-only MSRs whose bits a
	 * model sets like CPUID bits, filtered against what KVM reports for them
	 * on /dev/kvm and written to each vCPU (cpu/msrs.h).  A 64-bit MSR is
	 * two words, as QEMU splits XCR0 into LO and HI.
	 */
	FW_ARCH_CAP,     /* IA32_ARCH_CAPABILITIES (0x10A) bits 0-31 */
	FW_ARCH_CAP_HI,  /* IA32_ARCH_CAPABILITIES bits 32-63 */
	FW_CORE_CAP,     /* IA32_CORE_CAPABILITY (0xCF) bits 0-31 */
	FW_COUNT
};

struct feature_word_info {
	uint32_t leaf;
	uint32_t subleaf;
	bool indexed; /* subleaf is significant */
	enum cpuid_reg reg;
	const char *label; /* "CPUID.07H:EBX" (or "MSR(10AH)") as QEMU prints it */
	/*
	 * An MSR word: the MSR's index (leaf, subleaf and reg unused), and which
	 * of its bits bit 0 of the word is (0 or 32).  0: a CPUID word.
	 */
	uint32_t msr;
	uint8_t msr_shift;
	/* An MSR word: the CPUID feature that announces the MSR (a guest without it gets #GP) */
	const char *gate;
};

/* Per-bit flags. */
#define FEAT_UNMIGRATABLE (1u << 0) /* e.g. invtsc: blocks migration */
#define FEAT_KVM_PV (1u << 1)       /* a KVM paravirt feature (0x40000001) */
#define FEAT_NEEDS_HYPERCALL (1u << 2) /* guest code uses vmcall (pv-unhalt, pv-ipi, ...) */

struct cpu_feature {
	const char *name;     /* QEMU's spelling, e.g. "avx512f" */
	enum feature_word word;
	uint8_t bit;
	uint32_t flags;
	const char *aliases[3]; /* other accepted spellings, NULL-terminated */
};

struct cpu_featureset {
	uint32_t w[FW_COUNT];
};

extern const struct feature_word_info feature_words[FW_COUNT];

/* Whether word w is a feature MSR word (no CPUID leaf behind it). */
static inline bool feature_word_is_msr(int w)
{
	return feature_words[w].msr != 0;
}
extern const struct cpu_feature cpu_features[];
extern const size_t cpu_features_count;

/*
 * Look a feature up by name or alias.  '_' and '-' are equivalent and case is
 * ignored (QEMU accepts "sse4_1", "sse4.1", "sse4-1").  NULL when unknown.
 */
const struct cpu_feature *cpu_feature_find(const char *name);
/*
 * Every entry carrying `name` or alias (QEMU's "kvmclock" names two bits of
 * 0x40000001.EAX, and setting it sets both); returns how many were written.
 */
size_t cpu_feature_find_all(const char *name, const struct cpu_feature **out, size_t max);
/* The named feature at (word, bit), or NULL for a nameless bit. */
const struct cpu_feature *cpu_feature_at(enum feature_word w, unsigned bit);
/*
 * Up to `max` known names closest to an unknown one (edit distance), best
 * first; returns how many were written.
 */
size_t cpu_feature_suggest(const char *unknown, const char **out, size_t max);

/* Whether any bit carrying `name` (e.g. either kvmclock MSR pair) is set in s. */
bool featureset_has_name(const struct cpu_featureset *s, const char *name);

static inline bool featureset_has(const struct cpu_featureset *s, const struct cpu_feature *f)
{
	return (s->w[f->word] >> f->bit) & 1u;
}
static inline void featureset_set(struct cpu_featureset *s, const struct cpu_feature *f, bool on)
{
	if (on)
		s->w[f->word] |= 1u << f->bit;
	else
		s->w[f->word] &= ~(1u << f->bit);
}

/*
 * CPUID bits that are no feature a model or user sets, named once here so
 * that no other file spells a bit number: the OS's CR4 mirrors (KVM fills
 * them at run time) and AMD's copies of leaf-1 EDX bits in 0x80000001.EDX
 * (fpu ... pse36, mmx, fxsr), which follow leaf 1 on an AMD vendor.
 */
#define CPUID_1_ECX_OSXSAVE (1u << 27)   /* CPUID.01H:ECX[27] = CR4.OSXSAVE */
#define CPUID_7_0_ECX_OSPKE (1u << 4)    /* CPUID.07H:ECX[4] = CR4.PKE */
#define CPUID_8000_0001_EDX_AMD_ALIASES 0x0183f3ffu

/* Read the feature words out of a CPUID table / write them into one. */
void featureset_from_cpuid(struct cpu_featureset *s, const struct cpuid_table *t);
int featureset_to_cpuid(const struct cpu_featureset *s, struct cpuid_table *t);

#endif
