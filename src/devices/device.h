/* SPDX-License-Identifier: MIT */
/*
 * The device model: devices are per-VM instances of a device class.
 *
 *   class     a kind of device ("uart", "i8042", "acpi-pm", ...), defined in its
 *             own file and registered there with DEVICE_CLASS();
 *   device    one instance in one machine, with an id ("uart0", "virtio-blk1"),
 *             the resources it declared (port and MMIO regions, an interrupt, an
 *             ACPI identity) and its own state;
 *   machine   the list of devices a VM has (devices/machine.h), built from the
 *             command line, whose resources an allocator fills in before ACPI
 *             and the kernel command line are generated from it.
 *
 * Lifecycle of a device:
 *   create()     (no KVM) parse options, declare regions/IRQ/ACPI, allocate state
 *   [allocator]  MMIO windows and GSIs for the regions and IRQs left unplaced
 *   realize()    (VM exists) open backends, register ioeventfds/irqfds
 *   reset()      back to power-on state
 *   save/load()  the device's own state, for snapshots (keyed by the device id)
 *   unrealize()  undo realize; then the machine frees the state
 *
 * A device reaches the VMM only through its struct device_host (interrupts,
 * bounds-checked guest memory, the console backend, the event loop, stopping
 * the VM), never through struct vm.  Access handlers run on the vCPU thread
 * that exited; a device whose state several vCPUs (or the event loop) touch
 * locks it itself.
 */
#ifndef SKYVM_DEVICES_DEVICE_H
#define SKYVM_DEVICES_DEVICE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml;
struct console;
struct event_loop;
struct device;

/* What a device may ask of the VMM.  Every callback gets `ctx` first. */
struct device_host {
	void *ctx;
	unsigned ncpus;
	struct console *console;  /* the guest console's character backend */
	struct event_loop *loop;  /* NULL in unit tests */
	/* Bounds-checked guest memory: NULL unless [gpa, gpa+len) is all RAM. */
	void *(*mem)(void *ctx, uint64_t gpa, uint64_t len);
	/* The guest-physical ranges of RAM (for a kernel backend's memory table,
	 * vhost-net): up to max into gpa[]/len[]; returns how many.  Their host
	 * addresses come from mem().  May be NULL (unit tests). */
	unsigned (*ram_ranges)(void *ctx, uint64_t *gpa, uint64_t *len, unsigned max);
	/* Drive an interrupt line (GSI); a no-op without an irqchip. */
	void (*set_irq)(void *ctx, unsigned gsi, bool level);
	/* KVM_IRQFD: writing to fd pulses gsi (edge).  0 or -1 (err_msg). */
	int (*irqfd)(void *ctx, unsigned gsi, int fd, bool assign);
	/* KVM_IOEVENTFD: a guest write of `len` bytes of value `data` at addr signals fd. */
	int (*ioeventfd)(void *ctx, uint64_t addr, unsigned len, uint64_t data, bool pio, int fd,
			 bool assign);
	/* End the VM with `code` (the first stop wins). */
	void (*stop)(void *ctx, int code, const char *reason);
	/* Append 32-bit words to a vCPU's report stream (the probe protocol). */
	void (*cpu_words)(void *ctx, unsigned cpu, const uint8_t *data, size_t nwords);
};

enum io_space { IO_PIO, IO_MMIO };

/*
 * One address range a device answers.  `addr` given to the handlers is the
 * absolute port or guest-physical address; `data` holds `size` bytes
 * (1, 2, 4 or 8), little endian.  A read handler fills all `size` bytes.
 */
struct dev_region {
	const char *name;
	enum io_space space;
	uint64_t base;            /* MMIO with base 0: placed by the allocator */
	uint64_t len;
	void (*read)(struct device *d, unsigned cpu, uint64_t addr, uint8_t *data, unsigned size);
	void (*write)(struct device *d, unsigned cpu, uint64_t addr, const uint8_t *data,
		      unsigned size);
	/* Optional: once after all elements of one exit (string I/O). */
	void (*end)(struct device *d, unsigned cpu);
	/*
	 * Left out of the device's _CRS: its own AML describes the range (an
	 * OperationRegion), and its driver takes only interrupts from _CRS.
	 */
	bool acpi_private;
};

#define DEV_MAX_REGIONS 4
#define DEV_ID_MAX 32
#define DEV_NO_IRQ (-1)

/* Interrupt wanted by a device. */
enum dev_irq_want { DEV_IRQ_NONE, DEV_IRQ_FIXED, DEV_IRQ_ANY };

struct device_ops {
	int (*realize)(struct device *d);        /* 0 or -1 (err_set) */
	void (*reset)(struct device *d);
	/* Write the device's state to buf (at most size bytes); *len = bytes used. */
	int (*save)(struct device *d, void *buf, size_t size, size_t *len);
	int (*load)(struct device *d, const void *buf, size_t len);
	void (*unrealize)(struct device *d);     /* also after a failed realize */
	/* Optional: press the power button (PUT /vm/shutdown).  0 or -1 (err_set). */
	int (*power_button)(struct device *d);
};

struct device_class {
	const char *name;         /* "uart", "virtio-blk" */
	/* Declare resources and allocate d->state; opts may be NULL.  No KVM here. */
	int (*create)(struct device *d, const char *opts);
	void (*destroy)(struct device *d); /* free d->state (may be NULL) */
	struct device_ops ops;
	struct device_class *next;
};

struct device {
	char id[DEV_ID_MAX];      /* unique in the machine: "<class><n>" or the user's */
	const struct device_class *cls;
	const struct device_host *host; /* set on realize */
	struct dev_region region[DEV_MAX_REGIONS];
	unsigned nregion;
	enum dev_irq_want irq_want;
	int gsi;                  /* DEV_NO_IRQ, the fixed one, or the allocated one */
	/* Works polled without an irqchip (the legacy UART): does not force one. */
	bool irq_optional;
	bool irq_edge;            /* described as edge/high (else the ISA default) */
	bool irq_level;           /* described as level/high: up while something is pending */
	bool irq_high;            /* DEV_IRQ_ANY from the top (23 down), not the bottom */
	/* ACPI: _HID ("PNP0501" is written as an EisaId, others as a string) */
	const char *acpi_hid;
	char acpi_name[5];        /* set by the machine when acpi_hid is set */
	unsigned acpi_uid;
	bool acpi_sleep;          /* its first PIO region holds the FADT sleep registers */
	/*
	 * Optional: more AML for the DSDT (acpi/aml.h), from the allocated
	 * device: `body` goes inside its Device () after _CRS (an
	 * OperationRegion, a method), `scope` after it in \_SB (a companion
	 * device).
	 */
	void (*acpi_aml)(const struct device *d, struct aml *body, struct aml *scope);
	/*
	 * Text that describes this device on a Linux command line
	 * ("virtio_mmio.device=..."), for a kernel that does not read the DSDT:
	 * machine_cmdline() adds it only when the command line has acpi=off.
	 */
	int (*cmdline)(const struct device *d, char *buf, size_t size);
	bool realized;
	void *state;
};

/* Declare a region (create()); returns it, or NULL with err_set when full. */
struct dev_region *device_add_region(struct device *d, const struct dev_region *r);

/* The narrow interface, for device code. */
static inline void *dev_mem(const struct device *d, uint64_t gpa, uint64_t len)
{
	return d->host->mem(d->host->ctx, gpa, len);
}

static inline void dev_set_irq(const struct device *d, bool level)
{
	if (d->gsi >= 0 && d->host->set_irq)
		d->host->set_irq(d->host->ctx, (unsigned)d->gsi, level);
}

void dev_stop(const struct device *d, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

void device_class_register(struct device_class *c);
const struct device_class *device_class_find(const char *name);

#define DEVICE_CLASS(c)                                                         \
	__attribute__((constructor)) static void device_class_register_##c(void) \
	{                                                                       \
		device_class_register(&c);                                      \
	}

#endif
