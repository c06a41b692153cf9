/* SPDX-License-Identifier: MIT */
/*
 * The probe's paravirtual checks (kvmclock, wall clock, steal time, PV EOI,
 * and #GP on the MSRs of hidden PV features), each sent as a record and
 * summarised on the console.
 */
#ifndef SKYVM_GUEST_PROBE_PV_H
#define SKYVM_GUEST_PROBE_PV_H

#include <stdint.h>

#include "probe/sweep.h"

/* `steal_busy_us`: how long to keep the CPU busy between the steal readings. */
void pv_checks(unsigned cpu, const struct sweep_summary *s, uint64_t steal_busy_us);

#endif
