/* SPDX-License-Identifier: MIT */
/*
 * The debug-exit port (0x501): a byte written here ends the VM, and skyvm
 * exits with that byte as its status.  This is how the embedded guests (and
 * any test guest) report success or failure.
 */
#include "exitcodes.h"
#include "guest/lib/ports.h"
#include "vmm/vm.h"

static void debug_exit_out(struct vcpu *vcpu, void *opaque, uint16_t port, const uint8_t *data,
			   unsigned size)
{
	vm_stop(vcpu->vm, data[0], "guest wrote %u to the debug-exit port (vCPU %u)", data[0],
		vcpu->index);
}

static int debug_exit_init(struct vm *vm)
{
	struct pio_region r = {
		.name = "debug-exit",
		.base = GUEST_PORT_DEBUG_EXIT,
		.len = 1,
		.out = debug_exit_out,
	};

	return pio_register(&vm->pio, &r);
}

static struct device_type debug_exit_type = {
	.name = "debug-exit",
	.level = DEVICE_LEVEL_CORE,
	.init = debug_exit_init,
};
DEVICE_REGISTER(debug_exit_type)
