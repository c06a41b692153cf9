/* SPDX-License-Identifier: MIT */
/*
 * The probe data port (0x510): the probe guest streams 32-bit words here
 * (src/guest/lib/ports.h); each vCPU's words are kept on its own struct
 * vcpu, so no locking is needed, and decoded after the run
 * (src/verify/probe_decode.c).  The block port delivers the same stream in
 * bulk through probe_append().
 */
#include <stdlib.h>
#include <string.h>

#include "devices/probe_port.h"
#include "exitcodes.h"
#include "guest/lib/ports.h"
#include "vmm/vm.h"

#define PROBE_MAX_WORDS (1u << 20) /* 4 MiB per vCPU: far beyond any sweep */

void probe_append(struct vcpu *v, const uint8_t *data, size_t nwords)
{
	if (v->probe_len + nwords > v->probe_cap) {
		size_t cap = v->probe_cap ? v->probe_cap : 1024;
		uint32_t *p;

		while (cap < v->probe_len + nwords)
			cap *= 2;
		if (cap > PROBE_MAX_WORDS) {
			vm_stop(v->vm, EXIT_GUEST_OUTPUT,
				"vCPU %u sent more than %u probe words: stopped", v->index,
				PROBE_MAX_WORDS);
			return;
		}
		p = realloc(v->probe_words, cap * sizeof(*p));
		if (!p) {
			vm_stop(v->vm, EXIT_ERROR, "out of memory for probe data");
			return;
		}
		v->probe_words = p;
		v->probe_cap = cap;
	}
	memcpy(v->probe_words + v->probe_len, data, nwords * 4); /* little endian, as sent */
	v->probe_len += nwords;
}

static void probe_out(struct vcpu *v, void *opaque, uint16_t port, const uint8_t *data,
		      unsigned size)
{
	if (size == 4) /* the protocol is 32-bit words only */
		probe_append(v, data, 1);
}

static int probe_init(struct vm *vm)
{
	struct pio_region r = {
		.name = "probe-data",
		.base = GUEST_PORT_PROBE_DATA,
		.len = 1,
		.out = probe_out,
	};

	return pio_register(&vm->pio, &r);
}

static struct device_type probe_type = {
	.name = "probe-port",
	.level = DEVICE_LEVEL_CORE,
	.init = probe_init,
};
DEVICE_REGISTER(probe_type)
