/* SPDX-License-Identifier: MIT */
/*
 * skyvm's exit codes, in one place (`skyvm run --help` and docs/devices.md
 * repeat this).
 *
 * `skyvm run`: a guest that ends itself through the debug-exit port (0x501)
 * passes its status s (0-255) through unchanged when s is none of skyvm's
 * own codes: 0, 5-118, 126 and 127.  Any other s (1-4, 119-125, 128-255)
 * ends skyvm with EXIT_GUEST_STATUS, and the stop reason names s
 * (devices/debug_exit.c), so no guest can make skyvm claim a time-out, a
 * set-up error or a signal.  i8042 reset and ACPI power-off are 0.
 * Everything the VMM decides uses the codes below; 128 + n is "ended by
 * signal n".
 */
#ifndef SKYVM_EXITCODES_H
#define SKYVM_EXITCODES_H

enum skyvm_exit {
	EXIT_OK = 0,
	EXIT_ERROR = 1,            /* set-up failed: file, KVM, memory, model */
	EXIT_USAGE = 2,            /* bad command line */
	EXIT_CPU_MISMATCH = 3,     /* cpu verify: guest saw a different CPUID */
	EXIT_CPU_INCOMPATIBLE = 4, /* cpu compare: model does not run on a host */
	EXIT_GUEST_STATUS = 119,   /* the guest wrote one of these codes to debug-exit */
	EXIT_GUEST_SHUTDOWN = 120, /* triple fault (KVM_EXIT_SHUTDOWN) */
	EXIT_GUEST_INTERNAL = 121, /* KVM_EXIT_INTERNAL_ERROR (emulation failure) */
	EXIT_GUEST_FAIL_ENTRY = 122, /* KVM_EXIT_FAIL_ENTRY */
	EXIT_GUEST_UNHANDLED = 123,  /* an exit reason skyvm does not handle */
	EXIT_TIMEOUT = 124,        /* --timeout expired (as timeout(1)) */
	EXIT_GUEST_OUTPUT = 125,   /* guest exceeded --max-output */
	EXIT_SIGNAL_BASE = 128,    /* + the signal that ended skyvm */
	/* A forbidden system call (vmm/sandbox.h).  Not 128 + SIGSYS (159): a shell or a
	 * wrapper reports that as a death by SIGSYS; not 126/127, the embedded guests'. */
	EXIT_SANDBOX = 200,
};

#endif
