/* SPDX-License-Identifier: MIT */
/*
 * A CPUID table: the unit every CPU-model stage reads and writes.
 *
 * Entries are struct kvm_cpuid_entry2 exactly as KVM_GET_SUPPORTED_CPUID
 * returns them and KVM_SET_CPUID2 takes them, so no conversion sits between
 * the pipeline and the kernel.  An entry whose flags contain
 * KVM_CPUID_FLAG_SIGNIFCANT_INDEX is keyed by (function, index); others by
 * function alone (index ignored on lookup).
 */
#ifndef SKYVM_CPU_CPUID_H
#define SKYVM_CPU_CPUID_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stdint.h>

#define CPUID_MAX_ENTRIES 256

enum cpuid_reg { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };

/* A feature MSR and its value (cpu/msrs.h): one per MSR index. */
struct cpu_feature_msr {
	uint32_t index;
	uint64_t value;
};

#define CPU_FEATURE_MSRS_MAX 8

struct cpuid_table {
	uint32_t nent;
	struct kvm_cpuid_entry2 ent[CPUID_MAX_ENTRIES];
	/*
	 * The feature MSRs that travel with the CPUID (cpu/msrs.h).  In a
	 * supported table: what KVM_GET_MSRS on /dev/kvm returns for each
	 * modelled MSR that KVM_GET_MSR_FEATURE_INDEX_LIST lists, with
	 * msrs_known set (a dump without them leaves it false: not recorded).
	 * In a vCPU's table: the values KVM_SET_MSRS writes before KVM_RUN.
	 */
	bool msrs_known;
	uint32_t nmsrs;
	struct cpu_feature_msr msrs[CPU_FEATURE_MSRS_MAX];
};

/* The entry for (leaf, subleaf), or NULL. */
struct kvm_cpuid_entry2 *cpuid_find(struct cpuid_table *t, uint32_t leaf, uint32_t subleaf);
const struct kvm_cpuid_entry2 *cpuid_find_const(const struct cpuid_table *t, uint32_t leaf,
						uint32_t subleaf);
/* The entry for (leaf, subleaf), appended zeroed when absent; NULL when full. */
struct kvm_cpuid_entry2 *cpuid_get_or_add(struct cpuid_table *t, uint32_t leaf, uint32_t subleaf,
					  bool indexed);
/* Remove the entry/entries of a leaf (all subleaves). */
void cpuid_remove_leaf(struct cpuid_table *t, uint32_t leaf);
/* Register access by enum cpuid_reg. */
uint32_t *cpuid_reg_ptr(struct kvm_cpuid_entry2 *e, enum cpuid_reg r);
uint32_t cpuid_reg_get(const struct kvm_cpuid_entry2 *e, enum cpuid_reg r);
/* Read a register of (leaf, subleaf); 0 when the entry is absent. */
uint32_t cpuid_value(const struct cpuid_table *t, uint32_t leaf, uint32_t subleaf,
		     enum cpuid_reg r);
/* Sort by (function, index): stable output for show/dumps/tests. */
void cpuid_sort(struct cpuid_table *t);
const char *cpuid_reg_name(enum cpuid_reg r); /* "EAX" ... */

#endif
