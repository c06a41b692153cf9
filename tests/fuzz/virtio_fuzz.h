/* SPDX-License-Identifier: MIT */
/*
 * Shared by the virtio fuzz targets (virtio_queue.c, virtio_blk.c): a small
 * guest RAM with a 32-bit-hole-like gap, and the input format.
 *
 * Guest RAM is 64 KiB, split the way guest_ptr() splits RAM around the MMIO
 * hole: [0, 48 KiB) is low RAM, [48 KiB, 4 GiB) is "hole", [4 GiB, 4 GiB +
 * 16 KiB) is high RAM.  (A struct guest_mem with a small low_size: the same
 * arithmetic as a 3 GiB guest, at a size a fuzzer can cover.)
 *
 * Input: byte 0 is options (target-specific low bits; bits 4-7: log2 of the
 * queue size, taken mod 9, so 1..256), the rest is copied to guest RAM at 0.
 * The queue's rings are at fixed addresses inside it: descriptors at 0,
 * avail at 0x1000, used at 0x1800; buffers can be anywhere.
 */
#ifndef SKYVM_FUZZ_VIRTIO_FUZZ_H
#define SKYVM_FUZZ_VIRTIO_FUZZ_H

#include <stdint.h>
#include <string.h>

#include "boot/guest_mem.h"
#include "virtio/virtio.h"
#include "virtio/virtqueue.h"

#define VF_RAM 0x10000ULL
#define VF_LOW 0xC000ULL
#define VF_DESC 0x0ULL
#define VF_AVAIL 0x1000ULL
#define VF_USED 0x1800ULL

struct vf_ram {
	_Alignas(4096) uint8_t bytes[VF_RAM];
	struct guest_mem m;
	struct virtio_mem vm;
};

static inline void vf_ram_init(struct vf_ram *r)
{
	r->m.host = r->bytes;
	r->m.size = VF_RAM;
	r->m.low_size = VF_LOW;
	virtio_mem_from_guest(&r->vm, &r->m);
}

/* Load an input: RAM zeroed, then the bytes after the options byte. */
static inline void vf_ram_load(struct vf_ram *r, const uint8_t *data, size_t size)
{
	size_t n = size > 1 ? size - 1 : 0;

	if (n > VF_RAM)
		n = VF_RAM;
	memset(r->bytes, 0, VF_RAM);
	if (n)
		memcpy(r->bytes, data + 1, n);
}

static inline uint16_t vf_num(const uint8_t *data, size_t size)
{
	return (uint16_t)(1u << ((size ? data[0] >> 4 : 0) % 9));
}

/* p .. p + len lies inside guest RAM's host bytes. */
static inline int vf_inside(const struct vf_ram *r, const void *p, uint64_t len)
{
	uintptr_t a = (uintptr_t)p, lo = (uintptr_t)r->bytes;

	return a >= lo && a - lo <= VF_RAM && len <= VF_RAM - (a - lo);
}

#endif
