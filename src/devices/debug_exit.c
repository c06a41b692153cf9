/* SPDX-License-Identifier: MIT */
/*
 * The debug-exit port (0x501): a byte written here ends the VM, and skyvm
 * exits with that byte as its status.  This is how the embedded guests (and
 * any test guest) report success or failure.
 */
#include "devices/device.h"
#include "guest/lib/ports.h"

static void debug_exit_write(struct device *d, unsigned cpu, uint64_t addr, const uint8_t *data,
			     unsigned size)
{
	dev_stop(d, data[0], "guest wrote %u to the debug-exit port (vCPU %u)", data[0], cpu);
}

static int debug_exit_create(struct device *d, const char *opts)
{
	struct dev_region r = {
		.name = "debug-exit", .space = IO_PIO, .base = GUEST_PORT_DEBUG_EXIT, .len = 1,
		.write = debug_exit_write,
	};

	return device_add_region(d, &r) ? 0 : -1;
}

static struct device_class debug_exit_class = {
	.name = "debug-exit",
	.create = debug_exit_create,
};
DEVICE_CLASS(debug_exit_class)
