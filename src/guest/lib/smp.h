/* SPDX-License-Identifier: MIT */
/*
 * CPUs of an embedded guest: who is who, starting the APs, and the one lock
 * that keeps their output apart.
 *
 * Numbering: cpu 0 is the boot CPU; the APs are 1..n-1 in MADT order.  Each
 * CPU learns its number from its initial APIC id (CPUID.1:EBX[31:24]).
 * A "slot" is the stack a CPU grabbed on entry (first come, first served);
 * this_cpu() maps the running stack back to the CPU number.
 */
#ifndef SKYVM_GUEST_LIB_SMP_H
#define SKYVM_GUEST_LIB_SMP_H

#define GUEST_MAX_CPUS 64
#define GUEST_STACK_SHIFT 13 /* 8 KiB per CPU */
#define GUEST_STACK_SIZE (1 << GUEST_STACK_SHIFT)

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stdint.h>

struct spinlock {
	volatile uint32_t locked;
	volatile int32_t owner; /* cpu number, -1 when free */
};

#define SPINLOCK_INIT { 0, -1 }

void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
/* Take the lock unless this CPU already holds it; returns whether it took it. */
bool spin_lock_unless_mine(struct spinlock *l);

/* Number of the running CPU (0 = boot CPU). */
unsigned this_cpu(void);
/* CPUs in the MADT (1 when there is none). */
unsigned smp_cpu_count(void);
uint32_t smp_apic_id(unsigned cpu);

/* Boot CPU: send INIT-SIPI-SIPI to every AP in the MADT. */
void smp_start_aps(void);
/* Mark the running CPU's work as done. */
void smp_cpu_done(void);
/*
 * Boot CPU: wait until every CPU called smp_cpu_done(), giving up after about
 * `tsc_cycles` TSC cycles without progress (no AP entering, no CPU done).
 * Returns how many did.
 */
unsigned smp_wait_done(uint64_t tsc_cycles);

/* Called from entry.S; set up by lib/start.c. */
void smp_init_boot_cpu(void);
unsigned smp_enter_ap(unsigned slot);

/*
 * A compiler barrier only: whether the CPL0 instruction emulator of a
 * restricted KVM executes `pause` is not established (HOST-KVM.md), and a
 * spin loop costs the same there without it.
 */
static inline void cpu_relax(void)
{
	__asm__ volatile("" ::: "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}
#endif

#endif
