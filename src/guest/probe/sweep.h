/* SPDX-License-Identifier: MIT */
/* The probe's CPUID sweep: every leaf and the subleaves each leaf defines. */
#ifndef SKYVM_GUEST_PROBE_SWEEP_H
#define SKYVM_GUEST_PROBE_SWEEP_H

#include <stdint.h>

struct sweep_summary {
	unsigned records;
	uint32_t max_basic, max_hypervisor, max_extended; /* 0 when the range is absent */
	char hypervisor[13];                              /* signature, "" when none */
	uint32_t kvm_features;                            /* 0x40000001.EAX when KVM */
	int kvm;                                          /* the signature is KVM's */
};

/* Send a CPUID record for every (leaf, subleaf) of the sweep. */
void cpuid_sweep(unsigned cpu, struct sweep_summary *s);

#endif
