/* SPDX-License-Identifier: MIT */
/*
 * The page tables the Linux 64-bit boot protocol requires: identity mapping
 * of everything the loader placed (kernel, zero page, command line, initrd),
 * all below 4 GiB.  One PML4 entry -> one PDPT with four entries -> four page
 * directories of 512 2 MiB pages each covers 0-4 GiB, the 32-bit hole
 * included, in six pages and without needing PSE-1G support in the guest's
 * CPU model.  Linux replaces these tables early; small guests may keep them.
 */
#include <string.h>

#include "boot/layout.h"
#include "boot/loader.h"
#include "util/err.h"

#define PTE_PRESENT (1ULL << 0)
#define PTE_WRITE (1ULL << 1)
#define PTE_PS (1ULL << 7) /* in a PD entry: a 2 MiB page */
#define PAGE_SIZE_2M (2ULL << 20)
#define PT_ENTRIES 512
#define PDPT_USED 4        /* 4 x 1 GiB */

static int write_table(struct guest_mem *m, uint64_t gpa, const uint64_t *entries)
{
	void *p = guest_ptr(m, gpa, PT_ENTRIES * sizeof(uint64_t));

	if (!p)
		return err_set("page table at 0x%llx is outside guest memory",
			       (unsigned long long)gpa);
	memcpy(p, entries, PT_ENTRIES * sizeof(uint64_t));
	return 0;
}

int boot_build_identity_map(struct guest_mem *m)
{
	uint64_t t[PT_ENTRIES];

	memset(t, 0, sizeof(t));
	t[0] = LAYOUT_PDPT | PTE_PRESENT | PTE_WRITE;
	if (write_table(m, LAYOUT_PML4, t) < 0)
		return -1;

	memset(t, 0, sizeof(t));
	for (unsigned i = 0; i < PDPT_USED; i++)
		t[i] = (LAYOUT_PD + i * 0x1000ULL) | PTE_PRESENT | PTE_WRITE;
	if (write_table(m, LAYOUT_PDPT, t) < 0)
		return -1;

	for (unsigned pd = 0; pd < PDPT_USED; pd++) {
		for (unsigned i = 0; i < PT_ENTRIES; i++) {
			uint64_t addr = ((uint64_t)pd * PT_ENTRIES + i) * PAGE_SIZE_2M;

			t[i] = addr | PTE_PRESENT | PTE_WRITE | PTE_PS;
		}
		if (write_table(m, LAYOUT_PD + pd * 0x1000ULL, t) < 0)
			return -1;
	}
	return 0;
}
