/* SPDX-License-Identifier: MIT */
/*
 * Stage 5: feature dependencies.  A table of {from, to} (cpu/deps.c), as
 * QEMU's feature_dependencies[]: when `from` is off, `to` is cleared.  To
 * QEMU's entries skyvm adds the XSAVE chain (AVX state lives in the XSAVE
 * area, AVX-512 extends AVX, ...) and the Linux guest's own preconditions
 * for KVM PV features, so a guest never sees a feature it cannot use.
 */
#ifndef SKYVM_CPU_DEPS_H
#define SKYVM_CPU_DEPS_H

#include <stddef.h>

#include "cpu/features.h"

struct cpu_dependency {
	const char *from;        /* feature name */
	const char *to;          /* feature name, or NULL: the whole of to_word */
	enum feature_word to_word;
};

extern const struct cpu_dependency cpu_dependencies[];
extern const size_t cpu_dependencies_count;

/*
 * Clear in *fs everything whose prerequisite is off, to a fixed point
 * (xsave off clears avx, which clears avx2 and avx512f, ...).  The cleared
 * bits are ORed into *cleared (may be NULL).
 */
void cpu_deps_apply(struct cpu_featureset *fs, struct cpu_featureset *cleared);

/* The name of a prerequisite of (word, bit) that is off in *fs, or NULL. */
const char *cpu_deps_missing(const struct cpu_featureset *fs, enum feature_word w, unsigned bit);

#endif
