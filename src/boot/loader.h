/* SPDX-License-Identifier: MIT */
/*
 * What the two loaders (bzimage.c, pvh.c) share, and the pieces boot_load()
 * assembles: the e820 map, the page tables, the GDT, the command line and
 * the initrd placement.  Internal to src/boot; the VMM uses boot.h.
 */
#ifndef SKYVM_BOOT_LOADER_H
#define SKYVM_BOOT_LOADER_H

#include <asm/bootparam.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"
#include "boot/guest_mem.h"

/* e820 types (the uapi <asm/e820.h> spells them E820_RAM ...). */
#define BOOT_E820_RAM 1
#define BOOT_E820_RESERVED 2
#define BOOT_E820_ACPI 3

#define BOOT_E820_MAX 8 /* entries boot_e820_build() can produce, at most */

/*
 * The guest's memory map for `m` (e820.c), sorted by address.  Writes at
 * most `max` entries and returns how many, or -1 (err_msg) when `max` is too
 * small.
 */
int boot_e820_build(const struct guest_mem *m, struct boot_e820_entry *out, unsigned max);

/* Identity-map 0-4 GiB with 2 MiB pages at LAYOUT_PML4/PDPT/PD (pagetables.c). */
int boot_build_identity_map(struct guest_mem *m);

/* Write the boot GDT (BOOT_GDT_*) at LAYOUT_BOOT_GDT (boot.c). */
int boot_write_gdt(struct guest_mem *m);

/*
 * Write the reset-vector stub at LAYOUT_RESET_VECTOR (boot.c): real-mode code
 * that pulses the reset line through the i8042 (port 0x64 <- 0xFE), so a guest
 * that jumps to F000:FFF0 to reboot, as Linux's machine_real_restart() does,
 * ends the VM like a reset instead of running through zeroed memory forever.
 */
extern const uint8_t boot_reset_stub[7];
int boot_write_reset_stub(struct guest_mem *m);

/*
 * Copy the command line (NULL = "") with its NUL to LAYOUT_CMDLINE; `max_len`
 * is the longest the kernel accepts, without the NUL.  Errors name `name`.
 */
int boot_write_cmdline(struct guest_mem *m, const struct boot_config *c, uint64_t max_len);

/*
 * Place c->initrd at the highest page-aligned address that ends at or below
 * `limit` (exclusive) and starts at or above `kernel_end`; copy it there.
 * *gpa = 0 when there is no initrd.
 */
int boot_place_initrd(struct guest_mem *m, const struct boot_config *c, uint64_t kernel_end,
		      uint64_t limit, const char *limit_name, uint64_t *gpa);

/* The loaders: c->kernel has the format's magic; ACPI is built at `rsdp`. */
int boot_load_bzimage(struct guest_mem *m, const struct boot_config *c, uint64_t rsdp,
		      struct boot_entry *out);
int boot_load_pvh(struct guest_mem *m, const struct boot_config *c, uint64_t rsdp,
		  struct boot_entry *out);

/* Magic checks used by boot_load() to pick a loader. */
bool boot_is_bzimage(const uint8_t *img, size_t len);
bool boot_is_elf(const uint8_t *img, size_t len);

/* c->kernel_name, or "(unnamed)". */
const char *boot_kernel_name(const struct boot_config *c);

#endif
