/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (virtio spec 1.2, 5.3), one port (Linux's hvc0), no
 * multiport: queue 0 receives (host -> guest), queue 1 transmits.
 *
 * Output: every byte the guest sends on queue 1 goes to ops->write, which
 * must not block (the VMM's bounded, non-blocking character backend; it
 * counts its own drops).  VIRTIO_CONSOLE_F_EMERG_WRITE is offered: a byte
 * written to config offset 8 goes the same way.
 *
 * Input: the VMM calls virtio_console_input() with bytes from its backend;
 * it returns how many the guest had buffers for (possibly 0).  When the
 * guest then adds receive buffers, ops->rx_ready is called so the VMM can
 * offer what it kept; so is the driver setting DRIVER_OK.
 */
#ifndef SKYVM_VIRTIO_CONSOLE_H
#define SKYVM_VIRTIO_CONSOLE_H

#include <stddef.h>

#include "virtio/virtio.h"

#define VIRTIO_CONSOLE_F_SIZE 0
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

struct virtio_console_ops {
	void *opaque;
	void (*write)(void *opaque, const void *buf, size_t len); /* required */
	/* May be NULL.  Called with the device lock held: only schedule the
	 * retry (e.g. write an eventfd), never call virtio_console_input here. */
	void (*rx_ready)(void *opaque);
};

struct virtio_console_opts {
	const char *name; /* "virtio-console0" */
	struct virtio_console_ops ops;
};

struct virtio_dev *virtio_console_new(const struct virtio_console_opts *o);

/*
 * Bytes from the host to the guest: returns how many were placed in guest
 * buffers (the rest the caller keeps or drops).  Takes the device lock;
 * call it from the VMM's event loop, never from a virtio_mmio_host hook.
 */
size_t virtio_console_input(struct virtio_dev *dev, const void *buf, size_t len);

#endif
