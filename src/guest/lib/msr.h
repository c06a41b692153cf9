/* SPDX-License-Identifier: MIT */
/* Model-specific registers; the _safe forms survive #GP (entry.S, trap.c). */
#ifndef SKYVM_GUEST_LIB_MSR_H
#define SKYVM_GUEST_LIB_MSR_H

#include <stdint.h>

static inline uint64_t msr_read(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline void msr_write(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			 : "memory");
}

/* 0, or -1 when the instruction raised #GP. */
int msr_write_safe(uint32_t msr, uint64_t value);
int msr_read_safe(uint32_t msr, uint64_t *value);

#endif
