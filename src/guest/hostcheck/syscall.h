/* SPDX-License-Identifier: MIT */
#ifndef SKYVM_GUEST_HOSTCHECK_SYSCALL_H
#define SKYVM_GUEST_HOSTCHECK_SYSCALL_H

#include <stdbool.h>
#include <stdint.h>

/* Drop to CPL3 and issue SYSCALL; ends the VM with a HOSTCHECK_SYSCALL_* status. */
__attribute__((noreturn)) void syscall_check(void);
/* True when `rip` lies in the SYSCALL handler (an exception there means CPL3). */
bool syscall_in_handler(uint64_t rip);

#endif
