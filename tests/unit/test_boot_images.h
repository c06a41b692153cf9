/* SPDX-License-Identifier: MIT */
/*
 * Kernel images built in memory for the loader tests: a bzImage with a valid
 * setup header (fields set by offset from Documentation/arch/x86/boot.rst,
 * not through the loader's structures) and small ELF64/ELF32 executables
 * with or without a PVH note.
 */
#ifndef SKYVM_TEST_BOOT_IMAGES_H
#define SKYVM_TEST_BOOT_IMAGES_H

#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- little-endian pokes */
static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}
static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}
static inline uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}
static inline uint32_t get32(const uint8_t *p)
{
	return get16(p) | (uint32_t)get16(p + 2) << 16;
}
static inline uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* ---- bzImage: setup header offsets (boot.rst "THE REAL-MODE KERNEL HEADER") */
#define BZ_SETUP_SECTS 0x1F1
#define BZ_SYSSIZE 0x1F4
#define BZ_VID_MODE 0x1FA
#define BZ_BOOT_FLAG 0x1FE
#define BZ_JUMP 0x200
#define BZ_HEADER 0x202
#define BZ_VERSION 0x206
#define BZ_TYPE_OF_LOADER 0x210
#define BZ_LOADFLAGS 0x211
#define BZ_CODE32_START 0x214
#define BZ_RAMDISK_IMAGE 0x218
#define BZ_RAMDISK_SIZE 0x21C
#define BZ_CMD_LINE_PTR 0x228
#define BZ_INITRD_ADDR_MAX 0x22C
#define BZ_KERNEL_ALIGNMENT 0x230
#define BZ_RELOCATABLE 0x234
#define BZ_XLOADFLAGS 0x236
#define BZ_CMDLINE_SIZE 0x238
#define BZ_PREF_ADDRESS 0x258
#define BZ_INIT_SIZE 0x260
#define BZ_HEADER_END 0x26C /* after kernel_info_offset (2.15) */
/* boot_params (zero page) offsets */
#define ZP_ACPI_RSDP 0x070
#define ZP_E820_ENTRIES 0x1E8
#define ZP_SENTINEL 0x1EF
#define ZP_E820_TABLE 0x2D0

struct bz_opts {
	uint16_t version;
	uint8_t setup_sects;   /* 0 = the historic default of 4 */
	uint16_t xloadflags;
	uint8_t loadflags;
	uint8_t relocatable;
	uint32_t kernel_alignment;
	uint64_t pref_address;
	uint32_t init_size;
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;
	size_t pm_len;         /* protected-mode kernel bytes */
};

static inline struct bz_opts bz_default(void)
{
	return (struct bz_opts){
		.version = 0x020F,
		.setup_sects = 4,
		.xloadflags = 1 << 0 /* XLF_KERNEL_64 */,
		.loadflags = 1 << 0 /* LOADED_HIGH */,
		.relocatable = 1,
		.kernel_alignment = 0x200000,
		.pref_address = 0x1000000,
		.init_size = 0x800000,
		.initrd_addr_max = 0x7FFFFFFF,
		.cmdline_size = 2047,
		.pm_len = 4096,
	};
}

static inline size_t bz_setup_size(const struct bz_opts *o)
{
	return ((size_t)(o->setup_sects ? o->setup_sects : 4) + 1) * 512;
}

/* The protected-mode byte at offset i: a pattern that differs per offset. */
static inline uint8_t bz_pm_byte(size_t i)
{
	return (uint8_t)(i * 7 + 3 + (i >> 8));
}

/* A bzImage as malloc'd bytes (*len set). */
static inline uint8_t *bz_build(const struct bz_opts *o, size_t *len)
{
	size_t setup = bz_setup_size(o);
	uint8_t *img = calloc(1, setup + o->pm_len);

	*len = setup + o->pm_len;
	img[BZ_SETUP_SECTS] = o->setup_sects;
	put32(img + BZ_SYSSIZE, (uint32_t)((o->pm_len + 15) / 16));
	put16(img + BZ_VID_MODE, 0xFFFF);
	put16(img + BZ_BOOT_FLAG, 0xAA55);
	img[BZ_JUMP] = 0xEB; /* jmp short to the end of the header, as real images */
	img[BZ_JUMP + 1] = BZ_HEADER_END - BZ_HEADER;
	memcpy(img + BZ_HEADER, "HdrS", 4);
	put16(img + BZ_VERSION, o->version);
	img[BZ_LOADFLAGS] = o->loadflags;
	put32(img + BZ_CODE32_START, 0x100000);
	put32(img + BZ_INITRD_ADDR_MAX, o->initrd_addr_max);
	put32(img + BZ_KERNEL_ALIGNMENT, o->kernel_alignment);
	img[BZ_RELOCATABLE] = o->relocatable;
	put16(img + BZ_XLOADFLAGS, o->xloadflags);
	put32(img + BZ_CMDLINE_SIZE, o->cmdline_size);
	put64(img + BZ_PREF_ADDRESS, o->pref_address);
	put32(img + BZ_INIT_SIZE, o->init_size);
	for (size_t i = 0; i < o->pm_len; i++)
		img[setup + i] = bz_pm_byte(i);
	return img;
}

/* ---- ELF with (optionally) a PVH note */
struct elf_opts {
	int is64;
	int with_note;
	int note_desc8;      /* the entry as 8 bytes (Linux x86-64 emits a pointer) */
	uint64_t paddr;      /* of the one PT_LOAD */
	uint64_t filesz, memsz;
	uint64_t entry;      /* PVH entry */
	int extra_note_first; /* a GNU note before the Xen one */
};

static inline struct elf_opts elf_default(void)
{
	return (struct elf_opts){ .is64 = 1, .with_note = 1, .paddr = 0x100000, .filesz = 0x300,
				  .memsz = 0x2000, .entry = 0x100040, .extra_note_first = 1 };
}

static inline uint8_t elf_seg_byte(size_t i)
{
	return (uint8_t)(0xA5 ^ i ^ (i >> 5));
}

/* Notes: [GNU note][Xen PHYS32_ENTRY note]; returns the length written. */
static inline size_t elf_put_notes(uint8_t *p, const struct elf_opts *o)
{
	size_t n = 0;

	if (o->extra_note_first) {
		put32(p + n, 4);      /* namesz "GNU\0" */
		put32(p + n + 4, 8);  /* descsz */
		put32(p + n + 8, 3);  /* NT_GNU_BUILD_ID */
		memcpy(p + n + 12, "GNU", 4);
		memset(p + n + 16, 0x11, 8);
		n += 24;
	}
	if (o->with_note) {
		put32(p + n, 4);      /* "Xen\0" */
		put32(p + n + 4, o->note_desc8 ? 8 : 4);
		put32(p + n + 8, 18); /* XEN_ELFNOTE_PHYS32_ENTRY */
		memcpy(p + n + 12, "Xen", 4);
		if (o->note_desc8)
			put64(p + n + 16, o->entry);
		else
			put32(p + n + 16, (uint32_t)o->entry);
		n += 16 + (o->note_desc8 ? 8 : 4);
	}
	return n;
}

/*
 * Layout: ehdr | 2 phdrs (PT_NOTE, PT_LOAD) | notes | segment data (last, so
 * any truncation cuts into something the loader needs).
 */
static inline uint8_t *elf_build(const struct elf_opts *o, size_t *len)
{
	size_t eh = o->is64 ? 64 : 52, ph = o->is64 ? 56 : 32;
	size_t notes_off = eh + 2 * ph, notes_len, data_off;
	uint8_t notes[64];
	uint8_t *img;

	notes_len = elf_put_notes(notes, o);
	data_off = notes_off + notes_len;
	*len = data_off + o->filesz;
	img = calloc(1, *len);
	memcpy(img, ELFMAG, SELFMAG);
	img[EI_CLASS] = o->is64 ? ELFCLASS64 : ELFCLASS32;
	img[EI_DATA] = ELFDATA2LSB;
	img[EI_VERSION] = EV_CURRENT;
	put16(img + 16, ET_EXEC);
	put16(img + 18, o->is64 ? EM_X86_64 : EM_386);
	put32(img + 20, EV_CURRENT);
	if (o->is64) {
		put64(img + 24, o->entry); /* e_entry */
		put64(img + 32, eh);       /* e_phoff */
		put16(img + 52, (uint16_t)eh);
		put16(img + 54, (uint16_t)ph);
		put16(img + 56, 2);
	} else {
		put32(img + 24, (uint32_t)o->entry);
		put32(img + 28, (uint32_t)eh);
		put16(img + 40, (uint16_t)eh);
		put16(img + 42, (uint16_t)ph);
		put16(img + 44, 2);
	}
	for (int i = 0; i < 2; i++) {
		uint8_t *p = img + eh + (size_t)i * ph;
		uint32_t type = i == 0 ? PT_NOTE : PT_LOAD;
		uint64_t off = i == 0 ? notes_off : data_off;
		uint64_t paddr = i == 0 ? 0 : o->paddr;
		uint64_t filesz = i == 0 ? notes_len : o->filesz;
		uint64_t memsz = i == 0 ? 0 : o->memsz;
		uint64_t align = i == 0 ? 4 : 0x1000;

		if (o->is64) {
			put32(p, type);
			put32(p + 4, 5);     /* p_flags R+X */
			put64(p + 8, off);
			put64(p + 16, paddr); /* p_vaddr */
			put64(p + 24, paddr);
			put64(p + 32, filesz);
			put64(p + 40, memsz);
			put64(p + 48, align);
		} else {
			put32(p, type);
			put32(p + 4, (uint32_t)off);
			put32(p + 8, (uint32_t)paddr);
			put32(p + 12, (uint32_t)paddr);
			put32(p + 16, (uint32_t)filesz);
			put32(p + 20, (uint32_t)memsz);
			put32(p + 24, 5);
			put32(p + 28, (uint32_t)align);
		}
	}
	memcpy(img + notes_off, notes, notes_len);
	for (size_t i = 0; i < o->filesz; i++)
		img[data_off + i] = elf_seg_byte(i);
	return img;
}

#endif
