/* SPDX-License-Identifier: MIT */
/*
 * The guest memory map, shared by the zero page (e820_table) and the PVH
 * memmap (same entry types).  What a PC firmware would report:
 *
 *   [0, EBDA)             RAM        conventional memory
 *   [EBDA, 1 MiB)         reserved   EBDA, VGA hole, BIOS area; the ACPI
 *                                    tables live at 0xE0000 in here, where
 *                                    the legacy RSDP scan looks.  Reserved
 *                                    rather than "ACPI reclaimable" so no OS
 *                                    ever reuses the pages the tables are in.
 *   [1 MiB, low_size)     RAM        up to 3 GiB
 *   [KVM private, 4 GiB)  reserved   KVM's identity-map page and TSS (as QEMU
 *                                    reports them), so no guest puts a BAR there
 *   [4 GiB, ...)          RAM        what did not fit below the hole
 */
#include "boot/layout.h"
#include "boot/loader.h"
#include "util/err.h"

struct e820_writer {
	struct boot_e820_entry *out;
	unsigned max, n;
};

static int e820_add(struct e820_writer *w, uint64_t start, uint64_t end, uint32_t type)
{
	if (end <= start)
		return 0;
	if (w->n >= w->max)
		return err_set("e820 map needs more than %u entries", w->max);
	w->out[w->n].addr = start;
	w->out[w->n].size = end - start;
	w->out[w->n].type = type;
	w->n++;
	return 0;
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

int boot_e820_build(const struct guest_mem *m, struct boot_e820_entry *out, unsigned max)
{
	struct e820_writer w = { out, max, 0 };
	uint64_t low = m->low_size;
	uint64_t high = m->size - m->low_size;

	if (e820_add(&w, 0, min_u64(low, LAYOUT_EBDA_START), BOOT_E820_RAM) < 0 ||
	    e820_add(&w, LAYOUT_EBDA_START, LAYOUT_KERNEL_START, BOOT_E820_RESERVED) < 0 ||
	    e820_add(&w, LAYOUT_KERNEL_START, low, BOOT_E820_RAM) < 0 ||
	    e820_add(&w, LAYOUT_KVM_IDENTITY_MAP, LAYOUT_KVM_PRIVATE_END, BOOT_E820_RESERVED) < 0 ||
	    e820_add(&w, LAYOUT_HOLE_END, LAYOUT_HOLE_END + high, BOOT_E820_RAM) < 0)
		return -1;
	return (int)w.n;
}
