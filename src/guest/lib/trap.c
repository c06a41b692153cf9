/* SPDX-License-Identifier: MIT */
#include "lib/trap.h"

#include "lib/console.h"
#include "lib/io.h"
#include "lib/smp.h"

#define NVECTORS 32
#define SEL_CODE64 0x08
#define GATE_INTERRUPT 0x8e00 /* present, DPL 0, 64-bit interrupt gate */

struct idt_gate {
	uint16_t offset_lo, selector, flags, offset_mid;
	uint32_t offset_hi, reserved;
};

struct __attribute__((packed)) table_ptr {
	uint16_t limit;
	uint64_t base;
};

extern const char trap_stubs[];
extern const char msr_write_safe_insn[], msr_write_safe_fault[];
extern const char msr_read_safe_insn[], msr_read_safe_fault[];

static struct idt_gate idt[NVECTORS] __attribute__((aligned(16)));
static trap_handler handlers[NVECTORS];

static const char *const vector_names[NVECTORS] = {
	"DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "CSO", "TS", "NP", "SS", "GP",
	"PF", "15", "MF", "AC", "MC", "XM", "VE", "CP", "22", "23", "24", "25", "26", "27",
	"HV", "VC", "SX", "31",
};

void trap_init(void)
{
	/* The stubs are 16 bytes apart (entry.S); gate addresses do not fit a
	 * relocation, so the table is filled here, once. */
	for (unsigned v = 0; v < NVECTORS; v++) {
		uint64_t a = (uint64_t)(uintptr_t)(trap_stubs + 16 * v);

		idt[v].offset_lo = (uint16_t)a;
		idt[v].selector = SEL_CODE64;
		idt[v].flags = GATE_INTERRUPT;
		idt[v].offset_mid = (uint16_t)(a >> 16);
		idt[v].offset_hi = (uint32_t)(a >> 32);
	}
}

void trap_load_idt(void)
{
	struct table_ptr p = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };

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
