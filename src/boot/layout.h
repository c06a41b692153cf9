/* SPDX-License-Identifier: MIT */
/*
 * Guest-physical layout: every fixed guest address skyvm uses, in one file.
 *
 *   0x0000_0000  real-mode IVT/BDA (left zero)
 *   0x0000_0500  boot GDT (64-bit entry: null, code, data, TSS)
 *   0x0000_6000  PVH hvm_start_info, then its memmap
 *   0x0000_7000  Linux zero page (struct boot_params)
 *   0x0000_9000  boot page tables: PML4, PDPT, 4 PDs (identity 0-4 GiB, 2 MiB pages)
 *   0x0002_0000  kernel command line (up to 64 KiB)
 *   0x0008_0000  top of the initial stack for the embedded guests
 *   0x000E_0000  ACPI: RSDP (in the legacy BIOS scan area), then XSDT, FADT, DSDT, MADT
 *   0x000F_FFF0  the x86 reset vector: a stub that resets through the i8042
 *   0x0010_0000  kernel image (bzImage protected-mode part, ELF PT_LOAD as linked)
 *   ...          RAM up to min(memory, 3 GiB)
 *   0xC000_0000  32-bit hole: PCI/MMIO, IOAPIC, LAPIC, KVM's TSS and identity map
 *   0xD000_0000  device MMIO windows (virtio-mmio), 4 KiB each, handed out in order
 *   0x1_0000_0000 the rest of RAM when memory > 3 GiB
 */
#ifndef SKYVM_BOOT_LAYOUT_H
#define SKYVM_BOOT_LAYOUT_H

#define LAYOUT_BOOT_GDT 0x500ULL
#define LAYOUT_PVH_START_INFO 0x6000ULL
#define LAYOUT_PVH_MODLIST 0x6200ULL    /* hvm_modlist_entry[1]: the initrd */
#define LAYOUT_PVH_MEMMAP 0x6400ULL     /* hvm_memmap_table_entry[] */
#define LAYOUT_PVH_MEMMAP_MAX 32
#define LAYOUT_ZERO_PAGE 0x7000ULL
#define LAYOUT_PML4 0x9000ULL
#define LAYOUT_PDPT 0xA000ULL
#define LAYOUT_PD 0xB000ULL             /* 4 pages: 0xB000-0xEFFF */
#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 0x10000ULL
#define LAYOUT_BOOT_STACK 0x80000ULL
#define LAYOUT_EBDA_START 0x9FC00ULL    /* low RAM ends here in the e820 map */
#define LAYOUT_ACPI_START 0xE0000ULL    /* RSDP here, tables after it */
#define LAYOUT_ACPI_END 0xFFFF0ULL      /* the reset vector follows */
#define LAYOUT_RESET_VECTOR 0xFFFF0ULL  /* F000:FFF0, where a CPU starts after reset */
#define LAYOUT_KERNEL_START 0x100000ULL

#define LAYOUT_HOLE_START 0xC0000000ULL /* RAM above this moves to 4 GiB */
#define LAYOUT_HOLE_END 0x100000000ULL
#define LAYOUT_MMIO_START 0xD0000000ULL /* the device MMIO allocator's range */
#define LAYOUT_MMIO_END 0xFE000000ULL
#define LAYOUT_MMIO_WINDOW 0x1000ULL    /* alignment of each window */
#define LAYOUT_IOAPIC 0xFEC00000ULL
#define LAYOUT_LAPIC 0xFEE00000ULL
#define LAYOUT_KVM_IDENTITY_MAP 0xFEFFC000ULL /* KVM_SET_IDENTITY_MAP_ADDR, 1 page */
#define LAYOUT_KVM_TSS 0xFEFFD000ULL          /* KVM_SET_TSS_ADDR, 3 pages */
#define LAYOUT_KVM_PRIVATE_END 0xFF000000ULL  /* end of the two above (e820 reserved) */

#define LAYOUT_MIN_MEMORY_MIB 2ULL      /* the embedded guests fit in this */

/*
 * The boot GDT at LAYOUT_BOOT_GDT (boot.c writes it; the VMM turns entries
 * into kvm_segments with boot_gdt_to_segment()).  Selectors are those Linux's
 * 64-bit boot protocol names (__BOOT_CS = 0x10, __BOOT_DS = 0x18); PVH enters
 * with CS = 0x08.  All flat: base 0, limit 4 GiB, DPL 0.
 */
#define BOOT_GDT_SEL_CODE32 0x08
#define BOOT_GDT_SEL_CODE64 0x10
#define BOOT_GDT_SEL_DATA 0x18
#define BOOT_GDT_SEL_TSS 0x20           /* 16-byte system descriptor: 0x20 and 0x28 */
#define BOOT_GDT_ENTRIES 6
#define BOOT_GDT_CODE32 0x00CF9B000000FFFFULL /* G, D, P, code exec/read accessed */
#define BOOT_GDT_CODE64 0x00AF9B000000FFFFULL /* G, L, P, code exec/read accessed */
#define BOOT_GDT_DATA 0x00CF93000000FFFFULL   /* G, B, P, data read/write accessed */
#define BOOT_GDT_TSS 0x00008B0000000067ULL    /* P, busy 64-bit TSS, limit 0x67; base 0 */

#endif
