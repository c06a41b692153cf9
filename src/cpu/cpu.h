/* SPDX-License-Identifier: MIT */
/*
 * The CPU model pipeline: from `--cpu MODEL[,opts]` and the host's
 * KVM_GET_SUPPORTED_CPUID to one CPUID table per vCPU.
 *
 * The stages, in order (each a function in src/cpu/, each testable without
 * /dev/kvm on a recorded supported-CPUID blob):
 *   1. supported   KVM_GET_SUPPORTED_CPUID (kvm/kvm.c grows the buffer on E2BIG)
 *   2. fixups      host quirks, in one place (cpu/fixups.c): TSC-deadline and
 *                  topoext offered, kvm-msi-ext-dest-id never
 *   3. model       named model (the host's vendor, as QEMU under KVM),
 *                  host/max/base, or file:PATH (cpu/models.c, cpu/custom.c)
 *   4. options     +f -f f=on|off vendor= family= ... (cpu/spec.c); -f beats +f
 *   5. deps        a table of {from, to}: when from is off, to is cleared (cpu/deps.c)
 *   6. filter      drop what the host lacks; one warning each; enforce = error
 *   7. migratable  drop unmigratable and nameless bits when migratable=on
 *   8. normalise   vendor/max leaf, brand, xsave sizes, KVM PV leaves, the
 *                  leaves QEMU writes itself (cpu/normalise.c), the caches
 *                  (cpu/cache.c), then per vCPU APIC ids and topology
 *                  (cpu/topology.c)
 *   9. KVM_SET_CPUID2 on each vCPU before its first KVM_RUN (kvm/vcpu.c)
 */
#ifndef SKYVM_CPU_CPU_H
#define SKYVM_CPU_CPU_H

#include <stdbool.h>
#include <stdio.h>

#include "cpu/cpuid.h"
#include "cpu/features.h"
#include "cpu/fixups.h"
#include "cpu/models.h"

struct cpu_topology {
	unsigned cpus;    /* vCPUs to create */
	unsigned sockets; /* 0 = derive */
	unsigned cores;   /* per socket; 0 = derive */
	unsigned threads; /* per core; 0 = derive */
};

struct cpu_result {
	struct cpu_def def;              /* the model after options */
	struct cpu_featureset requested; /* what model + options asked for */
	struct cpu_featureset enabled;   /* what the guest gets */
	struct cpu_featureset filtered;  /* dropped: host does not support */
	struct cpu_featureset unmigratable; /* dropped by migratable=on */
	struct cpu_featureset user;      /* bits named explicitly (options, custom file) */
	struct cpu_featureset dependent; /* cleared: a prerequisite is off (cpu/deps.h) */
	struct cpuid_table table;        /* before per-vCPU normalisation */
	struct cpu_topology topo;        /* resolved: sockets*cores*threads >= cpus */
	bool enforce;
	bool migratable;
	char warnings[4096];             /* every warning line written to `warn`, '\n'-ended */
};

/*
 * Run stages 2-7 for `spec` against `supported` (as KVM returned it: the
 * host fix-ups for this host are applied here), for the vCPUs of `topo`
 * (cpus >= 1; sockets/cores/threads 0 = derive, see cpu/topology.h).
 * Warnings (filtered features, dependencies, ambiguous option strings) go to
 * `warn` (NULL = silent), one line each, in QEMU's words after skyvm's prefix:
 *   skyvm: warning: host doesn't support requested feature: CPUID.07H:EBX.avx512f [bit 16]
 * and are kept, without the prefix, in out->warnings.
 * Returns 0, or -1 with err_msg() set (unknown model/feature with
 * suggestions, malformed option, bad model file, topology that cannot hold
 * the vCPUs, enforce with the list of missing features).
 *
 * For `skyvm run`: cpu_host_supported_fd() -> cpu_configure() -> per vCPU
 * cpu_apic_id() (KVM_CREATE_VCPU id, MADT) and cpu_vcpu_cpuid() (KVM_SET_CPUID2
 * before the first KVM_RUN).
 */
int cpu_configure(const char *spec, const struct cpuid_table *supported,
		  const struct cpu_topology *topo, struct cpu_result *out, FILE *warn);
/*
 * cpu_configure() with the host facts given instead of probed: for a
 * recorded dump of another host (cpu_host_facts_default()) and for tests.
 * cpu_configure() probes this host (cpu_host_facts_probe()), which is right
 * for `skyvm run` and `cpu show` without --supported.
 */
int cpu_configure_with(const char *spec, const struct cpuid_table *supported,
		       const struct cpu_host_facts *facts, const struct cpu_topology *topo,
		       struct cpu_result *out, FILE *warn);

/*
 * Stage 8: the CPUID table of vCPU `index` (0-based, < r->topo.cpus), sorted,
 * ready for KVM_SET_CPUID2 (struct kvm_cpuid2 takes out->nent entries of
 * out->ent).  Returns 0, or -1 with err_msg() for an index out of range.
 */
int cpu_vcpu_cpuid(const struct cpu_result *r, unsigned index, struct cpuid_table *out);

/*
 * The APIC id of vCPU `index` under the resolved topology (r->topo): thread,
 * core and socket packed in ceil(log2) bit fields, as leaf 0xB reports.  Use
 * it for KVM_CREATE_VCPU's id and the MADT so they agree with CPUID.
 */
unsigned cpu_apic_id(const struct cpu_topology *topo, unsigned index);

#endif
