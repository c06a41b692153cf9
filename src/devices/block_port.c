/* SPDX-License-Identifier: MIT */
/*
 * The block port (0x512): a guest hands over a whole buffer in one exit
 * (protocol in src/guest/lib/ports.h).  KVM's instruction emulator completes
 * `rep outs` one element per exit, so on hosts that interpret guest kernel
 * code a 400-byte line through COM1 costs 400 exits; through here it costs 1.
 *
 *   inl  -> GUEST_BLOCK_MAGIC (the guest's "is this skyvm?" check)
 *   outl <- guest-physical address of {u32 channel, u32 length, data[length]}
 *
 * A descriptor skyvm cannot read (outside RAM, too long, unknown channel) is
 * counted as an unclaimed access and otherwise ignored: the guest is not
 * trusted to be well behaved.
 */
#include <string.h>

#include "devices/probe_port.h"
#include "exitcodes.h"
#include "guest/lib/ports.h"
#include "vmm/vm.h"

static void block_in(struct vcpu *v, void *opaque, uint16_t port, uint8_t *data, unsigned size)
{
	uint32_t magic = GUEST_BLOCK_MAGIC;

	memset(data, 0, size);
	memcpy(data, &magic, size < 4 ? size : 4);
}

static void block_out(struct vcpu *v, void *opaque, uint16_t port, const uint8_t *data,
		      unsigned size)
{
	struct vm *vm = v->vm;
	uint32_t paddr = 0, hdr[2];
	const uint8_t *p;

	if (size != 4)
		goto bad;
	memcpy(&paddr, data, 4);
	p = guest_ptr(&vm->mem, paddr, GUEST_BLOCK_HEADER);
	if (!p)
		goto bad;
	memcpy(hdr, p, sizeof(hdr));
	if (hdr[1] > GUEST_BLOCK_MAX)
		goto bad;
	p = guest_ptr(&vm->mem, (uint64_t)paddr + GUEST_BLOCK_HEADER, hdr[1]);
	if (!p)
		goto bad;
	switch (hdr[0]) {
	case GUEST_BLOCK_CONSOLE:
		if (!console_write(&vm->console, p, hdr[1]))
			vm_stop(vm, EXIT_GUEST_OUTPUT,
				"the guest wrote more than %llu bytes to the console "
				"(--max-output); stopped it",
				(unsigned long long)vm->console.max);
		return;
	case GUEST_BLOCK_PROBE:
		if (hdr[1] % 4)
			goto bad;
		probe_append(v, p, hdr[1] / 4);
		return;
	default:
		break;
	}
bad:
	vm->pio.unclaimed_out++;
}

static int block_init(struct vm *vm)
{
	struct pio_region r = {
		.name = "block-port",
		.base = GUEST_PORT_BLOCK,
		.len = 1,
		.in = block_in,
		.out = block_out,
	};

	return pio_register(&vm->pio, &r);
}

static struct device_type block_type = {
	.name = "block-port",
	.level = DEVICE_LEVEL_CORE,
	.init = block_init,
};
DEVICE_REGISTER(block_type)
