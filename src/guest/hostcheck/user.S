/* SPDX-License-Identifier: MIT */
/*
 * The two halves of the system-call check (syscall.c sets up the rest):
 *   user_entry      reached at CPL3 through iretq; issues SYSCALL
 *   syscall_entry   LSTAR: writes to a supervisor-only page, then reports
 *                   through the debug-exit port.  At CPL0 both succeed.  On a
 *                   KVM that leaves the CPU at CPL3 here, the write page-faults
 *                   (or the port write raises #GP) and the exception handler
 *                   sees a RIP inside [syscall_entry, syscall_entry_end).
 */
#include "lib/ports.h"
#include "hostcheck/protocol.h"

	.text
	.code64
	.global user_entry, syscall_entry, syscall_entry_end, syscall_proof
user_entry:
	syscall
	ud2			/* SYSCALL never returns here */

syscall_entry:
	movq $0x5350, syscall_proof	/* supervisor-only page (syscall.c) */
	mov $HOSTCHECK_SYSCALL_OK, %al
	mov $GUEST_PORT_DEBUG_EXIT, %dx
	out %al, %dx
1:	hlt
	jmp 1b
syscall_entry_end:

	.set syscall_proof, 0x300000	/* in the 2 MiB page syscall.c leaves supervisor-only */

	.section .note.GNU-stack, "", @progbits
