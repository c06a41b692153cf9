/* SPDX-License-Identifier: MIT */
/*
 * vCPU topology: sockets x cores x threads, the APIC ids that follow from
 * it, and the CPUID leaves that describe it (1.EBX, 0xB, 0x1F,
 * 0x80000008.ECX, 0x8000001E; the caches' sharing: cpu/cache.h).
 *
 * APIC ids are packed as the SDM's x2APIC topology enumeration expects:
 * thread in the low ceil(log2(threads)) bits, then the core, then the
 * socket, so ids have holes when a count is not a power of two.
 */
#ifndef SKYVM_CPU_TOPOLOGY_H
#define SKYVM_CPU_TOPOLOGY_H

#include <stdbool.h>

#include "cpu/cpu.h"

#define CPU_MAX_VCPUS 1024 /* KVM_MAX_VCPUS on x86 */

/*
 * Fill the zero fields of *in: with no sockets/cores/threads given, one
 * socket of `cpus` single-thread cores (QEMU 6.2+ prefers cores); else
 * missing sockets and threads are 1 and missing cores are what it takes.
 * cpus = 0 with a topology means sockets*cores*threads.  Returns 0, or -1
 * with err_msg() when the product is smaller than cpus or out of range.
 */
int cpu_topology_resolve(const struct cpu_topology *in, struct cpu_topology *out);

/* Bits of the APIC id holding the thread / the core (ceil(log2(n))). */
unsigned cpu_topology_smt_bits(const struct cpu_topology *t);
unsigned cpu_topology_core_bits(const struct cpu_topology *t);

/*
 * The topology fields every vCPU shares (0x80000001.ECX cmp-legacy,
 * 0x80000008.ECX, the 0x8000001E entry), in the shared table, as QEMU
 * writes them.  The cache leaves' sharing counts are cpu/cache.c's.
 * Returns 0, or -1 with err_msg() when t is full.
 */
int cpu_topology_shared_leaves(struct cpuid_table *t, const struct cpu_topology *topo);

/* Write the topology leaves of vCPU `index` into t (which holds the model). */
void cpu_topology_leaves(struct cpuid_table *t, const struct cpu_topology *topo, unsigned index,
			 bool amd);

#endif
