/* SPDX-License-Identifier: MIT */
/*
 * What both loaders share: the e820 map for small, 3 GiB and 5 GiB guests,
 * the identity page tables (walked like the MMU would), the boot GDT and its
 * conversion to KVM segments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "boot/boot.h"
#include "boot/layout.h"
#include "boot/loader.h"
#include "test_boot_images.h"
#include "util/err.h"

#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

struct range {
	uint64_t start, end;
	uint32_t type;
};

static void check_map(uint64_t mem, const struct range *want, int nwant)
{
	struct guest_mem m;
	struct boot_e820_entry map[BOOT_E820_MAX];
	uint64_t ram = 0;
	int n;

	assert_int_equal(guest_mem_init(&m, mem), 0);
	n = boot_e820_build(&m, map, BOOT_E820_MAX);
	assert_int_equal(n, nwant);
	for (int i = 0; i < n; i++) {
		if (map[i].addr != want[i].start || map[i].addr + map[i].size != want[i].end ||
		    map[i].type != want[i].type)
			fail_msg("entry %d: [0x%llx, 0x%llx) type %u, "
				 "expected [0x%llx, 0x%llx) type %u", i,
				 (unsigned long long)map[i].addr,
				 (unsigned long long)(map[i].addr + map[i].size), map[i].type,
				 (unsigned long long)want[i].start, (unsigned long long)want[i].end,
				 want[i].type);
		if (i > 0)
			assert_true(map[i].addr >= map[i - 1].addr + map[i - 1].size);
		if (map[i].type == BOOT_E820_RAM) {
			/* every RAM byte the map claims is backed by guest memory */
			assert_non_null(guest_ptr(&m, map[i].addr, map[i].size));
			ram += map[i].size;
		}
	}
	/* all memory is reported except what the legacy hole below 1 MiB hides */
	assert_int_equal(ram, mem - (LAYOUT_KERNEL_START - LAYOUT_EBDA_START));
	assert_int_equal(boot_e820_build(&m, map, 2), -1);
	assert_non_null(strstr(err_msg(), "e820"));
	guest_mem_free(&m);
}

static void test_e820_64m(void **state)
{
	static const struct range want[] = {
		{ 0, 0x9FC00, 1 },
		{ 0x9FC00, 0x100000, 2 },
		{ 0x100000, 64 * MiB, 1 },
		{ 0xFEFFC000, 0xFF000000, 2 },
	};
	check_map(64 * MiB, want, 4);
}

static void test_e820_3g(void **state)
{
	static const struct range want[] = {
		{ 0, 0x9FC00, 1 },
		{ 0x9FC00, 0x100000, 2 },
		{ 0x100000, 3 * GiB, 1 },
		{ 0xFEFFC000, 0xFF000000, 2 },
	};
	check_map(3 * GiB, want, 4);
}

static void test_e820_5g(void **state)
{
	static const struct range want[] = {
		{ 0, 0x9FC00, 1 },
		{ 0x9FC00, 0x100000, 2 },
		{ 0x100000, 3 * GiB, 1 },
		{ 0xFEFFC000, 0xFF000000, 2 },
		{ 4 * GiB, 6 * GiB, 1 }, /* the 2 GiB that did not fit below the hole */
	};
	check_map(5 * GiB, want, 5);
}

/* Translate like the MMU: 4-level walk, 2 MiB pages; returns the physical address. */
static int walk(struct guest_mem *m, uint64_t cr3, uint64_t va, uint64_t *pa)
{
	uint64_t pml4e = get64(guest_ptr(m, cr3 + ((va >> 39) & 511) * 8, 8));
	uint64_t pdpte, pde;

	if (!(pml4e & 1))
		return -1;
	pdpte = get64(guest_ptr(m, (pml4e & 0xFFFFFFFFFF000ULL) + ((va >> 30) & 511) * 8, 8));
	if (!(pdpte & 1) || (pdpte & 0x80))
		return -1;
	pde = get64(guest_ptr(m, (pdpte & 0xFFFFFFFFFF000ULL) + ((va >> 21) & 511) * 8, 8));
	if (!(pde & 1) || !(pde & 0x80) || !(pde & 2))
		return -1;
	*pa = (pde & 0xFFFFFFFE00000ULL) | (va & 0x1FFFFF);
	return 0;
}

static void test_identity_map_0_to_4g(void **state)
{
	struct guest_mem m;
	uint64_t pa;
	static const uint64_t probes[] = {
		0, 0x7000, 0x100200, 0x1FFFFF, 0x200000, 0x12345678, 0xBFFFFFFF,
		LAYOUT_IOAPIC, LAYOUT_LAPIC + 0x30, 0xFFFFFFFF,
	};

	assert_int_equal(guest_mem_init(&m, 16 * MiB), 0);
	assert_int_equal(boot_build_identity_map(&m), 0);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		if (walk(&m, LAYOUT_PML4, probes[i], &pa) < 0)
			fail_msg("0x%llx is not mapped", (unsigned long long)probes[i]);
		assert_int_equal(pa, probes[i]);
	}
	assert_int_equal(walk(&m, LAYOUT_PML4, 4 * GiB, &pa), -1); /* only 0-4 GiB */
	/* the tables live where layout.h says, below the command line */
	assert_true(LAYOUT_PD + 4 * 0x1000 <= LAYOUT_CMDLINE);
	guest_mem_free(&m);
}

static void test_gdt_in_memory(void **state)
{
	struct guest_mem m;
	const uint8_t *g;

	assert_int_equal(guest_mem_init(&m, 4 * MiB), 0);
	assert_int_equal(boot_write_gdt(&m), 0);
	g = guest_ptr(&m, LAYOUT_BOOT_GDT, BOOT_GDT_ENTRIES * 8);
	assert_int_equal(get64(g), 0);
	assert_int_equal(get64(g + BOOT_GDT_SEL_CODE32), BOOT_GDT_CODE32);
	assert_int_equal(get64(g + BOOT_GDT_SEL_CODE64), BOOT_GDT_CODE64);
	assert_int_equal(get64(g + BOOT_GDT_SEL_DATA), BOOT_GDT_DATA);
	assert_int_equal(get64(g + BOOT_GDT_SEL_TSS), BOOT_GDT_TSS);
	assert_int_equal(get64(g + BOOT_GDT_SEL_TSS + 8), 0);
	/* Linux's 64-bit boot protocol: __BOOT_CS 0x10, __BOOT_DS 0x18 */
	assert_int_equal(BOOT_GDT_SEL_CODE64, 0x10);
	assert_int_equal(BOOT_GDT_SEL_DATA, 0x18);
	guest_mem_free(&m);
}

static void test_reset_vector_resets_through_the_i8042(void **state)
{
	struct guest_mem m;
	const uint8_t *p;

	(void)state;
	assert_int_equal(guest_mem_init(&m, 4 * MiB), 0);
	assert_int_equal(boot_write_reset_stub(&m), 0);
	/* F000:FFF0 in real mode */
	p = guest_ptr(&m, 0xF0000 + 0xFFF0, 7);
	/* mov al, 0xFE; out 0x64, al; hlt; jmp -3 (back to the hlt) */
	assert_int_equal(p[0], 0xB0);
	assert_int_equal(p[1], 0xFE);
	assert_int_equal(p[2], 0xE6);
	assert_int_equal(p[3], 0x64);
	assert_int_equal(p[4], 0xF4);
	assert_int_equal(p[5], 0xEB);
	assert_int_equal((int8_t)p[6], -3);
	/* the ACPI tables stop before it */
	assert_true(LAYOUT_ACPI_END <= LAYOUT_RESET_VECTOR);
	guest_mem_free(&m);
}

static void test_gdt_to_segment(void **state)
{
	struct kvm_segment s;

	boot_gdt_to_segment(BOOT_GDT_CODE64, BOOT_GDT_SEL_CODE64, &s);
	assert_int_equal(s.selector, 0x10);
	assert_int_equal(s.base, 0);
	assert_int_equal(s.limit, 0xFFFFFFFF);
	assert_int_equal(s.type, 0xB); /* code, execute/read, accessed */
	assert_int_equal(s.s, 1);
	assert_int_equal(s.present, 1);
	assert_int_equal(s.dpl, 0);
	assert_int_equal(s.l, 1);
	assert_int_equal(s.db, 0); /* L=1 requires D=0 */
	assert_int_equal(s.g, 1);
	assert_int_equal(s.unusable, 0);

	boot_gdt_to_segment(BOOT_GDT_CODE32, BOOT_GDT_SEL_CODE32, &s);
	assert_int_equal(s.selector, 0x08);
	assert_int_equal(s.l, 0);
	assert_int_equal(s.db, 1);
	assert_int_equal(s.limit, 0xFFFFFFFF);

	boot_gdt_to_segment(BOOT_GDT_DATA, BOOT_GDT_SEL_DATA, &s);
	assert_int_equal(s.type, 0x3); /* data, read/write, accessed */
	assert_int_equal(s.db, 1);
	assert_int_equal(s.limit, 0xFFFFFFFF);

	boot_gdt_to_segment(BOOT_GDT_TSS, BOOT_GDT_SEL_TSS, &s);
	assert_int_equal(s.type, 0xB); /* busy TSS: VM entry requires it */
	assert_int_equal(s.s, 0);
	assert_int_equal(s.g, 0);
	assert_int_equal(s.limit, 0x67);
	assert_int_equal(s.present, 1);

	/* every field from a descriptor with all of them set apart */
	boot_gdt_to_segment(0x12D6F3456789ABCDULL, 0x2B, &s);
	assert_int_equal(s.base, 0x12456789);
	assert_int_equal(s.limit, (0x6ABCDU << 12) | 0xFFF);
	assert_int_equal(s.type, 0x3);
	assert_int_equal(s.s, 1);
	assert_int_equal(s.dpl, 3);
	assert_int_equal(s.present, 1);
	assert_int_equal(s.avl, 1);
	assert_int_equal(s.l, 0);
	assert_int_equal(s.db, 1);
	assert_int_equal(s.g, 1);

	boot_gdt_to_segment(0, 0, &s);
	assert_int_equal(s.unusable, 1);
	assert_int_equal(s.present, 0);
}

static void test_no_vcpus_is_an_error(void **state)
{
	struct guest_mem m;
	struct boot_entry e;
	struct elf_opts o = elf_default();
	size_t len;
	uint8_t *img = elf_build(&o, &len);
	struct boot_config c = { .kernel = img, .kernel_len = len, .kernel_name = "k", .ncpus = 0 };

	assert_int_equal(guest_mem_init(&m, 16 * MiB), 0);
	assert_int_equal(boot_load(&m, &c, &e), -1);
	assert_non_null(strstr(err_msg(), "no vCPUs"));
	c.ncpus = 1;
	assert_int_equal(boot_load(&m, &c, &e), 0);
	guest_mem_free(&m);
	free(img);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_e820_64m),
		cmocka_unit_test(test_e820_3g),
		cmocka_unit_test(test_e820_5g),
		cmocka_unit_test(test_identity_map_0_to_4g),
		cmocka_unit_test(test_gdt_in_memory),
		cmocka_unit_test(test_reset_vector_resets_through_the_i8042),
		cmocka_unit_test(test_gdt_to_segment),
		cmocka_unit_test(test_no_vcpus_is_an_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
