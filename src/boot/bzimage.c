/* SPDX-License-Identifier: MIT */
/*
 * Linux bzImage by the 64-bit boot protocol (Documentation/arch/x86/boot.rst):
 * the real-mode setup code is skipped, the protected-mode kernel is copied
 * into RAM and entered in long mode at its start + 0x200 with RSI = the zero
 * page, whose setup header is copied from the image and then completed.
 *
 * Where the kernel goes: at LAYOUT_KERNEL_START (1 MiB), as kvmtool,
 * Firecracker and QEMU do, for relocatable and non-relocatable kernels
 * alike.  The decompressor does not run in place: it moves itself to its
 * "runtime start", max(load address aligned up to kernel_alignment,
 * pref_address) for a relocatable kernel and pref_address otherwise, and
 * needs init_size bytes from there.  So the RAM the kernel needs ends at
 * runtime start + init_size; that is what must fit in guest memory, and the
 * initrd goes above it.
 */
#include <string.h>

#include "boot/layout.h"
#include "boot/loader.h"
#include "util/err.h"

#define SETUP_HEADER_OFFSET 0x1F1
#define SETUP_JUMP_OFFSET 0x201   /* byte: setup header ends at 0x202 + this */
#define SETUP_HEADER_END_MAX 0x290 /* where boot_params has room until */
#define HDRS_OFFSET 0x202
#define HDRS_MAGIC "HdrS"
#define BOOT_FLAG_MAGIC 0xAA55
#define SECTOR_SIZE 512
#define DEFAULT_SETUP_SECTS 4     /* setup_sects == 0 means 4 */
#define MIN_PROTOCOL 0x020C       /* 2.12: xloadflags, XLF_KERNEL_64 */
#define RSDP_PROTOCOL 0x020E      /* 2.14: acpi_rsdp_addr */
#define ENTRY64_OFFSET 0x200      /* 64-bit entry: load address + 0x200 */
#define LOADER_TYPE_UNDEFINED 0xFF /* "boot loader not assigned an id" */
#define VID_MODE_NORMAL 0xFFFF    /* only the 16-bit setup code reads it */

_Static_assert(SETUP_HEADER_OFFSET + sizeof(struct setup_header) <= SETUP_HEADER_END_MAX,
	       "setup_header fits before edd_mbr_sig_buffer");
_Static_assert(sizeof(struct boot_params) == 4096, "the zero page is one page");

bool boot_is_bzimage(const uint8_t *img, size_t len)
{
	return len >= HDRS_OFFSET + 4 && memcmp(img + HDRS_OFFSET, HDRS_MAGIC, 4) == 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static uint64_t mib_up(uint64_t bytes)
{
	return (bytes + (1ULL << 20) - 1) >> 20;
}

/* Header checks, in the order a reader would want to hear about them. */
static int check_header(const struct boot_config *c, const struct setup_header *h,
			uint64_t setup_size)
{
	const char *name = boot_kernel_name(c);
	uint64_t pm_len = c->kernel_len - setup_size;

	if (h->boot_flag != BOOT_FLAG_MAGIC)
		return err_set("kernel %s: wrong magic: boot_flag is 0x%04x, expected 0x%04x", name,
			       h->boot_flag, BOOT_FLAG_MAGIC);
	if (h->version < MIN_PROTOCOL)
		return err_set("kernel %s: boot protocol %u.%02u too old (64-bit entry needs >= "
			       "%u.%02u)", name, h->version >> 8, h->version & 0xFF,
			       MIN_PROTOCOL >> 8, MIN_PROTOCOL & 0xFF);
	if (!(h->xloadflags & XLF_KERNEL_64))
		return err_set("kernel %s: kernel does not support 64-bit entry (XLF_KERNEL_64 "
			       "missing)", name);
	if (!(h->loadflags & LOADED_HIGH))
		return err_set("kernel %s: not a bzImage (LOADED_HIGH missing in loadflags)", name);
	if ((uint64_t)h->syssize * 16 > pm_len)
		return err_set("kernel %s: truncated bzImage (%zu bytes, setup and syssize need "
			       "%llu)", name, c->kernel_len,
			       (unsigned long long)(setup_size + (uint64_t)h->syssize * 16));
	if (h->relocatable_kernel &&
	    (h->kernel_alignment == 0 || (h->kernel_alignment & (h->kernel_alignment - 1))))
		return err_set("kernel %s: bad kernel_alignment 0x%x (not a power of two)", name,
			       h->kernel_alignment);
	if (h->init_size == 0)
		return err_set("kernel %s: setup header has init_size 0", name);
	if (pm_len <= ENTRY64_OFFSET)
		return err_set("kernel %s: truncated bzImage (the protected-mode kernel is %llu "
			       "bytes; its 64-bit entry is at +0x%x)", name,
			       (unsigned long long)pm_len, ENTRY64_OFFSET);
	/* It would decompress itself over the zero page and the page tables. */
	if (!h->relocatable_kernel && h->pref_address < LAYOUT_KERNEL_START)
		return err_set("kernel %s: not relocatable, and its pref_address 0x%llx is below "
			       "0x%llx, where skyvm keeps its boot structures", name,
			       (unsigned long long)h->pref_address,
			       (unsigned long long)LAYOUT_KERNEL_START);
	return 0;
}

/* End of the RAM the kernel needs (see the top of this file). */
static uint64_t kernel_ram_end(const struct setup_header *h, uint64_t pm_len)
{
	uint64_t runtime = h->pref_address;
	uint64_t end;

	if (h->relocatable_kernel) {
		uint64_t aligned = align_up(LAYOUT_KERNEL_START, h->kernel_alignment);

		if (aligned > runtime)
			runtime = aligned;
	}
	if (runtime > LAYOUT_HOLE_END)
		return UINT64_MAX; /* cannot fit; also keeps the sum below from wrapping */
	end = runtime + h->init_size;
	if (LAYOUT_KERNEL_START + pm_len > end)
		end = LAYOUT_KERNEL_START + pm_len;
	return end;
}

static int write_zero_page(struct guest_mem *m, const struct boot_config *c, uint64_t rsdp,
			   uint64_t initrd)
{
	struct boot_params *zp = guest_ptr(m, LAYOUT_ZERO_PAGE, sizeof(*zp));
	size_t hdr_end = HDRS_OFFSET + c->kernel[SETUP_JUMP_OFFSET];
	struct setup_header *h;
	int n;

	if (!zp)
		return err_set("guest memory too small for the zero page");
	memset(zp, 0, sizeof(*zp));
	/*
	 * The protocol asks for the setup header as the image has it, up to
	 * 0x202 + the jump byte, so fields newer than our uapi header survive.
	 * The setup code (>= 1 KiB) holds all of it.
	 */
	if (hdr_end > SETUP_HEADER_END_MAX)
		hdr_end = SETUP_HEADER_END_MAX;
	memcpy((uint8_t *)zp + SETUP_HEADER_OFFSET, c->kernel + SETUP_HEADER_OFFSET,
	       hdr_end - SETUP_HEADER_OFFSET);

	h = &zp->hdr;
	h->type_of_loader = LOADER_TYPE_UNDEFINED;
	h->vid_mode = VID_MODE_NORMAL;
	h->code32_start = (uint32_t)LAYOUT_KERNEL_START;
	h->cmd_line_ptr = (uint32_t)LAYOUT_CMDLINE;
	h->ramdisk_image = (uint32_t)initrd;
	h->ramdisk_size = initrd ? (uint32_t)c->initrd_len : 0;
	h->setup_data = 0;
	h->hardware_subarch = X86_SUBARCH_PC;
	if (h->version >= RSDP_PROTOCOL)
		zp->acpi_rsdp_addr = rsdp; /* older kernels scan 0xE0000-0xFFFFF and find it */

	n = boot_e820_build(m, zp->e820_table, E820_MAX_ENTRIES_ZEROPAGE);
	if (n < 0)
		return -1;
	zp->e820_entries = (uint8_t)n;
	return 0;
}

int boot_load_bzimage(struct guest_mem *m, const struct boot_config *c, uint64_t rsdp,
		      struct boot_entry *out)
{
	const char *name = boot_kernel_name(c);
	struct setup_header h;
	uint64_t setup_sects, setup_size, pm_len, ram_end, limit, initrd;
	const char *limit_name = "initrd_addr_max";
	uint8_t *dst;

	/* boot_is_bzimage() has seen 0x206 bytes: setup_sects is readable. */
	setup_sects = c->kernel[SETUP_HEADER_OFFSET];
	if (setup_sects == 0)
		setup_sects = DEFAULT_SETUP_SECTS;
	setup_size = (setup_sects + 1) * SECTOR_SIZE;
	if (c->kernel_len < setup_size)
		return err_set("kernel %s: truncated bzImage (%zu bytes, setup needs %llu)", name,
			       c->kernel_len, (unsigned long long)setup_size);
	if (c->kernel_len == setup_size)
		return err_set("kernel %s: truncated bzImage (%zu bytes: the setup code and no "
			       "kernel after it)", name, c->kernel_len);
	/* setup_size >= 1 KiB > the end of struct setup_header: all in the file. */
	memcpy(&h, c->kernel + SETUP_HEADER_OFFSET, sizeof(h));
	if (check_header(c, &h, setup_size) < 0)
		return -1;

	pm_len = c->kernel_len - setup_size;
	ram_end = kernel_ram_end(&h, pm_len);
	if (ram_end > m->low_size)
		return err_set("kernel %s: kernel (%llu MiB with its decompression space, up to "
			       "0x%llx) does not fit in guest memory (%llu MiB)", name,
			       (unsigned long long)mib_up(ram_end - LAYOUT_KERNEL_START),
			       (unsigned long long)ram_end, (unsigned long long)(m->size >> 20));
	dst = guest_ptr(m, LAYOUT_KERNEL_START, pm_len);
	if (!dst)
		return err_set("kernel %s: does not fit in guest memory", name);
	memcpy(dst, c->kernel + setup_size, pm_len);

	if (boot_write_cmdline(m, c, h.cmdline_size < LAYOUT_CMDLINE_MAX - 1 ?
				     h.cmdline_size : LAYOUT_CMDLINE_MAX - 1) < 0)
		return -1;
	limit = (uint64_t)h.initrd_addr_max + 1;
	if (limit > m->low_size) {
		limit = m->low_size;
		limit_name = "the end of low memory";
	}
	if (boot_place_initrd(m, c, ram_end, limit, limit_name, &initrd) < 0)
		return -1;
	if (write_zero_page(m, c, rsdp, initrd) < 0)
		return -1;

	*out = (struct boot_entry){
		.mode = BOOT_ENTRY_LINUX64,
		.rip = LAYOUT_KERNEL_START + ENTRY64_OFFSET,
		.rsi = LAYOUT_ZERO_PAGE,
		.cr3 = LAYOUT_PML4,
		.rsp = LAYOUT_BOOT_STACK,
		.format = "bzImage",
		.kernel_start = LAYOUT_KERNEL_START,
		.kernel_end = ram_end,
		.initrd_start = initrd,
		.rsdp = rsdp,
	};
	return 0;
}
