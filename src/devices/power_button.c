/* SPDX-License-Identifier: MIT */
/*
 * The ACPI power button of a hardware-reduced machine: a Generic Event
 * Device (ACPI 6.5 5.6.9, _HID ACPI0013) that signals a PNP0C0C power
 * button, as QEMU's microvm does.  Hardware-reduced ACPI has no fixed power
 * button and no SCI/GPE block, so the event travels as
 *
 *   PUT /vm/shutdown -> power_button(): pending |= POWER_BUTTON, line up
 *   guest's GED driver (Linux drivers/acpi/evged.c): the interrupt runs _EVT
 *   _EVT reads the event register (which clears it: the line goes down) and
 *        for the power-button bit does Notify (PWRB, 0x80)
 *   the button driver (drivers/acpi/button.c) reports KEY_POWER on its input
 *        device "Power Button"; user space (acpid, systemd-logind, a script
 *        reading /dev/input/eventN) decides, and powers off through \_S5
 *        and the sleep registers (acpi_pm.c): the VM ends with status 0.
 *
 * A guest that does nothing with the event keeps running.  In ASL:
 *
 *   Device (GED0) {
 *       Name (_HID, "ACPI0013")
 *       Name (_UID, Zero)
 *       Name (_CRS, ResourceTemplate () {
 *           Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive) { 23 }
 *       })
 *       OperationRegion (EREG, SystemIO, 0x0604, 0x04)
 *       Field (EREG, DWordAcc, NoLock, WriteAsZeros) { ESEL, 32 }
 *       Method (_EVT, 1, Serialized) {
 *           Local0 = ESEL
 *           If (((Local0 & 0x02) == 0x02)) { Notify (PWRB, 0x80) }
 *       }
 *   }
 *   Device (PWRB) {
 *       Name (_HID, EisaId ("PNP0C0C"))
 *       Name (_UID, Zero)
 *   }
 *
 * The event register (port 0x604, 32 bits): a read returns the pending
 * events and clears the bits it returned (read-to-clear, as QEMU's GED
 * selector); writes are ignored.  Bit 1 is the power button (QEMU's bit
 * for its "system power down" event, so the two machines' _EVT read alike).
 *
 * The interrupt is level-triggered, active high, and up exactly while an
 * event is pending.  So a press before the guest's GED driver has enabled
 * the line is not lost: the IOAPIC delivers it when the line is unmasked (an
 * edge sent to a masked pin is dropped), and a snapshot restores the line
 * with the pending bits.  Linux requests the line IRQF_ONESHOT and runs _EVT
 * in a thread with the line masked; _EVT's read lowers it before unmask.
 *
 * The GSI comes from the allocator, from the top (23 down), so the
 * command line's devices keep their numbering from GSI 5.  The register is
 * in the device's own AML only: Linux's GED driver takes every _CRS entry
 * as an interrupt and fails on any other, so _CRS holds the interrupt alone.
 * No irqchip is forced for it (irq_optional): without one there is nobody to
 * tell, and a press is accepted and changes nothing but the register.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "acpi/aml.h"
#include "devices/device.h"
#include "util/err.h"

#define GED_PORT 0x604
#define GED_REG_LEN 4
#define GED_EVT_POWER_BUTTON (1u << 1)
#define ACPI_NOTIFY_STATUS_CHANGE 0x80 /* to a PNP0C0C button: it was pressed */

struct power_button {
	pthread_mutex_t lock;
	uint32_t pending; /* GED_EVT_* not yet read by the guest */
};

/* Drive the line from `pending`; called with the lock held. */
static void update_line(struct device *d, const struct power_button *pb)
{
	if (d->host)
		dev_set_irq(d, pb->pending != 0);
}

static void ged_read(struct device *d, unsigned cpu, uint64_t addr, uint8_t *data, unsigned size)
{
	struct power_button *pb = d->state;
	unsigned off = (unsigned)(addr - GED_PORT);

	pthread_mutex_lock(&pb->lock);
	for (unsigned i = 0; i < size; i++) {
		unsigned byte = off + i;

		data[i] = byte < GED_REG_LEN ? (uint8_t)(pb->pending >> (8 * byte)) : 0;
		if (byte < GED_REG_LEN)
			pb->pending &= ~(0xFFu << (8 * byte));
	}
	update_line(d, pb);
	pthread_mutex_unlock(&pb->lock);
}

static void ged_write(struct device *d, unsigned cpu, uint64_t addr, const uint8_t *data,
		      unsigned size)
{
}

static int pb_press(struct device *d)
{
	struct power_button *pb = d->state;

	pthread_mutex_lock(&pb->lock);
	pb->pending |= GED_EVT_POWER_BUTTON;
	update_line(d, pb);
	pthread_mutex_unlock(&pb->lock);
	return 0;
}

static void pb_reset(struct device *d)
{
	struct power_button *pb = d->state;

	pthread_mutex_lock(&pb->lock);
	pb->pending = 0;
	update_line(d, pb);
	pthread_mutex_unlock(&pb->lock);
}

/* Snapshot state: a version byte, three zero bytes, the pending events (LE). */
#define PB_SAVE_VERSION 1
#define PB_SAVE_LEN 8

static int pb_save(struct device *d, void *buf, size_t size, size_t *len)
{
	struct power_button *pb = d->state;
	uint8_t *out = buf;
	uint32_t v;

	if (size < PB_SAVE_LEN)
		return err_set("%s: %zu bytes are too few to save it", d->id, size);
	pthread_mutex_lock(&pb->lock);
	v = pb->pending;
	pthread_mutex_unlock(&pb->lock);
	memset(out, 0, PB_SAVE_LEN);
	out[0] = PB_SAVE_VERSION;
	for (unsigned i = 0; i < 4; i++)
		out[4 + i] = (uint8_t)(v >> (8 * i));
	*len = PB_SAVE_LEN;
	return 0;
}

static int pb_load(struct device *d, const void *buf, size_t len)
{
	struct power_button *pb = d->state;
	const uint8_t *in = buf;
	uint32_t v = 0;

	if (len != PB_SAVE_LEN)
		return err_set("%s: saved state has %zu bytes, expected %d", d->id, len,
			       PB_SAVE_LEN);
	if (in[0] != PB_SAVE_VERSION)
		return err_set("%s: saved state version %u, this skyvm reads %u", d->id, in[0],
			       PB_SAVE_VERSION);
	for (unsigned i = 0; i < 4; i++)
		v |= (uint32_t)in[4 + i] << (8 * i);
	if (in[1] || in[2] || in[3] || (v & ~GED_EVT_POWER_BUTTON))
		return err_set("%s: saved state is malformed", d->id);
	pthread_mutex_lock(&pb->lock);
	pb->pending = v;
	update_line(d, pb); /* KVM does not save line levels: raise it again */
	pthread_mutex_unlock(&pb->lock);
	return 0;
}

/* The GED's handler (inside its Device) and the button it notifies (after it). */
static void pb_aml(const struct device *d, struct aml *body, struct aml *scope)
{
	struct aml evt, pred, then, btn;
	uint32_t port = (uint32_t)d->region[0].base;

	aml_init(&evt);
	aml_init(&pred);
	aml_init(&then);
	aml_init(&btn);

	aml_opregion(body, "EREG", AML_SPACE_SYSTEM_IO, port, GED_REG_LEN);
	aml_field1(body, "EREG", AML_FIELD_DWORD_ACC | AML_FIELD_NO_LOCK | AML_FIELD_WRITE_AS_ZEROS,
		   "ESEL", 32);
	/* Local0 = ESEL: one read, which clears what it returned */
	aml_byte(&evt, AML_STORE_OP);
	aml_nameseg(&evt, "ESEL");
	aml_byte(&evt, AML_LOCAL0_OP);
	/* If ((Local0 & bit) == bit) { Notify (PWRB, 0x80) } */
	aml_byte(&pred, AML_LEQUAL_OP);
	aml_byte(&pred, AML_AND_OP);
	aml_byte(&pred, AML_LOCAL0_OP);
	aml_integer(&pred, GED_EVT_POWER_BUTTON);
	aml_byte(&pred, AML_ZERO_OP); /* no Target */
	aml_integer(&pred, GED_EVT_POWER_BUTTON);
	aml_notify(&then, "PWRB", ACPI_NOTIFY_STATUS_CHANGE);
	aml_if(&evt, &pred, &then);
	aml_method(body, "_EVT", 1, true, &evt);

	aml_name_hid(&btn, "PNP0C0C");
	aml_name_integer(&btn, "_UID", 0);
	aml_device(scope, "PWRB", &btn);
}

static int pb_create(struct device *d, const char *opts)
{
	struct dev_region r = {
		.name = "ged-event", .space = IO_PIO, .base = GED_PORT, .len = GED_REG_LEN,
		.read = ged_read, .write = ged_write, .acpi_private = true,
	};
	struct power_button *pb = calloc(1, sizeof(*pb));

	if (!pb)
		return err_set("out of memory");
	pthread_mutex_init(&pb->lock, NULL);
	d->state = pb;
	d->irq_want = DEV_IRQ_ANY;
	d->irq_high = true;
	d->irq_level = true;
	d->irq_optional = true;
	d->acpi_hid = "ACPI0013";
	memcpy(d->acpi_name, "GED0", 5);
	d->acpi_aml = pb_aml;
	return device_add_region(d, &r) ? 0 : -1;
}

static void pb_destroy(struct device *d)
{
	struct power_button *pb = d->state;

	if (pb)
		pthread_mutex_destroy(&pb->lock);
	free(pb);
	d->state = NULL;
}

static struct device_class power_button_class = {
	.name = "power-button",
	.create = pb_create,
	.destroy = pb_destroy,
	.ops = { .reset = pb_reset, .save = pb_save, .load = pb_load,
		 .power_button = pb_press },
};
DEVICE_CLASS(power_button_class)
