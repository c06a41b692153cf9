/* SPDX-License-Identifier: MIT */
/*
 * The debug-exit port (0x501): a byte written here ends the VM.  This is how
 * the embedded guests (and a kernel run with --debug-exit) report success or
 * failure.
 *
 * The status s becomes skyvm's exit code unchanged unless it is one of
 * skyvm's own codes (src/exitcodes.h); those end skyvm with
 * EXIT_GUEST_STATUS (119), with s in the stop reason.  So a guest cannot
 * make skyvm report a time-out (124), a set-up error (1) or a signal
 * (128 + n).  QEMU's isa-debug-exit keeps the two apart differently: it
 * exits with (s << 1) | 1, always odd, which changes every status.
 */
#include "devices/debug_exit.h"

#include "devices/device.h"
#include "exitcodes.h"
#include "guest/lib/ports.h"

bool exit_code_is_skyvms(int code)
{
	return (code >= EXIT_ERROR && code <= EXIT_CPU_INCOMPATIBLE) ||
	       (code >= EXIT_GUEST_STATUS && code <= EXIT_GUEST_OUTPUT) ||
	       code >= EXIT_SIGNAL_BASE;
}

int debug_exit_code(uint8_t status)
{
	return exit_code_is_skyvms(status) ? EXIT_GUEST_STATUS : status;
}

static void debug_exit_write(struct device *d, unsigned cpu, uint64_t addr, const uint8_t *data,
			     unsigned size)
{
	int code = debug_exit_code(data[0]);

	if (code == data[0])
		dev_stop(d, code, "guest wrote %u to the debug-exit port (vCPU %u)", data[0], cpu);
	else
		dev_stop(d, code,
			 "guest wrote %u to the debug-exit port (vCPU %u); %u is one of skyvm's "
			 "own exit codes, so skyvm exits with %d",
			 data[0], cpu, data[0], code);
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
