/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the port-I/O devices of the PC platform (devices/uart.c,
 * i8042.c, rtc.c), built as every VM builds them (machine_init_pc, the
 * allocator, realize against a device_host without KVM) and driven by any
 * sequence of guest port accesses through the port bus.
 *
 * Input: 4-byte operations {u8 op, u8 offset, le16 value}.  op bits 0-1
 * pick the device (0 the UART, 1 the i8042, 2 the RTC, 3: console input, the other
 * three bytes typed at the console into the UART); bit 2 write (else read);
 * bits 3-4 the size (1, 2, 4, 1); bits 5-7 the device's region.  The port is
 * the region's base + offset mod its length; an access that runs past the
 * region is one the bus would not route to it and is skipped.
 *
 * Console output goes to a "none" console with a small --max-output, so the
 * "guest wrote too much" stop is reached.  Invariants: the bus finds the
 * region the port lies in; a handler touches only the `size` bytes it was
 * given (exact-sized heap buffers, ASan); interrupts go to the GSI of a
 * device that has one; the UART's saved state loads back and saves the
 * same; the machine frees everything (LeakSanitizer).
 */
#include "devices/device.h"
#include "devices/machine.h"
#include "fuzz.h"
#include "vmm/console.h"

#define MAX_OUTPUT 256

struct port_host {
	struct machine *m;
	unsigned stops;
};

static void *no_mem(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	(void)gpa;
	(void)len;
	return NULL;
}

static void set_irq(void *ctx, unsigned gsi, bool level)
{
	struct port_host *h = ctx;
	bool owner = false;

	(void)level;
	for (unsigned i = 0; i < h->m->n; i++)
		if (h->m->dev[i]->gsi >= 0 && (unsigned)h->m->dev[i]->gsi == gsi)
			owner = true;
	FUZZ_CHECK(owner);
}

static void stop(void *ctx, int code, const char *reason)
{
	struct port_host *h = ctx;

	(void)code;
	FUZZ_CHECK(reason != NULL);
	h->stops++;
}

/* Save the UART, load it back, save again: the same bytes. */
static void check_save_load(struct device *d)
{
	static uint8_t a[16384], b[16384];
	size_t la = 0, lb = 0;

	if (!d->cls->ops.save || !d->cls->ops.load)
		return;
	if (d->cls->ops.save(d, a, sizeof(a), &la) != 0)
		return;
	FUZZ_CHECK(la <= sizeof(a));
	FUZZ_CHECK(d->cls->ops.load(d, a, la) == 0);
	FUZZ_CHECK(d->cls->ops.save(d, b, sizeof(b), &lb) == 0);
	FUZZ_CHECK(la == lb && memcmp(a, b, la) == 0);
}

static void do_access(struct machine *m, struct device *d, const uint8_t *op)
{
	static const unsigned sizes[4] = { 1, 2, 4, 1 };
	const struct dev_region *r = &d->region[((unsigned)op[0] >> 5) % d->nregion];
	unsigned size = sizes[(op[0] >> 3) & 3];
	uint64_t port = r->base + (uint64_t)op[1] % r->len;
	uint32_t value = (uint32_t)op[2] | (uint32_t)op[3] << 8;
	struct device *found = NULL;
	const struct dev_region *fr;
	uint8_t *data;

	if (r->space != IO_PIO)
		return;
	fr = machine_find(&m->pio, port, size, &found);
	if (port + size > r->base + r->len) {
		FUZZ_CHECK(fr != r);
		return;
	}
	FUZZ_CHECK(fr == r && found == d);
	data = malloc(size);
	FUZZ_CHECK(data != NULL);
	value |= value << 16;
	memcpy(data, &value, size);
	if (op[0] & 4) {
		if (r->write)
			r->write(d, 0, port, data, size);
	} else if (r->read) {
		r->read(d, 0, port, data, size);
	}
	if (r->end)
		r->end(d, 0);
	free(data);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const cls[3] = { "uart", "i8042", "rtc" };
	struct machine m;
	struct console con;
	struct port_host ph = { .m = &m };
	struct device_host host = {
		.ctx = &ph, .ncpus = 1, .console = &con, .mem = no_mem,
		.set_irq = set_irq, .stop = stop,
	};
	struct device *dev[3];

	FUZZ_CHECK(console_open(&con, "none", MAX_OUTPUT) == 0);
	FUZZ_CHECK(machine_init_pc(&m, 0) == 0);
	FUZZ_CHECK(machine_allocate(&m) == 0);
	FUZZ_CHECK(machine_realize(&m, &host) == 0);
	for (unsigned i = 0; i < 3; i++) {
		dev[i] = NULL;
		for (unsigned j = 0; j < m.n; j++)
			if (!strcmp(m.dev[j]->cls->name, cls[i]))
				dev[i] = m.dev[j];
		FUZZ_CHECK(dev[i] && dev[i]->nregion > 0);
	}
	for (size_t at = 0; at + 4 <= size && at < 4 * 4096; at += 4) {
		const uint8_t *op = data + at;

		if ((op[0] & 3) == 3)
			console_input(&con, op + 1, 3);
		else
			do_access(&m, dev[op[0] & 3], op);
	}
	check_save_load(dev[0]);
	machine_reset(&m);
	check_save_load(dev[0]);
	machine_free(&m);
	console_close(&con);
	return 0;
}
