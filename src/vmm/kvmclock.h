/* SPDX-License-Identifier: MIT */
/*
 * The clock a guest has read, for pause, snapshot and migration.
 *
 * KVM_GET_CLOCK returns the host's view of kvmclock.  Where KVM runs a master
 * clock (KVM_CLOCK_TSC_STABLE in its flags: the host's clocksource is a
 * stable TSC) every vCPU's pvclock area agrees with it.  Where it does not
 * (an unstable TSC; nested KVM on a TCG host is one), each vCPU extrapolates
 * from its own last update with the guest TSC, and a guest may already have
 * read a value beyond KVM_GET_CLOCK's.  Restoring that smaller value would
 * make the guest's clock step back.  So, as QEMU does for an unreliable
 * clock, the value kept is the largest of KVM_GET_CLOCK and what each vCPU's
 * pvclock area gives with that vCPU's current TSC.
 */
#ifndef SKYVM_VMM_KVMCLOCK_H
#define SKYVM_VMM_KVMCLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct vm;

/* The pvclock ABI's per-vCPU area (32 bytes, guest memory). */
struct pvclock_area {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __attribute__((packed));

/*
 * The nanoseconds a guest reading `p` at guest TSC `tsc` computes; false when
 * the area is being updated (odd version) or was never written (version 0).
 */
bool pvclock_area_ns(const struct pvclock_area *p, uint64_t tsc, uint64_t *ns);

/*
 * The guest's clock now: KVM_GET_CLOCK, raised to every vCPU's pvclock
 * reading when KVM has no master clock.  Call with every vCPU out of
 * KVM_RUN.  0, or -1 (err_set) when KVM_GET_CLOCK fails.
 */
int vm_guest_clock_ns(struct vm *vm, uint64_t *ns);

#endif
