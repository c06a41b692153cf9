/* SPDX-License-Identifier: MIT */
/*
 * The probe guest: on every vCPU, a CPUID sweep and the KVM PV checks, sent
 * to the VMM as records on the probe port (lib/ports.h) for `skyvm cpu
 * verify`, with a short summary on the console.  Ends with "probe: N cpus
 * done" and status 0 once every CPU has sent its END record.
 *
 * Cmdline: `steal-us=N` busy time between the steal-time readings (default
 * 20000), `feature-msrs=0xA,0xB` feature MSRs to read with RDMSR, each sent
 * as a FEATURE_MSR record (value or #GP; the VMM names them from its
 * feature table and judges them against its CPUID), `dump` also prints the records as "cpu N: data ..." lines,
 * `test=exception` a #GP on the boot CPU right after BEGIN, and `exit=N` as
 * in the default guest.
 */
#include "lib/boot.h"
#include "lib/cmdline.h"
#include "lib/console.h"
#include "lib/io.h"
#include "lib/msr.h"
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

static uint32_t feature_msrs[PROBE_MAX_FEATURE_MSRS];
static unsigned nfeature_msrs;

/* `feature-msrs=0x10a,0xcf`: hex or decimal indices, ','-separated. */
static void parse_feature_msrs(void)
{
	size_t len = 0, i = 0;
	const char *v = cmdline_value("feature-msrs", &len);

	while (v && i < len && nfeature_msrs < PROBE_MAX_FEATURE_MSRS) {
		uint64_t n = 0;
		unsigned base = 10, digits = 0;

		if (i + 1 < len && v[i] == '0' && (v[i + 1] == 'x' || v[i + 1] == 'X')) {
			base = 16;
			i += 2;
		}
		for (; i < len && v[i] != ','; i++, digits++) {
			char c = v[i];
			unsigned d = c >= '0' && c <= '9'		  ? (unsigned)(c - '0')
				     : base == 16 && c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
				     : base == 16 && c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
									  : 99;

			if (d >= base || n > 0xffffffffull / base) {
				out_printf("probe: warning: bad feature-msrs; reading none\n");
				nfeature_msrs = 0;
				return;
			}
			n = n * base + d;
		}
		if (digits)
			feature_msrs[nfeature_msrs++] = (uint32_t)n;
		i++; /* the ',' */
	}
}

/* Each feature MSR asked for, as the guest reads it: its value, or #GP. */
static void read_feature_msrs(unsigned cpu)
{
	for (unsigned k = 0; k < nfeature_msrs; k++) {
		uint64_t v = 0;
		bool gp = msr_read_safe(feature_msrs[k], &v) < 0;
		uint32_t p[PROBE_LEN_FEATURE_MSR] = { feature_msrs[k],
						      gp ? PROBE_MSR_READ_GP : PROBE_MSR_READ,
						      gp ? 0 : (uint32_t)v,
						      gp ? 0 : (uint32_t)(v >> 32) };

		rec_emit(cpu, PROBE_REC_FEATURE_MSR, p, PROBE_LEN_FEATURE_MSR);
		if (gp)
			out_printf("cpu %u: probe msr 0x%x #GP\n", cpu, feature_msrs[k]);
		else
			out_printf("cpu %u: probe msr 0x%x = 0x%x%08x\n", cpu, feature_msrs[k],
				   (uint32_t)(v >> 32), (uint32_t)v);
	}
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
	read_feature_msrs(cpu);
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
	parse_feature_msrs();
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
