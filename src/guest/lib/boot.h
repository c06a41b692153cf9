/* SPDX-License-Identifier: MIT */
/*
 * What an embedded guest is given, and what it must define.
 *
 * The library (entry.S, start.c) brings every CPU to 64-bit mode with the
 * IDT loaded, then calls guest_main() on the boot CPU and guest_ap_main() on
 * each AP once the boot CPU has called smp_start_aps().
 */
#ifndef SKYVM_GUEST_LIB_BOOT_H
#define SKYVM_GUEST_LIB_BOOT_H

#include <stdint.h>

#include "lib/acpi.h"

#define HVM_START_MAGIC 0x336ec578u

/* xen/include/public/arch-x86/hvm/start_info.h */
struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
	uint64_t memmap_paddr;  /* version 1+ */
	uint32_t memmap_entries, reserved;
};

struct boot_info {
	const struct hvm_start_info *start_info;
	struct madt_info madt;
	const char *madt_error; /* NULL when the MADT was read */
};

extern struct boot_info boot_info;

/* Defined by each guest. */
void guest_main(void);
void guest_ap_main(unsigned cpu);

#endif
