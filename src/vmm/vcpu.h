/* SPDX-License-Identifier: MIT */
/* One vCPU: creation, its thread and run loop, and the exit table. */
#ifndef SKYVM_VMM_VCPU_H
#define SKYVM_VMM_VCPU_H

#include <time.h>

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
/*
 * Join, waiting until `deadline` (CLOCK_MONOTONIC) at most and kicking again
 * meanwhile.  0 when the thread ended; -1 when it did not (left running).
 */
int vcpu_join_until(struct vcpu *v, const struct timespec *deadline);

/* Where a vCPU thread is (struct vcpu's `where`). */
enum vcpu_where {
	VCPU_AT_VMM = 0,      /* in skyvm's own code between exits */
	VCPU_AT_KVM_RUN,      /* in KVM_RUN (the guest runs, or KVM handles an exit) */
	VCPU_AT_PIO_READ,     /* in a device's port read handler */
	VCPU_AT_PIO_WRITE,
	VCPU_AT_MMIO_READ,    /* in a device's MMIO read handler */
	VCPU_AT_MMIO_WRITE,
	VCPU_AT_EXITED,
};
/* "in an MMIO write to virtio-net0 at 0xd0000050", and the like. */
void vcpu_where_text(struct vcpu *v, char *buf, size_t size);
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
