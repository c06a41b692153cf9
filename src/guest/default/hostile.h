/* SPDX-License-Identifier: MIT */
/* The hostile `test=` cases (hostile.c, docs/hostile-guests.md). */
#ifndef SKYVM_GUEST_DEFAULT_HOSTILE_H
#define SKYVM_GUEST_DEFAULT_HOSTILE_H

#include <stdbool.h>
#include <stddef.h>

/* Run test `t` (n bytes) if it is a hostile one: then it never returns. */
bool hostile_run(const char *t, size_t n);
/* On each AP before its normal work: returns unless a hostile test owns the APs. */
void hostile_ap(unsigned cpu);

#endif
