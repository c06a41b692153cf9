/* SPDX-License-Identifier: MIT */
/* Which instructions skyvm completes for a restricted KVM, and their lengths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/emulate.h"

struct decode_case {
	const char *what;
	uint8_t bytes[4];
	unsigned len;
	int kind; /* -1: not completable */
	unsigned insn_len;
};

static const struct decode_case cases[] = {
	{ "int3", { 0xcc }, 1, EMU_INT3, 1 },
	{ "int3 then more", { 0xcc, 0x90, 0x90 }, 3, EMU_INT3, 1 },
	{ "fwait", { 0x9b }, 1, EMU_FWAIT, 1 },
	{ "clac", { 0x0f, 0x01, 0xca }, 3, EMU_CLAC, 3 },
	{ "stac", { 0x0f, 0x01, 0xcb }, 3, EMU_STAC, 3 },
	{ "rdtscp", { 0x0f, 0x01, 0xf9 }, 3, EMU_RDTSCP, 3 },
	{ "truncated clac", { 0x0f, 0x01 }, 2, -1, 0 },
	{ "no bytes", { 0 }, 0, -1, 0 },
	{ "xgetbv (not completable)", { 0x0f, 0x01, 0xd0 }, 3, -1, 0 },
	{ "int 0x80 (not completable)", { 0xcd, 0x80 }, 2, -1, 0 },
	{ "lock cmpxchg16b (not completable)", { 0xf0, 0x48, 0x0f, 0xc7 }, 4, -1, 0 },
	{ "prefixed rdtscp is not matched", { 0x66, 0x0f, 0x01, 0xf9 }, 4, -1, 0 },
};

static void test_decode_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned n = 99;
		int kind = emulate_decode(cases[i].bytes, cases[i].len, &n);

		if (kind != cases[i].kind)
			fail_msg("%s: kind %d, expected %d", cases[i].what, kind, cases[i].kind);
		if (kind >= 0 && n != cases[i].insn_len)
			fail_msg("%s: length %u, expected %u", cases[i].what, n, cases[i].insn_len);
	}
}

static void test_kind_names(void **state)
{
	(void)state;
	assert_string_equal(emulate_kind_name(EMU_INT3), "int3");
	assert_string_equal(emulate_kind_name(EMU_RDTSCP), "rdtscp");
	assert_string_equal(emulate_kind_name((enum emulate_kind)99), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test(test_kind_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
