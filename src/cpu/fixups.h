/* SPDX-License-Identifier: MIT */
/*
 * Stage 2: host fix-ups of the supported CPUID, all in one place.
 *
 * KVM_GET_SUPPORTED_CPUID is not quite "what a guest may be given": some
 * bits KVM provides are reported elsewhere (TSC-deadline through
 * KVM_CAP_TSC_DEADLINE_TIMER, the hypervisor bit and the KVM hints are the
 * VMM's own to set), and some hosts cannot honour bits they report (a PVM
 * host never returns from vmcall).  Each quirk is a named function taking
 * its decision as a parameter, so tests exercise both sides on any machine.
 */
#ifndef SKYVM_CPU_FIXUPS_H
#define SKYVM_CPU_FIXUPS_H

#include <stdbool.h>

#include "cpu/cpuid.h"

struct cpu_host_facts {
	bool hypercalls_hang;    /* vmcall never returns (PVM: /sys/module/kvm_pvm) */
	bool tsc_deadline_timer; /* KVM_CAP_TSC_DEADLINE_TIMER (in-kernel LAPIC) */
	/*
	 * The host's brand string, from the CPUID instruction (KVM's supported
	 * table has zeros there); "" = unknown: the supported table's, if any.
	 * `host` and `max` show it, as QEMU's do.
	 */
	char brand[49];
};

/*
 * Facts about the host skyvm runs on.  A recorded dump describes another
 * host: use cpu_host_facts_default() for it.
 */
void cpu_host_facts_probe(struct cpu_host_facts *out);
/* Hardware KVM: hypercalls work, TSC-deadline emulated (every KVM since 3.x). */
void cpu_host_facts_default(struct cpu_host_facts *out);

/*
 * Clear every KVM PV feature whose guest side issues vmcall (flag
 * FEAT_NEEDS_HYPERCALL: kvm-pv-unhalt, kvm-pv-tlb-flush, kvm-pv-ipi,
 * kvm-pv-sched-yield) when `hypercalls_hang`; otherwise leave `t` alone.
 */
void cpu_fixup_hypercall_features(struct cpuid_table *t, bool hypercalls_hang);
/* CPUID.01H:ECX[24] TSC-Deadline: KVM reports it by capability, not CPUID. */
void cpu_fixup_tsc_deadline(struct cpuid_table *t, bool tsc_deadline_timer);
/*
 * CPUID.01H:ECX[31] hypervisor and 0x40000001.EDX hints: the VMM's to set;
 * kvm-msi-ext-dest-id: never, skyvm's IOAPIC being KVM's in-kernel one.
 */
void cpu_fixup_vmm_bits(struct cpuid_table *t);
/*
 * topoext (CPUID.80000001H:ECX): always offered, as QEMU does under KVM
 * (kvm_arch_get_supported_cpuid), because the leaves it announces
 * (0x8000001D, 0x8000001E) are written by skyvm from the model and the
 * topology, not taken from the host.  So EPYC-Rome runs with it on a host
 * whose KVM does not report it.  `host` and `max` still do not turn it on
 * by themselves (pipeline.c).
 */
void cpu_fixup_topoext(struct cpuid_table *t);

/* All of the above, in order.  Returns 0, or -1 when leaf 0 or 1 is missing. */
int cpu_host_fixups(struct cpuid_table *t, const struct cpu_host_facts *facts);

#endif
