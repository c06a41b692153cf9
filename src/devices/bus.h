/* SPDX-License-Identifier: MIT */
/*
 * The port-I/O and MMIO buses, and device self-registration.
 *
 * A device file defines its state, its handlers and a struct device_type,
 * and registers it with DEVICE_REGISTER(); vm_create() walks the
 * registered types in level order calling init(), vm_destroy() walks them
 * backwards calling exit().  init() claims its ports with pio_register().
 * Handlers run on the vCPU thread that exited; a device with state shared
 * between vCPUs locks it itself.
 */
#ifndef SKYVM_DEVICES_BUS_H
#define SKYVM_DEVICES_BUS_H

#include <stdbool.h>
#include <stdint.h>

struct vm;
struct vcpu;

struct pio_region {
	const char *name;
	uint16_t base;
	uint16_t len;
	void *opaque;
	/* `data` holds `size` bytes (1, 2 or 4), little endian. */
	void (*in)(struct vcpu *vcpu, void *opaque, uint16_t port, uint8_t *data, unsigned size);
	void (*out)(struct vcpu *vcpu, void *opaque, uint16_t port, const uint8_t *data,
		    unsigned size);
	/* Optional: called once after all elements of one exit (string I/O). */
	void (*end)(struct vcpu *vcpu, void *opaque);
};

#define PIO_MAX_REGIONS 32

struct pio_bus {
	unsigned n;
	struct pio_region r[PIO_MAX_REGIONS];
	uint64_t unclaimed_in, unclaimed_out; /* accesses to ports nobody owns */
};

int pio_register(struct pio_bus *bus, const struct pio_region *region);
const struct pio_region *pio_find(const struct pio_bus *bus, uint16_t port);

/* Device init levels: lower first on start, last on exit. */
enum device_level { DEVICE_LEVEL_CORE = 0, DEVICE_LEVEL_CONSOLE = 1, DEVICE_LEVEL_LATE = 2 };

struct device_type {
	const char *name;
	enum device_level level;
	int (*init)(struct vm *vm);  /* 0 or -1 with err_set() */
	void (*exit)(struct vm *vm); /* may be NULL; also called when init never ran */
	unsigned slot;               /* index into vm->devices[], set on registration */
	struct device_type *next;
};

#define DEVICE_MAX_TYPES 8

void device_type_register(struct device_type *t);
struct device_type *device_types(void); /* ordered by level, then name */

#define DEVICE_REGISTER(t)                                                      \
	__attribute__((constructor)) static void device_register_##t(void)     \
	{                                                                       \
		device_type_register(&t);                                       \
	}

#endif
