/* SPDX-License-Identifier: MIT */
/*
 * virtio-blk (virtio spec 1.2, 5.2) over a raw image file descriptor.
 *
 * Requests: IN (read), OUT (write), FLUSH (fdatasync before the status is
 * returned), GET_ID (the id, up to 20 bytes), DISCARD (a hint: holes are
 * punched where the backend can) and WRITE_ZEROES (the sectors read back as
 * zeros: a punched hole with the unmap flag, else FALLOC_FL_ZERO_RANGE,
 * else written zeros).  A read-only disk advertises
 * VIRTIO_BLK_F_RO and answers OUT with VIRTIO_BLK_S_IOERR without touching
 * the file (the VMM opens it O_RDONLY).  If the driver did not accept
 * VIRTIO_BLK_F_FLUSH, every write is followed by fdatasync (write-through),
 * so data the guest was told is written is on stable storage either way.
 *
 * Malformed requests have defined answers (docs/virtio.md):
 *   - no room for the 16-byte header or no writable status byte: there is
 *     no way to answer, so the queue is failed like a hostile ring
 *     (DEVICE_NEEDS_RESET, reported once), as QEMU does;
 *   - a data length not a multiple of 512, or sectors beyond the capacity
 *     (checked in 64 bits): VIRTIO_BLK_S_IOERR;
 *   - an unknown type, or DISCARD/WRITE_ZEROES not negotiated, with unknown
 *     flags, or DISCARD with the unmap flag (spec 5.2.6.2): UNSUPP;
 *   - DISCARD/WRITE_ZEROES: data not whole 16-byte ranges, more than
 *     VIRTIO_BLK_MAX_RANGES of them, a range over the maximum or beyond the
 *     capacity, or a read-only disk: IOERR.
 * I/O runs on the thread that calls virtio_mmio_queue_notify() (the VMM's
 * event loop), with preadv/pwritev straight into guest memory.
 */
#ifndef SKYVM_VIRTIO_BLK_H
#define SKYVM_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtio.h"
#include "virtio/virtqueue.h"

#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_SECTOR 512ULL
#define VIRTIO_BLK_ID_BYTES 20

/* DISCARD / WRITE_ZEROES: ranges per request, sectors per range (2 GiB) */
#define VIRTIO_BLK_MAX_RANGES 16
#define VIRTIO_BLK_MAX_RANGE_SECTORS 0x400000u
#define VIRTIO_BLK_RANGE_F_UNMAP 1u

struct virtio_blk_opts {
	const char *name;   /* for reports: "virtio-blk0" */
	int fd;             /* the image; the device dups it and closes its dup */
	bool ro;
	const char *id;     /* GET_ID answer (<= 20 bytes used); NULL: name */
};

/* A device (free with virtio_dev_free, or let virtio_mmio_free do it). NULL + err_msg. */
struct virtio_dev *virtio_blk_new(const struct virtio_blk_opts *o);

/* A parsed request: where everything is within its chain. */
struct virtio_blk_req {
	uint32_t type;
	uint64_t sector;
	uint64_t data_len;      /* bytes of data (readable for OUT, writable for IN/GET_ID) */
	uint8_t *status;        /* host pointer to the status byte */
	/* DISCARD / WRITE_ZEROES: the ranges, copied out of guest memory */
	unsigned nranges;
	struct virtio_blk_range {
		uint64_t sector;
		uint32_t sectors;
		uint32_t flags;
	} range[VIRTIO_BLK_MAX_RANGES];
};

/* Parse outcomes */
#define VIRTIO_BLK_PARSE_BROKEN (-1) /* no header or no status byte: unanswerable */
#define VIRTIO_BLK_PARSE_OK 0

/*
 * Parse a chain against a disk of `capacity` sectors.  Returns
 * VIRTIO_BLK_PARSE_BROKEN (err_msg says why), or PARSE_OK with r filled and *status_out the
 * answer to give without I/O (VIRTIO_BLK_S_OK when the request is good and
 * needs doing, IOERR/UNSUPP when it is refused).  Pure: no I/O.
 */
int virtio_blk_parse(const struct virtq_chain *c, uint64_t capacity, bool ro,
		     struct virtio_blk_req *r, uint8_t *status_out);

/* The device's capacity in sectors (for tests and the VMM's messages). */
uint64_t virtio_blk_capacity(const struct virtio_dev *dev);

#endif
