/* SPDX-License-Identifier: MIT */
#include "lib/acpi.h"

#include <stdbool.h>
#include <stddef.h>

#include "lib/io.h"
#include "lib/string.h"

struct __attribute__((packed)) acpi_rsdp {
	char signature[8]; /* "RSD PTR " */
	uint8_t checksum;  /* over the first 20 bytes */
	char oem_id[6];
	uint8_t revision;  /* 2+: xsdt is valid */
	uint32_t rsdt;
	uint32_t length;
	uint64_t xsdt;
	uint8_t ext_checksum;
	uint8_t reserved[3];
};

struct __attribute__((packed)) acpi_header {
	char signature[4];
	uint32_t length;
	uint8_t revision, checksum;
	char oem_id[6], oem_table_id[8];
	uint32_t oem_revision, creator_id, creator_revision;
};

struct __attribute__((packed)) acpi_madt {
	struct acpi_header h;
	uint32_t lapic_base;
	uint32_t flags;
};

#define MADT_LAPIC 0
#define MADT_LAPIC_OVERRIDE 5
#define MADT_X2APIC 9
#define MADT_ENABLED 1u
#define MADT_ONLINE_CAPABLE 2u

/* Signatures compared as one load each: memcmp costs a loop per byte. */
#define SIG4(a, b, c, d) ((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | \
			  (uint32_t)(d) << 24)
#define SIG_RSDP_LO SIG4('R', 'S', 'D', ' ')
#define SIG_RSDP_HI SIG4('P', 'T', 'R', ' ')

static uint32_t sig_of(const void *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static bool rsdp_signature(const struct acpi_rsdp *r)
{
	return sig_of(r->signature) == SIG_RSDP_LO && sig_of(r->signature + 4) == SIG_RSDP_HI;
}

/* Signature and checksum: what a scan needs to reject chance matches. */
static bool rsdp_valid(const struct acpi_rsdp *r)
{
	const uint8_t *p = (const uint8_t *)r;
	uint8_t sum = 0;

	if (!rsdp_signature(r))
		return false;
	for (int i = 0; i < 20; i++)
		sum += p[i];
	return sum == 0;
}

/* The RSDP sits on a 16-byte boundary in the first KiB of the EBDA or in the BIOS area. */
static const struct acpi_rsdp *rsdp_scan(uintptr_t start, uintptr_t end)
{
	for (uintptr_t a = start; a + sizeof(struct acpi_rsdp) <= end; a += 16) {
		const struct acpi_rsdp *r = phys_ptr(a);

		if (rsdp_valid(r))
			return r;
	}
	return NULL;
}

static const struct acpi_rsdp *rsdp_find(uint64_t hint)
{
	uintptr_t ebda = (uintptr_t)*(volatile const uint16_t *)phys_ptr(0x40e) << 4;
	const struct acpi_rsdp *r;

	if (hint) {
		/* The loader's word is good enough: a signature check, no checksum. */
		r = (const struct acpi_rsdp *)(uintptr_t)hint;
		return rsdp_signature(r) ? r : NULL;
	}
	if (ebda >= 0x80000 && ebda < 0xa0000) {
		r = rsdp_scan(ebda, ebda + 1024);
		if (r)
			return r;
	}
	return rsdp_scan(0xe0000, 0x100000);
}

static const struct acpi_header *find_table(const struct acpi_rsdp *r, uint32_t sig)
{
	bool x = r->revision >= 2 && r->xsdt;
	const struct acpi_header *root = x ? (const struct acpi_header *)(uintptr_t)r->xsdt
					   : (const struct acpi_header *)(uintptr_t)r->rsdt;
	unsigned width = x ? 8 : 4;
	const uint8_t *p = (const uint8_t *)root + sizeof(*root);
	const uint8_t *end = (const uint8_t *)root + root->length;

	if (sig_of(root->signature) != (x ? SIG4('X', 'S', 'D', 'T') : SIG4('R', 'S', 'D', 'T')))
		return NULL;
	for (; p + width <= end; p += width) {
		uint64_t a = 0;

		memcpy(&a, p, width);
		if (a && a < 0x100000000ull &&
		    sig_of(((const struct acpi_header *)(uintptr_t)a)->signature) == sig)
			return (const struct acpi_header *)(uintptr_t)a;
	}
	return NULL;
}

static void add_cpu(struct madt_info *mi, uint32_t apic_id, uint32_t flags)
{
	if (!(flags & (MADT_ENABLED | MADT_ONLINE_CAPABLE)))
		return;
	/* xAPIC ICR addresses 8-bit ids only; 0xff is broadcast. */
	if (apic_id >= 0xff || mi->ncpus >= GUEST_MAX_CPUS) {
		mi->ignored++;
		return;
	}
	mi->apic_id[mi->ncpus++] = apic_id;
}

const char *acpi_read_madt(uint64_t rsdp_paddr, struct madt_info *mi)
{
	const struct acpi_rsdp *r = rsdp_find(rsdp_paddr);
	const struct acpi_madt *m;
	const uint8_t *p, *end;

	mi->ncpus = 0;
	mi->ignored = 0;
	mi->lapic_base = 0xfee00000;
	if (!r)
		return rsdp_paddr ? "no valid RSDP at the address the loader gave"
				  : "no RSDP found";
	mi->rsdp = (uintptr_t)r;
	m = (const struct acpi_madt *)find_table(r, SIG4('A', 'P', 'I', 'C'));
	if (!m)
		return "no MADT in the XSDT/RSDT";
	mi->lapic_base = m->lapic_base;
	p = (const uint8_t *)(m + 1);
	end = (const uint8_t *)m + m->h.length;
	while (p + 2 <= end && p[1] >= 2 && p + p[1] <= end) {
		uint32_t id, flags;
		uint64_t base;

		switch (p[0]) {
		case MADT_LAPIC:
			if (p[1] < 8)
				break;
			memcpy(&flags, p + 4, 4);
			add_cpu(mi, p[3], flags);
			break;
		case MADT_X2APIC:
			if (p[1] < 16)
				break;
			memcpy(&id, p + 4, 4);
			memcpy(&flags, p + 8, 4);
			add_cpu(mi, id, flags);
			break;
		case MADT_LAPIC_OVERRIDE:
			if (p[1] < 12)
				break;
			memcpy(&base, p + 4, 8);
			if (base < 0x100000000ull)
				mi->lapic_base = (uint32_t)base;
			break;
		default:
			break;
		}
		p += p[1];
	}
	if (!mi->ncpus)
		return "MADT lists no usable processor";
	return NULL;
}
