/* SPDX-License-Identifier: MIT */
#include "lib/trap.h"

#include "lib/console.h"
#include "lib/io.h"
#include "lib/smp.h"

#define NVECTORS 32

struct idt_gate {
	uint16_t offset_lo, selector, flags, offset_mid;
	uint32_t offset_hi, reserved;
};

struct __attribute__((packed)) table_ptr {
	uint16_t limit;
	uint64_t base;
};

extern const struct idt_gate idt_table[], idt_table_end[];
extern const char msr_write_safe_insn[], msr_write_safe_fault[];
extern const char msr_read_safe_insn[], msr_read_safe_fault[];

static trap_handler handlers[NVECTORS];

static const char *const vector_names[NVECTORS] = {
	"DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "CSO", "TS", "NP", "SS", "GP",
	"PF", "15", "MF", "AC", "MC", "XM", "VE", "CP", "22", "23", "24", "25", "26", "27",
	"HV", "VC", "SX", "31",
};

void trap_load_idt(void)
{
	size_t bytes = (size_t)(idt_table_end - idt_table) * sizeof(struct idt_gate);
	struct table_ptr p = { (uint16_t)(bytes - 1), (uint64_t)(uintptr_t)idt_table };

	__asm__ volatile("lidt %0" : : "m"(p));
}

void trap_load_null_idt(void)
{
	struct table_ptr p = { 0, 0 };

	__asm__ volatile("lidt %0" : : "m"(p));
}

void trap_set_handler(unsigned vector, trap_handler h)
{
	if (vector < NVECTORS)
		handlers[vector] = h;
}

void trap_dispatch(struct trap_frame *f)
{
	uint64_t cr2;

	if (f->vector == TRAP_GP && f->rip == (uintptr_t)msr_write_safe_insn) {
		f->rip = (uintptr_t)msr_write_safe_fault;
		return;
	}
	if (f->vector == TRAP_GP && f->rip == (uintptr_t)msr_read_safe_insn) {
		f->rip = (uintptr_t)msr_read_safe_fault;
		return;
	}
	if (f->vector < NVECTORS && handlers[f->vector] && handlers[f->vector](f))
		return;
	__asm__ volatile("mov %%cr2, %0" : "=r"(cr2));
	out_flush();
	out_now("cpu %u: exception %u (#%s) error 0x%lx rip 0x%lx rsp 0x%lx cr2 0x%lx\n",
		this_cpu(), (unsigned)f->vector, vector_names[f->vector & 31],
		(unsigned long)f->error, (unsigned long)f->rip, (unsigned long)f->rsp,
		(unsigned long)cr2);
	guest_exit(GUEST_STATUS_EXCEPTION);
}
