/* SPDX-License-Identifier: MIT */
/*
 * virtio-console (virtio spec 1.2, 5.3), one port (Linux's hvc0): queue 0
 * receives (host -> guest), queue 1 transmits.
 *
 * When input is taken.  Linux (drivers/char/virtio_console.c) sets DRIVER_OK
 * and posts port 0's receive buffers before the port is listed and marked
 * connected, and discards what arrives in that window; so input is held
 * until the port is known to be set up:
 *  - without MULTIPORT (what skyvm offers): until the driver first transmits
 *    on port 0 (Linux's put_chars finds the port only once it is set up;
 *    with console=hvc0 the kernel log does that at once);
 *  - with VIRTIO_CONSOLE_F_MULTIPORT (opts.multiport; max_nr_ports 1, queues
 *    2 and 3 carry control messages): the driver says DEVICE_READY, the
 *    device answers PORT_ADD(0); PORT_READY(0) -> CONSOLE_PORT(0) and
 *    PORT_OPEN(0); input is taken after the driver's PORT_OPEN(0, 1), until
 *    PORT_OPEN(0, 0) or reset.  Malformed control messages (short, unknown
 *    event, port id other than 0) are returned unread and counted.  Not
 *    offered by skyvm: Linux sets its console port up from a workqueue, so
 *    with console=hvc0 init may open /dev/console before hvc0 exists.
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
	bool multiport;   /* offer VIRTIO_CONSOLE_F_MULTIPORT */
};

struct virtio_dev *virtio_console_new(const struct virtio_console_opts *o);

/*
 * Bytes from the host to the guest: returns how many were placed in guest
 * buffers (the rest the caller keeps or drops).  Takes the device lock;
 * call it from the VMM's event loop, never from a virtio_mmio_host hook.
 */
size_t virtio_console_input(struct virtio_dev *dev, const void *buf, size_t len);

/* Whether input is taken now (see above). */
bool virtio_console_port_open(struct virtio_dev *dev);
/* Control messages ignored as malformed (short, unknown event, bad port id,
 * a reply that had no room). */
unsigned long virtio_console_bad_control(struct virtio_dev *dev);

#endif
