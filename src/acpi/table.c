/* SPDX-License-Identifier: MIT */
/* What every ACPI table needs: space in the ACPI area, a header, a checksum. */
#include <string.h>

#include "acpi/tables.h"
#include "util/err.h"

#define ACPI_TABLE_ALIGN 16 /* the RSDP scan steps in 16 bytes; others just look tidy */

void *acpi_alloc(struct acpi_builder *b, uint64_t len, uint64_t *gpa)
{
	uint64_t at = (b->next + ACPI_TABLE_ALIGN - 1) & ~(uint64_t)(ACPI_TABLE_ALIGN - 1);
	void *p;

	if (at > b->end || len > b->end - at) {
		err_set("ACPI tables need more than the %llu KiB reserved for them",
			(unsigned long long)((b->end - b->next) >> 10));
		return NULL;
	}
	p = guest_ptr(b->m, at, len);
	if (!p) {
		err_set("ACPI area at 0x%llx is outside guest memory", (unsigned long long)at);
		return NULL;
	}
	memset(p, 0, len);
	b->next = at + len;
	*gpa = at;
	return p;
}

uint8_t acpi_checksum(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + b[i]);
	return (uint8_t)(0x100 - sum);
}

/* Copy a fixed-width ACPI text field: pad with spaces, no NUL. */
static void copy_id(char *dst, size_t width, const char *src)
{
	size_t n = strlen(src);

	memset(dst, ' ', width);
	memcpy(dst, src, n < width ? n : width);
}

void acpi_header_init(struct acpi_header *h, const char *signature, uint32_t length,
		      uint8_t revision, const char *oem_table_id)
{
	memcpy(h->signature, signature, sizeof(h->signature));
	h->length = length;
	h->revision = revision;
	h->checksum = 0;
	copy_id(h->oem_id, sizeof(h->oem_id), ACPI_OEM_ID);
	copy_id(h->oem_table_id, sizeof(h->oem_table_id), oem_table_id);
	h->oem_revision = ACPI_OEM_REVISION;
	copy_id(h->creator_id, sizeof(h->creator_id), ACPI_CREATOR_ID);
	h->creator_revision = ACPI_CREATOR_REVISION;
}

void acpi_finish(struct acpi_header *h)
{
	h->checksum = 0;
	h->checksum = acpi_checksum(h, h->length);
}
