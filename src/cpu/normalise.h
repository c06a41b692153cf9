/* SPDX-License-Identifier: MIT */
/*
 * Stage 8 helpers: from a model (struct cpu_def + enabled features) and the
 * host's supported CPUID to the CPUID table every vCPU shares, and then the
 * per-vCPU fields (cpu/topology.h).  Each edit carries its SDM name.
 */
#ifndef SKYVM_CPU_NORMALISE_H
#define SKYVM_CPU_NORMALISE_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"

/* CPUID.01H:EAX from family/model/stepping (extended fields when needed). */
uint32_t cpu_signature_encode(uint32_t family, uint32_t model, uint32_t stepping);
void cpu_signature_decode(uint32_t eax, uint32_t *family, uint32_t *model, uint32_t *stepping);

/* Leaf 0 register order: EBX, EDX, ECX hold the 12 vendor characters. */
void cpu_vendor_encode(const char *vendor, uint32_t *ebx, uint32_t *ecx, uint32_t *edx);
void cpu_vendor_decode(const struct cpuid_table *t, char out[13]);
/* The same from leaf 0's (or 0x80000000's) registers. */
void cpu_vendor_from_regs(uint32_t ebx, uint32_t ecx, uint32_t edx, char out[13]);
bool cpu_vendor_is_amd(const char *vendor); /* AuthenticAMD or HygonGenuine */
/* CentaurHauls or "  Shanghai  " (QEMU's IS_ZHAOXIN_CPU) */
bool cpu_vendor_is_zhaoxin(const char *vendor);

/* 0x80000002-4: 48 bytes of brand string, NUL-padded. */
void cpu_brand_encode(const char *model_id, uint32_t regs[12]);
void cpu_brand_decode(const struct cpuid_table *t, char out[49]);

/*
 * The lowest level/xlevel that reaches every leaf an enabled feature lives
 * in, and the lowest leaf-7 subleaf count (CPUID.07H.0:EAX) that reaches
 * every leaf-7 word.
 */
void cpu_min_levels(const struct cpu_featureset *fs, uint32_t *level, uint32_t *xlevel,
		    uint32_t *func7);

/*
 * The table every vCPU shares: `supported` trimmed to the model's
 * level/xlevel, its feature words replaced by `enabled`, vendor, signature,
 * brand, leaf 0xD, the KVM leaves and the leaves that only exist with a
 * feature (SGX, PT, AMX, SVM, ...) rewritten.  Returns 0 or -1 (table full).
 */
int cpu_build_table(struct cpuid_table *t, const struct cpuid_table *supported,
		    const struct cpu_def *def, const struct cpu_featureset *enabled);

#endif
