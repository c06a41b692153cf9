/* SPDX-License-Identifier: MIT */
/*
 * ELF kernels with a PVH entry note: Linux's vmlinux (CONFIG_PVH), and
 * skyvm's embedded guests.  The kernel is loaded by its program headers at
 * their physical addresses, then hvm_start_info (version 1, with the memory
 * map) describes the command line, the initrd as module 0 and the RSDP.
 */
#include <string.h>

#include "boot/elf.h"
#include "boot/layout.h"
#include "boot/loader.h"
#include "boot/pvh.h"
#include "util/err.h"

static int write_start_info(struct guest_mem *m, const struct boot_config *c, uint64_t rsdp,
			    uint64_t initrd)
{
	struct boot_e820_entry map[LAYOUT_PVH_MEMMAP_MAX];
	struct hvm_memmap_table_entry *mm;
	struct hvm_start_info *si;
	int n;

	n = boot_e820_build(m, map, LAYOUT_PVH_MEMMAP_MAX);
	if (n < 0)
		return -1;
	si = guest_ptr(m, LAYOUT_PVH_START_INFO, sizeof(*si));
	mm = guest_ptr(m, LAYOUT_PVH_MEMMAP, (uint64_t)n * sizeof(*mm));
	if (!si || !mm)
		return err_set("guest memory too small for the PVH start info");
	for (int i = 0; i < n; i++)
		mm[i] = (struct hvm_memmap_table_entry){ map[i].addr, map[i].size, map[i].type, 0 };

	memset(si, 0, sizeof(*si));
	si->magic = HVM_START_MAGIC_VALUE;
	si->version = HVM_START_INFO_VERSION;
	si->cmdline_paddr = LAYOUT_CMDLINE;
	si->rsdp_paddr = rsdp;
	si->memmap_paddr = LAYOUT_PVH_MEMMAP;
	si->memmap_entries = (uint32_t)n;
	if (initrd) {
		struct hvm_modlist_entry *mod = guest_ptr(m, LAYOUT_PVH_MODLIST, sizeof(*mod));

		if (!mod)
			return err_set("guest memory too small for the PVH module list");
		*mod = (struct hvm_modlist_entry){ initrd, c->initrd_len, 0, 0 };
		si->nr_modules = 1;
		si->modlist_paddr = LAYOUT_PVH_MODLIST;
	}
	return 0;
}

int boot_load_pvh(struct guest_mem *m, const struct boot_config *c, uint64_t rsdp,
		  struct boot_entry *out)
{
	const char *name = boot_kernel_name(c);
	struct elf_image img;
	uint64_t initrd;

	if (elf_inspect(c->kernel, c->kernel_len, &img) < 0)
		return err_wrap("kernel %s", name);
	if (!img.has_pvh_entry)
		return err_set("kernel %s: ELF without a PVH note (XEN_ELFNOTE_PHYS32_ENTRY); "
			       "build Linux with CONFIG_PVH=y", name);
	if (img.load_end > m->low_size) {
		uint64_t mib = (img.load_end - img.load_start + (1 << 20) - 1) >> 20;

		return err_set("kernel %s: kernel (%llu MiB, ends at 0x%llx) does not fit in guest "
			       "memory (%llu MiB)", name, (unsigned long long)mib,
			       (unsigned long long)img.load_end,
			       (unsigned long long)(m->size >> 20));
	}
	if (img.pvh_entry < img.load_start || img.pvh_entry >= img.load_end)
		return err_set("kernel %s: PVH entry 0x%llx is outside the loaded segments "
			       "[0x%llx, 0x%llx)", name, (unsigned long long)img.pvh_entry,
			       (unsigned long long)img.load_start,
			       (unsigned long long)img.load_end);
	if (elf_load_segments(m, c->kernel, c->kernel_len, LAYOUT_KERNEL_START) < 0)
		return err_wrap("kernel %s", name);
	if (boot_write_cmdline(m, c, LAYOUT_CMDLINE_MAX - 1) < 0)
		return -1;
	if (boot_place_initrd(m, c, img.load_end, m->low_size, "the end of low memory",
			      &initrd) < 0)
		return -1;
	if (write_start_info(m, c, rsdp, initrd) < 0)
		return -1;

	*out = (struct boot_entry){
		.mode = BOOT_ENTRY_PVH32,
		.rip = img.pvh_entry,
		.rbx = LAYOUT_PVH_START_INFO,
		.rsp = LAYOUT_BOOT_STACK,
		.format = "ELF/PVH",
		.kernel_start = img.load_start,
		.kernel_end = img.load_end,
		.initrd_start = initrd,
		.rsdp = rsdp,
	};
	return 0;
}
