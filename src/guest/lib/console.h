/* SPDX-License-Identifier: MIT */
/*
 * Console output on COM1.  Each CPU collects its lines in a buffer of its own
 * and out_flush() writes the buffer with one `rep outsb` under the console
 * lock: one exit to the VMM per block instead of one per byte, and blocks of
 * different CPUs never interleave.  No LSR polling: virtual UARTs take bytes
 * as fast as they come.
 */
#ifndef SKYVM_GUEST_LIB_CONSOLE_H
#define SKYVM_GUEST_LIB_CONSOLE_H

/* Append to this CPU's buffer (flushing first when it would not fit). */
void out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Write this CPU's buffer to COM1 and empty it. */
void out_flush(void);
/* Format and write at once, for exception reports and other last words. */
void out_now(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
