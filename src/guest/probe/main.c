/* SPDX-License-Identifier: MIT */
/*
 * The probe guest: on every vCPU, a CPUID sweep and the KVM PV checks, sent
 * to the VMM as records on the probe port (lib/ports.h) for `skyvm cpu
 * verify`, with a short summary on the console.  Ends with "probe: N cpus
 * done" and status 0 once every CPU has sent its END record.
 *
 * Cmdline: `steal-us=N` busy time between the steal-time readings (default
 * 20000), `dump` also prints the records as "cpu N: data ..." lines,
 * `test=exception` a #GP on the boot CPU right after BEGIN, and `exit=N` as
 * in the default guest.
 */
#include "lib/boot.h"
#include "lib/cmdline.h"
#include "lib/console.h"
#include "lib/io.h"
#include "lib/ports.h"
#include "lib/smp.h"
#include "lib/trap.h"
#include "probe/pv.h"
#include "probe/records.h"
#include "probe/sweep.h"

#define STEAL_BUSY_US_DEFAULT 20000
#define STEAL_BUSY_US_MAX 60000000 /* a minute */
#define AP_WAIT_TSC_CYCLES 5000000000ull
#define WAIT_PER_BUSY_US 8000ull   /* TSC cycles per us of busy time, generous */

static uint64_t steal_busy_us;
static bool fault_test; /* test=exception */

/*
 * An unexpected exception: leave an ERROR record in the stream and send what
 * there is, then let the library report it and end the VM (return false).
 */
static bool record_exception(struct trap_frame *f)
{
	unsigned cpu = this_cpu();
	uint32_t e[PROBE_LEN_ERROR] = { PROBE_ERR_EXCEPTION, (uint32_t)f->vector };

	rec_emit(cpu, PROBE_REC_ERROR, e, PROBE_LEN_ERROR);
	rec_flush(cpu);
	return false;
}

static void probe_cpu(unsigned cpu)
{
	uint32_t begin[PROBE_LEN_BEGIN] = { PROBE_VERSION, cpu, smp_apic_id(cpu),
					    smp_cpu_count() };
	uint32_t end[PROBE_LEN_END];
	struct sweep_summary s;

	rec_emit(cpu, PROBE_REC_BEGIN, begin, PROBE_LEN_BEGIN);
	if (cpu == 0 && fault_test) /* a non-canonical load: #GP */
		__asm__ volatile("movq 0x8000000000000000, %%rax" ::: "rax", "memory");
	cpuid_sweep(cpu, &s);
	out_printf("cpu %u: probe cpuid %u records (max basic 0x%x, hypervisor 0x%x, "
		   "extended 0x%x)\n",
		   cpu, s.records, s.max_basic, s.max_hypervisor, s.max_extended);
	pv_checks(cpu, &s, steal_busy_us);
	end[0] = rec_count(cpu);
	rec_emit(cpu, PROBE_REC_END, end, PROBE_LEN_END);
	rec_flush(cpu);
	out_flush();
}

void guest_ap_main(unsigned cpu)
{
	probe_cpu(cpu);
	smp_cpu_done();
}

void guest_main(void)
{
	unsigned ncpus = smp_cpu_count(), done;

	if (cmdline_value("exit", NULL))
		guest_exit((uint8_t)cmdline_uint("exit", GUEST_STATUS_TEST_FAILED));
	steal_busy_us = cmdline_uint("steal-us", STEAL_BUSY_US_DEFAULT);
	if (steal_busy_us > STEAL_BUSY_US_MAX)
		steal_busy_us = STEAL_BUSY_US_MAX;
	rec_set_dump(cmdline_has("dump"));
	fault_test = cmdline_is("test", "exception");
	for (unsigned v = 0; v < 32; v++)
		trap_set_handler(v, record_exception);
	if (boot_info.madt_error)
		out_printf("probe: warning: %s; probing the boot CPU only\n", boot_info.madt_error);
	if (boot_info.madt.ignored)
		out_printf("%s: warning: %u CPUs in the MADT not started "
			   "(x2APIC ids or beyond %u)\n",
			   "probe", boot_info.madt.ignored, GUEST_MAX_CPUS);
	smp_start_aps();
	probe_cpu(0);
	smp_cpu_done();
	done = smp_wait_done(AP_WAIT_TSC_CYCLES + steal_busy_us * WAIT_PER_BUSY_US);
	if (done < ncpus) {
		out_now("probe: only %u of %u cpus reported\n", done, ncpus);
		guest_exit(GUEST_STATUS_SMP_FAILED);
	}
	out_now("probe: %u cpus done\n", ncpus);
	guest_exit(GUEST_STATUS_OK);
}
