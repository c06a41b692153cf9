/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM: one host mapping, split around the 32-bit hole.
 *
 * Guest-physical [0, low) maps to host[0, low); when RAM is larger than
 * LAYOUT_HOLE_START the rest, [4 GiB, 4 GiB + size - low), maps to
 * host[low, size).  Loaders and table builders only touch guest memory
 * through guest_ptr(), which checks bounds, so a bad image can never make
 * skyvm write outside the mapping.
 */
#ifndef SKYVM_BOOT_GUEST_MEM_H
#define SKYVM_BOOT_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

struct guest_mem {
	uint8_t *host;     /* size bytes */
	uint64_t size;     /* total RAM */
	uint64_t low_size; /* RAM below the hole: min(size, LAYOUT_HOLE_START) */
};

/* Map `size` bytes (anonymous, MAP_NORESERVE). Returns 0 or -1 (err_msg). */
int guest_mem_init(struct guest_mem *m, uint64_t size);
void guest_mem_free(struct guest_mem *m);
/* Host pointer for [gpa, gpa+len) if it lies entirely in RAM, else NULL. */
void *guest_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len);
/*
 * Zero len bytes at host pointer p (inside m, from guest_ptr()).  Whole pages of
 * the anonymous mapping are dropped (MADV_DONTNEED: they read back as zeros)
 * instead of written, so a large ELF .bss costs neither time nor RSS.
 */
void guest_mem_zero(const struct guest_mem *m, uint8_t *p, uint64_t len);

#endif
