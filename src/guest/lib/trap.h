/* SPDX-License-Identifier: MIT */
/*
 * CPU exceptions (vectors 0-31).  Without a handler of its own an exception
 * is reported on the console as
 *     cpu N: exception V (#NAME) error E rip R
 * and the VM ends with GUEST_STATUS_EXCEPTION.  A #GP on the *_safe MSR
 * accessors resumes them with an error instead.
 */
#ifndef SKYVM_GUEST_LIB_TRAP_H
#define SKYVM_GUEST_LIB_TRAP_H

#include <stdbool.h>
#include <stdint.h>

/* As entry.S's trap_common leaves it on the stack. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU */
};

#define TRAP_BP 3
#define TRAP_GP 13

/* Returns true to resume at frame->rip (which it may change). */
typedef bool (*trap_handler)(struct trap_frame *f);

/* Load the IDT (entry.S builds it as data). */
void trap_load_idt(void);
/* Handle `vector` on every CPU with `h` (NULL: the default report). */
void trap_set_handler(unsigned vector, trap_handler h);
/* Load an empty IDT, so the next exception escalates to a triple fault. */
void trap_load_null_idt(void);

/* Called by entry.S. */
void trap_dispatch(struct trap_frame *f);

#endif
