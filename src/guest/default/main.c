/* SPDX-License-Identifier: MIT */
/*
 * The default guest: on every vCPU, report what CPUID says (vendor,
 * family/model/stepping, brand, hypervisor leaves, a feature summary) and
 * read kvmclock; then "guest: N cpus ok" and debug-exit 0.  docs/guests.md
 * lists the output lines and the command-line options.
 *
 * Kept cheap on purpose (a restricted KVM interprets this code at ~4.5 M
 * instructions/s and charges ~7 us per exit): each CPU hands its whole block
 * over at once (lib/console.h), feature names only with `verbose`; the e2e
 * tests hold it to an instruction budget per vCPU.
 */
#include "default/features.h"
#include "default/hostile.h"
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
/*
 * How long without progress before an AP counts as never reporting: >= 10 s at
 * any TSC rate we meet (up to 3 GHz), as Linux waits 10 s for an AP.  5e9 cycles
 * (1.5 s) was too short with 50 VMs started at once on two CPUs in the nested
 * guest: an AP that printed all of its lines was counted as missing.
 */
#define AP_WAIT_TSC_CYCLES 30000000000ull
#define FLAGS_LINE_MAX 90

static bool verbose;
static volatile unsigned int3_count;

/* Bit count without `popcnt` (the emulator cannot run it): SWAR, no loop. */
static unsigned popcount32(uint32_t x)
{
	x = x - ((x >> 1) & 0x55555555);
	x = (x & 0x33333333) + ((x >> 2) & 0x33333333);
	x = (x + (x >> 4)) & 0x0f0f0f0f;
	return (x * 0x01010101) >> 24;
}

/*
 * Register bytes as text: up to the first NUL, '?' for the unprintable.
 * Returns the length.  One pass: this runs for 72 bytes on every CPU.
 */
static unsigned regs_to_text(char *out, const uint32_t *words, unsigned nwords)
{
	const char *in = (const char *)words;
	unsigned n = 0, max = nwords * 4;

	for (; n < max && in[n]; n++)
		out[n] = (in[n] < 0x20 || in[n] > 0x7e) ? '?' : in[n];
	return n;
}

static const char hex_digits[16] = "0123456789abcdef";

static void put_hex8(char *d, uint32_t x)
{
	d[0] = hex_digits[x >> 28];
	d[1] = hex_digits[x >> 24 & 0xf];
	d[2] = hex_digits[x >> 20 & 0xf];
	d[3] = hex_digits[x >> 16 & 0xf];
	d[4] = hex_digits[x >> 12 & 0xf];
	d[5] = hex_digits[x >> 8 & 0xf];
	d[6] = hex_digits[x >> 4 & 0xf];
	d[7] = hex_digits[x & 0xf];
}

/*
 * The features line as a template copied in one go, the words written into
 * it at fixed offsets (FW_* order).
 */
static const char features_template[] = "features 1.ecx=00000000 1.edx=00000000 7.ebx=00000000 "
					"7.ecx=00000000 7.edx=00000000 kvm=00000000 bits=";
static const uint8_t features_offset[FW_COUNT] = { 15, 30, 45, 60, 75, 88 };
_Static_assert(sizeof(features_template) - 1 == 102, "features_offset[] follows the template");

/* "cpu N: ", formatted once per CPU and copied in front of each line. */
struct line_prefix {
	char text[16];
	unsigned len;
};

static void prefix_init(struct line_prefix *p, unsigned cpu)
{
	char digits[4];
	unsigned n = 0;

	memcpy(p->text, "cpu ", 4);
	p->len = 4;
	do {
		digits[n++] = (char)('0' + cpu % 10);
		cpu /= 10;
	} while (cpu && n < sizeof(digits));
	while (n)
		p->text[p->len++] = digits[--n];
	p->text[p->len++] = ':';
	p->text[p->len++] = ' ';
}

static inline void line_start(struct outbuf *o, const struct line_prefix *p)
{
	ob_bytes(o, p->text, p->len);
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

static void report_kvmclock(struct outbuf *o, const struct line_prefix *pfx, unsigned cpu)
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
	line_start(o, pfx);
	ob_lit(o, "kvmclock ");
	ob_dec(o, b.ns);
	if (b.flags & PVCLOCK_TSC_STABLE_BIT)
		ob_lit(o, " ns stable");
	else
		ob_lit(o, " ns unstable");
	if (b.ns < a.ns)
		ob_lit(o, " (went backwards)");
	ob_lit(o, "\n");
}

/*
 * Written with the ob_* builders rather than printf: this runs on every vCPU
 * of every VM start, interpreted instruction by instruction on a restricted
 * KVM (see lib/console.h).
 */
static void report_cpu(unsigned cpu)
{
	struct outbuf *o = out_cpu_buf();
	struct line_prefix pfx;
	struct cpuid_regs l0 = cpuid(0), l1 = cpuid(1), l7 = { 0, 0, 0, 0 };
	struct cpuid_regs xmax = cpuid(0x80000000), hv = { 0, 0, 0, 0 };
	struct cpu_signature sig = cpuid_signature(l1.eax);
	uint32_t words[FW_COUNT], regs[12] = { l0.ebx, l0.edx, l0.ecx };
	char text[48];
	unsigned n, bits = 0;
	bool kvm = false;

	prefix_init(&pfx, cpu);
	line_start(o, &pfx);
	ob_lit(o, "apic ");
	ob_dec(o, l1.ebx >> 24);
	ob_lit(o, " ");
	ob_bytes(o, text, regs_to_text(text, regs, 3));
	ob_lit(o, " family ");
	ob_dec(o, sig.family);
	ob_lit(o, " model ");
	ob_dec(o, sig.model);
	ob_lit(o, " stepping ");
	ob_dec(o, sig.stepping);
	ob_lit(o, "\n");

	line_start(o, &pfx);
	if (xmax.eax >= 0x80000004 && xmax.eax < 0x8000ffff) {
		unsigned skip = 0;

		for (unsigned i = 0; i < 3; i++) {
			struct cpuid_regs r = cpuid(0x80000002 + i);

			regs[i * 4 + 0] = r.eax;
			regs[i * 4 + 1] = r.ebx;
			regs[i * 4 + 2] = r.ecx;
			regs[i * 4 + 3] = r.edx;
		}
		n = regs_to_text(text, regs, 12);
		while (skip < n && text[skip] == ' ') /* Intel pads brands on the left */
			skip++;
		ob_lit(o, "brand \"");
		ob_bytes(o, text + skip, n - skip);
		ob_lit(o, "\"\n");
	} else {
		ob_lit(o, "brand none (max extended leaf 0x");
		ob_hex(o, xmax.eax, 0);
		ob_lit(o, ")\n");
	}

	line_start(o, &pfx);
	if (l1.ecx & CPUID_1_ECX_HYPERVISOR) {
		hv = cpuid(KVM_CPUID_SIGNATURE);
		regs[0] = hv.ebx;
		regs[1] = hv.ecx;
		regs[2] = hv.edx;
		kvm = cpuid_is_kvm(&hv);
		ob_lit(o, "hypervisor \"");
		ob_bytes(o, text, regs_to_text(text, regs, 3));
		ob_lit(o, "\" max 0x");
		ob_hex(o, hv.eax, 0);
		ob_lit(o, "\n");
	} else {
		ob_lit(o, "hypervisor none\n");
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
	line_start(o, &pfx);
	if (o->len + sizeof(features_template) > OUT_BUF_SIZE)
		ob_flush(o);
	ob_lit(o, features_template);
	for (unsigned w = 0; w < FW_COUNT; w++)
		put_hex8(o->buf + o->len - (sizeof(features_template) - 1) + features_offset[w],
			 words[w]);
	ob_dec(o, bits);
	ob_lit(o, "\n");
	if (verbose)
		print_flags(cpu, words);

	if (words[FW_KVM] >> KVM_PV_CLOCKSOURCE2 & 1) {
		report_kvmclock(o, &pfx, cpu);
	} else {
		line_start(o, &pfx);
		ob_lit(o, "kvmclock: not offered\n");
	}
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

/*
 * Lines until the VMM stops us, with the ob_* builders: through out_printf()
 * a restricted KVM managed ~60 KB/s, too slow to flood megabytes in a test.
 */
static __attribute__((noreturn)) void run_flood(void)
{
	struct outbuf *o = out_cpu_buf();

	for (uint64_t n = 0;; n++) {
		ob_lit(o, "guest: flood line ");
		ob_dec(o, n);
		ob_lit(o, ": the quick brown fox jumps over the lazy dog\n");
	}
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
	hostile_run(t, n); /* the hostile cases (hostile.c) do not return */
	if (str_equal_n(t, n, "int3")) {
		run_int3_test();
		return;
	}
	if (str_equal_n(t, n, "exits")) {
		/*
		 * `count=N` port writes to 0x80, which no VMM device claims: each is one
		 * exit to userspace and back (make bench times them against a bare loop).
		 */
		uint64_t count = cmdline_uint("count", 10000);

		for (uint64_t i = 0; i < count; i++)
			outb(0x80, 0);
		guest_exit(GUEST_STATUS_OK);
	}
	out_now("guest: unknown test=%.*s\n", (int)n, t);
	guest_exit(GUEST_STATUS_TEST_FAILED);
}

void guest_ap_main(unsigned cpu)
{
	hostile_ap(cpu);
	report_cpu(cpu);
	smp_cpu_done();
}

void guest_main(void)
{
	unsigned ncpus = smp_cpu_count(), done;
	struct outbuf *o;

	if (cmdline_value("exit", NULL))
		guest_exit((uint8_t)cmdline_uint("exit", GUEST_STATUS_TEST_FAILED));
	verbose = cmdline_has("verbose");
	run_test();
	if (boot_info.madt_error)
		out_printf("guest: warning: %s; running on the boot CPU only\n",
			   boot_info.madt_error);
	if (boot_info.madt.ignored)
		out_printf("%s: warning: %u CPUs in the MADT not started "
			   "(x2APIC ids or beyond %u)\n",
			   "guest", boot_info.madt.ignored, GUEST_MAX_CPUS);
	smp_start_aps();
	report_cpu(0);
	smp_cpu_done();
	done = smp_wait_done(AP_WAIT_TSC_CYCLES);
	if (done < ncpus) {
		out_now("guest: only %u of %u cpus reported\n", done, ncpus);
		guest_exit(GUEST_STATUS_SMP_FAILED);
	}
	o = out_cpu_buf();
	ob_lit(o, "guest: ");
	ob_dec(o, ncpus);
	ob_lit(o, " cpus ok\n");
	out_flush();
	guest_exit(GUEST_STATUS_OK);
}
