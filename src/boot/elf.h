/* SPDX-License-Identifier: MIT */
/*
 * Loading an ELF executable (ELF32 or ELF64, little-endian, x86) into guest
 * memory by its program headers, and finding its PVH entry note.  Every
 * offset and size in the image is checked against the image's length before
 * use, and every destination against guest RAM (guest_ptr()).
 */
#ifndef SKYVM_BOOT_ELF_H
#define SKYVM_BOOT_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/guest_mem.h"

struct elf_image {
	bool is64;
	uint64_t load_start; /* lowest PT_LOAD p_paddr */
	uint64_t load_end;   /* highest PT_LOAD p_paddr + p_memsz */
	bool has_pvh_entry;
	uint64_t pvh_entry;  /* XEN_ELFNOTE_PHYS32_ENTRY */
};

/*
 * Check the headers of img[0, len) and find the PVH note, without touching
 * guest memory.  Returns 0 or -1 (err_msg without the file name).
 */
int elf_inspect(const uint8_t *img, size_t len, struct elf_image *out);

/*
 * Copy every PT_LOAD segment to its p_paddr (zero-filling p_memsz beyond
 * p_filesz).  Segments must lie in RAM at or above `min_paddr` (below it are
 * skyvm's own boot structures).  Call elf_inspect() first.
 */
int elf_load_segments(struct guest_mem *m, const uint8_t *img, size_t len, uint64_t min_paddr);

#endif
