/* SPDX-License-Identifier: MIT */
/*
 * The DSDT: one definition block whose AML describes the ISA devices a
 * guest cannot enumerate by itself.  With the hardware-reduced FADT Linux
 * runs without the legacy PIC and pre-allocates no ISA interrupts, so a
 * device gets its IRQ only by being found here (ACPI PNP, CONFIG_PNPACPI):
 * without these entries the serial port works for printk but not for a
 * process writing to it, and the i8042 probe fails with EINVAL.  In ASL:
 *
 *   Scope (\_SB) {
 *       Device (COM1) {
 *           Name (_HID, EisaId ("PNP0501"))    // 16550A UART
 *           Name (_UID, Zero)
 *           Name (_CRS, ResourceTemplate () {
 *               IO (Decode16, 0x03F8, 0x03F8, 0x00, 0x08)
 *               IRQNoFlags () { 4 }
 *           })
 *       }
 *       Device (KBD) {                        // PNP0303, 0x60 and 0x64, IRQ 1
 *       Device (RTC) {                        // PNP0B00, 0x70-0x71, IRQ 8
 *   }
 *
 * The devices are the machine's (struct acpi_config, generated from the
 * realized devices: devices/machine.c); a virtio-mmio device appears as
 *
 *       Device (VR00) {
 *           Name (_HID, "LNRO0005")
 *           Name (_UID, Zero)
 *           Name (_CRS, ResourceTemplate () {
 *               Memory32Fixed (ReadWrite, 0xD0000000, 0x00001000)
 *               Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive) { 5 }
 *           })
 *       }
 *
 * A device whose _HID and _CRS do not say enough adds AML of its own
 * (acpi_device.aml, built with acpi/aml.h) inside its Device and after it:
 * the power button's Generic Event Device has an OperationRegion and an
 * _EVT method, and the PNP0C0C button it notifies follows it
 * (devices/power_button.c).  With sleep registers in the FADT,
 * Name (\_S5, Package () { 5, 5, 0, 0 })
 * follows the scope.  The AML is assembled inside out, so each PkgLength is
 * known when it is written.
 */
#include <stdbool.h>
#include <string.h>

#include "acpi/acpi.h"

#include "acpi/aml.h"
#include "acpi/tables.h"
#include "util/err.h"

#define DSDT_REVISION 2 /* 64-bit integers */

/* Name (_CRS, ResourceTemplate () { IO (...) Memory32Fixed (...) IRQ ... }) */
static void build_crs(struct aml *a, const struct acpi_device *d)
{
	struct aml rt, buf;
	static const uint8_t buffer_op = AML_BUFFER_OP;

	aml_init(&rt);
	aml_init(&buf);

	for (unsigned i = 0; i < d->nres; i++) {
		if (d->res[i].mmio) {
			/* Memory32Fixed (large item 0x86, 9 data bytes): read-write, base, length */
			aml_byte(&rt, 0x86);
			aml_u16(&rt, 9);
			aml_byte(&rt, 0x01);
			aml_u32(&rt, (uint32_t)d->res[i].base);
			aml_u32(&rt, (uint32_t)d->res[i].len);
		} else {
			/* I/O port descriptor (small item 0x08, 7 bytes): decode16, min, max, align, len */
			aml_byte(&rt, 0x47);
			aml_byte(&rt, 0x01);
			aml_u16(&rt, (uint16_t)d->res[i].base);
			aml_u16(&rt, (uint16_t)d->res[i].base);
			aml_byte(&rt, 0x00);
			aml_byte(&rt, (uint8_t)d->res[i].len);
		}
	}
	if (d->irq >= 0 && (d->irq_edge_high || d->irq_level_high)) {
		/*
		 * Extended Interrupt (large item 0x89, 6 data bytes): flags (bit 0
		 * consumer, bit 1 edge, bit 2 active low, bit 3 shared), one GSI.
		 * Any GSI, not only ISA's 0-15.  Consumer, active high, exclusive;
		 * edge, or level for a line that stays up while an event is pending.
		 */
		aml_byte(&rt, 0x89);
		aml_u16(&rt, 6);
		aml_byte(&rt, d->irq_edge_high ? 0x03 : 0x01);
		aml_byte(&rt, 1);
		aml_u32(&rt, (uint32_t)d->irq);
	} else if (d->irq >= 0) {
		/* IRQ descriptor without flags (small item 0x04, 2 bytes): edge, active high */
		aml_byte(&rt, 0x22);
		aml_u16(&rt, (uint16_t)(1u << d->irq));
	}
	/* End tag (small item 0x0F, 1 byte): checksum 0 = "not checked" */
	aml_byte(&rt, 0x79);
	aml_byte(&rt, 0x00);

	aml_byte(&buf, AML_BYTE_PREFIX); /* BufferSize */
	aml_byte(&buf, (uint8_t)rt.len);
	aml_bytes(&buf, rt.b, rt.len);

	aml_byte(a, AML_NAME_OP);
	aml_nameseg(a, "_CRS");
	aml_package(a, &buffer_op, 1, &buf);
}

/*
 * Device (NAME) { Name (_HID, ...) Name (_UID, n) Name (_CRS, ...) [device's
 * own AML] } [the device's companions]
 */
static void build_device(struct aml *a, const struct acpi_device *d)
{
	struct aml dev, after;

	aml_init(&dev);
	aml_init(&after);
	aml_name_hid(&dev, d->hid);
	aml_name_integer(&dev, "_UID", d->uid);
	build_crs(&dev, d);
	if (d->aml)
		d->aml(d->aml_ctx, &dev, &after);
	aml_device(a, d->name, &dev);
	aml_bytes(a, after.b, after.len);
	if (after.overflow)
		a->overflow = 1;
}

static void build_sb_scope(struct aml *a, const struct acpi_config *c)
{
	static const uint8_t scope_op = AML_SCOPE_OP;
	struct aml scope;

	aml_init(&scope);
	aml_byte(&scope, AML_ROOT_CHAR);
	aml_nameseg(&scope, "_SB_");
	for (unsigned i = 0; i < c->ndevs; i++)
		build_device(&scope, &c->devs[i]);
	aml_package(a, &scope_op, 1, &scope);
}

/*
 * Name (\_S5, Package (4) { 5, 5, 0, 0 }): the SLP_TYP values for S5 (soft
 * off).  With the FADT's sleep control register, Linux powers off by
 * writing SLP_TYP << 2 | SLP_EN there.
 */
static void build_s5(struct aml *a)
{
	static const uint8_t package_op = AML_PACKAGE_OP;
	struct aml pkg;

	aml_init(&pkg);
	aml_byte(&pkg, 4); /* NumElements */
	aml_integer(&pkg, ACPI_S5_SLP_TYP);
	aml_integer(&pkg, ACPI_S5_SLP_TYP);
	aml_integer(&pkg, 0);
	aml_integer(&pkg, 0);
	aml_byte(a, AML_NAME_OP);
	aml_byte(a, AML_ROOT_CHAR);
	aml_nameseg(a, "_S5_");
	aml_package(a, &package_op, 1, &pkg);
}

int acpi_build_dsdt(struct acpi_builder *b, const struct acpi_config *c, uint64_t *gpa)
{
	struct aml body; /* with the nested builders ~80 KiB of stack */
	struct acpi_header *h;
	uint32_t len;

	aml_init(&body);
	build_sb_scope(&body, c);
	if (c->sleep_control_port)
		build_s5(&body);
	if (body.overflow)
		return err_set("DSDT: AML larger than %d bytes", AML_MAX);
	len = (uint32_t)(sizeof(*h) + body.len);
	h = acpi_alloc(b, len, gpa);
	if (!h)
		return -1;
	acpi_header_init(h, "DSDT", len, DSDT_REVISION, "SKYVDSDT");
	memcpy((uint8_t *)h + sizeof(*h), body.b, body.len);
	acpi_finish(h);
	return 0;
}
