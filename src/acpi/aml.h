/* SPDX-License-Identifier: MIT */
/*
 * A small AML assembler (ACPI 6.5 chapter 20) for the DSDT: a byte buffer
 * and the encodings skyvm's tables use.  AML is built inside out: a
 * package's body is assembled in its own `struct aml` first, so its
 * PkgLength is known when the package is appended to its parent.
 *
 *   struct aml dev;
 *   aml_init(&dev);
 *   aml_name_hid(&dev, "PNP0C0C");          Name (_HID, EisaId ("PNP0C0C"))
 *   aml_name_integer(&dev, "_UID", 0);       Name (_UID, Zero)
 *   aml_device(&scope, "PWRB", &dev);        Device (PWRB) { ... }
 *
 * Overflow is sticky and travels to the parent: the DSDT builder reports it
 * once at the end, never writes past a buffer.  Name segments are exactly
 * four characters ("_HID", "PWRB"); callers pad with '_'.
 */
#ifndef SKYVM_ACPI_AML_H
#define SKYVM_ACPI_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AML_MAX 8192 /* 64 devices fit; overflow is an error, not a crash */

struct aml {
	uint8_t b[AML_MAX];
	size_t len;
	int overflow;
};

/* Opcodes and prefixes (ACPI 6.5 20.3) the builders and their tests share. */
#define AML_ZERO_OP 0x00
#define AML_NAME_OP 0x08
#define AML_BYTE_PREFIX 0x0A
#define AML_WORD_PREFIX 0x0B
#define AML_DWORD_PREFIX 0x0C
#define AML_STRING_PREFIX 0x0D
#define AML_SCOPE_OP 0x10
#define AML_BUFFER_OP 0x11
#define AML_PACKAGE_OP 0x12
#define AML_METHOD_OP 0x14
#define AML_EXT_OP_PREFIX 0x5B
#define AML_OPREGION_OP 0x80 /* after AML_EXT_OP_PREFIX */
#define AML_FIELD_OP 0x81    /* after AML_EXT_OP_PREFIX */
#define AML_DEVICE_OP 0x82   /* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR '\\'
#define AML_LOCAL0_OP 0x60
#define AML_ARG0_OP 0x68
#define AML_STORE_OP 0x70
#define AML_AND_OP 0x7B
#define AML_NOTIFY_OP 0x86
#define AML_LEQUAL_OP 0x93
#define AML_IF_OP 0xA0

/* OperationRegion spaces, Field access types and update rules. */
#define AML_SPACE_SYSTEM_MEMORY 0x00
#define AML_SPACE_SYSTEM_IO 0x01
#define AML_FIELD_DWORD_ACC 0x03
#define AML_FIELD_NO_LOCK 0x00
#define AML_FIELD_WRITE_AS_ZEROS 0x40

/*
 * An empty builder.  b[] is left as it is: only its first len bytes are ever
 * read, and zeroing 8 KiB for each of a DSDT's dozen builders was a tenth of
 * `skyvm run`'s start-up instructions.
 */
void aml_init(struct aml *a);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t v);
void aml_u16(struct aml *a, uint16_t v);
void aml_u32(struct aml *a, uint32_t v);
/* A NameSeg: exactly 4 characters of `seg` (no NUL). */
void aml_nameseg(struct aml *a, const char *seg);
/* PkgLength of a package whose body (what follows the PkgLength) is `body` bytes. */
void aml_pkglength(struct aml *a, size_t body);
/* op (1 or 2 bytes), PkgLength, body; body's overflow becomes a's. */
void aml_package(struct aml *a, const uint8_t *op, size_t oplen, const struct aml *body);
/* The shortest integer: Zero, ByteConst, WordConst or DWordConst. */
void aml_integer(struct aml *a, uint32_t v);

/*
 * EisaId ("PNPxxxx") as its DWordConst value: three 5-bit letters and four
 * upper-case hex digits.  false when `hid` is not of that shape.
 */
bool aml_eisa_id(const char *hid, uint32_t *out);

/* Name (SEG, integer) */
void aml_name_integer(struct aml *a, const char *seg, uint32_t v);
/* Name (_HID, EisaId ("PNPxxxx")) for that shape, Name (_HID, "STRING") otherwise. */
void aml_name_hid(struct aml *a, const char *hid);
/* Device (SEG) { body } */
void aml_device(struct aml *a, const char *seg, const struct aml *body);
/* Method (SEG, nargs, Serialized or NotSerialized) { body } */
void aml_method(struct aml *a, const char *seg, unsigned nargs, bool serialized,
		const struct aml *body);
/* If (predicate) { body }: `pred` holds the predicate's AML, `body` the term list. */
void aml_if(struct aml *a, const struct aml *pred, const struct aml *body);
/* OperationRegion (SEG, space, offset, length) */
void aml_opregion(struct aml *a, const char *seg, uint8_t space, uint32_t offset,
		  uint32_t len);
/* Field (REGION, flags) { SEG, bits }: one named field from bit 0. */
void aml_field1(struct aml *a, const char *region, uint8_t flags, const char *seg,
		unsigned bits);
/* Notify (SEG, value) */
void aml_notify(struct aml *a, const char *seg, uint32_t value);

#endif
