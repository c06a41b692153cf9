/* SPDX-License-Identifier: MIT */
/*
 * KVM's paravirtual clock (MSR_KVM_SYSTEM_TIME_NEW, pvclock ABI) and wall
 * clock (MSR_KVM_WALL_CLOCK_NEW): one pvclock area per CPU.
 */
#ifndef SKYVM_GUEST_LIB_KVMCLOCK_H
#define SKYVM_GUEST_LIB_KVMCLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct __attribute__((packed)) pvclock_vcpu_time_info {
	uint32_t version; /* odd while the host updates it */
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
};

struct __attribute__((packed)) pvclock_wall_clock {
	uint32_t version, sec, nsec;
};

#define PVCLOCK_TSC_STABLE_BIT 0x01
#define PVCLOCK_GUEST_STOPPED 0x02

struct kvmclock_reading {
	uint64_t ns;
	uint32_t version;
	uint8_t flags;
	uint64_t base; /* the area's system_time: what KVM itself published */
};

/* This CPU's pvclock area (32-byte aligned, never crosses a page). */
volatile struct pvclock_vcpu_time_info *kvmclock_area(unsigned cpu);
/* Register this CPU's area; 0, or -1 when the MSR write raised #GP. */
int kvmclock_register(unsigned cpu);
/* Read the clock; false when the version never settled on an even value. */
bool kvmclock_read(unsigned cpu, struct kvmclock_reading *out);
/* Ask for the wall clock at boot into `wc`; 0, or -1 on #GP. */
int kvm_wall_clock_read(volatile struct pvclock_wall_clock *wc);

#endif
