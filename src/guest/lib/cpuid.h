/* SPDX-License-Identifier: MIT */
/* The CPUID instruction. */
#ifndef SKYVM_GUEST_LIB_CPUID_H
#define SKYVM_GUEST_LIB_CPUID_H

#include <stdint.h>

struct cpuid_regs {
	uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid_count(uint32_t leaf, uint32_t subleaf)
{
	struct cpuid_regs r;

	__asm__ volatile("cpuid"
			 : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx)
			 : "a"(leaf), "c"(subleaf));
	return r;
}

static inline struct cpuid_regs cpuid(uint32_t leaf)
{
	return cpuid_count(leaf, 0);
}

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define KVM_CPUID_SIGNATURE 0x40000000u
#define KVM_CPUID_FEATURES 0x40000001u

/* CPUID.1:EAX decoded the way the OS shows it (extended fields folded in). */
struct cpu_signature {
	uint32_t family, model, stepping;
};

struct cpu_signature cpuid_signature(uint32_t leaf1_eax);
/* The hypervisor leaves are KVM's: 0x40000000 says "KVMKVMKVM\0\0\0". */
int cpuid_is_kvm(const struct cpuid_regs *leaf_40000000);

#endif
