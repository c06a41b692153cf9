/* SPDX-License-Identifier: MIT */
/*
 * The split virtqueue (virtio 1.x spec 2.7), device side.
 *
 * virtq_pop() takes the next available descriptor chain and resolves every
 * descriptor to host memory through the VMM's accessor (virtio_mem); virtq_push() returns it on
 * the used ring; virtq_notify() interrupts the driver unless it asked not to
 * (VIRTQ_AVAIL_F_NO_INTERRUPT, or the used_event index with EVENT_IDX).
 *
 * All arithmetic on guest values is done in 64 bits.  A guest that breaks
 * the ring's rules gets one defined outcome: the queue is marked broken, the
 * report callback is called once with what was wrong, and the transport sets
 * DEVICE_NEEDS_RESET; the broken queue returns nothing more until reset.
 * The rules (each one a test in tests/unit/test_virtio_queue.c):
 *
 *   - avail->idx ahead of the device by more than the queue size
 *   - a head or next index >= queue size
 *   - a chain of more than queue-size descriptors (this catches loops)
 *   - a descriptor of length 0, or whose [addr, addr+len) is not all RAM
 *     (outside memory, across or in the 32-bit MMIO hole)
 *   - an indirect table: when not negotiated, with NEXT also set, nested
 *     in another, of length 0 or not a multiple of 16, or outside RAM
 *   - a device-readable descriptor after a device-writable one
 *   - readable or writable bytes of one chain adding up to 4 GiB or more
 *   - ring areas outside RAM or misaligned (checked when the queue is enabled)
 */
#ifndef SKYVM_VIRTIO_VIRTQUEUE_H
#define SKYVM_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "virtio/virtio.h"

#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY 1

/* QueueNumMax of every skyvm queue; also the longest chain accepted. */
#define VIRTQ_NUM_MAX 256

/* The guest's layout (little endian, as x86 is). */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq;

/* What a queue needs from its transport. */
struct virtq_host {
	void *opaque;
	/* The queue broke (msg says how); called once per break. */
	void (*broken)(void *opaque, struct virtq *q, const char *msg);
	/* Used buffers the driver wants to hear about. */
	void (*interrupt)(void *opaque, struct virtq *q);
};

struct virtq {
	/* Set by the transport while the queue is not ready. */
	uint16_t num;            /* queue size: power of 2, <= VIRTQ_NUM_MAX */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	/* State: private to virtqueue.c. */
	unsigned index;          /* queue number, for reports */
	bool ready;
	bool broken;
	bool event_idx;          /* VIRTIO_RING_F_EVENT_IDX negotiated */
	bool indirect;           /* VIRTIO_RING_F_INDIRECT_DESC negotiated */
	uint16_t last_avail;     /* next avail ring slot the device reads */
	uint16_t used_idx;       /* the device's copy of used->idx */
	uint16_t signalled_used; /* used_idx at the last virtq_should_notify() */
	bool signalled_valid;
	const struct virtio_mem *mem;
	const struct virtq_host *host;
	/* Host pointers to the rings, resolved by virtq_enable(). */
	struct virtq_desc *desc;
	uint16_t *avail;         /* flags, idx, ring[num], used_event */
	uint8_t *used;           /* flags, idx, {id, len}[num], avail_event */
};

/*
 * One descriptor chain, resolved: iov[0, n_out) are device-readable, then
 * iov[n_out, n_out + n_in) device-writable.  Totals fit in 32 bits.
 */
struct virtq_chain {
	uint16_t head;
	unsigned n_out, n_in;
	uint64_t out_len, in_len;
	struct iovec iov[VIRTQ_NUM_MAX];
};

/* Prepare a queue (once, at transport init). */
void virtq_init(struct virtq *q, unsigned index, const struct virtio_mem *mem,
		const struct virtq_host *host);
/* Back to the reset state: not ready, not broken, addresses 0, num = max. */
void virtq_reset(struct virtq *q);
/*
 * The driver set QueueReady: check num and the ring areas (alignment, inside
 * RAM) and start at index 0.  0, or -1 with the reason in err_msg() (the
 * queue stays not ready).
 */
int virtq_enable(struct virtq *q, bool event_idx, bool indirect);

/* Results of virtq_pop(). */
#define VIRTQ_POP_BROKEN (-1) /* hostile ring: queue broken, reported */
#define VIRTQ_POP_EMPTY 0
#define VIRTQ_POP_CHAIN 1

/*
 * Take the next available chain.  With EVENT_IDX, an empty queue publishes
 * avail_event so the driver notifies on the next buffer (and rechecks, so a
 * buffer added meanwhile is not missed).
 */
int virtq_pop(struct virtq *q, struct virtq_chain *c);
/*
 * Return a chain: `written` bytes were written into its device-writable part
 * (clamped to c->in_len).  Publishes used->idx with release ordering.
 */
void virtq_push(struct virtq *q, const struct virtq_chain *c, uint32_t written);
/*
 * virtq_push() in two halves, for buffers the driver must see together (a
 * mergeable receive frame: spec 5.1.6.4, "the device MUST use all buffers
 * used by a single receive packet together, such that at least num_buffers
 * are observed by driver as used"): virtq_fill() writes a used element
 * without publishing it; virtq_flush() publishes every element filled so
 * far with one release store of used->idx.
 */
void virtq_fill(struct virtq *q, const struct virtq_chain *c, uint32_t written);
void virtq_flush(struct virtq *q);
/*
 * After one or more pushes: true when the driver wants an interrupt now
 * (and remembers that it was told).  A broken queue still signals the
 * buffers it returned before it broke, nothing after.  virtq_notify() asks and calls
 * host->interrupt when so.
 */
bool virtq_should_notify(struct virtq *q);
void virtq_notify(struct virtq *q);
/* Mark the queue broken and report msg once (for device-level violations). */
void virtq_fail(struct virtq *q, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Helpers over a chain's readable / writable parts: copy up to len bytes
 * starting `off` bytes in; return the number copied.
 */
uint64_t virtq_chain_read(const struct virtq_chain *c, uint64_t off, void *buf, uint64_t len);
uint64_t virtq_chain_write(const struct virtq_chain *c, uint64_t off, const void *buf,
			   uint64_t len);

#endif
