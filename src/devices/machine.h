/* SPDX-License-Identifier: MIT */
/*
 * A machine: the devices one VM has, their resources, and the buses that
 * route guest accesses to them.
 *
 *   machine_init()        empty machine
 *   machine_add() ...     one device per call (the command line decides which)
 *   machine_allocate()    fixed resources checked for overlaps; MMIO windows
 *                         and GSIs handed out to the rest (resource_alloc)
 *   machine_acpi_devices(), machine_cmdline()
 *                         what ACPI and the kernel command line say, from the
 *                         allocated devices
 *   machine_realize()     each device's realize(), in the order added; the
 *                         buses are filled
 *   machine_find()        the device region at a port / address (vCPU exits)
 *   machine_power_button() the power button, for whichever device has one
 *   machine_free()        unrealize backwards, then destroy
 *
 * Pure C over the device list: nothing here needs KVM, so the allocator and
 * the generation of ACPI and command line are unit-tested.
 */
#ifndef SKYVM_DEVICES_MACHINE_H
#define SKYVM_DEVICES_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acpi/acpi.h"
#include "devices/device.h"

/*
 * The allocator: MMIO windows from [mmio_base, mmio_end) in `mmio_align`
 * steps, GSIs from [gsi_first, gsi_last] not already taken (the ISA lines
 * fixed devices hold, the SCI).
 */
struct resource_alloc {
	uint64_t mmio_next, mmio_end, mmio_align;
	unsigned gsi_first, gsi_last;
	uint64_t gsi_used;        /* bit n: GSI n is taken */
};

void resource_alloc_init(struct resource_alloc *a, uint64_t mmio_base, uint64_t mmio_end,
			 uint64_t align, unsigned gsi_first, unsigned gsi_last);
/* Take a GSI that a fixed device uses; -1 (err_set) when already taken. */
int resource_take_gsi(struct resource_alloc *a, unsigned gsi, const char *who);
/* The lowest free GSI, or -1 (err_set) when none is left. */
int resource_alloc_gsi(struct resource_alloc *a, const char *who);
/* The highest free GSI (for platform devices: the low ones stay in command-line order). */
int resource_alloc_gsi_high(struct resource_alloc *a, const char *who);
/* An aligned MMIO window of `len` bytes; 0 and *gpa set, or -1 (err_set). */
int resource_alloc_mmio(struct resource_alloc *a, uint64_t len, const char *who,
			uint64_t *gpa);

#define MACHINE_MAX_DEVICES 64

struct bus_entry {
	uint64_t base, len;
	struct device *dev;
	const struct dev_region *r;
};

struct bus {
	struct bus_entry e[MACHINE_MAX_DEVICES * DEV_MAX_REGIONS];
	unsigned n;
	/* Accesses no device claimed (bus_unclaimed()); vCPU threads add to them. */
	uint64_t unclaimed_read, unclaimed_write;
	uint64_t unclaimed_first;  /* the first such address, valid once unclaimed_seen */
	uint32_t unclaimed_seen;
};

struct machine {
	struct device *dev[MACHINE_MAX_DEVICES];
	unsigned n;
	struct resource_alloc alloc;
	bool allocated;
	struct bus pio, mmio;
};

void machine_init(struct machine *m);

/*
 * skyvm's own ports (src/guest/lib/ports.h), beyond the PC platform every VM
 * has.  Only skyvm's embedded guests speak their protocols; a guest that
 * does not know them gets none of them, so it can neither end skyvm through
 * them nor see a device it was never promised.
 */
enum machine_ports {
	MACHINE_PORT_DEBUG_EXIT = 1u << 0, /* debug-exit (0x501): the guest ends the VM */
	MACHINE_PORTS_REPORT = 1u << 1,    /* probe data (0x510) and bulk (0x512) */
};
#define MACHINE_PORTS_EMBEDDED (MACHINE_PORT_DEBUG_EXIT | MACHINE_PORTS_REPORT)

/*
 * The ports a guest gets: all of them for an embedded guest; for the user's
 * own kernel none, or the debug-exit port alone when asked for (--debug-exit).
 */
unsigned machine_guest_ports(bool embedded_guest, bool debug_exit);

/*
 * machine_init() plus the PC platform every VM has: the allocator over the
 * MMIO hole with the platform's GSIs reserved, the standard devices, and
 * skyvm's own ports selected by `ports` (enum machine_ports).
 * 0, or -1 (err_msg).
 */
int machine_init_pc(struct machine *m, unsigned ports);
/*
 * Create a device of class `cls`; id NULL = "<class><n>" (n counts that
 * class from 0).  Returns the device or NULL (err_msg).
 */
struct device *machine_add(struct machine *m, const char *cls, const char *id,
			   const char *opts);
struct device *machine_device(const struct machine *m, const char *id);
int machine_allocate(struct machine *m);
/* Does any device need an interrupt (so the VM needs an irqchip)? */
bool machine_needs_irqchip(const struct machine *m);
/*
 * The ACPI view of the allocated machine: devices with an ACPI _HID and the
 * sleep registers.  Fills cfg->devs / ndevs / sleep_*; `devs` has room for
 * MACHINE_MAX_DEVICES.
 */
void machine_acpi_devices(const struct machine *m, struct acpi_device *devs,
			  struct acpi_config *cfg);
/*
 * Does the Linux command line `cmdline` switch ACPI off?  Linux's
 * early_param "acpi" (arch/x86/kernel/acpi/boot.c): acpi=off disables ACPI,
 * acpi=force enables it again, the last of them wins; words after "--" are
 * init's, not the kernel's.
 */
bool linux_cmdline_acpi_off(const char *cmdline);
/*
 * Append every device's command-line text to the Linux command line in buf
 * (space separated) when that command line switches ACPI off, and nothing
 * otherwise.  The devices are always in the DSDT (machine_acpi_devices()):
 * a kernel reading it binds each virtio-mmio device from there, and a
 * second description of the same window (virtio_mmio.device=) only fails
 * to claim it again ("can't request region", -EBUSY).  As QEMU's microvm,
 * which adds virtio_mmio.device= only to a machine without ACPI.  0 or -1.
 */
int machine_cmdline(const struct machine *m, char *buf, size_t size);
int machine_realize(struct machine *m, const struct device_host *h);
void machine_reset(struct machine *m);
/*
 * Count an access to `addr` that no device claimed (a read the caller answers
 * with all ones, or a write it drops).  Safe from any vCPU thread.
 */
void bus_unclaimed(struct bus *b, uint64_t addr, bool write);
/*
 * One line (no newline) saying how many port and MMIO accesses nobody claimed
 * and the first address of each kind, for the end of a run; "" when there
 * were none.  Returns the length (snprintf's).
 */
int machine_unclaimed_summary(const struct machine *m, char *buf, size_t size);
/*
 * Press the power button: the first device that has one (ops.power_button).
 * 0, or -1 (err_msg) when the machine has none or the device refused.
 */
int machine_power_button(struct machine *m);
void machine_free(struct machine *m);
/* The region holding [addr, addr+size), or NULL; *dev set when found. */
const struct dev_region *machine_find(const struct bus *b, uint64_t addr, unsigned size,
				      struct device **dev);

#endif
