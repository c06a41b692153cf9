/* SPDX-License-Identifier: MIT */
/*
 * ELF executables for the PVH loader.  ELF32 and ELF64 headers are read into
 * one class-neutral form first, so the loading and note walking below exist
 * once.  Headers are copied out with memcpy (the image has no alignment
 * guarantee) and all arithmetic on file values is done so it cannot wrap.
 */
#include "boot/elf.h"

#include <elf.h>
#include <string.h>

#include "boot/pvh.h"
#include "util/err.h"

struct elf_header {
	bool is64;
	uint16_t type, machine;
	uint64_t phoff;
	uint16_t phentsize, phnum;
};

struct elf_segment {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz, align;
};

/* True when [off, off + size) lies within [0, len). */
static bool in_file(uint64_t off, uint64_t size, size_t len)
{
	return off <= len && size <= len - off;
}

static int read_header(const uint8_t *img, size_t len, struct elf_header *h)
{
	if (len < EI_NIDENT || memcmp(img, ELFMAG, SELFMAG) != 0)
		return err_set("not an ELF file");
	if (img[EI_DATA] != ELFDATA2LSB)
		return err_set("ELF is not little-endian (EI_DATA %u)", img[EI_DATA]);
	if (img[EI_CLASS] == ELFCLASS64) {
		Elf64_Ehdr e;

		if (len < sizeof(e))
			return err_set("truncated ELF header (%zu bytes, need %zu)", len,
				       sizeof(e));
		memcpy(&e, img, sizeof(e));
		*h = (struct elf_header){ true, e.e_type, e.e_machine, e.e_phoff, e.e_phentsize,
					  e.e_phnum };
		if (h->phentsize < sizeof(Elf64_Phdr) && h->phnum)
			return err_set("ELF e_phentsize %u is smaller than a program header",
				       h->phentsize);
	} else if (img[EI_CLASS] == ELFCLASS32) {
		Elf32_Ehdr e;

		if (len < sizeof(e))
			return err_set("truncated ELF header (%zu bytes, need %zu)", len,
				       sizeof(e));
		memcpy(&e, img, sizeof(e));
		*h = (struct elf_header){ false, e.e_type, e.e_machine, e.e_phoff, e.e_phentsize,
					  e.e_phnum };
		if (h->phentsize < sizeof(Elf32_Phdr) && h->phnum)
			return err_set("ELF e_phentsize %u is smaller than a program header",
				       h->phentsize);
	} else {
		return err_set("bad ELF class %u", img[EI_CLASS]);
	}
	if (h->type != ET_EXEC)
		return err_set("ELF type %u is not an executable (ET_EXEC)", h->type);
	if (h->machine != EM_X86_64 && h->machine != EM_386)
		return err_set("ELF machine %u is not x86 (EM_X86_64 or EM_386)", h->machine);
	if (h->phnum == 0)
		return err_set("ELF has no program headers");
	if (h->phnum == PN_XNUM)
		return err_set("ELF with extended program header numbering is not supported");
	if (!in_file(h->phoff, (uint64_t)h->phnum * h->phentsize, len))
		return err_set("ELF program headers [0x%llx, +%u x %u) lie outside the file "
			       "(%zu bytes)", (unsigned long long)h->phoff, h->phnum, h->phentsize,
			       len);
	return 0;
}

/* Program header `i`; read_header() has checked they are all in the file. */
static void read_segment(const uint8_t *img, const struct elf_header *h, unsigned i,
			 struct elf_segment *s)
{
	const uint8_t *p = img + h->phoff + (uint64_t)i * h->phentsize;

	if (h->is64) {
		Elf64_Phdr ph;

		memcpy(&ph, p, sizeof(ph));
		*s = (struct elf_segment){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz,
					   ph.p_memsz, ph.p_align };
	} else {
		Elf32_Phdr ph;

		memcpy(&ph, p, sizeof(ph));
		*s = (struct elf_segment){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz,
					   ph.p_memsz, ph.p_align };
	}
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * Walk the notes of one PT_NOTE segment.  Notes are 4-byte aligned except in
 * segments aligned to 8 (gABI for ELF64 notes such as GNU properties).
 */
static int scan_notes(const uint8_t *img, size_t len, const struct elf_segment *s, unsigned idx,
		      struct elf_image *out)
{
	uint64_t a = s->align == 8 ? 8 : 4;
	uint64_t pos = 0, size = s->filesz;
	const uint8_t *seg;

	if (!in_file(s->offset, s->filesz, len))
		return err_set("ELF PT_NOTE %u [0x%llx, +0x%llx) lies outside the file (%zu bytes)",
			       idx, (unsigned long long)s->offset, (unsigned long long)s->filesz,
			       len);
	seg = img + s->offset;
	while (size - pos >= 12) {
		uint64_t namesz = get_u32(seg + pos), descsz = get_u32(seg + pos + 4);
		uint32_t type = get_u32(seg + pos + 8);
		uint64_t name = pos + 12, desc, next;

		/* namesz/descsz < 2^32: these sums cannot wrap. */
		desc = align_up(name + namesz, a);
		next = align_up(desc + descsz, a);
		if (desc + descsz > size)
			return err_set("ELF note at 0x%llx runs past its PT_NOTE segment",
				       (unsigned long long)(s->offset + pos));
		if (namesz == sizeof(PVH_NOTE_OWNER) &&
		    memcmp(seg + name, PVH_NOTE_OWNER, sizeof(PVH_NOTE_OWNER)) == 0 &&
		    type == XEN_ELFNOTE_PHYS32_ENTRY) {
			uint64_t entry = 0;

			if (descsz != 4 && descsz != 8)
				return err_set("PVH note (XEN_ELFNOTE_PHYS32_ENTRY) has %llu "
					       "bytes, expected 4 or 8",
					       (unsigned long long)descsz);
			memcpy(&entry, seg + desc, descsz); /* little-endian host and image */
			if (entry > UINT32_MAX)
				return err_set("PVH entry 0x%llx is above 4 GiB",
					       (unsigned long long)entry);
			out->has_pvh_entry = true;
			out->pvh_entry = entry;
			return 0;
		}
		if (next <= pos || next > size)
			break;
		pos = next;
	}
	return 0;
}

int elf_inspect(const uint8_t *img, size_t len, struct elf_image *out)
{
	struct elf_header h;
	bool any_load = false;

	memset(out, 0, sizeof(*out));
	if (read_header(img, len, &h) < 0)
		return -1;
	out->is64 = h.is64;
	out->load_start = UINT64_MAX;
	for (unsigned i = 0; i < h.phnum; i++) {
		struct elf_segment s;

		read_segment(img, &h, i, &s);
		if (s.type == PT_NOTE && !out->has_pvh_entry) {
			if (scan_notes(img, len, &s, i, out) < 0)
				return -1;
		}
		if (s.type != PT_LOAD || s.memsz == 0)
			continue;
		if (s.filesz > s.memsz)
			return err_set("ELF PT_LOAD %u: p_filesz 0x%llx > p_memsz 0x%llx", i,
				       (unsigned long long)s.filesz, (unsigned long long)s.memsz);
		if (!in_file(s.offset, s.filesz, len))
			return err_set("ELF PT_LOAD %u [0x%llx, +0x%llx) lies outside the file "
				       "(%zu bytes)", i, (unsigned long long)s.offset,
				       (unsigned long long)s.filesz, len);
		if (s.paddr > UINT64_MAX - s.memsz)
			return err_set("ELF PT_LOAD %u: p_paddr + p_memsz overflows", i);
		any_load = true;
		if (s.paddr < out->load_start)
			out->load_start = s.paddr;
		if (s.paddr + s.memsz > out->load_end)
			out->load_end = s.paddr + s.memsz;
	}
	if (!any_load)
		return err_set("ELF has no PT_LOAD segment");
	return 0;
}

int elf_load_segments(struct guest_mem *m, const uint8_t *img, size_t len, uint64_t min_paddr)
{
	struct elf_header h;

	if (read_header(img, len, &h) < 0)
		return -1;
	for (unsigned i = 0; i < h.phnum; i++) {
		struct elf_segment s;
		uint8_t *dst;

		read_segment(img, &h, i, &s);
		if (s.type != PT_LOAD || s.memsz == 0)
			continue;
		/* elf_inspect() has vetted offsets and sizes; check again, it is cheap. */
		if (s.filesz > s.memsz || !in_file(s.offset, s.filesz, len) ||
		    s.paddr > UINT64_MAX - s.memsz)
			return err_set("ELF PT_LOAD %u is malformed", i);
		if (s.paddr < min_paddr)
			return err_set("ELF PT_LOAD %u at 0x%llx is below 0x%llx, where skyvm "
				       "keeps its boot structures", i, (unsigned long long)s.paddr,
				       (unsigned long long)min_paddr);
		dst = guest_ptr(m, s.paddr, s.memsz);
		if (!dst)
			return err_set("ELF PT_LOAD %u [0x%llx, 0x%llx) does not fit in guest "
				       "memory (%llu MiB)", i, (unsigned long long)s.paddr,
				       (unsigned long long)(s.paddr + s.memsz),
				       (unsigned long long)(m->size >> 20));
		memcpy(dst, img + s.offset, s.filesz);
		guest_mem_zero(m, dst + s.filesz, s.memsz - s.filesz);
	}
	return 0;
}
