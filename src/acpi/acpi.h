/* SPDX-License-Identifier: MIT */
/*
 * The guest's ACPI tables, built bottom-up in [LAYOUT_ACPI_START,
 * LAYOUT_ACPI_END): DSDT, FADT -> DSDT, MADT, XSDT -> {FADT, MADT}, and the
 * RSDP -> XSDT at LAYOUT_ACPI_START itself, where the legacy scan of
 * 0xE0000-0xFFFFF finds it when the kernel is not told its address.
 * Hardware-reduced ACPI: no PM timer, no SCI, no FACS; what a guest needs
 * from ACPI here is the CPUs and the interrupt controller (MADT).
 */
#ifndef SKYVM_ACPI_ACPI_H
#define SKYVM_ACPI_ACPI_H

#include <stdint.h>

#include "boot/guest_mem.h"

/*
 * Build every table for `ncpus` vCPUs with the given APIC ids (NULL means
 * 0..ncpus-1).  *rsdp = the RSDP's guest address.  Returns 0 or -1 (err_msg):
 * no vCPUs, an invalid or repeated APIC id, or tables that do not fit.
 */
int acpi_build(struct guest_mem *m, unsigned ncpus, const unsigned *apic_ids, uint64_t *rsdp);

#endif
