/* SPDX-License-Identifier: MIT */
/* One vCPU: creation, its thread and run loop, and the exit table. */
#ifndef SKYVM_VMM_VCPU_H
#define SKYVM_VMM_VCPU_H

#include "vmm/vm.h"

/* Create vCPU `index` with KVM vcpu id = `apic_id`; set its CPUID, MSRs, FPU and,
 * for the BSP, the boot registers. */
int vcpu_create(struct vm *vm, struct vcpu *v, unsigned index, unsigned apic_id);
/* After the last vCPU exists: write each LAPIC once (LINT0 ExtINT, LINT1 NMI). */
int vcpus_init_lapics(struct vm *vm);
int vcpu_start(struct vcpu *v);
/* Make the vCPU leave KVM_RUN now and not enter it again. */
void vcpu_kick(struct vcpu *v);
void vcpu_join(struct vcpu *v);
void vcpu_destroy(struct vcpu *v);
/* Append `nwords` little-endian 32-bit words to the vCPU's probe stream. */
void vcpu_probe_append(struct vcpu *v, const uint8_t *data, size_t nwords);

/*
 * Append a human report of the vCPU's state (exit, RIP, registers,
 * instruction bytes) to buf.  Used when a guest ends badly.
 */
void vcpu_describe(struct vcpu *v, const uint8_t *insn, unsigned insn_len, char *buf,
		   size_t size);

#endif
