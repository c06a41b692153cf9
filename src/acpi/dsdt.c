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
 * and with sleep registers in the FADT, Name (\_S5, Package () { 5, 5, 0, 0 })
 * follows the scope.  The AML is assembled inside out, so each PkgLength is
 * known when it is written.
 */
#include <ctype.h>
#include <stdbool.h>
#include <string.h>

#include "acpi/acpi.h"

#include "acpi/tables.h"
#include "util/err.h"

#define DSDT_REVISION 2 /* 64-bit integers */

/* AML opcodes and prefixes (ACPI 6.5 chapter 20). */
#define AML_ZERO_OP 0x00
#define AML_NAME_OP 0x08
#define AML_DWORD_PREFIX 0x0C
#define AML_BYTE_PREFIX 0x0A
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_STRING_PREFIX 0x0D
#define AML_EXT_OP_PREFIX 0x5B
#define AML_DEVICE_OP 0x82 /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR '\\'

/*
 * EisaId("PNPxxxx"): three letters of 5 bits (A = 1) and four hex digits,
 * stored big-endian, so the DWordConst reads byte-swapped.  Only for a _HID
 * of exactly that shape (eisa_id() says); others are written as strings.
 */
static bool eisa_id(const char *hid, uint32_t *out)
{
	unsigned product = 0;

	if (strlen(hid) != 7)
		return false;
	for (int i = 0; i < 3; i++)
		if (hid[i] < 'A' || hid[i] > 'Z')
			return false;
	for (int i = 3; i < 7; i++) {
		char c = hid[i];

		if (!isxdigit((unsigned char)c) || islower((unsigned char)c))
			return false;
		product = product << 4 | (unsigned)(isdigit((unsigned char)c) ? c - '0' : c - 'A' + 10);
	}
	*out = (uint32_t)((hid[0] - '@') << 2 | (hid[1] - '@') >> 3) |
	       (uint32_t)(((hid[1] - '@') & 7) << 5 | (hid[2] - '@')) << 8 |
	       (uint32_t)((product >> 8) & 0xFF) << 16 | (uint32_t)(product & 0xFF) << 24;
	return true;
}

#define AML_MAX 8192 /* 64 devices fit; overflow is an error, not a crash */

struct aml {
	uint8_t b[AML_MAX];
	size_t len;
	int overflow;
};

/*
 * An empty builder.  b[] stays as it is: only its first len bytes are ever
 * read, and zeroing 8 KiB for each of a DSDT's dozen builders was a tenth of
 * `skyvm run`'s start-up instructions.
 */
static void aml_init(struct aml *a)
{
	a->len = 0;
	a->overflow = 0;
}

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > AML_MAX - a->len) {
		a->overflow = 1;
		return;
	}
	memcpy(a->b + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t v)
{
	aml_bytes(a, &v, 1);
}

static void aml_u16(struct aml *a, uint16_t v)
{
	aml_byte(a, (uint8_t)v);
	aml_byte(a, (uint8_t)(v >> 8));
}

static void aml_u32(struct aml *a, uint32_t v)
{
	aml_u16(a, (uint16_t)v);
	aml_u16(a, (uint16_t)(v >> 16));
}

/*
 * PkgLength for a package whose body (after the PkgLength) is `body` bytes:
 * the encoded value counts its own bytes too.  One byte holds up to 63;
 * otherwise the first byte's top two bits say how many bytes follow and its
 * low nibble holds the low four bits.
 */
static void aml_pkglength(struct aml *a, size_t body)
{
	size_t n, total;

	if (body + 1 <= 0x3F) {
		aml_byte(a, (uint8_t)(body + 1));
		return;
	}
	for (n = 2; n < 4 && body + n >= (1u << (4 + 8 * (n - 1))); n++)
		;
	total = body + n;
	aml_byte(a, (uint8_t)(((n - 1) << 6) | (total & 0xF)));
	for (size_t i = 1; i < n; i++)
		aml_byte(a, (uint8_t)(total >> (4 + 8 * (i - 1))));
}

/* op [ext] PkgLength body */
static void aml_package(struct aml *a, const uint8_t *op, size_t oplen, const struct aml *body)
{
	aml_bytes(a, op, oplen);
	aml_pkglength(a, body->len);
	aml_bytes(a, body->b, body->len);
	if (body->overflow)
		a->overflow = 1;
}

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
	if (d->irq >= 0 && d->irq_edge_high) {
		/*
		 * Extended Interrupt (large item 0x89, 6 data bytes): consumer, edge,
		 * active high, exclusive; one GSI.  Any GSI, not only ISA's 0-15.
		 */
		aml_byte(&rt, 0x89);
		aml_u16(&rt, 6);
		aml_byte(&rt, 0x03);
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
	aml_bytes(a, "_CRS", 4);
	aml_package(a, &buffer_op, 1, &buf);
}

static void aml_integer(struct aml *a, uint32_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
	} else if (v <= 0xFF) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_byte(a, (uint8_t)v);
	} else {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_u32(a, v);
	}
}

/* Device (NAME) { Name (_HID, ...) Name (_UID, n) Name (_CRS, ...) } */
static void build_device(struct aml *a, const struct acpi_device *d)
{
	static const uint8_t device_op[2] = { AML_EXT_OP_PREFIX, AML_DEVICE_OP };
	struct aml dev;
	uint32_t eisa;

	aml_init(&dev);
	aml_bytes(&dev, d->name, 4);
	aml_byte(&dev, AML_NAME_OP);
	aml_bytes(&dev, "_HID", 4);
	if (eisa_id(d->hid, &eisa)) {
		aml_byte(&dev, AML_DWORD_PREFIX);
		aml_u32(&dev, eisa);
	} else {
		aml_byte(&dev, AML_STRING_PREFIX);
		aml_bytes(&dev, d->hid, strlen(d->hid) + 1);
	}
	aml_byte(&dev, AML_NAME_OP);
	aml_bytes(&dev, "_UID", 4);
	aml_integer(&dev, d->uid);
	build_crs(&dev, d);
	aml_package(a, device_op, sizeof(device_op), &dev);
}

static void build_sb_scope(struct aml *a, const struct acpi_config *c)
{
	static const uint8_t scope_op = AML_SCOPE_OP;
	struct aml scope;

	aml_init(&scope);
	aml_byte(&scope, AML_ROOT_CHAR);
	aml_bytes(&scope, "_SB_", 4);
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
	aml_bytes(a, "_S5_", 4);
	aml_package(a, &package_op, 1, &pkg);
}

int acpi_build_dsdt(struct acpi_builder *b, const struct acpi_config *c, uint64_t *gpa)
{
	struct aml body; /* with the nested builders ~40 KiB of stack */
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
