/* SPDX-License-Identifier: MIT */
/*
 * The hostcheck guest's answer, as its debug-exit status (lib/ports.h keeps
 * 0x7c-0x7f and skyvm uses 120+).  Included by the guest and by
 * `skyvm host-check` (src/cli/host_check.c), so plain constants only.
 *
 * Cmdline: `insn=NAME` executes one instruction at CPL0 (the names are
 * HOSTCHECK_INSNS below), `insn=syscall` drops to CPL3 and issues SYSCALL.
 */
#ifndef SKYVM_GUEST_HOSTCHECK_PROTOCOL_H
#define SKYVM_GUEST_HOSTCHECK_PROTOCOL_H

#define HOSTCHECK_OK 0x40           /* the instruction completed */
#define HOSTCHECK_UNKNOWN 0x41      /* no insn= or an unknown name */
#define HOSTCHECK_NOT_OFFERED 0x42  /* CPUID lacks the feature: not executed */
#define HOSTCHECK_SYSCALL_OK 0x43   /* the SYSCALL handler ran at CPL0 */
#define HOSTCHECK_SYSCALL_CPL3 0x44 /* the handler was reached, but still at CPL3 */
#define HOSTCHECK_SETUP_FAILED 0x45 /* the check could not be set up (a guest bug) */
#define HOSTCHECK_CANNOT_ENABLE 0x46 /* enabling what it needs (CR4, XCR0) faulted */
#define HOSTCHECK_EXCEPTION 0x50    /* + vector (0-31): the instruction raised it */

#define HOSTCHECK_IS_EXCEPTION(s) ((s) >= HOSTCHECK_EXCEPTION && (s) < HOSTCHECK_EXCEPTION + 32)

/* The instructions, in the order host-check runs them. */
#define HOSTCHECK_INSNS                                                                  \
	"cmpxchg16b", "xsave", "xrstor", "xgetbv", "rdtscp", "popcnt", "int3", "fwait",  \
		"stac", "clac", "ud1", "fldz", "ldmxcsr", "pclmulqdq", "aesenc", "movbe", \
		"crc32", "rdpid", "vmcall"

#endif
