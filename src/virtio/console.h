/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (virtio spec 1.2, 5.3), one port (Linux's hvc0): queue 0
 * receives (host -> guest), queue 1 transmits.  VIRTIO_CONSOLE_F_MULTIPORT
 * is offered with max_nr_ports 1: queues 2 and 3 carry control messages.
 * The driver says DEVICE_READY, the device answers PORT_ADD(0); the driver
 * says PORT_READY(0), the device answers CONSOLE_PORT(0) and PORT_OPEN(0).
 * Input is held until the driver sends PORT_OPEN(0, 1): without it, Linux
 * sets DRIVER_OK before its port exists and drops what arrives meanwhile.
 * Malformed control messages (short, unknown event, port id other than 0)
 * are returned unread and counted; the device goes on.
 *
 * Output: every byte the guest sends on queue 1 goes to ops->write, which
 * must not block (the VMM's bounded, non-blocking character backend; it
 * counts its own drops).  VIRTIO_CONSOLE_F_EMERG_WRITE is offered: a byte
 * written to config offset 8 goes the same way.
 *
 * Input: the VMM calls virtio_console_input() with bytes from its backend;
 * it returns how many the guest had buffers for (possibly 0).  When the
 * guest then adds receive buffers, ops->rx_ready is called so the VMM can
 * offer what it kept.
 */
#ifndef SKYVM_VIRTIO_CONSOLE_H
#define SKYVM_VIRTIO_CONSOLE_H

#include <stddef.h>

#include "virtio/virtio.h"

#define VIRTIO_CONSOLE_F_SIZE 0
#define VIRTIO_CONSOLE_F_MULTIPORT 1
#define VIRTIO_CONSOLE_F_EMERG_WRITE 2

/* Control events (spec 5.3.6.2) */
#define VIRTIO_CONSOLE_DEVICE_READY 0
#define VIRTIO_CONSOLE_PORT_ADD 1
#define VIRTIO_CONSOLE_PORT_REMOVE 2
#define VIRTIO_CONSOLE_PORT_READY 3
#define VIRTIO_CONSOLE_CONSOLE_PORT 4
#define VIRTIO_CONSOLE_RESIZE 5
#define VIRTIO_CONSOLE_PORT_OPEN 6
#define VIRTIO_CONSOLE_PORT_NAME 7

struct virtio_console_ops {
	void *opaque;
	void (*write)(void *opaque, const void *buf, size_t len); /* required */
	void (*rx_ready)(void *opaque);                           /* may be NULL */
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

/* Whether input is taken now: active, and with MULTIPORT the port is open. */
bool virtio_console_port_open(struct virtio_dev *dev);
/* Control messages ignored as malformed (short, unknown event, bad port id,
 * a reply that had no room). */
unsigned long virtio_console_bad_control(struct virtio_dev *dev);

#endif
