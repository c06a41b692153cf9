/* SPDX-License-Identifier: MIT */
/*
 * The bulk port (lib/ports.h): a whole buffer to the VMM in one exit, where
 * `rep outs` would take one exit per element.  Detected once at start; when
 * absent (QEMU) the console and probe data go to their ports as before.
 */
#ifndef SKYVM_GUEST_LIB_BULK_H
#define SKYVM_GUEST_LIB_BULK_H

#include <stdbool.h>
#include <stdint.h>

#include "lib/io.h"
#include "lib/ports.h"

/* A descriptor: this header, then `len` bytes (lib/ports.h). */
struct guest_bulk {
	uint32_t channel, len;
};

extern bool bulk_port;

/* Boot CPU, before any output: ask the VMM whether it has the port. */
void bulk_port_detect(void);

static inline void bulk_send(struct guest_bulk *b, uint32_t channel, uint32_t len)
{
	b->channel = channel;
	b->len = len;
	outl(GUEST_PORT_BULK, (uint32_t)(uintptr_t)b);
}

#endif
