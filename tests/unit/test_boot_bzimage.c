/* SPDX-License-Identifier: MIT */
/*
 * The bzImage loader on images built in the test: what lands in guest
 * memory (kernel bytes, zero page fields read back by boot-protocol offset,
 * command line, initrd) and every rejection, each with its message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "boot/boot.h"
#include "boot/layout.h"
#include "boot/loader.h"
#include "test_boot_fixture.h"
#include "test_boot_images.h"
#include "util/err.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

static struct fixture *setup_mem(void **state, uint64_t mem, const struct bz_opts *o)
{
	size_t len;
	uint8_t *img = bz_build(o, &len);

	return fixture_new(state, mem, img, len, "bzImage.test", 1);
}

static void expect_error(struct fixture *f, const char *what)
{
	const char *msg = load_error(f, what);

	/* Every loader error names the file (or is about memory, before any file). */
	if (!strstr(msg, "bzImage.test") && !strstr(msg, "initrd") && !strstr(msg, "guest memory"))
		fail_msg("error does not name the file: \"%s\"", msg);
}

static uint8_t *zp(struct fixture *f)
{
	return guest_ptr(&f->m, LAYOUT_ZERO_PAGE, 4096);
}

static void test_good_image_entry_and_kernel_bytes(void **state)
{
	struct bz_opts o = bz_default();
	struct fixture *f = setup_mem(state, 64 * MiB, &o);
	const uint8_t *k;

	assert_int_equal(boot_load(&f->m, &f->c, &f->e), 0);
	assert_int_equal(f->e.mode, BOOT_ENTRY_LINUX64);
	assert_int_equal(f->e.rip, 0x100000 + 0x200); /* boot.rst: 64-bit entry at +0x200 */
	assert_int_equal(f->e.rsi, LAYOUT_ZERO_PAGE);
	assert_int_equal(f->e.cr3, LAYOUT_PML4);
	assert_string_equal(f->e.format, "bzImage");
	k = guest_ptr(&f->m, 0x100000, o.pm_len);
	for (size_t i = 0; i < o.pm_len; i++)
		if (k[i] != bz_pm_byte(i))
			fail_msg("kernel byte %zu: 0x%02x, expected 0x%02x", i, k[i],
				 bz_pm_byte(i));
	/* relocatable: runtime start = max(align_up(1 MiB, 2 MiB), 16 MiB) = 16 MiB */
	assert_int_equal(f->e.kernel_end, 0x1000000 + o.init_size);
}

static void test_zero_page_fields(void **state)
{
	struct bz_opts o = bz_default();
	struct fixture *f = setup_mem(state, 64 * MiB, &o);
	struct boot_e820_entry map[BOOT_E820_MAX];
	uint8_t *p;
	int n;

	f->c.cmdline = "console=ttyS0 panic=-1";
	assert_int_equal(boot_load(&f->m, &f->c, &f->e), 0);
	p = zp(f);
	/* copied from the image */
	assert_int_equal(get16(p + BZ_BOOT_FLAG), 0xAA55);
	assert_memory_equal(p + BZ_HEADER, "HdrS", 4);
	assert_int_equal(get16(p + BZ_VERSION), 0x020F);
	assert_int_equal(get32(p + BZ_INIT_SIZE), o.init_size);
	assert_int_equal(get64(p + BZ_PREF_ADDRESS), o.pref_address);
	/* filled in by the loader */
	assert_int_equal(p[BZ_TYPE_OF_LOADER], 0xFF);
	assert_int_equal(get16(p + BZ_VID_MODE), 0xFFFF);
	assert_int_equal(get32(p + BZ_CMD_LINE_PTR), LAYOUT_CMDLINE);
	assert_string_equal((char *)guest_ptr(&f->m, LAYOUT_CMDLINE, 64), "console=ttyS0 panic=-1");
	assert_int_equal(get32(p + BZ_RAMDISK_IMAGE), 0);
	assert_int_equal(get32(p + BZ_RAMDISK_SIZE), 0);
	assert_int_equal(get64(p + ZP_ACPI_RSDP), LAYOUT_ACPI_START);
	assert_int_equal(f->e.rsdp, LAYOUT_ACPI_START);
	assert_int_equal(p[ZP_SENTINEL], 0);
	/* the e820 table is the memory map */
	n = boot_e820_build(&f->m, map, BOOT_E820_MAX);
	assert_true(n > 0);
	assert_int_equal(p[ZP_E820_ENTRIES], n);
	for (int i = 0; i < n; i++) {
		const uint8_t *e = p + ZP_E820_TABLE + 20 * i;

		assert_int_equal(get64(e), map[i].addr);
		assert_int_equal(get64(e + 8), map[i].size);
		assert_int_equal(get32(e + 16), map[i].type);
	}
	/* nothing beyond the setup header was copied from the image */
	for (size_t i = BZ_HEADER_END; i < ZP_E820_TABLE; i++)
		if (p[i])
			fail_msg("zero page byte 0x%zx is 0x%02x", i, p[i]);
}

static void test_old_protocol_has_no_rsdp_field(void **state)
{
	struct bz_opts o = bz_default();
	struct fixture *f;

	o.version = 0x020D; /* acpi_rsdp_addr came with 2.14 */
	f = setup_mem(state, 64 * MiB, &o);
	assert_int_equal(boot_load(&f->m, &f->c, &f->e), 0);
	assert_int_equal(get64(zp(f) + ZP_ACPI_RSDP), 0);
	/* the RSDP is still where the legacy scan finds it */
	assert_memory_equal(guest_ptr(&f->m, LAYOUT_ACPI_START, 8), "RSD PTR ", 8);
}

static void test_initrd_highest_below_addr_max(void **state)
{
	struct bz_opts o = bz_default();
	struct fixture *f;
	static uint8_t initrd[10000];
	uint64_t start;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i * 13);
	o.initrd_addr_max = 0x2FFFFFF; /* last byte the initrd may occupy: 48 MiB - 1 */
	f = setup_mem(state, 64 * MiB, &o);
	f->c.initrd = initrd;
	f->c.initrd_len = sizeof(initrd);
	assert_int_equal(boot_load(&f->m, &f->c, &f->e), 0);
	start = get32(zp(f) + BZ_RAMDISK_IMAGE);
	assert_int_equal(get32(zp(f) + BZ_RAMDISK_SIZE), sizeof(initrd));
	assert_int_equal(start, f->e.initrd_start);
	assert_int_equal(start % 4096, 0);
	assert_true(start + sizeof(initrd) <= 48 * MiB);
	assert_true(start + 4096 + sizeof(initrd) > 48 * MiB); /* the highest such page */
	assert_true(start >= f->e.kernel_end);
	assert_memory_equal(guest_ptr(&f->m, start, sizeof(initrd)), initrd, sizeof(initrd));
}

static void test_initrd_below_low_memory_end_with_5g(void **state)
{
	struct bz_opts o = bz_default();
	struct fixture *f = setup_mem(state, 5 * GiB, &o);
	static uint8_t initrd[5000] = { 1, 2, 3 };
	uint64_t start;

	f->c.initrd = initrd;
	f->c.initrd_len = sizeof(initrd);
	assert_int_equal(boot_load(&f->m, &f->c, &f->e), 0);
	start = get32(zp(f) + BZ_RAMDISK_IMAGE);
	/* initrd_addr_max 2 GiB - 1 is below the 3 GiB end of low RAM */
	assert_int_equal(start, (2 * GiB - sizeof(initrd)) & ~0xFFFULL);
}

static void test_initrd_does_not_fit(void **state)
{
	struct bz_opts o = bz_default();
	struct fixture *f;
	static uint8_t initrd[9 * 1024 * 1024];

	o.initrd_addr_max = 0x1FFFFFF; /* 32 MiB; the kernel needs up to 24 MiB */
	f = setup_mem(state, 64 * MiB, &o);
	f->c.initrd = initrd;
	f->c.initrd_len = sizeof(initrd);
	expect_error(f, "initrd");
	assert_non_null(strstr(err_msg(), "does not fit below initrd_addr_max"));
}

static void test_cmdline_length_limit(void **state)
{
	struct bz_opts o = bz_default();
	struct fixture *f;

	o.cmdline_size = 16;
	f = setup_mem(state, 64 * MiB, &o);
	f->c.cmdline = "0123456789abcdef"; /* 16: fits exactly */
	assert_int_equal(boot_load(&f->m, &f->c, &f->e), 0);
	f->c.cmdline = "0123456789abcdefg";
	expect_error(f, "command line too long (17 > cmdline_size 16)");
}

static void test_truncated_at_every_offset(void **state)
{
	struct bz_opts o = bz_default();
	struct fixture *f = setup_mem(state, 64 * MiB, &o);

	for (size_t len = 1; len < f->len; len++) {
		const char *want = len >= BZ_HEADER + 4 ? "truncated bzImage" :
				   len >= 0x200 ? "wrong magic" : "not a bzImage or ELF";
		uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees any overread */

		memcpy(copy, f->img, len);
		f->c.kernel = copy;
		f->c.kernel_len = len;
		if (boot_load(&f->m, &f->c, &f->e) == 0 || !strstr(err_msg(), want))
			fail_msg("truncated to %zu bytes: \"%s\", expected \"%s\"", len, err_msg(),
				 want);
		free(copy);
	}
	f->c.kernel = f->img;
	f->c.kernel_len = 2000;
	expect_error(f, "truncated bzImage (2000 bytes, setup needs 2560)");
}

static void test_wrong_magic(void **state)
{
	struct bz_opts o = bz_default();
	struct fixture *f = setup_mem(state, 64 * MiB, &o);

	put16(f->img + BZ_BOOT_FLAG, 0x1234);
	expect_error(f, "wrong magic: boot_flag is 0x1234, expected 0xaa55");
	put16(f->img + BZ_BOOT_FLAG, 0xAA55);
	memcpy(f->img + BZ_HEADER, "HdrZ", 4);
	expect_error(f, "wrong magic");
}

static void test_not_a_kernel(void **state)
{
	struct bz_opts o = bz_default();
	struct fixture *f = setup_mem(state, 64 * MiB, &o);

	memset(f->img, 'x', f->len);
	expect_error(f, "not a bzImage or ELF");
	f->c.kernel_len = 0;
	expect_error(f, "empty file");
}

static void test_protocol_too_old(void **state)
{
	struct bz_opts o = bz_default();
	struct fixture *f;

	o.version = 0x020B;
	f = setup_mem(state, 64 * MiB, &o);
	expect_error(f, "boot protocol 2.11 too old (64-bit entry needs >= 2.12)");
}

static void test_no_64bit_entry(void **state)
{
	struct bz_opts o = bz_default();
	struct fixture *f;

	o.xloadflags = 0;
	f = setup_mem(state, 64 * MiB, &o);
	expect_error(f, "kernel does not support 64-bit entry (XLF_KERNEL_64 missing)");
}

static void test_not_loaded_high(void **state)
{
	struct bz_opts o = bz_default();
	struct fixture *f;

	o.loadflags = 0;
	f = setup_mem(state, 64 * MiB, &o);
	expect_error(f, "LOADED_HIGH");
}

static void test_kernel_larger_than_memory(void **state)
{
	struct bz_opts o = bz_default();
	struct fixture *f;

	o.init_size = 40 * MiB; /* from 16 MiB: needs 56 MiB */
	f = setup_mem(state, 48 * MiB, &o);
	expect_error(f, "does not fit in guest memory (48 MiB)");
	guest_mem_free(&f->m);
	assert_int_equal(guest_mem_init(&f->m, 56 * MiB), 0);
	assert_int_equal(boot_load(&f->m, &f->c, &f->e), 0); /* exactly enough */
}

static void test_memory_below_one_mib(void **state)
{
	struct bz_opts o = bz_default();
	struct fixture *f = setup_mem(state, 512 * 1024, &o);

	expect_error(f, "guest memory (512 KiB) is too small");
}

static void test_runtime_start_rules(void **state)
{
	struct bz_opts o = bz_default();
	struct fixture *f;

	/* relocatable, alignment above pref_address: runtime start is 1 MiB aligned up */
	o.pref_address = 0x100000;
	o.kernel_alignment = 0x1000000;
	f = setup_mem(state, 64 * MiB, &o);
	assert_int_equal(boot_load(&f->m, &f->c, &f->e), 0);
	assert_int_equal(f->e.kernel_end, 0x1000000 + o.init_size);
	teardown(state);

	/* not relocatable: pref_address, whatever the alignment */
	o = bz_default();
	o.relocatable = 0;
	o.pref_address = 0x2000000;
	o.kernel_alignment = 0;
	f = setup_mem(state, 64 * MiB, &o);
	assert_int_equal(boot_load(&f->m, &f->c, &f->e), 0);
	assert_int_equal(f->e.kernel_end, 0x2000000 + o.init_size);
	teardown(state);

	/* relocatable with a bad alignment is refused */
	o = bz_default();
	o.kernel_alignment = 0x300000;
	f = setup_mem(state, 64 * MiB, &o);
	expect_error(f, "kernel_alignment");
}

static void test_setup_sects_zero_means_four(void **state)
{
	struct bz_opts o = bz_default();
	struct fixture *f;

	o.setup_sects = 0;
	f = setup_mem(state, 64 * MiB, &o);
	assert_int_equal(boot_load(&f->m, &f->c, &f->e), 0);
	assert_int_equal(*(uint8_t *)guest_ptr(&f->m, 0x100000, 1), bz_pm_byte(0));
}

static void test_random_header_corruption(void **state)
{
	struct bz_opts o = bz_default();
	struct fixture *f = setup_mem(state, 64 * MiB, &o);
	uint8_t *orig = malloc(f->len);
	unsigned seed = 12345;

	memcpy(orig, f->img, f->len);
	for (int iter = 0; iter < 3000; iter++) {
		memcpy(f->img, orig, f->len);
		for (int k = 0; k < 4; k++) {
			seed = seed * 1103515245u + 12345u;
			f->img[BZ_SETUP_SECTS + (seed >> 8) % (BZ_HEADER_END - BZ_SETUP_SECTS)] =
				(uint8_t)(seed >> 20);
		}
		if (boot_load(&f->m, &f->c, &f->e) == 0) {
			/* accepted: then everything it claims must lie in RAM */
			assert_true(f->e.kernel_end <= f->m.low_size);
			assert_int_equal(f->e.rip, 0x100200);
		} else {
			assert_true(err_msg()[0] != '\0');
		}
	}
	free(orig);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_good_image_entry_and_kernel_bytes, teardown),
		cmocka_unit_test_teardown(test_zero_page_fields, teardown),
		cmocka_unit_test_teardown(test_old_protocol_has_no_rsdp_field, teardown),
		cmocka_unit_test_teardown(test_initrd_highest_below_addr_max, teardown),
		cmocka_unit_test_teardown(test_initrd_below_low_memory_end_with_5g, teardown),
		cmocka_unit_test_teardown(test_initrd_does_not_fit, teardown),
		cmocka_unit_test_teardown(test_cmdline_length_limit, teardown),
		cmocka_unit_test_teardown(test_truncated_at_every_offset, teardown),
		cmocka_unit_test_teardown(test_wrong_magic, teardown),
		cmocka_unit_test_teardown(test_not_a_kernel, teardown),
		cmocka_unit_test_teardown(test_protocol_too_old, teardown),
		cmocka_unit_test_teardown(test_no_64bit_entry, teardown),
		cmocka_unit_test_teardown(test_not_loaded_high, teardown),
		cmocka_unit_test_teardown(test_kernel_larger_than_memory, teardown),
		cmocka_unit_test_teardown(test_memory_below_one_mib, teardown),
		cmocka_unit_test_teardown(test_runtime_start_rules, teardown),
		cmocka_unit_test_teardown(test_setup_sects_zero_means_four, teardown),
		cmocka_unit_test_teardown(test_random_header_corruption, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
