/* SPDX-License-Identifier: MIT */
#include "boot/guest_mem.h"

#include <string.h>
#include <sys/mman.h>

#include "boot/layout.h"
#include "util/err.h"

int guest_mem_init(struct guest_mem *m, uint64_t size)
{
	void *p;

	m->host = NULL;
	m->size = 0;
	m->low_size = 0;
	if (size == 0)
		return err_set("guest memory size is 0");
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		 -1, 0);
	if (p == MAP_FAILED)
		return err_errno("cannot map %llu MiB of guest memory",
				 (unsigned long long)(size >> 20));
	m->host = p;
	m->size = size;
	m->low_size = size < LAYOUT_HOLE_START ? size : LAYOUT_HOLE_START;
	return 0;
}

void guest_mem_free(struct guest_mem *m)
{
	if (m->host)
		munmap(m->host, m->size);
	m->host = NULL;
	m->size = m->low_size = 0;
}

#define PAGE 4096ULL

void guest_mem_zero(const struct guest_mem *m, uint8_t *p, uint64_t len)
{
	uintptr_t start = (uintptr_t)p, end = start + len;
	uintptr_t first = (start + PAGE - 1) & ~(PAGE - 1), last = end & ~(PAGE - 1);

	/* guest_mem_init() is the only source of m->host: a private anonymous mapping */
	if (first >= last ||
	    madvise((void *)first, last - first, MADV_DONTNEED) < 0) {
		memset(p, 0, len);
		return;
	}
	memset(p, 0, first - start);
	memset((void *)last, 0, end - last);
}

void *guest_ptr(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
	if (!m->host)
		return NULL;
	if (gpa < m->low_size) {
		if (len > m->low_size - gpa)
			return NULL;
		return m->host + gpa;
	}
	if (gpa >= LAYOUT_HOLE_END) {
		uint64_t high = m->size - m->low_size;
		uint64_t off = gpa - LAYOUT_HOLE_END;

		if (off > high || len > high - off)
			return NULL;
		return m->host + m->low_size + off;
	}
	return NULL;
}
