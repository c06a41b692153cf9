/* SPDX-License-Identifier: MIT */
/*
 * The probe data port (0x510): the probe guest streams 32-bit words here
 * (src/guest/lib/ports.h); the VMM keeps each vCPU's words (device_host
 * cpu_words) and they are decoded after the run (src/verify/probe_decode.c).
 * The bulk port (bulk_port.c) delivers the same stream a buffer at a time.
 */
#include "devices/device.h"
#include "guest/lib/ports.h"

static void probe_write(struct device *d, unsigned cpu, uint64_t addr, const uint8_t *data,
			unsigned size)
{
	if (size == 4 && d->host->cpu_words) /* the protocol is 32-bit words only */
		d->host->cpu_words(d->host->ctx, cpu, data, 1);
}

static int probe_create(struct device *d, const char *opts)
{
	struct dev_region r = {
		.name = "probe-data", .space = IO_PIO, .base = GUEST_PORT_PROBE_DATA, .len = 1,
		.write = probe_write,
	};

	return device_add_region(d, &r) ? 0 : -1;
}

static struct device_class probe_class = {
	.name = "probe-port",
	.create = probe_create,
};
DEVICE_CLASS(probe_class)
