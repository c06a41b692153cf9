/* SPDX-License-Identifier: MIT */
/*
 * The MADT: how a guest without an MP table finds its CPUs and interrupt
 * controllers.
 *   - one Local APIC entry per vCPU (enabled), processor UID = vCPU index;
 *     an x2APIC entry instead where the APIC id is 255 or more (or the UID
 *     does not fit a byte), as the specification asks;
 *   - LINT1 of every local APIC is NMI (as PC firmware wires it);
 *   - the IOAPIC at LAYOUT_IOAPIC with GSI base 0;
 *   - ISA IRQ 0 -> GSI 2: KVM's in-kernel PIT raises GSI 0, which the VMM
 *     routes to IOAPIC pin 2, as on PC hardware and in QEMU;
 *   - ISA IRQ 9 -> GSI 9, level-triggered, active high: the ACPI SCI line
 *     on PCs (QEMU describes it the same way).
 * PCAT_COMPAT says dual 8259 PICs are present too (KVM's irqchip has them).
 */
#include <string.h>

#include "acpi/tables.h"
#include "boot/layout.h"
#include "util/err.h"

#define MADT_REVISION 5         /* ACPI 6.x */
#define XAPIC_ID_LIMIT 0xFF     /* ids from here need x2APIC entries */
#define UID_BYTE_LIMIT 0xFF     /* 0xFF in a byte UID means "all processors" */
#define IOAPIC_ID_MAX 0xFE      /* 0xFF is the xAPIC broadcast id */
#define ISA_IRQ_PIT 0
#define ISA_IRQ_SCI 9
#define GSI_PIT 2
#define LINT_NMI 1

struct int_override {
	uint8_t irq;
	uint32_t gsi;
	uint16_t flags;
};

static const struct int_override int_overrides[] = {
	{ ISA_IRQ_PIT, GSI_PIT, ACPI_MPS_CONFORMS },
	{ ISA_IRQ_SCI, ISA_IRQ_SCI, ACPI_MPS_ACTIVE_HIGH | ACPI_MPS_LEVEL },
};

#define N_OVERRIDES (sizeof(int_overrides) / sizeof(int_overrides[0]))

static unsigned apic_id_of(const unsigned *apic_ids, unsigned i)
{
	return apic_ids ? apic_ids[i] : i;
}

static int needs_x2apic_entry(unsigned apic_id, unsigned index)
{
	return apic_id >= XAPIC_ID_LIMIT || index >= UID_BYTE_LIMIT;
}

/* Appends entries; `p` has been sized by madt_length(). */
static uint8_t *put(uint8_t *p, const void *entry, size_t len)
{
	memcpy(p, entry, len);
	return p + len;
}

int acpi_build_madt(struct acpi_builder *b, unsigned ncpus, const unsigned *apic_ids,
		    uint64_t *gpa)
{
	size_t len = sizeof(struct acpi_madt) + sizeof(struct acpi_madt_ioapic) +
		     N_OVERRIDES * sizeof(struct acpi_madt_int_override) +
		     sizeof(struct acpi_madt_lapic_nmi);
	int any_x2apic = 0;
	struct acpi_madt *madt;
	uint8_t *p;

	for (unsigned i = 0; i < ncpus; i++) {
		if (needs_x2apic_entry(apic_id_of(apic_ids, i), i)) {
			len += sizeof(struct acpi_madt_x2apic);
			any_x2apic = 1;
		} else {
			len += sizeof(struct acpi_madt_lapic);
		}
	}
	if (any_x2apic)
		len += sizeof(struct acpi_madt_x2apic_nmi);
	if (len > UINT32_MAX)
		return err_set("MADT for %u vCPUs is too large", ncpus);
	madt = acpi_alloc(b, len, gpa);
	if (!madt)
		return -1;
	acpi_header_init(&madt->h, "APIC", (uint32_t)len, MADT_REVISION, "SKYVAPIC");
	madt->lapic_address = (uint32_t)LAYOUT_LAPIC;
	madt->flags = ACPI_MADT_PCAT_COMPAT;
	p = (uint8_t *)(madt + 1);

	for (unsigned i = 0; i < ncpus; i++) {
		unsigned id = apic_id_of(apic_ids, i);

		if (needs_x2apic_entry(id, i)) {
			struct acpi_madt_x2apic e = {
				.type = ACPI_MADT_X2APIC, .length = sizeof(e), .x2apic_id = id,
				.flags = ACPI_MADT_ENABLED, .processor_uid = i,
			};
			p = put(p, &e, sizeof(e));
		} else {
			struct acpi_madt_lapic e = {
				.type = ACPI_MADT_LAPIC, .length = sizeof(e),
				.processor_uid = (uint8_t)i, .apic_id = (uint8_t)id,
				.flags = ACPI_MADT_ENABLED,
			};
			p = put(p, &e, sizeof(e));
		}
	}

	struct acpi_madt_ioapic io = {
		.type = ACPI_MADT_IOAPIC, .length = sizeof(io),
		.id = (uint8_t)(ncpus < IOAPIC_ID_MAX ? ncpus : IOAPIC_ID_MAX),
		.address = (uint32_t)LAYOUT_IOAPIC, .gsi_base = 0,
	};
	p = put(p, &io, sizeof(io));

	for (size_t i = 0; i < N_OVERRIDES; i++) {
		struct acpi_madt_int_override o = {
			.type = ACPI_MADT_INT_OVERRIDE, .length = sizeof(o), .bus = 0,
			.source = int_overrides[i].irq, .gsi = int_overrides[i].gsi,
			.flags = int_overrides[i].flags,
		};
		p = put(p, &o, sizeof(o));
	}

	struct acpi_madt_lapic_nmi nmi = {
		.type = ACPI_MADT_LAPIC_NMI, .length = sizeof(nmi), .processor_uid = 0xFF,
		.flags = ACPI_MPS_CONFORMS, .lint = LINT_NMI,
	};
	p = put(p, &nmi, sizeof(nmi));
	if (any_x2apic) {
		struct acpi_madt_x2apic_nmi x2nmi = {
			.type = ACPI_MADT_X2APIC_NMI, .length = sizeof(x2nmi),
			.flags = ACPI_MPS_CONFORMS, .processor_uid = 0xFFFFFFFF, .lint = LINT_NMI,
		};
		p = put(p, &x2nmi, sizeof(x2nmi));
	}
	acpi_finish(&madt->h);
	return 0;
}
