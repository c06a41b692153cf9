/* SPDX-License-Identifier: MIT */
#include "lib/kvmclock.h"

#include "lib/msr.h"
#include "lib/ports.h"
#include "lib/smp.h"

#define KVM_MSR_ENABLED 1
#define READ_ATTEMPTS 1000

static struct pvclock_vcpu_time_info pvclock[GUEST_MAX_CPUS] __attribute__((aligned(32)));

volatile struct pvclock_vcpu_time_info *kvmclock_area(unsigned cpu)
{
	return &pvclock[cpu % GUEST_MAX_CPUS];
}

int kvmclock_register(unsigned cpu)
{
	return msr_write_safe(KVM_MSR_SYSTEM_TIME_NEW,
			      (uintptr_t)kvmclock_area(cpu) | KVM_MSR_ENABLED);
}

bool kvmclock_read(unsigned cpu, struct kvmclock_reading *out)
{
	volatile struct pvclock_vcpu_time_info *pv = kvmclock_area(cpu);

	for (int i = 0; i < READ_ATTEMPTS; i++) {
		uint32_t version = pv->version;
		uint64_t delta;
		int8_t shift;

		__asm__ volatile("" ::: "memory");
		delta = rdtsc() - pv->tsc_timestamp;
		shift = pv->tsc_shift;
		delta = shift < 0 ? delta >> -shift : delta << shift;
		out->ns = pv->system_time +
			  (uint64_t)(((unsigned __int128)delta * pv->tsc_to_system_mul) >> 32);
		out->flags = pv->flags;
		out->base = pv->system_time;
		out->version = version;
		__asm__ volatile("" ::: "memory");
		if (!(version & 1) && version == pv->version)
			return true;
	}
	return false;
}

int kvm_wall_clock_read(volatile struct pvclock_wall_clock *wc)
{
	return msr_write_safe(KVM_MSR_WALL_CLOCK_NEW, (uintptr_t)wc);
}
