/* SPDX-License-Identifier: MIT */
/*
 * The AML assembler (acpi/aml.h) against encodings worked out by hand from
 * ACPI 6.5 chapter 20: PkgLength at its size boundaries, integer constants,
 * EisaId, Name, Device, Method flags, If, OperationRegion, a Field's
 * flags and bit width, Notify, and overflow that stops at the buffer's end
 * and travels to the parent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <string.h>

#include "acpi/aml.h"

#define EXPECT(a, lit) expect_bytes((a), (const uint8_t *)(lit), sizeof(lit) - 1)

static void expect_bytes(const struct aml *a, const uint8_t *want, size_t n)
{
	assert_int_equal(a->overflow, 0);
	if (a->len != n || memcmp(a->b, want, n)) {
		for (size_t i = 0; i < a->len; i++)
			print_message("%02x%s", a->b[i], i + 1 == a->len ? "\n" : " ");
		fail_msg("AML: %zu bytes, expected %zu (or different bytes)", a->len, n);
	}
}

static void test_pkglength_boundaries(void **state)
{
	static const struct {
		size_t body;
		uint8_t enc[4];
		size_t n;
	} cases[] = {
		{ 0, { 0x01 }, 1 },              /* counts its own byte */
		{ 62, { 0x3F }, 1 },             /* the largest one-byte length */
		{ 63, { 0x41, 0x04 }, 2 },       /* 63 + 2 = 65 = 0x041 */
		{ 4093, { 0x4F, 0xFF }, 2 },     /* 4095, the largest two-byte length */
		{ 4094, { 0x81, 0x00, 0x01 }, 3 }, /* 4097 */
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aml a = { .len = 0 };

		aml_pkglength(&a, cases[i].body);
		expect_bytes(&a, cases[i].enc, cases[i].n);
	}
}

static void test_integers_and_eisa_id(void **state)
{
	struct aml a = { .len = 0 };
	uint32_t v;

	aml_integer(&a, 0);
	aml_integer(&a, 0x80);
	aml_integer(&a, 0x604);
	aml_integer(&a, 0x12345678);
	EXPECT(&a, "\x00" "\x0A\x80" "\x0B\x04\x06" "\x0C\x78\x56\x34\x12");

	assert_true(aml_eisa_id("PNP0C0C", &v));
	assert_int_equal(v, 0x0C0CD041); /* "PNP" compressed to 0x41D0, stored big-endian */
	assert_true(aml_eisa_id("PNP0501", &v));
	assert_int_equal(v, 0x0105D041);
	assert_false(aml_eisa_id("ACPI0013", &v)); /* four letters: a string _HID */
	assert_false(aml_eisa_id("PNP0c0c", &v));  /* hex digits are upper case */
}

static void test_names_and_device(void **state)
{
	struct aml body = { .len = 0 }, a = { .len = 0 };

	aml_name_hid(&body, "PNP0C0C");
	aml_name_integer(&body, "_UID", 0);
	aml_device(&a, "PWRB", &body);
	/* DeviceOp, PkgLength 1 + 4 + 10 + 6 = 21, PWRB, Name(_HID, DWordConst), Name(_UID, Zero) */
	EXPECT(&a, "\x5B\x82\x15PWRB" "\x08_HID\x0C\x41\xD0\x0C\x0C" "\x08_UID\x00");

	memset(&a, 0, sizeof(a));
	aml_name_hid(&a, "ACPI0013");
	EXPECT(&a, "\x08_HID\x0D" "ACPI0013\x00");
}

/*
 * A Generic Event Device's handler, as QEMU's microvm and skyvm write it:
 *   OperationRegion (EREG, SystemIO, 0x0604, 0x04)
 *   Field (EREG, DWordAcc, NoLock, WriteAsZeros) { ESEL, 32 }
 *   Method (_EVT, 1, Serialized) {
 *       Local0 = ESEL
 *       If (((Local0 & 0x02) == 0x02)) { Notify (PWRB, 0x80) }
 *   }
 */
static void test_region_field_method_if_notify(void **state)
{
	struct aml a = { .len = 0 }, m = { .len = 0 }, pred = { .len = 0 }, then = { .len = 0 };

	aml_opregion(&a, "EREG", AML_SPACE_SYSTEM_IO, 0x604, 4);
	aml_field1(&a, "EREG", AML_FIELD_DWORD_ACC | AML_FIELD_NO_LOCK | AML_FIELD_WRITE_AS_ZEROS,
		   "ESEL", 32);
	EXPECT(&a, "\x5B\x80" "EREG\x01\x0B\x04\x06\x0A\x04"
		   "\x5B\x81\x0B" "EREG\x43" "ESEL\x20");

	memset(&a, 0, sizeof(a));
	aml_byte(&m, AML_STORE_OP);
	aml_nameseg(&m, "ESEL");
	aml_byte(&m, AML_LOCAL0_OP);
	aml_byte(&pred, AML_LEQUAL_OP);
	aml_byte(&pred, AML_AND_OP);
	aml_byte(&pred, AML_LOCAL0_OP);
	aml_integer(&pred, 2);
	aml_byte(&pred, AML_ZERO_OP); /* Target: none */
	aml_integer(&pred, 2);
	aml_notify(&then, "PWRB", 0x80);
	aml_if(&m, &pred, &then);
	aml_method(&a, "_EVT", 1, true, &m);
	EXPECT(&a, "\x14\x1D_EVT\x09"
		   "\x70" "ESEL\x60"
		   "\xA0\x10" "\x93\x7B\x60\x0A\x02\x00\x0A\x02" "\x86" "PWRB\x0A\x80");

	memset(&a, 0, sizeof(a));
	memset(&m, 0, sizeof(m));
	aml_method(&a, "_STA", 0, false, &m);
	EXPECT(&a, "\x14\x06_STA\x00");
}

static void test_overflow_is_sticky_and_travels_up(void **state)
{
	static struct aml big, parent;
	static uint8_t junk[AML_MAX];

	memset(&big, 0, sizeof(big));
	memset(&parent, 0, sizeof(parent));
	aml_bytes(&big, junk, AML_MAX - 1);
	assert_int_equal(big.overflow, 0);
	aml_u16(&big, 0xFFFF); /* one byte fits, the second does not */
	assert_int_equal(big.overflow, 1);
	assert_true(big.len <= AML_MAX);
	aml_byte(&big, 0); /* and nothing more is written */
	assert_true(big.len <= AML_MAX);

	big.len = 10; /* a small body that overflowed still marks its parent */
	aml_device(&parent, "DEV0", &big);
	assert_int_equal(parent.overflow, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pkglength_boundaries),
		cmocka_unit_test(test_integers_and_eisa_id),
		cmocka_unit_test(test_names_and_device),
		cmocka_unit_test(test_region_field_method_if_notify),
		cmocka_unit_test(test_overflow_is_sticky_and_travels_up),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
