/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng (virtio spec 1.2, 5.4): one request queue; each buffer's
 * device-writable part is filled from getrandom() (or the given source) and
 * returned with the number of bytes written.  A chain with no writable part
 * is returned with length 0.  At most 64 KiB are filled per buffer.
 */
#ifndef SKYVM_VIRTIO_RNG_H
#define SKYVM_VIRTIO_RNG_H

#include <stddef.h>
#include <sys/types.h>

#include "virtio/virtio.h"

#define VIRTIO_RNG_MAX_FILL 65536

struct virtio_rng_opts {
	const char *name; /* "virtio-rng0" */
	/* Entropy source like getrandom(2) (flags 0); NULL: getrandom. */
	ssize_t (*fill)(void *opaque, void *buf, size_t len);
	void *opaque;
};

struct virtio_dev *virtio_rng_new(const struct virtio_rng_opts *o);

#endif
