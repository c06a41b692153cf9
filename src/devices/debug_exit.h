/* SPDX-License-Identifier: MIT */
/*
 * The debug-exit port's status mapping (src/exitcodes.h has the codes).
 * Pure: unit-tested without KVM.
 */
#ifndef SKYVM_DEVICES_DEBUG_EXIT_H
#define SKYVM_DEVICES_DEBUG_EXIT_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Whether `code` is one of skyvm's own exit codes, which no guest status
 * may become: 1-4, EXIT_GUEST_STATUS (119) and 120-125, and 128-255
 * (128 + a signal).
 */
bool exit_code_is_skyvms(int code);
/* The exit code a status written to the debug-exit port ends skyvm with. */
int debug_exit_code(uint8_t status);

#endif
