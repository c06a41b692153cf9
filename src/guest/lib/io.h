/* SPDX-License-Identifier: MIT */
/* Port I/O and the debug-exit port. */
#ifndef SKYVM_GUEST_LIB_IO_H
#define SKYVM_GUEST_LIB_IO_H

#include <stddef.h>
#include <stdint.h>

#include "lib/ports.h"

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

/* The "memory" clobber: the VMM may read guest memory the port write points at. */
static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port) : "memory");
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/* `rep outsb`: one instruction, but KVM's emulator exits once per byte. */
static inline void outsb(uint16_t port, const void *buf, size_t n)
{
	__asm__ volatile("rep outsb" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
}

/* `rep outsl` of n 32-bit words (one exit per word on KVM). */
static inline void outsl(uint16_t port, const void *buf, size_t n)
{
	__asm__ volatile("rep outsl" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
}

/*
 * A pointer to identity-mapped physical memory.  The empty asm hides the
 * constant from GCC, which otherwise warns about dereferencing small
 * addresses (it assumes they are NULL plus an offset).
 */
static inline void *phys_ptr(uintptr_t paddr)
{
	__asm__("" : "+r"(paddr));
	return (void *)paddr;
}

/* End the VM with `status` (GUEST_STATUS_*); parks the CPU if the VMM does not. */
__attribute__((noreturn)) void guest_exit(uint8_t status);

/* Stop this CPU for good (interrupts off). */
__attribute__((noreturn)) void cpu_park(void);

#endif
