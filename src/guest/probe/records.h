/* SPDX-License-Identifier: MIT */
/*
 * The probe's data stream (lib/ports.h): records are collected per CPU and
 * sent a buffer at a time, through the bulk port in one exit when the VMM
 * has it, else with `rep outsl` to the probe port.  With the cmdline option
 * `dump` the same words also go to the console as "cpu N: data ..." lines,
 * which is how the stream is checked under QEMU (no probe port there).
 */
#ifndef SKYVM_GUEST_PROBE_RECORDS_H
#define SKYVM_GUEST_PROBE_RECORDS_H

#include <stdbool.h>
#include <stdint.h>

void rec_set_dump(bool on);
/* Append one record to this CPU's stream (flushing first if it would not fit). */
void rec_emit(unsigned cpu, unsigned type, const uint32_t *payload, unsigned len);
/* Send what is buffered. */
void rec_flush(unsigned cpu);
/* Records emitted so far by `cpu`. */
unsigned rec_count(unsigned cpu);

#endif
