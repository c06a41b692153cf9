/* SPDX-License-Identifier: MIT */
/*
 * boot_load(): pick the loader by magic, then lay down what every guest gets
 * whatever its format: ACPI tables, the boot GDT and the identity page
 * tables (both entry modes get them: a PVH guest that enables long mode may
 * use them, Linux replaces them).  Also the pieces both loaders share:
 * command line, initrd placement, and decoding GDT entries for KVM.
 */
#include "boot/boot.h"

#include <string.h>

#include "acpi/acpi.h"
#include "boot/layout.h"
#include "boot/loader.h"
#include "util/err.h"

#define PAGE_SIZE 4096ULL
#define BOOT_SECTOR_FLAG_OFFSET 0x1FE

static const uint64_t boot_gdt[BOOT_GDT_ENTRIES] = {
	[0] = 0, /* null */
	[BOOT_GDT_SEL_CODE32 / 8] = BOOT_GDT_CODE32,
	[BOOT_GDT_SEL_CODE64 / 8] = BOOT_GDT_CODE64,
	[BOOT_GDT_SEL_DATA / 8] = BOOT_GDT_DATA,
	[BOOT_GDT_SEL_TSS / 8] = BOOT_GDT_TSS,
	[BOOT_GDT_SEL_TSS / 8 + 1] = 0, /* upper half of the 16-byte TSS descriptor: base 0 */
};

const char *boot_kernel_name(const struct boot_config *c)
{
	return c->kernel_name && *c->kernel_name ? c->kernel_name : "(unnamed)";
}

bool boot_is_elf(const uint8_t *img, size_t len)
{
	return len >= 4 && img[0] == 0x7F && img[1] == 'E' && img[2] == 'L' && img[3] == 'F';
}

/* Copy a fixed structure to gpa; `what` names it when memory is too small. */
static int write_fixed(struct guest_mem *m, uint64_t gpa, const void *data, size_t len,
		       const char *what)
{
	void *p = guest_ptr(m, gpa, len);

	if (!p)
		return err_set("guest memory too small for %s", what);
	memcpy(p, data, len);
	return 0;
}

int boot_write_gdt(struct guest_mem *m)
{
	return write_fixed(m, LAYOUT_BOOT_GDT, boot_gdt, sizeof(boot_gdt), "the boot GDT");
}

/*
 * Linux with CONFIG_EFI picks EFI reboot on a hardware-reduced ACPI machine
 * (efi_reboot_required()); without EFI runtime services it falls back to
 * BOOT_BIOS, a far jump to F000:FFF0.  A PC has its firmware there; skyvm
 * has this: mov al, 0xFE; out 0x64, al; hlt; jmp back to the hlt.
 */
const uint8_t boot_reset_stub[7] = { 0xB0, 0xFE, 0xE6, 0x64, 0xF4, 0xEB, 0xFD };

int boot_write_reset_stub(struct guest_mem *m)
{
	return write_fixed(m, LAYOUT_RESET_VECTOR, boot_reset_stub, sizeof(boot_reset_stub),
			   "the reset vector");
}

void boot_gdt_to_segment(uint64_t desc, unsigned selector, struct kvm_segment *out)
{
	uint32_t limit = (uint32_t)((desc & 0xFFFF) | ((desc >> 32) & 0xF0000));

	memset(out, 0, sizeof(*out));
	out->selector = (uint16_t)selector;
	out->base = ((desc >> 16) & 0xFFFFFF) | (((desc >> 56) & 0xFF) << 24);
	out->type = (desc >> 40) & 0xF;
	out->s = (desc >> 44) & 1;
	out->dpl = (desc >> 45) & 3;
	out->present = (desc >> 47) & 1;
	out->avl = (desc >> 52) & 1;
	out->l = (desc >> 53) & 1;
	out->db = (desc >> 54) & 1;
	out->g = (desc >> 55) & 1;
	/* KVM takes the limit in bytes: with G set the unit is 4 KiB. */
	out->limit = out->g ? (limit << 12) | 0xFFF : limit;
	out->unusable = !out->present;
}

int boot_write_cmdline(struct guest_mem *m, const struct boot_config *c, uint64_t max_len)
{
	const char *s = c->cmdline ? c->cmdline : "";
	size_t len = strlen(s);
	char *p;

	if (len > max_len)
		return err_set("kernel %s: command line too long (%zu > cmdline_size %llu)",
			       boot_kernel_name(c), len, (unsigned long long)max_len);
	p = guest_ptr(m, LAYOUT_CMDLINE, len + 1);
	if (!p)
		return err_set("guest memory too small for the command line");
	memcpy(p, s, len + 1);
	return 0;
}

int boot_place_initrd(struct guest_mem *m, const struct boot_config *c, uint64_t kernel_end,
		      uint64_t limit, const char *limit_name, uint64_t *gpa)
{
	uint64_t start;
	void *p;

	*gpa = 0;
	if (!c->initrd || c->initrd_len == 0)
		return 0;
	if (limit > m->low_size)
		limit = m->low_size;
	if (c->initrd_len > limit || (limit - c->initrd_len) / PAGE_SIZE * PAGE_SIZE < kernel_end)
		return err_set("initrd (%zu bytes) does not fit below %s (0x%llx) above the kernel "
			       "(which needs RAM up to 0x%llx)", c->initrd_len, limit_name,
			       (unsigned long long)limit, (unsigned long long)kernel_end);
	start = (limit - c->initrd_len) / PAGE_SIZE * PAGE_SIZE;
	p = guest_ptr(m, start, c->initrd_len);
	if (!p)
		return err_set("initrd at 0x%llx is outside guest memory",
			       (unsigned long long)start);
	memcpy(p, c->initrd, c->initrd_len);
	*gpa = start;
	return 0;
}

int boot_load(struct guest_mem *m, const struct boot_config *c, struct boot_entry *out)
{
	const char *name = boot_kernel_name(c);
	struct acpi_config acpi = { 0 };
	uint64_t rsdp;
	int r;

	memset(out, 0, sizeof(*out));
	if (!c->kernel || c->kernel_len == 0)
		return err_set("kernel %s: empty file", name);
	if (m->low_size <= LAYOUT_KERNEL_START)
		return err_set("guest memory (%llu KiB) is too small: the boot structures use the "
			       "first MiB and the kernel goes above it",
			       (unsigned long long)(m->size >> 10));
	if (c->acpi)
		acpi = *c->acpi;
	acpi.ncpus = c->ncpus;
	acpi.apic_ids = c->apic_ids;
	if (acpi_build_tables(m, &acpi, &rsdp) < 0)
		return -1;
	if (boot_write_gdt(m) < 0 || boot_write_reset_stub(m) < 0 ||
	    boot_build_identity_map(m) < 0)
		return -1;

	if (boot_is_elf(c->kernel, c->kernel_len))
		r = boot_load_pvh(m, c, rsdp, out);
	else if (boot_is_bzimage(c->kernel, c->kernel_len))
		r = boot_load_bzimage(m, c, rsdp, out);
	else if (c->kernel_len >= BOOT_SECTOR_FLAG_OFFSET + 2 &&
		 c->kernel[BOOT_SECTOR_FLAG_OFFSET] == 0x55 &&
		 c->kernel[BOOT_SECTOR_FLAG_OFFSET + 1] == 0xAA)
		r = err_set("kernel %s: wrong magic: a boot sector without the \"HdrS\" setup "
			    "header (a zImage older than boot protocol 2.00?)", name);
	else
		r = err_set("kernel %s: not a bzImage or ELF (%zu bytes; no \"HdrS\" at 0x202, no "
			    "ELF magic)", name, c->kernel_len);
	return r;
}
