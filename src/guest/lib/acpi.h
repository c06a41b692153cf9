/* SPDX-License-Identifier: MIT */
/*
 * Just enough ACPI to find the CPUs: RSDP -> XSDT (or RSDT) -> MADT.
 * Signatures and the RSDP checksum are checked; the tables' own checksums are
 * not, because summing every byte costs thousands of interpreted instructions
 * on a restricted KVM and the VMM's unit tests check them instead.
 */
#ifndef SKYVM_GUEST_LIB_ACPI_H
#define SKYVM_GUEST_LIB_ACPI_H

#include <stdint.h>

#include "lib/smp.h"

struct madt_info {
	uint64_t rsdp;          /* where the RSDP was found */
	uint32_t lapic_base;    /* MADT local APIC address (or its override) */
	unsigned ncpus;         /* enabled (or online-capable) processors */
	unsigned ignored;       /* beyond GUEST_MAX_CPUS or x2APIC ids >= 255 */
	uint32_t apic_id[GUEST_MAX_CPUS];
};

/*
 * Fill `mi` from the MADT.  `rsdp_paddr` is hvm_start_info's (0 when the
 * loader gives none: then the EBDA and 0xE0000-0xFFFFF are scanned).
 * Returns NULL, or why there is no usable MADT.
 */
const char *acpi_read_madt(uint64_t rsdp_paddr, struct madt_info *mi);

#endif
