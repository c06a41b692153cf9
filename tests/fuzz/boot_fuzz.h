/* SPDX-License-Identifier: MIT */
/*
 * The kernel loaders under a fuzzer (boot_bzimage.c, boot_pvh.c): boot_load()
 * into a fake guest memory region, as the VMM calls it, with an initrd and a
 * command line.  The input is
 *
 *   byte 0       guest memory: 2 MiB, 16 MiB, 64 MiB or 3 GiB + 64 MiB (RAM
 *                above the 32-bit hole), by its low two bits
 *   byte 1       vCPUs for the MADT, 1 + byte % 8
 *   bytes 2-3    initrd length (LE), at most what follows
 *   bytes 4-5    command line length (LE), at most what follows
 *   ...          the command line, the initrd, then the kernel image
 *
 * Each part is copied into a buffer of exactly its size, so ASan sees any
 * read past it.  The mappings are made once (MAP_NORESERVE) and cleared
 * before each input with guest_mem_zero(), which drops the pages.
 */
#ifndef SKYVM_FUZZ_BOOT_H
#define SKYVM_FUZZ_BOOT_H

#include "boot/boot.h"
#include "boot/layout.h"
#include "boot/loader.h"
#include "fuzz.h"

#define BOOT_FUZZ_HEADER 6

static inline uint8_t *boot_fuzz_dup(const uint8_t *p, size_t n)
{
	uint8_t *d = malloc(n ? n : 1);

	if (d)
		memcpy(d, p, n);
	return d;
}

static inline struct guest_mem *boot_fuzz_mem(unsigned which)
{
	static const uint64_t sizes[4] = { 2ULL << 20, 16ULL << 20, 64ULL << 20,
					   LAYOUT_HOLE_START + (64ULL << 20) };
	static struct guest_mem mems[4];
	struct guest_mem *m = &mems[which & 3];

	if (!m->host && guest_mem_init(m, sizes[which & 3]) < 0)
		return NULL;
	guest_mem_zero(m, m->host, m->size);
	return m;
}

/* `want`: boot_is_bzimage or boot_is_elf; other kernels are skipped. */
static inline int boot_fuzz_one(const uint8_t *data, size_t size,
				bool (*want)(const uint8_t *, size_t))
{
	struct boot_config c = { .kernel_name = "fuzz" };
	struct boot_entry e;
	struct guest_mem *m;
	size_t initrd_len, cmd_len;
	uint8_t *kernel = NULL, *initrd = NULL;
	char *cmdline = NULL;
	int rc;

	if (size < BOOT_FUZZ_HEADER)
		return 0;
	initrd_len = data[2] | (size_t)data[3] << 8;
	cmd_len = data[4] | (size_t)data[5] << 8;
	c.ncpus = 1 + data[1] % 8;
	m = boot_fuzz_mem(data[0]);
	data += BOOT_FUZZ_HEADER;
	size -= BOOT_FUZZ_HEADER;
	if (!m)
		return 0;
	if (cmd_len > size)
		cmd_len = size;
	cmdline = fuzz_cstring(data, cmd_len);
	data += cmd_len;
	size -= cmd_len;
	if (initrd_len > size)
		initrd_len = size;
	initrd = boot_fuzz_dup(data, initrd_len);
	data += initrd_len;
	size -= initrd_len;
	kernel = boot_fuzz_dup(data, size);
	if (!cmdline || !initrd || !kernel || !want(kernel, size))
		goto out;
	c.cmdline = cmdline;
	c.initrd = initrd_len ? initrd : NULL;
	c.initrd_len = initrd_len;
	c.kernel = kernel;
	c.kernel_len = size;
	rc = boot_load(m, &c, &e);
	fuzz_report(rc);
	if (rc == 0) {
		/* The kernel lies above the boot structures and inside RAM. */
		FUZZ_CHECK(e.kernel_start >= LAYOUT_KERNEL_START);
		FUZZ_CHECK(e.kernel_end > e.kernel_start && e.kernel_end <= m->low_size);
		FUZZ_CHECK(e.rip >= e.kernel_start && e.rip < e.kernel_end);
		if (initrd_len) {
			const uint8_t *p = guest_ptr(m, e.initrd_start, initrd_len);

			/* page-aligned, above the kernel, intact after everything was written */
			FUZZ_CHECK(e.initrd_start % 4096 == 0 && e.initrd_start >= e.kernel_end);
			FUZZ_CHECK(p && memcmp(p, initrd, initrd_len) == 0);
		} else {
			FUZZ_CHECK(e.initrd_start == 0);
		}
	}
out:
	free(cmdline);
	free(initrd);
	free(kernel);
	return 0;
}

#endif
