/* SPDX-License-Identifier: MIT */
#include "probe/pv.h"

#include <stdbool.h>

#include "lib/console.h"
#include "lib/kvmclock.h"
#include "lib/msr.h"
#include "lib/ports.h"
#include "lib/smp.h"
#include "probe/records.h"

#define KVM_MSR_ENABLED 1ull
/* A TSC bound on every busy wait, so a clock that never advances cannot hang us. */
#define TSC_CYCLES_PER_US_MAX 8000ull

/* struct kvm_steal_time: 64 bytes, 64-byte aligned (KVM rejects others). */
struct __attribute__((packed)) kvm_steal_time {
	uint64_t steal;
	uint32_t version, flags;
	uint8_t preempted, pad8[3];
	uint32_t pad[11];
};

static struct kvm_steal_time steal_area[GUEST_MAX_CPUS] __attribute__((aligned(64)));
static struct pvclock_wall_clock wall_area[GUEST_MAX_CPUS] __attribute__((aligned(16)));
static uint32_t pv_eoi_word[GUEST_MAX_CPUS] __attribute__((aligned(4)));

static const char *const status_names[] = {
	[PROBE_ST_OK] = "ok",
	[PROBE_ST_NOT_OFFERED] = "not offered",
	[PROBE_ST_GP] = "#GP on the MSR write",
	[PROBE_ST_BAD] = "BAD",
	[PROBE_ST_NO_KVM] = "skipped (no KVM)",
};

static bool offered(const struct sweep_summary *s, unsigned bit)
{
	return s->kvm_features >> bit & 1;
}

static bool clock_ok[GUEST_MAX_CPUS]; /* kvmclock passed: busy_wait() may use it */

static void check_kvmclock(unsigned cpu, const struct sweep_summary *s)
{
	uint32_t p[PROBE_LEN_KVMCLOCK] = { 0 };
	volatile struct pvclock_vcpu_time_info *pv = kvmclock_area(cpu);
	struct kvmclock_reading a = { 0, 0, 0, 0 }, b = { 0, 0, 0, 0 };
	uint32_t st = PROBE_ST_OK;

	if (!offered(s, KVM_PV_CLOCKSOURCE2)) {
		st = PROBE_ST_NOT_OFFERED;
	} else if (kvmclock_register(cpu) < 0) {
		st = PROBE_ST_GP;
	} else {
		bool read = kvmclock_read(cpu, &a);
		uint64_t tsc0 = rdtsc();

		/* Long enough for any clock to move a few ns, bounded in TSC cycles. */
		do
			read = kvmclock_read(cpu, &b) && read;
		while (read && b.ns == a.ns && rdtsc() - tsc0 < 1000 * TSC_CYCLES_PER_US_MAX);
		if (!read || (b.version & 1) || !pv->tsc_to_system_mul || b.ns <= a.ns)
			st = PROBE_ST_BAD;
		if (read && b.ns < a.ns) {
			uint32_t e[PROBE_LEN_ERROR] = { PROBE_ERR_CLOCK_BACKWARDS, cpu };

			rec_emit(cpu, PROBE_REC_ERROR, e, PROBE_LEN_ERROR);
		}
		p[1] = b.version;
		p[2] = pv->tsc_to_system_mul;
		p[3] = (uint32_t)(int32_t)pv->tsc_shift;
		p[4] = b.flags;
		p[5] = (uint32_t)a.ns;
		p[6] = (uint32_t)(a.ns >> 32);
		p[7] = (uint32_t)b.ns;
		p[8] = (uint32_t)(b.ns >> 32);
	}
	p[0] = st;
	rec_emit(cpu, PROBE_REC_KVMCLOCK, p, PROBE_LEN_KVMCLOCK);
	clock_ok[cpu] = st == PROBE_ST_OK;
	if (st == PROBE_ST_OK || st == PROBE_ST_BAD)
		out_printf("cpu %u: probe kvmclock %s: %lu -> %lu ns, version %u, mul %u, "
			   "shift %d, %s\n",
			   cpu, status_names[st], (unsigned long)a.ns, (unsigned long)b.ns,
			   b.version, pv->tsc_to_system_mul, pv->tsc_shift,
			   (b.flags & PVCLOCK_TSC_STABLE_BIT) ? "stable" : "not stable");
	else
		out_printf("cpu %u: probe kvmclock %s\n", cpu, status_names[st]);
}

static void check_wallclock(unsigned cpu, const struct sweep_summary *s)
{
	volatile struct pvclock_wall_clock *wc = &wall_area[cpu];
	uint32_t p[PROBE_LEN_WALLCLOCK] = { 0 };
	uint32_t st = PROBE_ST_OK;

	if (!offered(s, KVM_PV_CLOCKSOURCE2)) {
		st = PROBE_ST_NOT_OFFERED;
	} else if (kvm_wall_clock_read(wc) < 0) {
		st = PROBE_ST_GP;
	} else {
		p[1] = wc->version;
		p[2] = wc->sec;
		p[3] = wc->nsec;
		if ((p[1] & 1) || p[3] >= 1000000000u)
			st = PROBE_ST_BAD;
	}
	p[0] = st;
	rec_emit(cpu, PROBE_REC_WALLCLOCK, p, PROBE_LEN_WALLCLOCK);
	if (st == PROBE_ST_OK || st == PROBE_ST_BAD)
		out_printf("cpu %u: probe wallclock %s: %u.%09u s at boot, version %u\n", cpu,
			   status_names[st], p[2], p[3], p[1]);
	else
		out_printf("cpu %u: probe wallclock %s\n", cpu, status_names[st]);
}

/* Keep the CPU busy for `us` microseconds of kvmclock time (TSC-bounded). */
static void busy_wait(unsigned cpu, uint64_t us)
{
	struct kvmclock_reading t0, t;
	uint64_t tsc0 = rdtsc(), limit = us * TSC_CYCLES_PER_US_MAX;

	if (!clock_ok[cpu] || !kvmclock_read(cpu, &t0)) {
		/* No clock to go by: spin on the TSC, assuming at most 8 GHz. */
		while (rdtsc() - tsc0 < limit)
			cpu_relax();
		return;
	}
	do {
		if (!kvmclock_read(cpu, &t))
			return;
	} while (t.ns - t0.ns < us * 1000 && rdtsc() - tsc0 < limit);
}

static void check_steal(unsigned cpu, const struct sweep_summary *s, uint64_t busy_us)
{
	volatile struct kvm_steal_time *st_area = &steal_area[cpu];
	uint32_t p[PROBE_LEN_STEAL] = { 0 };
	uint32_t st = PROBE_ST_OK;
	uint64_t start = 0, end = 0;

	if (!offered(s, KVM_PV_STEAL_TIME)) {
		st = PROBE_ST_NOT_OFFERED;
	} else if (msr_write_safe(KVM_MSR_STEAL_TIME,
				  (uintptr_t)st_area | KVM_MSR_ENABLED) < 0) {
		st = PROBE_ST_GP;
	} else {
		/* KVM fills the area on the next guest entry; the write above was one exit. */
		start = st_area->steal;
		busy_wait(cpu, busy_us);
		end = st_area->steal;
		if ((st_area->version & 1) || end < start)
			st = PROBE_ST_BAD;
		p[1] = st_area->version;
		p[7] = st_area->preempted;
	}
	p[0] = st;
	p[2] = (uint32_t)start;
	p[3] = (uint32_t)(start >> 32);
	p[4] = (uint32_t)end;
	p[5] = (uint32_t)(end >> 32);
	p[6] = (uint32_t)busy_us;
	rec_emit(cpu, PROBE_REC_STEAL, p, PROBE_LEN_STEAL);
	if (st == PROBE_ST_OK || st == PROBE_ST_BAD)
		out_printf("cpu %u: probe steal %s: %lu -> %lu ns over %lu us busy\n", cpu,
			   status_names[st], (unsigned long)start, (unsigned long)end,
			   (unsigned long)busy_us);
	else
		out_printf("cpu %u: probe steal %s\n", cpu, status_names[st]);
}

static void check_pv_eoi(unsigned cpu, const struct sweep_summary *s)
{
	uint64_t want = (uintptr_t)&pv_eoi_word[cpu] | KVM_MSR_ENABLED, got = 0;
	uint32_t p[PROBE_LEN_PV_EOI] = { 0 };
	uint32_t st = PROBE_ST_OK;

	if (!offered(s, KVM_PV_PV_EOI)) {
		st = PROBE_ST_NOT_OFFERED;
	} else if (msr_write_safe(KVM_MSR_PV_EOI_EN, want) < 0) {
		st = PROBE_ST_GP;
	} else {
		if (msr_read_safe(KVM_MSR_PV_EOI_EN, &got) < 0 || got != want)
			st = PROBE_ST_BAD;
		p[1] = (uint32_t)got;
		p[2] = (uint32_t)(got >> 32);
	}
	p[0] = st;
	rec_emit(cpu, PROBE_REC_PV_EOI, p, PROBE_LEN_PV_EOI);
	if (st == PROBE_ST_OK || st == PROBE_ST_BAD)
		out_printf("cpu %u: probe pv-eoi %s: MSR reads back 0x%lx\n", cpu,
			   status_names[st], (unsigned long)got);
	else
		out_printf("cpu %u: probe pv-eoi %s\n", cpu, status_names[st]);
}

/*
 * The PV MSRs and the 0x40000001.EAX bit that gates each (KVM's
 * kvm_pv_msr checks with KVM_CAP_ENFORCE_PV_FEATURE_CPUID).  Values are
 * harmless: 0 disables a feature; the wall-clock MSRs get a scratch area
 * because KVM writes there; poll control's default is 1.
 */
struct pv_msr {
	uint32_t msr;
	uint8_t bit;
	uint8_t scratch; /* the value is this CPU's wall-clock scratch area */
	uint64_t value;
};

static const struct pv_msr pv_msrs[] = {
	{ KVM_MSR_WALL_CLOCK, KVM_PV_CLOCKSOURCE, 1, 0 },
	{ KVM_MSR_SYSTEM_TIME, KVM_PV_CLOCKSOURCE, 0, 0 },
	{ KVM_MSR_WALL_CLOCK_NEW, KVM_PV_CLOCKSOURCE2, 1, 0 },
	{ KVM_MSR_SYSTEM_TIME_NEW, KVM_PV_CLOCKSOURCE2, 0, 0 },
	{ KVM_MSR_ASYNC_PF_EN, KVM_PV_ASYNC_PF, 0, 0 },
	{ KVM_MSR_STEAL_TIME, KVM_PV_STEAL_TIME, 0, 0 },
	{ KVM_MSR_PV_EOI_EN, KVM_PV_PV_EOI, 0, 0 },
	{ KVM_MSR_POLL_CONTROL, KVM_PV_POLL_CONTROL, 0, 1 },
	{ KVM_MSR_ASYNC_PF_INT, KVM_PV_ASYNC_PF_INT, 0, 0 },
};

static void check_hidden_msrs(unsigned cpu, const struct sweep_summary *s)
{
	unsigned checked = 0, faulted = 0;

	for (unsigned i = 0; i < sizeof(pv_msrs) / sizeof(pv_msrs[0]); i++) {
		const struct pv_msr *m = &pv_msrs[i];
		uint64_t v = m->scratch ? (uintptr_t)&wall_area[cpu] : m->value;
		uint32_t p[PROBE_LEN_MSR_CHECK];
		bool gp;

		if (offered(s, m->bit))
			continue;
		gp = msr_write_safe(m->msr, v) < 0;
		p[0] = m->msr;
		p[1] = m->bit;
		p[2] = gp ? PROBE_MSR_GP : PROBE_MSR_ACCEPTED;
		rec_emit(cpu, PROBE_REC_MSR_CHECK, p, PROBE_LEN_MSR_CHECK);
		checked++;
		faulted += gp;
		out_printf("cpu %u: probe hidden msr 0x%x (bit %u): %s\n", cpu, m->msr, m->bit,
			   gp ? "#GP" : "accepted");
	}
	out_printf("cpu %u: probe hidden msrs: %u of %u raised #GP\n", cpu, faulted, checked);
}

void pv_checks(unsigned cpu, const struct sweep_summary *s, uint64_t steal_busy_us)
{
	if (!s->kvm) {
		static const unsigned types[] = { PROBE_REC_KVMCLOCK, PROBE_REC_WALLCLOCK,
						  PROBE_REC_STEAL, PROBE_REC_PV_EOI };
		static const unsigned lens[] = { PROBE_LEN_KVMCLOCK, PROBE_LEN_WALLCLOCK,
						 PROBE_LEN_STEAL, PROBE_LEN_PV_EOI };
		uint32_t p[PROBE_LEN_KVMCLOCK] = { PROBE_ST_NO_KVM };

		for (unsigned i = 0; i < 4; i++)
			rec_emit(cpu, types[i], p, lens[i]);
		out_printf("cpu %u: probe no KVM leaves (hypervisor \"%s\"): PV checks skipped\n",
			   cpu, s->hypervisor[0] ? s->hypervisor : "none");
		return;
	}
	/*
	 * Hidden MSRs first: KVM keeps one kvmclock per vCPU behind both 0x12
	 * and 0x4b564d01, so a 0 written to a hidden 0x12 afterwards (accepted
	 * without enforcement) would switch off the clock registered below,
	 * which must stay registered for the VMM to read at exit.
	 */
	check_hidden_msrs(cpu, s);
	check_kvmclock(cpu, s);
	check_wallclock(cpu, s);
	check_steal(cpu, s, steal_busy_us);
	check_pv_eoi(cpu, s);
}
