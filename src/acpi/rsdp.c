/* SPDX-License-Identifier: MIT */
/*
 * The root of the tables: the XSDT (64-bit pointers to every other table but
 * the DSDT, which the FADT points to) and the RSDP pointing to the XSDT.
 * Revision 2 RSDP with no RSDT: every x86-64 OS reads the XSDT.
 */
#include <string.h>

#include "acpi/tables.h"
#include "util/err.h"

#define XSDT_REVISION 1
#define RSDP_REVISION 2
#define RSDP_V1_LENGTH 20 /* the part the first checksum covers */

int acpi_build_xsdt(struct acpi_builder *b, const uint64_t *tables, unsigned n, uint64_t *gpa)
{
	uint32_t len = (uint32_t)(sizeof(struct acpi_header) + n * sizeof(uint64_t));
	struct acpi_header *h = acpi_alloc(b, len, gpa);

	if (!h)
		return -1;
	acpi_header_init(h, "XSDT", len, XSDT_REVISION, "SKYVXSDT");
	/* The entries follow the 36-byte header unaligned: copy, do not index. */
	memcpy((uint8_t *)h + sizeof(*h), tables, n * sizeof(uint64_t));
	acpi_finish(h);
	return 0;
}

void acpi_fill_rsdp(struct acpi_rsdp *r, uint64_t xsdt)
{
	memset(r, 0, sizeof(*r));
	memcpy(r->signature, "RSD PTR ", sizeof(r->signature));
	memcpy(r->oem_id, ACPI_OEM_ID, sizeof(r->oem_id));
	r->revision = RSDP_REVISION;
	r->rsdt_address = 0;
	r->length = sizeof(*r);
	r->xsdt_address = xsdt;
	r->checksum = acpi_checksum(r, RSDP_V1_LENGTH);
	r->extended_checksum = acpi_checksum(r, sizeof(*r));
}
