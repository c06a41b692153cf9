/* SPDX-License-Identifier: MIT */
/*
 * acpi_build_tables(): the tables in dependency order.  The RSDP's slot is
 * taken first so it sits exactly at LAYOUT_ACPI_START (16-byte aligned, inside
 * the legacy scan range), and is filled last, once the XSDT exists.
 */
#include "acpi/acpi.h"

#include "acpi/tables.h"
#include "boot/layout.h"
#include "util/err.h"

#define APIC_ID_BROADCAST 0xFFFFFFFFu /* x2APIC broadcast: no CPU can have it */

static int check_apic_ids(unsigned ncpus, const unsigned *ids)
{
	if (!ids)
		return 0;
	for (unsigned i = 0; i < ncpus; i++) {
		if (ids[i] == APIC_ID_BROADCAST)
			return err_set("vCPU %u: APIC id 0x%x is the broadcast id", i, ids[i]);
		/* Quadratic, but ncpus is at most a few thousand and this runs once. */
		for (unsigned j = 0; j < i; j++)
			if (ids[j] == ids[i])
				return err_set("vCPUs %u and %u have the same APIC id %u", j, i,
					       ids[i]);
	}
	return 0;
}

int acpi_build_tables(struct guest_mem *m, const struct acpi_config *c, uint64_t *rsdp)
{
	struct acpi_builder b = { m, LAYOUT_ACPI_START, LAYOUT_ACPI_END };
	uint64_t dsdt, fadt, madt, xsdt, tables[2];
	struct acpi_rsdp *r;

	if (c->ncpus == 0)
		return err_set("ACPI: no vCPUs to describe");
	if (check_apic_ids(c->ncpus, c->apic_ids) < 0)
		return err_wrap("ACPI MADT");
	r = acpi_alloc(&b, sizeof(*r), rsdp);
	if (!r)
		return -1;
	if (acpi_build_dsdt(&b, c, &dsdt) < 0 || acpi_build_fadt(&b, c, dsdt, &fadt) < 0 ||
	    acpi_build_madt(&b, c->ncpus, c->apic_ids, &madt) < 0)
		return -1;
	tables[0] = fadt;
	tables[1] = madt;
	if (acpi_build_xsdt(&b, tables, 2, &xsdt) < 0)
		return -1;
	acpi_fill_rsdp(r, xsdt);
	return 0;
}

int acpi_build(struct guest_mem *m, unsigned ncpus, const unsigned *apic_ids, uint64_t *rsdp)
{
	struct acpi_config c = { .ncpus = ncpus, .apic_ids = apic_ids };

	return acpi_build_tables(m, &c, rsdp);
}
