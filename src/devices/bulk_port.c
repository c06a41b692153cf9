/* SPDX-License-Identifier: MIT */
/*
 * The bulk port (0x512): a guest hands over a whole buffer in one exit
 * (protocol in src/guest/lib/ports.h).  KVM's instruction emulator completes
 * `rep outs` one element per exit, so on hosts that interpret guest kernel
 * code a 400-byte line through COM1 costs 400 exits; through here it costs 1.
 *
 *   inl  -> GUEST_BULK_MAGIC (the guest's "is this skyvm?" check)
 *   outl <- guest-physical address of {u32 channel, u32 length, data[length]}
 *
 * A descriptor skyvm cannot read (outside RAM, too long, unknown channel) is
 * counted and otherwise ignored: the guest is not trusted to be well behaved.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "devices/device.h"
#include "exitcodes.h"
#include "guest/lib/ports.h"
#include "util/err.h"
#include "vmm/console.h"

struct bulk_port {
	atomic_ulong bad; /* descriptors ignored */
};

static void bulk_read(struct device *d, unsigned cpu, uint64_t addr, uint8_t *data,
		       unsigned size)
{
	uint32_t magic = GUEST_BULK_MAGIC;

	memset(data, 0, size);
	memcpy(data, &magic, size < 4 ? size : 4);
}

static void bulk_write(struct device *d, unsigned cpu, uint64_t addr, const uint8_t *data,
			unsigned size)
{
	struct bulk_port *b = d->state;
	uint32_t paddr = 0, hdr[2];
	const uint8_t *p;

	if (size != 4)
		goto bad;
	memcpy(&paddr, data, 4);
	p = dev_mem(d, paddr, GUEST_BULK_HEADER);
	if (!p)
		goto bad;
	memcpy(hdr, p, sizeof(hdr));
	if (hdr[1] > GUEST_BULK_MAX)
		goto bad;
	p = dev_mem(d, (uint64_t)paddr + GUEST_BULK_HEADER, hdr[1]);
	if (!p)
		goto bad;
	switch (hdr[0]) {
	case GUEST_BULK_CONSOLE:
		if (!console_write(d->host->console, p, hdr[1]))
			dev_stop(d, EXIT_GUEST_OUTPUT,
				 "the guest wrote more than %llu bytes to the console "
				 "(--max-output); stopped it",
				 (unsigned long long)d->host->console->max);
		return;
	case GUEST_BULK_PROBE:
		if (hdr[1] % 4)
			goto bad;
		if (d->host->cpu_words)
			d->host->cpu_words(d->host->ctx, cpu, p, hdr[1] / 4);
		return;
	default:
		break;
	}
bad:
	atomic_fetch_add(&b->bad, 1);
}

static int bulk_create(struct device *d, const char *opts)
{
	struct dev_region r = {
		.name = "bulk-port", .space = IO_PIO, .base = GUEST_PORT_BULK, .len = 1,
		.read = bulk_read, .write = bulk_write,
	};

	d->state = calloc(1, sizeof(struct bulk_port));
	if (!d->state)
		return err_set("out of memory");
	return device_add_region(d, &r) ? 0 : -1;
}

static void bulk_destroy(struct device *d)
{
	free(d->state);
	d->state = NULL;
}

static struct device_class bulk_class = {
	.name = "bulk-port",
	.create = bulk_create,
	.destroy = bulk_destroy,
};
DEVICE_CLASS(bulk_class)
