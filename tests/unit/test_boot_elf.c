/* SPDX-License-Identifier: MIT */
/*
 * The PVH loader on ELF64/ELF32 images built in the test, the embedded
 * default guest, and (when built) the project's Linux vmlinux and bzImage.
 * hvm_start_info is read back by the offsets of the PVH ABI, not through
 * the loader's structures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <sys/stat.h>

#include "boot/boot.h"
#include "boot/layout.h"
#include "boot/loader.h"
#include "guest/embedded.h"
#include "test_boot_fixture.h"
#include "test_boot_images.h"
#include "util/err.h"

#define MiB (1ULL << 20)

/* hvm_start_info offsets (start_info.h) */
#define SI_MAGIC 0
#define SI_VERSION 4
#define SI_NR_MODULES 12
#define SI_MODLIST 16
#define SI_CMDLINE 24
#define SI_RSDP 32
#define SI_MEMMAP 40
#define SI_MEMMAP_ENTRIES 48

static struct fixture *setup_elf(void **state, uint64_t mem, const struct elf_opts *o)
{
	size_t len;
	uint8_t *img = elf_build(o, &len);

	return fixture_new(state, mem, img, len, "guest.elf", 2);
}

static void expect_error(struct fixture *f, const char *what)
{
	const char *msg = load_error(f, what);

	if (strncmp(msg, "kernel guest.elf: ", 18) != 0)
		fail_msg("error does not start by naming the file: \"%s\"", msg);
}

static void check_loaded(struct fixture *f, const struct elf_opts *o)
{
	const uint8_t *seg = guest_ptr(&f->m, o->paddr, o->memsz);
	const uint8_t *si = guest_ptr(&f->m, LAYOUT_PVH_START_INFO, 56);
	struct boot_e820_entry map[BOOT_E820_MAX];
	int n = boot_e820_build(&f->m, map, BOOT_E820_MAX);

	assert_int_equal(f->e.mode, BOOT_ENTRY_PVH32);
	assert_int_equal(f->e.rip, o->entry);
	assert_int_equal(f->e.rbx, LAYOUT_PVH_START_INFO);
	assert_string_equal(f->e.format, "ELF/PVH");
	assert_int_equal(f->e.kernel_start, o->paddr);
	assert_int_equal(f->e.kernel_end, o->paddr + o->memsz);
	for (size_t i = 0; i < o->filesz; i++)
		if (seg[i] != elf_seg_byte(i))
			fail_msg("segment byte %zu: 0x%02x, expected 0x%02x", i, seg[i],
				 elf_seg_byte(i));
	for (size_t i = o->filesz; i < o->memsz; i++)
		if (seg[i])
			fail_msg("bss byte %zu not zeroed", i);

	assert_int_equal(get32(si + SI_MAGIC), 0x336EC578);
	assert_int_equal(get32(si + SI_VERSION), 1);
	assert_int_equal(get64(si + SI_RSDP), LAYOUT_ACPI_START);
	assert_int_equal(get64(si + SI_CMDLINE), LAYOUT_CMDLINE);
	assert_int_equal(get64(si + SI_MEMMAP), LAYOUT_PVH_MEMMAP);
	assert_int_equal(get32(si + SI_MEMMAP_ENTRIES), n);
	for (int i = 0; i < n; i++) {
		const uint8_t *e = guest_ptr(&f->m, LAYOUT_PVH_MEMMAP + 24 * (uint64_t)i, 24);

		assert_int_equal(get64(e), map[i].addr);
		assert_int_equal(get64(e + 8), map[i].size);
		assert_int_equal(get32(e + 16), map[i].type);
		assert_int_equal(get32(e + 20), 0);
	}
}

static void test_elf64_pvh_loads(void **state)
{
	struct elf_opts o = elf_default();
	struct fixture *f = setup_elf(state, 64 * MiB, &o);
	uint8_t *seg = guest_ptr(&f->m, o.paddr, o.memsz);

	memset(seg, 0xCC, o.memsz); /* the loader must zero the bss itself */
	f->c.cmdline = "hello pvh";
	assert_int_equal(boot_load(&f->m, &f->c, &f->e), 0);
	check_loaded(f, &o);
	assert_string_equal((char *)guest_ptr(&f->m, LAYOUT_CMDLINE, 16), "hello pvh");
	assert_int_equal(get32((uint8_t *)guest_ptr(&f->m, LAYOUT_PVH_START_INFO, 56) +
			       SI_NR_MODULES), 0);
}

static void test_elf32_pvh_loads(void **state)
{
	struct elf_opts o = elf_default();
	struct fixture *f;

	o.is64 = 0;
	f = setup_elf(state, 16 * MiB, &o);
	assert_int_equal(boot_load(&f->m, &f->c, &f->e), 0);
	check_loaded(f, &o);
}

static void test_note_with_8_byte_entry(void **state)
{
	struct elf_opts o = elf_default();
	struct fixture *f;

	o.note_desc8 = 1;
	o.extra_note_first = 0;
	f = setup_elf(state, 16 * MiB, &o);
	assert_int_equal(boot_load(&f->m, &f->c, &f->e), 0);
	check_loaded(f, &o);
}

static void test_initrd_is_module_0(void **state)
{
	struct elf_opts o = elf_default();
	struct fixture *f = setup_elf(state, 32 * MiB, &o);
	static uint8_t initrd[6000];
	const uint8_t *si, *mod;
	uint64_t at;

	for (size_t i = 0; i < sizeof(initrd); i++)
		initrd[i] = (uint8_t)(i ^ 0x5A);
	f->c.initrd = initrd;
	f->c.initrd_len = sizeof(initrd);
	assert_int_equal(boot_load(&f->m, &f->c, &f->e), 0);
	si = guest_ptr(&f->m, LAYOUT_PVH_START_INFO, 56);
	assert_int_equal(get32(si + SI_NR_MODULES), 1);
	mod = guest_ptr(&f->m, get64(si + SI_MODLIST), 32);
	assert_non_null(mod);
	at = get64(mod);
	assert_int_equal(get64(mod + 8), sizeof(initrd));
	assert_int_equal(at, f->e.initrd_start);
	assert_int_equal(at % 4096, 0);
	assert_int_equal(at, (32 * MiB - sizeof(initrd)) & ~0xFFFULL); /* highest page */
	assert_memory_equal(guest_ptr(&f->m, at, sizeof(initrd)), initrd, sizeof(initrd));
}

static void test_elf_without_pvh_note(void **state)
{
	struct elf_opts o = elf_default();
	struct fixture *f;

	o.with_note = 0;
	f = setup_elf(state, 16 * MiB, &o);
	expect_error(f, "ELF without a PVH note (XEN_ELFNOTE_PHYS32_ENTRY)");
}

static void test_elf_larger_than_memory(void **state)
{
	struct elf_opts o = elf_default();
	struct fixture *f;

	o.memsz = 40 * MiB;
	f = setup_elf(state, 32 * MiB, &o);
	expect_error(f, "does not fit in guest memory (32 MiB)");
}

static void test_elf_segment_in_boot_area(void **state)
{
	struct elf_opts o = elf_default();
	struct fixture *f;

	o.paddr = 0x7000; /* the zero page */
	o.entry = 0x7010;
	f = setup_elf(state, 16 * MiB, &o);
	expect_error(f, "below 0x100000");
}

static void test_entry_outside_segments(void **state)
{
	struct elf_opts o = elf_default();
	struct fixture *f;

	o.entry = 0x900000;
	f = setup_elf(state, 16 * MiB, &o);
	expect_error(f, "PVH entry 0x900000 is outside the loaded segments");
}

static void test_bad_headers(void **state)
{
	struct elf_opts o = elf_default();
	struct fixture *f = setup_elf(state, 16 * MiB, &o);

	put64(f->img + 32, 1ULL << 40); /* e_phoff far outside */
	expect_error(f, "program headers");
	put64(f->img + 32, 64);
	put16(f->img + 54, 8); /* e_phentsize too small */
	expect_error(f, "e_phentsize");
	put16(f->img + 54, 56);
	put16(f->img + 16, ET_DYN);
	expect_error(f, "not an executable");
	put16(f->img + 16, ET_EXEC);
	put16(f->img + 18, 40 /* EM_ARM */);
	expect_error(f, "not x86");
	put16(f->img + 18, EM_X86_64);
	f->img[EI_DATA] = ELFDATA2MSB;
	expect_error(f, "little-endian");
	f->img[EI_DATA] = ELFDATA2LSB;
	f->img[EI_CLASS] = 7;
	expect_error(f, "bad ELF class");
	f->img[EI_CLASS] = ELFCLASS64;
	/* PT_LOAD (second header) with p_filesz > p_memsz, then with p_offset outside */
	put64(f->img + 64 + 56 + 32, 0x10000);
	expect_error(f, "p_filesz");
	put64(f->img + 64 + 56 + 32, o.filesz);
	put64(f->img + 64 + 56 + 8, f->len);
	expect_error(f, "outside the file");
	put64(f->img + 64 + 56 + 8, f->len - o.filesz);
	/* a note whose descsz runs past its segment */
	put32(f->img + 64 + 2 * 56 + 24 + 4, 0x7FFFFFF0);
	expect_error(f, "runs past its PT_NOTE");
}

static void test_truncated_at_every_offset(void **state)
{
	struct elf_opts o = elf_default();
	struct fixture *f = setup_elf(state, 16 * MiB, &o);

	for (size_t len = 1; len < f->len; len++) {
		uint8_t *copy = malloc(len); /* exact size: ASan sees any overread */

		memcpy(copy, f->img, len);
		f->c.kernel = copy;
		f->c.kernel_len = len;
		if (boot_load(&f->m, &f->c, &f->e) == 0)
			fail_msg("an ELF truncated to %zu of %zu bytes was accepted", len, f->len);
		if (len >= 4 && strncmp(err_msg(), "kernel guest.elf: ", 18) != 0)
			fail_msg("truncated to %zu: \"%s\"", len, err_msg());
		free(copy);
	}
}

static void test_random_corruption(void **state)
{
	struct elf_opts o = elf_default();
	struct fixture *f = setup_elf(state, 16 * MiB, &o);
	size_t hdrs = 64 + 2 * 56 + 48; /* headers and notes */
	uint8_t *orig = malloc(f->len);
	unsigned seed = 777;
	int accepted = 0;

	memcpy(orig, f->img, f->len);
	for (int iter = 0; iter < 5000; iter++) {
		memcpy(f->img, orig, f->len);
		for (int k = 0; k < 3; k++) {
			seed = seed * 1103515245u + 12345u;
			f->img[(seed >> 8) % hdrs] = (uint8_t)(seed >> 20);
		}
		if (boot_load(&f->m, &f->c, &f->e) == 0) {
			accepted++;
			assert_true(f->e.rip >= f->e.kernel_start && f->e.rip < f->e.kernel_end);
			assert_true(f->e.kernel_end <= f->m.low_size);
		}
	}
	print_message("corrupted images accepted: %d of 5000 (all within RAM)\n", accepted);
	free(orig);
}

static void test_embedded_guests(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	unsigned n = 0;

	*state = f;
	if (!embedded_guest_find("default")) {
		print_message("skipped: no embedded default guest in this build\n");
		skip();
	}
	assert_int_equal(guest_mem_init(&f->m, LAYOUT_MIN_MEMORY_MIB * MiB), 0);
	for (const struct embedded_guest *g = embedded_guests; g->name; g++, n++) {
		f->c = (struct boot_config){ .kernel = g->start,
					     .kernel_len = (size_t)(g->end - g->start),
					     .kernel_name = g->name, .ncpus = 1 };
		/* every embedded guest boots in the smallest memory skyvm allows */
		if (boot_load(&f->m, &f->c, &f->e) < 0)
			fail_msg("embedded guest %s: %s", g->name, err_msg());
		assert_int_equal(f->e.mode, BOOT_ENTRY_PVH32);
		assert_true(f->e.kernel_start >= LAYOUT_KERNEL_START);
		assert_true(f->e.rip >= f->e.kernel_start && f->e.rip < f->e.kernel_end);
	}
	print_message("%u embedded guests load\n", n);
}

/* A file built by another part of `make` (cwd is the repository root). */
static uint8_t *read_built_file(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	struct stat st;
	uint8_t *buf;

	if (!fp)
		return NULL;
	if (fstat(fileno(fp), &st) < 0 || st.st_size <= 0) {
		fclose(fp);
		return NULL;
	}
	buf = malloc((size_t)st.st_size);
	*len = fread(buf, 1, (size_t)st.st_size, fp);
	fclose(fp);
	return buf;
}

static void load_built_kernel(void **state, const char *path, enum boot_entry_mode mode)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*state = f;
	f->img = read_built_file(path, &f->len);
	if (!f->img) {
		print_message("skipped: %s not built (make builds it for the Linux tests)\n", path);
		skip();
	}
	assert_int_equal(guest_mem_init(&f->m, 256 * MiB), 0);
	f->c = (struct boot_config){ .kernel = f->img, .kernel_len = f->len, .kernel_name = path,
				     .cmdline = "console=ttyS0", .ncpus = 2 };
	if (boot_load(&f->m, &f->c, &f->e) < 0)
		fail_msg("%s", err_msg());
	assert_int_equal(f->e.mode, mode);
	assert_true(f->e.kernel_end <= f->m.low_size);
}

static void test_guest_default_elf_file(void **state)
{
	load_built_kernel(state, "build/guest/default.elf", BOOT_ENTRY_PVH32);
	assert_true(((struct fixture *)*state)->e.kernel_start >= LAYOUT_KERNEL_START);
}

static void test_linux_vmlinux_pvh(void **state)
{
	load_built_kernel(state, "build/linux/vmlinux", BOOT_ENTRY_PVH32);
}

static void test_linux_bzimage(void **state)
{
	load_built_kernel(state, "build/linux/bzImage", BOOT_ENTRY_LINUX64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_elf64_pvh_loads, teardown),
		cmocka_unit_test_teardown(test_elf32_pvh_loads, teardown),
		cmocka_unit_test_teardown(test_note_with_8_byte_entry, teardown),
		cmocka_unit_test_teardown(test_initrd_is_module_0, teardown),
		cmocka_unit_test_teardown(test_elf_without_pvh_note, teardown),
		cmocka_unit_test_teardown(test_elf_larger_than_memory, teardown),
		cmocka_unit_test_teardown(test_elf_segment_in_boot_area, teardown),
		cmocka_unit_test_teardown(test_entry_outside_segments, teardown),
		cmocka_unit_test_teardown(test_bad_headers, teardown),
		cmocka_unit_test_teardown(test_truncated_at_every_offset, teardown),
		cmocka_unit_test_teardown(test_random_corruption, teardown),
		cmocka_unit_test_teardown(test_embedded_guests, teardown),
		cmocka_unit_test_teardown(test_guest_default_elf_file, teardown),
		cmocka_unit_test_teardown(test_linux_vmlinux_pvh, teardown),
		cmocka_unit_test_teardown(test_linux_bzimage, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
