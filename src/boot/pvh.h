/* SPDX-License-Identifier: MIT */
/*
 * The PVH boot ABI (Xen's "HVM direct boot", used by Linux, QEMU, Firecracker
 * and cloud-hypervisor to enter a kernel in 32-bit protected mode with paging
 * off).  Written from the published layout of start_info.h:
 *
 *   - the kernel advertises its 32-bit entry in an ELF note of owner "Xen",
 *     type XEN_ELFNOTE_PHYS32_ENTRY (18), whose descriptor is the entry's
 *     physical address (4 bytes, or 8 where the kernel emits a pointer);
 *   - it is entered with EBX = the physical address of struct hvm_start_info,
 *     CS a flat 32-bit code segment, DS/ES/SS flat data, CR0.PE = 1, paging
 *     off, interrupts off;
 *   - version 1 of the start info adds the memory map (e820 types).
 * All fields are little-endian, addresses physical.
 */
#ifndef SKYVM_BOOT_PVH_H
#define SKYVM_BOOT_PVH_H

#include <stdint.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define PVH_NOTE_OWNER "Xen" /* namesz 4, with the NUL */

#define HVM_START_MAGIC_VALUE 0x336ec578u
#define HVM_START_INFO_VERSION 1 /* with memmap_paddr/memmap_entries */

struct hvm_start_info {
	uint32_t magic;          /* HVM_START_MAGIC_VALUE */
	uint32_t version;        /* 0 or 1 */
	uint32_t flags;          /* SIF_xxx; 0 here */
	uint32_t nr_modules;     /* entries at modlist_paddr */
	uint64_t modlist_paddr;  /* struct hvm_modlist_entry[nr_modules] */
	uint64_t cmdline_paddr;  /* NUL-terminated command line, or 0 */
	uint64_t rsdp_paddr;     /* ACPI RSDP, or 0 */
	/* version 1 */
	uint64_t memmap_paddr;   /* struct hvm_memmap_table_entry[memmap_entries] */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;          /* module (the initrd is module 0) */
	uint64_t size;
	uint64_t cmdline_paddr;  /* 0 = none */
	uint64_t reserved;
};

struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;           /* e820 type: 1 RAM, 2 reserved, 3 ACPI, ... */
	uint32_t reserved;
};

_Static_assert(sizeof(struct hvm_start_info) == 56, "hvm_start_info layout");
_Static_assert(sizeof(struct hvm_modlist_entry) == 32, "hvm_modlist_entry layout");
_Static_assert(sizeof(struct hvm_memmap_table_entry) == 24, "hvm_memmap_table_entry layout");

#endif
