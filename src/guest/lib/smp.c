/* SPDX-License-Identifier: MIT */
#include "lib/smp.h"

#include "lib/boot.h"
#include "lib/cpuid.h"
#include "lib/io.h"
#include "lib/string.h"

#define LAPIC_ID 0x20
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define SVR_ENABLE 0x100
#define ICR_INIT 0x4500    /* INIT, assert, edge: what KVM and QEMU accept as INIT */
#define ICR_STARTUP 0x4600 /* start-up IPI; low byte = vector (page number) */

char guest_stacks[GUEST_MAX_CPUS][GUEST_STACK_SIZE] __attribute__((aligned(4096)));
extern const char ap_trampoline_start[], ap_trampoline_end[];

static unsigned slot_cpu[GUEST_MAX_CPUS];
static uint32_t cpu_apic[GUEST_MAX_CPUS];
static unsigned ncpus = 1;
static volatile uint32_t cpus_done;
static volatile uint32_t cpus_entered; /* APs that reached smp_enter_ap() as ours */

void spin_lock(struct spinlock *l)
{
	for (;;) {
		uint32_t expected = 0;

		if (__atomic_compare_exchange_n((uint32_t *)&l->locked, &expected, 1, false,
						__ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			break;
		while (l->locked)
			cpu_relax();
	}
	l->owner = (int32_t)this_cpu();
}

void spin_unlock(struct spinlock *l)
{
	l->owner = -1;
	__atomic_store_n((uint32_t *)&l->locked, 0, __ATOMIC_RELEASE);
}

bool spin_lock_unless_mine(struct spinlock *l)
{
	if (l->locked && l->owner == (int32_t)this_cpu())
		return false;
	spin_lock(l);
	return true;
}

unsigned this_cpu(void)
{
	uintptr_t sp, slot;

	__asm__ volatile("mov %%rsp, %0" : "=r"(sp));
	slot = (sp - (uintptr_t)guest_stacks) >> GUEST_STACK_SHIFT;
	return slot < GUEST_MAX_CPUS ? slot_cpu[slot] : 0;
}

unsigned smp_cpu_count(void)
{
	return ncpus;
}

uint32_t smp_apic_id(unsigned cpu)
{
	return cpu < ncpus ? cpu_apic[cpu] : 0;
}

static volatile uint32_t *lapic_reg(unsigned off)
{
	return (volatile uint32_t *)(uintptr_t)(boot_info.madt.lapic_base + off);
}

/* The LAPIC's own id: what KVM and the MADT agree on, whatever CPUID says. */
static uint32_t lapic_id(void)
{
	return *lapic_reg(LAPIC_ID) >> 24;
}

void smp_init_boot_cpu(void)
{
	uint32_t me;

	ncpus = 1;
	/*
	 * Alone, the boot CPU takes its id from CPUID and leaves the LAPIC
	 * alone: a VMM may run a 1-vCPU guest without an in-kernel irqchip,
	 * and then every LAPIC access would be an exit nobody handles.
	 */
	if (boot_info.madt_error || boot_info.madt.ncpus < 2) {
		cpu_apic[0] = cpuid(1).ebx >> 24;
		return;
	}
	me = lapic_id();
	cpu_apic[0] = me;
	for (unsigned i = 0; i < boot_info.madt.ncpus; i++)
		if (boot_info.madt.apic_id[i] != me && ncpus < GUEST_MAX_CPUS)
			cpu_apic[ncpus++] = boot_info.madt.apic_id[i];
}

unsigned smp_enter_ap(unsigned slot)
{
	uint32_t me = lapic_id();

	for (unsigned cpu = 1; cpu < ncpus; cpu++) {
		if (cpu_apic[cpu] == me) {
			slot_cpu[slot] = cpu;
			__atomic_fetch_add((uint32_t *)&cpus_entered, 1, __ATOMIC_RELEASE);
			return cpu;
		}
	}
	return 0; /* not one we started: the caller parks it */
}

/*
 * No waits between INIT and the SIPIs: they exist for real hardware, and
 * virtual LAPICs (KVM's, QEMU's) latch INIT and SIPI in order.  The second
 * SIPI is ignored by a CPU that already left wait-for-SIPI.
 */
void smp_start_aps(void)
{
	if (ncpus < 2)
		return;
	memcpy(phys_ptr(GUEST_AP_TRAMPOLINE), ap_trampoline_start,
	       (size_t)(ap_trampoline_end - ap_trampoline_start));
	*lapic_reg(LAPIC_SVR) = SVR_ENABLE | 0xff;
	for (unsigned cpu = 1; cpu < ncpus; cpu++) {
		*lapic_reg(LAPIC_ICR_HI) = cpu_apic[cpu] << 24;
		*lapic_reg(LAPIC_ICR_LO) = ICR_INIT;
		*lapic_reg(LAPIC_ICR_LO) = ICR_STARTUP | (GUEST_AP_TRAMPOLINE >> 12);
		*lapic_reg(LAPIC_ICR_LO) = ICR_STARTUP | (GUEST_AP_TRAMPOLINE >> 12);
	}
}

void smp_cpu_done(void)
{
	__atomic_fetch_add((uint32_t *)&cpus_done, 1, __ATOMIC_RELEASE);
}

/*
 * The time runs from the last sign of progress (an AP entering, a CPU done),
 * not from the call: on a loaded host (50 VMs at once on two CPUs) an AP's
 * vCPU thread may start seconds late and then print slowly, and that is not
 * an AP that never started.
 */
unsigned smp_wait_done(uint64_t tsc_cycles)
{
	uint64_t start = rdtsc();
	uint32_t seen = cpus_entered + cpus_done;

	while (cpus_done < ncpus) {
		uint32_t now = cpus_entered + cpus_done;

		if (now != seen) {
			seen = now;
			start = rdtsc();
		} else if (rdtsc() - start >= tsc_cycles) {
			break;
		}
		cpu_relax();
	}
	return cpus_done;
}
