/* SPDX-License-Identifier: MIT */
/*
 * This host's KVM_GET_SUPPORTED_CPUID: stage 1 of the CPU model pipeline
 * (see cpu/cpu.h).  The table is returned exactly as KVM reports it; host
 * quirks are applied later, in one place (cpu/fixups.h).
 */
#ifndef SKYVM_CPU_HOST_H
#define SKYVM_CPU_HOST_H

#include "cpu/cpuid.h"

/*
 * Fill `out` with KVM_GET_SUPPORTED_CPUID from /dev/kvm, growing the
 * request on E2BIG up to CPUID_MAX_ENTRIES.  Returns 0, or -1 with
 * err_msg() saying why (no /dev/kvm, no permission, an old KVM API).
 */
int cpu_host_supported(struct cpuid_table *out);

/*
 * Same, on an already open /dev/kvm (system) fd: for the VMM, which holds one.
 * Both also read the feature MSRs KVM supports (cpu/msrs.h) into out->msrs.
 */
int cpu_host_supported_fd(int kvm_fd, struct cpuid_table *out);

/*
 * This CPU's brand string (CPUID.80000002H-80000004H executed here, as
 * QEMU's host_cpu_fill_model_id does), NUL-terminated; "" when the CPU has
 * no brand leaves.
 */
void cpu_host_brand(char out[49]);

#endif
