/* SPDX-License-Identifier: MIT */
/*
 * The instructions a restricted KVM's emulator may not execute at CPL0
 * (HOST-KVM.md), one function each.  Operands are harmless: memory in this
 * guest's .bss, hypercall 1 (KVM_HC_VAPIC_POLL_IRQ, which does nothing).
 * SSE registers are used only inside the asm (the guest is built -mno-sse,
 * so the compiler keeps nothing there).
 */
#include "hostcheck/insn.h"

#include "lib/cpuid.h"
#include "lib/string.h"

static uint8_t area[4096] __attribute__((aligned(64)));
static uint64_t pair[2] __attribute__((aligned(16)));

static void run_cmpxchg16b(void)
{
	uint64_t lo = 0, hi = 0;

	__asm__ volatile("lock cmpxchg16b %2"
			 : "+a"(lo), "+d"(hi), "+m"(pair)
			 : "b"(1ull), "c"(2ull)
			 : "memory", "cc");
}

/* x87 and SSE state (XCR0 bits 0-1), the part every xsave CPU has. */
static void run_xsave(void)
{
	__asm__ volatile("xsave %0" : "+m"(area) : "a"(3), "d"(0) : "memory");
}

/* From a zeroed area: XSTATE_BV 0 means "initialise", a valid image. */
static void run_xrstor(void)
{
	memset(area, 0, sizeof(area));
	__asm__ volatile("xrstor %0" : : "m"(area), "a"(3), "d"(0) : "memory");
}

static void run_xgetbv(void)
{
	uint32_t lo, hi;

	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
}

static void run_rdtscp(void)
{
	uint32_t lo, hi, aux;

	__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(aux));
}

static void run_popcnt(void)
{
	uint64_t v = 0xf0f0;

	__asm__ volatile("popcnt %0, %0" : "+r"(v) : : "cc");
}

static void run_int3(void)
{
	__asm__ volatile("int3" : : : "memory");
}

static void run_fwait(void)
{
	__asm__ volatile("fninit; fwait" : : : "memory");
}

static void run_stac(void)
{
	__asm__ volatile("stac" : : : "cc");
}

static void run_clac(void)
{
	__asm__ volatile("clac" : : : "cc");
}

static void run_ud1(void)
{
	__asm__ volatile("ud1 %%eax, %%eax" : : : "memory");
}

static void run_fldz(void)
{
	__asm__ volatile("fninit; fldz; fstp %%st(0)" : : : "memory");
}

static void run_ldmxcsr(void)
{
	static uint32_t mxcsr = 0x1f80;

	__asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
}

static void run_pclmulqdq(void)
{
	__asm__ volatile("pclmulqdq $0, %%xmm1, %%xmm0" : : : "memory");
}

static void run_aesenc(void)
{
	__asm__ volatile("aesenc %%xmm1, %%xmm0" : : : "memory");
}

static void run_movbe(void)
{
	uint32_t v;

	__asm__ volatile("movbe %1, %0" : "=r"(v) : "m"(pair[0]));
}

static void run_crc32(void)
{
	uint32_t v = 0;

	__asm__ volatile("crc32l %1, %0" : "+r"(v) : "r"(0x12345678u));
}

static void run_rdpid(void)
{
	uint64_t v;

	__asm__ volatile("rdpid %0" : "=r"(v));
}

static void run_vmcall(void)
{
	uint64_t ret = 1; /* KVM_HC_VAPIC_POLL_IRQ */

	__asm__ volatile("vmcall" : "+a"(ret) : : "memory");
}

#define NONE { 0, 0, 0, 0 }
#define C1(reg, bit) { 1, 0, reg, bit }
#define C7(reg, bit) { 7, 0, reg, bit }
#define CX(reg, bit) { 0x80000001, 0, reg, bit }

/* The CPUID bits per the SDM; `required` only where the result would be #UD by definition. */
static const struct insn_test tests[] = {
	{ "cmpxchg16b", run_cmpxchg16b, C1(2, 13), false, false, false },
	{ "xsave", run_xsave, C1(2, 26), true, false, true },
	{ "xrstor", run_xrstor, C1(2, 26), true, false, true },
	{ "xgetbv", run_xgetbv, C1(2, 26), true, false, true },
	{ "rdtscp", run_rdtscp, CX(3, 27), false, false, false },
	{ "popcnt", run_popcnt, C1(2, 23), false, false, false },
	{ "int3", run_int3, NONE, false, false, false },
	{ "fwait", run_fwait, NONE, false, false, false },
	{ "stac", run_stac, C7(1, 20), true, false, false },
	{ "clac", run_clac, C7(1, 20), true, false, false },
	{ "ud1", run_ud1, NONE, false, false, false },
	{ "fldz", run_fldz, NONE, false, false, false },
	{ "ldmxcsr", run_ldmxcsr, NONE, false, true, false },
	{ "pclmulqdq", run_pclmulqdq, C1(2, 1), false, true, false },
	{ "aesenc", run_aesenc, C1(2, 25), false, true, false },
	{ "movbe", run_movbe, C1(2, 22), false, false, false },
	{ "crc32", run_crc32, C1(2, 20), false, false, false },
	{ "rdpid", run_rdpid, C7(2, 22), false, false, false },
	{ "vmcall", run_vmcall, NONE, false, false, false },
};

const struct insn_test *insn_find(const char *name, unsigned long len)
{
	for (unsigned i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		if (strlen(tests[i].name) == len && !memcmp(tests[i].name, name, len))
			return &tests[i];
	return 0;
}

bool insn_offered(const struct insn_cpuid *c)
{
	struct cpuid_regs r;
	uint32_t v;

	if (!c->leaf)
		return true;
	r = cpuid_count(c->leaf, c->subleaf);
	v = c->reg == 0 ? r.eax : c->reg == 1 ? r.ebx : c->reg == 2 ? r.ecx : r.edx;
	return v >> c->bit & 1;
}
