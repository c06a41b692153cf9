/* SPDX-License-Identifier: MIT */
/*
 * The hostcheck guest: one check per VM, named on the cmdline, answered by
 * the debug-exit status alone (hostcheck/protocol.h), so that `skyvm
 * host-check` learns the result even when the console is off and even when
 * the check kills the VM (then skyvm's own exit code tells what happened:
 * an emulation failure, a timeout).
 *
 *   insn=NAME     execute one instruction at CPL0 (hostcheck/insn.c)
 *   insn=syscall  drop to CPL3 and issue SYSCALL (hostcheck/syscall.c)
 */
#include "hostcheck/insn.h"
#include "hostcheck/protocol.h"
#include "hostcheck/syscall.h"
#include "lib/boot.h"
#include "lib/cmdline.h"
#include "lib/io.h"
#include "lib/string.h"
#include "lib/trap.h"

#define TRAP_VECTORS 32
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_NE (1ull << 5)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_OSXSAVE (1ull << 18)
#define XCR0_X87_SSE 3u

/* Set while enabling what an instruction needs: a fault there is not the instruction's. */
static volatile bool enabling;

static bool on_exception(struct trap_frame *f)
{
	if (syscall_in_handler(f->rip))
		guest_exit(HOSTCHECK_SYSCALL_CPL3);
	if (enabling)
		guest_exit(HOSTCHECK_CANNOT_ENABLE);
	guest_exit((uint8_t)(HOSTCHECK_EXCEPTION + (f->vector & 31)));
}

/* int3 is a trap: RIP is already past it, so resuming is all #BP needs. */
static bool on_breakpoint(struct trap_frame *f)
{
	(void)f;
	return true;
}

/* What the x87/SSE/XSAVE instructions need enabled, as a kernel would. */
static void enable_fpu(const struct insn_test *t)
{
	uint64_t cr0, cr4;

	__asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
	cr0 = (cr0 & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE;
	__asm__ volatile("mov %0, %%cr0" : : "r"(cr0));
	if (!t->sse && !t->xsave)
		return;
	__asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
	cr4 |= CR4_OSFXSR | CR4_OSXMMEXCPT;
	if (t->xsave)
		cr4 |= CR4_OSXSAVE;
	__asm__ volatile("mov %0, %%cr4" : : "r"(cr4));
	if (t->xsave)
		__asm__ volatile("xsetbv" : : "c"(0), "a"(XCR0_X87_SSE), "d"(0));
}

void guest_main(void)
{
	const struct insn_test *t;
	const char *name;
	size_t len;

	for (unsigned v = 0; v < TRAP_VECTORS; v++)
		trap_set_handler(v, v == TRAP_BP ? on_breakpoint : on_exception);
	name = cmdline_value("insn", &len);
	if (!name)
		guest_exit(HOSTCHECK_UNKNOWN);
	if (str_equal_n(name, len, "syscall"))
		syscall_check();
	t = insn_find(name, len);
	if (!t)
		guest_exit(HOSTCHECK_UNKNOWN);
	if (t->required && !insn_offered(&t->needs))
		guest_exit(HOSTCHECK_NOT_OFFERED);
	/* KVM refuses CR4.OSXSAVE unless its table (not the CPU) offers xsave */
	enabling = true;
	enable_fpu(t);
	enabling = false;
	t->run();
	guest_exit(HOSTCHECK_OK);
}

void guest_ap_main(unsigned cpu)
{
	(void)cpu; /* host-check boots one vCPU */
}
