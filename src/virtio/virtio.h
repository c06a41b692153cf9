/* SPDX-License-Identifier: MIT */
/*
 * virtio 1.x, the parts every device and transport share: feature and status
 * bits (virtio spec 1.2, sections 2.1 and 6) and the device base struct.
 *
 * Layering (the split kvmtool and Firecracker use):
 *
 *   virtqueue.c  the split ring: walk a descriptor chain from the guest,
 *                return used buffers, decide whether to interrupt
 *   mmio.c       the virtio-mmio register block (version 2), feature
 *                negotiation, status and reset; owns the queues
 *   blk.c, rng.c, console.c
 *                one device each; they see only struct virtq and their
 *                own state, never the transport nor struct vm
 *
 * None of this touches KVM: the VMM maps a virtio_mmio at an MMIO window,
 * routes notifications to virtio_mmio_queue_notify() (from an ioeventfd) and
 * interrupts from the set_irq callback to an irqfd.  Guest memory is reached
 * only through the VMM's bounds-checked accessor, struct virtio_mem.
 */
#ifndef SKYVM_VIRTIO_VIRTIO_H
#define SKYVM_VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Device status (spec 2.1) */
#define VIRTIO_STATUS_ACKNOWLEDGE 1u
#define VIRTIO_STATUS_DRIVER 2u
#define VIRTIO_STATUS_DRIVER_OK 4u
#define VIRTIO_STATUS_FEATURES_OK 8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED 128u

/* Transport-independent feature bits (spec 6) */
#define VIRTIO_RING_F_INDIRECT_DESC 28
#define VIRTIO_RING_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

#define VIRTIO_BIT(n) (1ULL << (n))

/* Device IDs (spec 5) */
#define VIRTIO_ID_BLOCK 2
#define VIRTIO_ID_CONSOLE 3
#define VIRTIO_ID_RNG 4

#define VIRTIO_MAX_QUEUES 4

struct virtq;
struct virtio_dev;
struct guest_mem;

/*
 * Guest memory as the VMM lends it: ptr() returns the host address of
 * [gpa, gpa + len) when all of it is RAM, else NULL (outside memory, the
 * MMIO hole).  Nothing here holds a raw base pointer.
 */
struct virtio_mem {
	void *(*ptr)(void *ctx, uint64_t gpa, uint64_t len);
	void *ctx;
};

/* A virtio_mem over skyvm's guest RAM (guest_ptr() of boot/guest_mem.h). */
void virtio_mem_from_guest(struct virtio_mem *vm, const struct guest_mem *m);

/*
 * What a device tells the transport.  Every hook runs with dev->lock held
 * (the transport takes it), so a device never sees two of them at once.
 */
struct virtio_dev_ops {
	uint32_t device_id;      /* VIRTIO_ID_* */
	unsigned num_queues;     /* <= VIRTIO_MAX_QUEUES */
	uint32_t config_size;    /* bytes of device config space */
	/* Device-specific feature bits offered (the transport adds VERSION_1,
	 * EVENT_IDX and INDIRECT_DESC). */
	uint64_t (*features)(struct virtio_dev *dev);
	/* Config space access, already checked: off + len <= config_size. */
	void (*config_read)(struct virtio_dev *dev, uint32_t off, uint8_t *buf, uint32_t len);
	/* May be NULL: writes are then ignored (read-only config). */
	void (*config_write)(struct virtio_dev *dev, uint32_t off, const uint8_t *buf,
			     uint32_t len);
	/* The driver set DRIVER_OK with these features.  0, or -1 (err_set):
	 * the transport then sets DEVICE_NEEDS_RESET. May be NULL. */
	int (*activate)(struct virtio_dev *dev, uint64_t features);
	/* The driver wrote 0 to Status (or the VMM reset the VM). May be NULL. */
	void (*reset)(struct virtio_dev *dev);
	/* The driver made buffers available on queue `q` (dev->vq[q] is ready). */
	void (*queue_notify)(struct virtio_dev *dev, unsigned q);
	/* Frees the device (the struct embedding virtio_dev). */
	void (*free)(struct virtio_dev *dev);
};

/*
 * The base of every device struct (embed it first).  The transport fills vq,
 * features and active; the device's own code reads them under `lock`.
 */
struct virtio_dev {
	const struct virtio_dev_ops *ops;
	char name[32];           /* "virtio-blk0": prefixes every report */
	pthread_mutex_t lock;    /* serializes transport, queue work and VMM input */
	struct virtq *vq;        /* ops->num_queues queues, owned by the transport */
	uint64_t features;       /* negotiated (valid once active) */
	bool active;             /* DRIVER_OK accepted, no reset since */
};

/* For device constructors: name it and init the lock. */
void virtio_dev_init(struct virtio_dev *dev, const struct virtio_dev_ops *ops, const char *name);
/* ops->free() after destroying the lock; NULL is fine. */
void virtio_dev_free(struct virtio_dev *dev);

#endif
