/* SPDX-License-Identifier: MIT */
/*
 * The virtio-mmio transport (virtio spec 1.2, 4.2.2: the modern register
 * layout, Version 2; the legacy layout is not offered).
 *
 * The VMM maps one VIRTIO_MMIO_SIZE window per device, sends every guest
 * access inside it to virtio_mmio_read()/virtio_mmio_write() (offset from
 * the window base), and:
 *   - QueueNotify: either registers an ioeventfd on base + 0x50 (datamatch
 *     on the queue index) whose handler calls virtio_mmio_queue_notify(), or
 *     lets the write reach virtio_mmio_write(), which then calls
 *     host->queue_notify (or, when that is NULL, processes the queue on the
 *     calling thread);
 *   - interrupts: host->set_irq(opaque, 1) each time a bit of
 *     InterruptStatus is newly raised (an irqfd write), set_irq(opaque, 0)
 *     when the driver's InterruptACK leaves it 0 (for a resampling irqfd or
 *     a level line; an edge irqfd ignores it).
 *
 * Threads: vCPUs call read/write, the event loop calls queue_notify and
 * device input (e.g. virtio_console_input); the device's lock serializes
 * them.  Reading InterruptStatus and writing InterruptACK take only a small
 * interrupt lock, never the device's, so a vCPU's interrupt handler does not
 * wait for disk I/O.  The hooks in virtio_mmio_host are called with a lock
 * held and must not call back into this device.
 *
 * Hostile drivers: a broken queue or a refused step sets
 * DEVICE_NEEDS_RESET in Status, raises a configuration-change interrupt
 * (spec 2.1.2) and reports once through host->log; the device then ignores
 * notifications until the driver resets it by writing 0 to Status.
 */
#ifndef SKYVM_VIRTIO_MMIO_H
#define SKYVM_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtio.h"

#define VIRTIO_MMIO_SIZE 0x200       /* window the VMM maps per device */
#define VIRTIO_MMIO_MAGIC 0x74726976 /* "virt" */
#define VIRTIO_MMIO_VERSION 2
#define VIRTIO_MMIO_VENDOR 0x4d56594bu /* "KYVM" little endian: skyvm's vendor id */

/* Register offsets (spec 4.2.2) */
#define VIRTIO_MMIO_MAGIC_VALUE 0x000
#define VIRTIO_MMIO_VERSION_REG 0x004
#define VIRTIO_MMIO_DEVICE_ID 0x008
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_SHM_SEL 0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW 0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH 0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW 0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH 0x0bc
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100

/* InterruptStatus bits */
#define VIRTIO_MMIO_INT_VRING 1u
#define VIRTIO_MMIO_INT_CONFIG 2u

struct virtio_mmio_host {
	void *opaque;
	void (*set_irq)(void *opaque, int level);       /* required */
	void (*queue_notify)(void *opaque, unsigned q); /* NULL: process inline */
	void (*log)(void *opaque, const char *msg);     /* NULL: stderr */
};

struct virtio_mmio;

/*
 * A transport for `dev` (which it owns from here: virtio_mmio_free() frees
 * it).  `mem` and `host` must outlive it.  NULL with err_msg() on failure
 * (dev is then freed too).
 */
struct virtio_mmio *virtio_mmio_new(struct virtio_dev *dev, const struct virtio_mem *mem,
				    const struct virtio_mmio_host *host);
void virtio_mmio_free(struct virtio_mmio *t);

/*
 * A guest access at `off` within the window; `data` holds `size` bytes,
 * little endian.  Registers take 4-byte aligned 32-bit accesses only; the
 * config space takes 1, 2, 4 and 8.  Anything else reads as 0 and is
 * ignored on write (reported once).
 */
void virtio_mmio_read(struct virtio_mmio *t, uint64_t off, unsigned size, void *data);
void virtio_mmio_write(struct virtio_mmio *t, uint64_t off, unsigned size, const void *data);

/* Queue `q` was notified (ioeventfd fired); ignored unless the device is live. */
void virtio_mmio_queue_notify(struct virtio_mmio *t, unsigned q);

/* The VMM resets the device (system reset): as if the driver wrote Status 0. */
void virtio_mmio_reset(struct virtio_mmio *t);

/* The device's config space changed: bump ConfigGeneration, interrupt. */
void virtio_mmio_config_changed(struct virtio_mmio *t);

struct virtio_dev *virtio_mmio_dev(struct virtio_mmio *t);
uint32_t virtio_mmio_status(struct virtio_mmio *t);
/* Hostile-guest events seen (the first was reported through host->log). */
uint64_t virtio_mmio_errors(struct virtio_mmio *t);
/*
 * Snapshots: the transport's registers, the negotiated features and each
 * queue's rings and positions (not the device's backend).  Load runs on a
 * fresh transport of the same device, after guest memory is restored (the
 * rings are resolved again); a notification the guest sent that was not
 * processed before the save is the caller's to replay (notify every ready
 * queue: a spurious one is harmless).
 */
int virtio_mmio_save(struct virtio_mmio *t, void *buf, size_t size, size_t *len);
int virtio_mmio_load(struct virtio_mmio *t, const void *buf, size_t len);

#endif
