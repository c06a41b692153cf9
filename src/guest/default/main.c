/* SPDX-License-Identifier: MIT */
/*
 * The default guest: on every vCPU, report what CPUID says (vendor,
 * family/model/stepping, brand, hypervisor leaves, a feature summary) and
 * read kvmclock; then "guest: N cpus ok" and debug-exit 0.  docs/guests.md
 * lists the output lines and the command-line options.
 *
 * Kept cheap on purpose (a restricted KVM interprets this code at ~4.5 M
 * instructions/s): each CPU prints its block with one `rep outsb`, feature
 * names only with `verbose`.
 */
#include "default/features.h"
#include "lib/boot.h"
#include "lib/cmdline.h"
#include "lib/console.h"
#include "lib/cpuid.h"
#include "lib/io.h"
#include "lib/kvmclock.h"
#include "lib/ports.h"
#include "lib/smp.h"
#include "lib/string.h"
#include "lib/trap.h"

#define INT3_ROUNDS 3
#define AP_WAIT_TSC_CYCLES 5000000000ull /* >= 1.5 s at any TSC rate we meet */
#define FLAGS_LINE_MAX 90

static bool verbose;
static volatile unsigned int3_count;

static unsigned popcount32(uint32_t x)
{
	unsigned n = 0;

	for (; x; x &= x - 1) /* no popcnt: the emulator cannot run it */
		n++;
	return n;
}

/* 12 register bytes as a string without the trailing NULs; '?' for the unprintable. */
static void regs_to_string(char out[13], const uint32_t *words, unsigned nwords)
{
	unsigned n = nwords * 4;

	memcpy(out, words, n);
	out[n] = 0;
	while (n && out[n - 1] == 0)
		out[--n] = 0;
	for (unsigned i = 0; i < n; i++)
		if (out[i] < 0x20 || out[i] > 0x7e)
			out[i] = '?';
}

static void print_flags(unsigned cpu, const uint32_t words[FW_COUNT])
{
	char line[FLAGS_LINE_MAX + 32];
	unsigned len = 0;

	for (unsigned w = 0; w < FW_COUNT; w++) {
		for (unsigned bit = 0; bit < 32; bit++) {
			const char *name;
			char unnamed[16];
			unsigned n;

			if (!(words[w] >> bit & 1))
				continue;
			name = feature_name(w, bit);
			if (!name) {
				/* e.g. "7.ebx[12]": set, but without a name here */
				const char *wn = feature_word_names[w];
				unsigned k = 0;

				while (*wn)
					unnamed[k++] = *wn++;
				unnamed[k++] = '[';
				if (bit >= 10)
					unnamed[k++] = (char)('0' + bit / 10);
				unnamed[k++] = (char)('0' + bit % 10);
				unnamed[k++] = ']';
				unnamed[k] = 0;
				name = unnamed;
			}
			n = (unsigned)strlen(name);
			if (len && len + 1 + n > FLAGS_LINE_MAX) {
				line[len] = 0;
				out_printf("cpu %u: flags %s\n", cpu, line);
				len = 0;
			}
			if (len)
				line[len++] = ' ';
			memcpy(line + len, name, n);
			len += n;
		}
	}
	if (len) {
		line[len] = 0;
		out_printf("cpu %u: flags %s\n", cpu, line);
	}
}

static void report_kvmclock(unsigned cpu)
{
	struct kvmclock_reading a, b;

	if (kvmclock_register(cpu) < 0) {
		out_printf("cpu %u: kvmclock: MSR write faulted (#GP)\n", cpu);
		return;
	}
	if (!kvmclock_read(cpu, &a) || !kvmclock_read(cpu, &b)) {
		out_printf("cpu %u: kvmclock: version never settled (%u)\n", cpu,
			   kvmclock_area(cpu)->version);
		return;
	}
	if (!kvmclock_area(cpu)->tsc_to_system_mul) {
		out_printf("cpu %u: kvmclock: not filled in (tsc_to_system_mul 0)\n", cpu);
		return;
	}
	out_printf("cpu %u: kvmclock %lu ns %s%s\n", cpu, (unsigned long)b.ns,
		   (b.flags & PVCLOCK_TSC_STABLE_BIT) ? "stable" : "unstable",
		   b.ns < a.ns ? " (went backwards)" : "");
}

static void report_cpu(unsigned cpu)
{
	struct cpuid_regs l0 = cpuid(0), l1 = cpuid(1), l7 = { 0, 0, 0, 0 };
	struct cpuid_regs xmax = cpuid(0x80000000), hv = { 0, 0, 0, 0 };
	struct cpu_signature sig = cpuid_signature(l1.eax);
	uint32_t words[FW_COUNT], vendor_words[3] = { l0.ebx, l0.edx, l0.ecx };
	char vendor[13], hv_sig[13];
	bool kvm = false;
	unsigned bits = 0;

	regs_to_string(vendor, vendor_words, 3);
	out_printf("cpu %u: apic %u %s family %u model %u stepping %u\n", cpu, l1.ebx >> 24,
		   vendor, sig.family, sig.model, sig.stepping);

	if (xmax.eax >= 0x80000004 && xmax.eax < 0x8000ffff) {
		uint32_t brand[13];
		const char *b = (const char *)brand;

		for (unsigned i = 0; i < 3; i++) {
			struct cpuid_regs r = cpuid(0x80000002 + i);

			brand[i * 4 + 0] = r.eax;
			brand[i * 4 + 1] = r.ebx;
			brand[i * 4 + 2] = r.ecx;
			brand[i * 4 + 3] = r.edx;
		}
		brand[12] = 0;
		while (*b == ' ')
			b++;
		out_printf("cpu %u: brand \"%s\"\n", cpu, b);
	} else {
		out_printf("cpu %u: brand none (max extended leaf 0x%x)\n", cpu, xmax.eax);
	}

	if (l1.ecx & CPUID_1_ECX_HYPERVISOR) {
		uint32_t sig_words[3];

		hv = cpuid(KVM_CPUID_SIGNATURE);
		sig_words[0] = hv.ebx;
		sig_words[1] = hv.ecx;
		sig_words[2] = hv.edx;
		regs_to_string(hv_sig, sig_words, 3);
		kvm = cpuid_is_kvm(&hv);
		out_printf("cpu %u: hypervisor \"%s\" max 0x%x\n", cpu, hv_sig, hv.eax);
	} else {
		out_printf("cpu %u: hypervisor none\n", cpu);
	}

	if (l0.eax >= 7)
		l7 = cpuid_count(7, 0);
	words[FW_1_ECX] = l1.ecx;
	words[FW_1_EDX] = l1.edx;
	words[FW_7_EBX] = l7.ebx;
	words[FW_7_ECX] = l7.ecx;
	words[FW_7_EDX] = l7.edx;
	words[FW_KVM] = kvm && hv.eax >= KVM_CPUID_FEATURES ? cpuid(KVM_CPUID_FEATURES).eax : 0;
	for (unsigned w = 0; w < FW_COUNT; w++)
		bits += popcount32(words[w]);
	out_printf("cpu %u: features 1.ecx=%08x 1.edx=%08x 7.ebx=%08x 7.ecx=%08x 7.edx=%08x "
		   "kvm=%08x bits=%u\n",
		   cpu, words[0], words[1], words[2], words[3], words[4], words[5], bits);
	if (verbose)
		print_flags(cpu, words);

	if (words[FW_KVM] >> KVM_PV_CLOCKSOURCE2 & 1)
		report_kvmclock(cpu);
	else
		out_printf("cpu %u: kvmclock: not offered\n", cpu);
	out_flush();
}

static bool count_int3(struct trap_frame *f)
{
	int3_count++; /* #BP is a trap: RIP already points past the int3 */
	return true;
}

static void run_int3_test(void)
{
	trap_set_handler(TRAP_BP, count_int3);
	for (unsigned i = 0; i < INT3_ROUNDS; i++)
		__asm__ volatile("int3" ::: "memory");
	out_printf("cpu 0: int3 handled %u of %u\n", int3_count, INT3_ROUNDS);
	out_flush();
	if (int3_count != INT3_ROUNDS)
		guest_exit(GUEST_STATUS_TEST_FAILED);
}

static __attribute__((noreturn)) void run_flood(void)
{
	for (unsigned long n = 0;; n++)
		out_printf("guest: flood line %lu: the quick brown fox jumps over the lazy dog\n", n);
}

/* `test=...`: behaviours the VMM's own tests provoke. Returns to run normally. */
static void run_test(void)
{
	size_t n;
	const char *t = cmdline_value("test", &n);

	if (!t)
		return;
	if (str_equal_n(t, n, "triple-fault")) {
		out_now("guest: test=triple-fault: null IDT, then #GP\n");
		trap_load_null_idt();
		/* A non-canonical address: #GP -> no IDT -> #DF -> triple fault. */
		__asm__ volatile("movq 0x8000000000000000, %%rax" ::: "rax", "memory");
		guest_exit(GUEST_STATUS_TEST_FAILED);
	}
	if (str_equal_n(t, n, "exception")) {
		out_now("guest: test=exception: #GP with the IDT loaded\n");
		__asm__ volatile("movq 0x8000000000000000, %%rax" ::: "rax", "memory");
		guest_exit(GUEST_STATUS_TEST_FAILED);
	}
	if (str_equal_n(t, n, "hang")) {
		out_now("guest: test=hang: looping with interrupts off\n");
		__asm__ volatile("cli");
		for (;;)
			__asm__ volatile("" ::: "memory");
	}
	if (str_equal_n(t, n, "flood"))
		run_flood();
	if (str_equal_n(t, n, "int3")) {
		run_int3_test();
		return;
	}
	out_now("guest: unknown test=%.*s\n", (int)n, t);
	guest_exit(GUEST_STATUS_TEST_FAILED);
}

void guest_ap_main(unsigned cpu)
{
	report_cpu(cpu);
	smp_cpu_done();
}

void guest_main(void)
{
	unsigned ncpus = smp_cpu_count(), done;

	if (cmdline_value("exit", NULL))
		guest_exit((uint8_t)cmdline_uint("exit", GUEST_STATUS_TEST_FAILED));
	verbose = cmdline_has("verbose");
	run_test();
	if (boot_info.madt_error)
		out_printf("guest: warning: %s; running on the boot CPU only\n",
			   boot_info.madt_error);
	smp_start_aps();
	report_cpu(0);
	smp_cpu_done();
	done = smp_wait_done(AP_WAIT_TSC_CYCLES);
	if (done < ncpus) {
		out_now("guest: only %u of %u cpus reported\n", done, ncpus);
		guest_exit(GUEST_STATUS_SMP_FAILED);
	}
	out_now("guest: %u cpus ok\n", ncpus);
	guest_exit(GUEST_STATUS_OK);
}
