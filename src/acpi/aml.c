/* SPDX-License-Identifier: MIT */
/* The AML assembler (acpi/aml.h). */
#include "acpi/aml.h"

#include <ctype.h>
#include <string.h>

void aml_init(struct aml *a)
{
	a->len = 0;
	a->overflow = 0;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->overflow || n > AML_MAX - a->len) {
		a->overflow = 1;
		return;
	}
	memcpy(a->b + a->len, p, n);
	a->len += n;
}

void aml_byte(struct aml *a, uint8_t v)
{
	aml_bytes(a, &v, 1);
}

void aml_u16(struct aml *a, uint16_t v)
{
	aml_byte(a, (uint8_t)v);
	aml_byte(a, (uint8_t)(v >> 8));
}

void aml_u32(struct aml *a, uint32_t v)
{
	aml_u16(a, (uint16_t)v);
	aml_u16(a, (uint16_t)(v >> 16));
}

void aml_nameseg(struct aml *a, const char *seg)
{
	aml_bytes(a, seg, 4);
}

/*
 * The encoded value counts its own bytes too.  One byte holds up to 63;
 * otherwise the first byte's top two bits say how many bytes follow and its
 * low nibble holds the low four bits.
 */
void aml_pkglength(struct aml *a, size_t body)
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

void aml_package(struct aml *a, const uint8_t *op, size_t oplen, const struct aml *body)
{
	aml_bytes(a, op, oplen);
	aml_pkglength(a, body->len);
	aml_bytes(a, body->b, body->len);
	if (body->overflow)
		a->overflow = 1;
}

void aml_integer(struct aml *a, uint32_t v)
{
	if (v == 0) {
		aml_byte(a, AML_ZERO_OP);
	} else if (v <= 0xFF) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_byte(a, (uint8_t)v);
	} else if (v <= 0xFFFF) {
		aml_byte(a, AML_WORD_PREFIX);
		aml_u16(a, (uint16_t)v);
	} else {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_u32(a, v);
	}
}

/* Stored big-endian, so the DWordConst reads byte-swapped. */
bool aml_eisa_id(const char *hid, uint32_t *out)
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

void aml_name_integer(struct aml *a, const char *seg, uint32_t v)
{
	aml_byte(a, AML_NAME_OP);
	aml_nameseg(a, seg);
	aml_integer(a, v);
}

void aml_name_hid(struct aml *a, const char *hid)
{
	uint32_t eisa;

	aml_byte(a, AML_NAME_OP);
	aml_nameseg(a, "_HID");
	if (aml_eisa_id(hid, &eisa)) {
		aml_byte(a, AML_DWORD_PREFIX);
		aml_u32(a, eisa);
	} else {
		aml_byte(a, AML_STRING_PREFIX);
		aml_bytes(a, hid, strlen(hid) + 1);
	}
}

void aml_device(struct aml *a, const char *seg, const struct aml *body)
{
	static const uint8_t device_op[2] = { AML_EXT_OP_PREFIX, AML_DEVICE_OP };
	struct aml dev;

	aml_init(&dev);
	aml_nameseg(&dev, seg);
	aml_bytes(&dev, body->b, body->len);
	if (body->overflow)
		dev.overflow = 1;
	aml_package(a, device_op, sizeof(device_op), &dev);
}

/* MethodFlags: bits 0-2 ArgCount, bit 3 SerializeFlag, bits 4-7 SyncLevel (0). */
void aml_method(struct aml *a, const char *seg, unsigned nargs, bool serialized,
		const struct aml *body)
{
	static const uint8_t method_op = AML_METHOD_OP;
	struct aml m;

	aml_init(&m);
	aml_nameseg(&m, seg);
	aml_byte(&m, (uint8_t)((nargs & 7) | (serialized ? 0x08 : 0)));
	aml_bytes(&m, body->b, body->len);
	if (body->overflow)
		m.overflow = 1;
	aml_package(a, &method_op, 1, &m);
}

void aml_if(struct aml *a, const struct aml *pred, const struct aml *body)
{
	static const uint8_t if_op = AML_IF_OP;
	struct aml i;

	aml_init(&i);
	aml_bytes(&i, pred->b, pred->len);
	aml_bytes(&i, body->b, body->len);
	if (pred->overflow || body->overflow)
		i.overflow = 1;
	aml_package(a, &if_op, 1, &i);
}

void aml_opregion(struct aml *a, const char *seg, uint8_t space, uint32_t offset,
		  uint32_t len)
{
	aml_byte(a, AML_EXT_OP_PREFIX);
	aml_byte(a, AML_OPREGION_OP);
	aml_nameseg(a, seg);
	aml_byte(a, space);
	aml_integer(a, offset);
	aml_integer(a, len);
}

/*
 * FieldOp PkgLength NameString FieldFlags FieldList, the list one
 * NamedField: NameSeg and its width in bits, encoded as a PkgLength
 * (ACPI 6.5 20.2.5.2).
 */
void aml_field1(struct aml *a, const char *region, uint8_t flags, const char *seg,
		unsigned bits)
{
	static const uint8_t field_op[2] = { AML_EXT_OP_PREFIX, AML_FIELD_OP };
	struct aml f;

	aml_init(&f);
	aml_nameseg(&f, region);
	aml_byte(&f, flags);
	aml_nameseg(&f, seg);
	/* A width is not a package: the value is the width itself, not width + its bytes. */
	if (bits <= 0x3F) {
		aml_byte(&f, (uint8_t)bits);
	} else {
		aml_byte(&f, (uint8_t)(0x40 | (bits & 0xF)));
		aml_byte(&f, (uint8_t)(bits >> 4));
	}
	aml_package(a, field_op, sizeof(field_op), &f);
}

void aml_notify(struct aml *a, const char *seg, uint32_t value)
{
	aml_byte(a, AML_NOTIFY_OP);
	aml_nameseg(a, seg);
	aml_integer(a, value);
}
