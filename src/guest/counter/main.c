/* SPDX-License-Identifier: MIT */
/*
 * A guest that counts and reads kvmclock forever, for pause/resume, snapshot
 * and migration tests: its state lives in guest memory and registers, so a
 * restored or migrated copy continues where the original was.
 *
 * Every CPU registers kvmclock, then loops: count += 1, read kvmclock; a
 * reading below the previous one ends the VM (debug-exit 3, "COUNTER
 * BACKWARDS ..."), since kvmclock must never go back, not even across a
 * snapshot or a migration.  Where KVM does not set PVCLOCK_TSC_STABLE_BIT
 * (a host whose TSC is unstable, e.g. nested on QEMU TCG) a reading is
 * KVM's last published time (the area's system_time) plus a TSC
 * extrapolation that can run ahead of the host's clock; the next update
 * corrects it, a step back that Linux hides with a global maximum.  There a
 * step back that stays at or above the system_time under the previous
 * reading is counted and printed as "skew=" but not fatal; a reading below
 * what KVM itself had published (a lost, stale or restarted clock) is.
 * Every `period_ms` (default 200) of kvmclock
 * time it prints
 *     COUNT cpu=<n> count=<count> ns=<kvmclock ns>
 * `stop=N`: the boot CPU ends the VM with 0 once its count passes N.
 * `dirty_mib=N`: the boot CPU also writes one byte of each 4 KiB page of N MiB
 * at 8 MiB, round and round (a guest dirtying memory, for migration
 * benchmarks; --memory must be at least 8 + N).
 */
#include "lib/boot.h"
#include "lib/cmdline.h"
#include "lib/console.h"
#include "lib/io.h"
#include "lib/kvmclock.h"
#include "lib/ports.h"
#include "lib/smp.h"

#define STATUS_BACKWARDS 3
#define STATUS_NO_KVMCLOCK 4

static uint64_t period_ns, stop_at, dirty_pages;

#define DIRTY_BASE (8u << 20)

static void count_forever(unsigned cpu)
{
	struct kvmclock_reading r;
	uint64_t count = 0, last = 0, last_base = 0, next_print = 0, skew = 0;

	if (kvmclock_register(cpu) < 0 || !kvmclock_read(cpu, &r)) {
		out_now("COUNTER cpu=%u no kvmclock\n", cpu);
		guest_exit(STATUS_NO_KVMCLOCK);
	}
	for (;;) {
		count++;
		if (cpu == 0 && dirty_pages) {
			volatile uint8_t *p = phys_ptr(DIRTY_BASE + (count % dirty_pages) * 4096);

			*p = (uint8_t)count;
		}
		if (!kvmclock_read(cpu, &r))
			continue;
		if (r.ns < last && !(r.flags & PVCLOCK_TSC_STABLE_BIT) && r.ns >= last_base) {
			skew++;
			continue; /* as Linux's pvclock_clocksource_read(): keep the maximum */
		}
		if (r.ns < last) {
			out_now("COUNTER BACKWARDS cpu=%u count=%llu ns=%llu last=%llu base=%llu\n",
				cpu, (unsigned long long)count, (unsigned long long)r.ns,
				(unsigned long long)last, (unsigned long long)last_base);
			guest_exit(STATUS_BACKWARDS);
		}
		last = r.ns;
		last_base = r.base;
		if (r.ns >= next_print) {
			struct outbuf *o = out_cpu_buf();

			ob_lit(o, "COUNT cpu=");
			ob_dec(o, cpu);
			ob_lit(o, " count=");
			ob_dec(o, count);
			ob_lit(o, " ns=");
			ob_dec(o, r.ns);
			if (skew) {
				ob_lit(o, " skew=");
				ob_dec(o, skew);
			}
			ob_lit(o, "\n");
			out_flush();
			next_print = r.ns + period_ns;
		}
		if (cpu == 0 && stop_at && count > stop_at) {
			out_now("COUNTER done count=%llu\n", (unsigned long long)count);
			guest_exit(GUEST_STATUS_OK);
		}
	}
}

void guest_ap_main(unsigned cpu)
{
	count_forever(cpu);
}

void guest_main(void)
{
	period_ns = cmdline_uint("period_ms", 200) * 1000000ULL;
	stop_at = cmdline_uint("stop", 0);
	dirty_pages = cmdline_uint("dirty_mib", 0) * 256;
	out_now("COUNTER start cpus=%u\n", smp_cpu_count());
	smp_start_aps();
	count_forever(0);
}
