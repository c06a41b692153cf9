/* SPDX-License-Identifier: MIT */
/*
 * Feature MSRs: read-only MSRs whose bits a CPU model sets like CPUID bits
 * (IA32_ARCH_CAPABILITIES, IA32_CORE_CAPABILITY), as QEMU's
 * MSR_FEATURE_WORDs.  Their names and bits are in the feature table
 * (cpu/features.c, the FW_ARCH_CAP... words); this file moves them between
 * KVM, the pipeline and the vCPU:
 *
 *   1. supported  KVM_GET_MSR_FEATURE_INDEX_LIST on /dev/kvm, then
 *                 KVM_GET_MSRS on /dev/kvm for every listed MSR the table
 *                 models (QEMU's kvm_arch_get_supported_msr_feature()), kept
 *                 in the supported table (struct cpuid_table .msrs)
 *   6. filter     the model's MSR words against those values, with the same
 *                 warnings and enforce as CPUID bits (cpu/filter.h)
 *   8. vCPU       the enabled MSR words of each MSR whose CPUID bit
 *                 (feature_word_info.gate) the guest has, in the vCPU's table,
 *                 written with KVM_SET_MSRS after KVM_SET_CPUID2 (vmm/vcpu.c),
 *                 as QEMU's kvm_init_msrs() does
 *
 * Everything but cpu_host_feature_msrs_fd() is pure, so every stage is
 * tested without KVM on a fake supported list (tests/unit/test_msrs.c).
 */
#ifndef SKYVM_CPU_MSRS_H
#define SKYVM_CPU_MSRS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cpu/cpuid.h"
#include "cpu/features.h"

/* The MSR indices the feature table models, each once, in table order. */
size_t cpu_feature_msr_indices(uint32_t *out, size_t max);

/*
 * Whether t's CPUID has the bit that lets a guest read feature MSR `index`
 * (feature_word_info.gate, e.g. arch-capabilities for 0x10A); false for an
 * MSR the table does not model.
 */
bool cpu_msr_gated(const struct cpuid_table *t, uint32_t index);

/* The value of MSR `index` in t's feature MSRs; false when t has none. */
bool cpu_msr_get(const struct cpuid_table *t, uint32_t index, uint64_t *value);
/* Set (add or replace) MSR `index` in t.  -1 with err_msg() when t is full. */
int cpu_msr_put(struct cpuid_table *t, uint32_t index, uint64_t value);

/*
 * Fill the supported table's feature MSRs from what KVM lists: `listed` is
 * KVM_GET_MSR_FEATURE_INDEX_LIST's answer, `read` reads one MSR's value
 * (KVM_GET_MSRS on /dev/kvm; returns 0, or -1 when KVM will not read it, and
 * the MSR is then left out).  Only MSRs the table models are kept.  Sets
 * t->msrs_known.  Returns 0, or -1 with err_msg().
 */
int cpu_feature_msrs_from_kvm(struct cpuid_table *t, const uint32_t *listed, size_t nlisted,
			      int (*read)(void *ctx, uint32_t index, uint64_t *value), void *ctx);
/* The same on an open /dev/kvm fd (KVM_CAP_GET_MSR_FEATURES absent: none listed). */
int cpu_host_feature_msrs_fd(int kvm_fd, struct cpuid_table *t);

/*
 * The MSR words of the host's supported set, from its table: the recorded
 * values (0 for an MSR KVM does not list), or, for a dump that records no
 * feature MSRs (msrs_known false), every bit: such a dump cannot say, so
 * nothing is filtered (`cpu show --supported` says so).  CPUID words are
 * left alone.
 */
void featureset_supported_msrs(struct cpu_featureset *s, const struct cpuid_table *supported);
/* The MSR words from t's feature MSRs (0 where t has none); CPUID words left alone. */
void featureset_from_msrs(struct cpu_featureset *s, const struct cpuid_table *t);

/*
 * Stage 8 for MSRs: into `out` (a vCPU table being built) the value of each
 * modelled MSR whose gate feature is enabled and which the host lists (or a
 * dump does not record): the enabled MSR words.  Other MSRs are not written,
 * so the guest reads KVM's own (and #GP without the gate).  Returns 0, or -1
 * with err_msg().
 */
int cpu_build_msrs(struct cpuid_table *out, const struct cpuid_table *supported,
		   const struct cpu_featureset *enabled);

#endif
