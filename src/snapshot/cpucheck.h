/* SPDX-License-Identifier: MIT */
/*
 * Can this host (or a recorded one) take a snapshot's guest?  Before a
 * restore or an incoming migration, and offline in `skyvm snapshot check`:
 *
 *   - every CPUID feature bit any vCPU's saved table has must be one the
 *     host's KVM supports after skyvm's host fix-ups (cpu/fixups.h), except
 *     the bits that are the VMM's own to set (fleet_vmm_owned_features:
 *     the hypervisor bit, kvm-msi-ext-dest-id, the KVM hints, and the
 *     topology bits ht and cmp-legacy that --smp decides);
 *   - the XSAVE components the guest was offered (CPUID.0DH.0:EAX/EDX) must
 *     be the host's too, and the XSAVE area (CPUID.0DH.0:ECX) no larger.
 *
 *   - every bit of a feature MSR (cpu/msrs.h: ARCH_CAPABILITIES,
 *     CORE_CAPABILITY) that a vCPU's CPUID let the guest read, with the value
 *     the snapshot records (vcpuN.feature_msrs), must be one the host's KVM
 *     reports for that MSR (KVM_GET_MSRS on /dev/kvm, or a dump's
 *     feature_msrs); an MSR that cannot be checked (no value recorded on
 *     either side) is a problem of its own, "cannot check feature MSR ...".
 *
 * Each missing feature is one line in QEMU's words:
 *   host doesn't support requested feature: CPUID.07H:EBX.avx512f [bit 16]
 *   host doesn't support requested feature: MSR(10AH).mds-no [bit 5]
 * The TSC frequency and the other MSRs are checked where they are set, at restore
 * (snapshot/vmstate.c): a frequency KVM cannot set and more than 250 ppm off,
 * or an MSR KVM refuses, stops the restore before the guest runs.
 */
#ifndef SKYVM_SNAPSHOT_CPUCHECK_H
#define SKYVM_SNAPSHOT_CPUCHECK_H

#include <jansson.h>

#include "cpu/cpuid.h"
#include "cpu/features.h"
#include "cpu/fixups.h"

struct snap_cpu_verdict {
	struct cpu_featureset missing;
	unsigned nmissing;
	uint64_t missing_xcr0;    /* XSAVE components the host lacks */
	uint32_t guest_xsave_size, host_xsave_size;
	unsigned msrs_unchecked;  /* feature MSRs that could not be checked */
	unsigned nproblems;       /* everything wrong, features included */
	char text[16384];         /* one line per problem, '\n'-ended */
};

/* tables: ncpus saved tables; host: KVM_GET_SUPPORTED_CPUID (before fix-ups). */
void snapshot_cpu_check(const struct cpuid_table *tables, unsigned ncpus,
			const struct cpuid_table *host, const struct cpu_host_facts *facts,
			struct snap_cpu_verdict *out);
/*
 * {"compatible": bool, "missing": [{"feature","register","bit","text"}], "problems": [..],
 *  "feature_msrs_checked": bool, ...}; an MSR's "bit" counts in the 64-bit MSR.
 */
json_t *snapshot_cpu_verdict_json(const struct snap_cpu_verdict *v);

#endif
