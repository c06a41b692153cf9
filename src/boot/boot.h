/* SPDX-License-Identifier: MIT */
/*
 * Loading a guest kernel into guest memory: pure functions over guest RAM,
 * no KVM calls.  boot_load() recognises the image by its magic and writes
 * everything the guest needs before its first instruction:
 *
 *   bzImage (Linux 64-bit boot protocol, >= 2.12)     ELF with a PVH note
 *   -------------------------------------------       --------------------
 *   protected-mode kernel at LAYOUT_KERNEL_START       PT_LOADs at p_paddr
 *   zero page (boot_params) at LAYOUT_ZERO_PAGE        hvm_start_info + memmap
 *   identity page tables 0-4 GiB at LAYOUT_PML4        (paging off)
 *   both: command line, initrd, ACPI tables, boot GDT
 *
 * The caller (the VMM) then sets the registers described by struct
 * boot_entry.  docs/boot.md explains each choice.
 */
#ifndef SKYVM_BOOT_BOOT_H
#define SKYVM_BOOT_BOOT_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "acpi/acpi.h"
#include "boot/guest_mem.h"

struct boot_config {
	const uint8_t *kernel; /* bzImage or ELF image bytes */
	size_t kernel_len;
	const char *kernel_name; /* for messages */
	const uint8_t *initrd;   /* may be NULL */
	size_t initrd_len;
	const char *cmdline;     /* may be NULL or "" */
	unsigned ncpus;          /* for the MADT */
	const unsigned *apic_ids; /* ncpus ids; NULL = 0..ncpus-1 */
	/* The machine's ACPI devices and sleep registers (NULL: none); ncpus/apic_ids
	 * above win over the ones in here. */
	const struct acpi_config *acpi;
};

enum boot_entry_mode {
	BOOT_ENTRY_LINUX64, /* long mode, paging on (cr3), CS = BOOT_GDT_SEL_CODE64 */
	BOOT_ENTRY_PVH32,   /* protected mode, paging off, CS = BOOT_GDT_SEL_CODE32 */
};

struct boot_entry {
	enum boot_entry_mode mode;
	uint64_t rip;       /* entry point */
	uint64_t rsi;       /* LINUX64: zero page address (LAYOUT_ZERO_PAGE) */
	uint64_t rbx;       /* PVH32: hvm_start_info address (LAYOUT_PVH_START_INFO) */
	uint64_t cr3;       /* LINUX64: LAYOUT_PML4; PVH32: 0 */
	uint64_t rsp;       /* LAYOUT_BOOT_STACK (neither protocol needs one; small guests do) */
	const char *format; /* "bzImage", "ELF/PVH" for messages */
	uint64_t kernel_start, kernel_end; /* guest range the kernel occupies or needs */
	uint64_t initrd_start;             /* 0 when no initrd */
	uint64_t rsdp;                     /* ACPI RSDP address */
};

/*
 * Load c->kernel (and initrd, command line, ACPI tables) into `m`.
 * Returns 0 and fills *out, or -1 with err_msg() naming the file and the
 * problem ("kernel FILE: truncated bzImage (N bytes, setup needs M)").
 * Never reads outside c->kernel or writes outside `m`, whatever the image.
 */
int boot_load(struct guest_mem *m, const struct boot_config *c, struct boot_entry *out);

/*
 * Decode an 8-byte GDT descriptor (e.g. BOOT_GDT_CODE64) into the segment
 * KVM_SET_SREGS takes, with `selector` as its selector.  A non-present
 * descriptor gives an unusable segment.
 */
void boot_gdt_to_segment(uint64_t desc, unsigned selector, struct kvm_segment *out);

#endif
