/* SPDX-License-Identifier: MIT */
/* One instruction per function, executed at CPL0 (insn.c). */
#ifndef SKYVM_GUEST_HOSTCHECK_INSN_H
#define SKYVM_GUEST_HOSTCHECK_INSN_H

#include <stdbool.h>
#include <stdint.h>

/* A CPUID bit an instruction needs (leaf 0: none). */
struct insn_cpuid {
	uint32_t leaf, subleaf;
	uint8_t reg; /* 0 EAX .. 3 EDX */
	uint8_t bit;
};

struct insn_test {
	const char *name;
	void (*run)(void);
	struct insn_cpuid needs;   /* checked only when `required` */
	bool required;             /* not executed without the CPUID bit (#UD by definition) */
	bool sse;                  /* needs CR4.OSFXSR */
	bool xsave;                /* needs CR4.OSXSAVE and XCR0 = x87|SSE */
};

const struct insn_test *insn_find(const char *name, unsigned long len);
bool insn_offered(const struct insn_cpuid *c);

#endif
