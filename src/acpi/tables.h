/* SPDX-License-Identifier: MIT */
/*
 * ACPI table layouts (ACPI 6.x specification, chapter 5.2) and what the
 * per-table builders share.  All multi-byte fields are little-endian and the
 * structures packed: they are copied byte for byte into guest memory.
 */
#ifndef SKYVM_ACPI_TABLES_H
#define SKYVM_ACPI_TABLES_H

#include <stddef.h>
#include <stdint.h>

#include "boot/guest_mem.h"

#define ACPI_OEM_ID "SKYVM "       /* 6 characters */
#define ACPI_OEM_REVISION 1
#define ACPI_CREATOR_ID "SKYV"     /* 4 characters */
#define ACPI_CREATOR_REVISION 1

struct acpi_header {
	char signature[4];
	uint32_t length;          /* of the whole table, header included */
	uint8_t revision;
	uint8_t checksum;         /* all `length` bytes sum to 0 */
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} __attribute__((packed));

/* Generic Address Structure. */
struct acpi_gas {
	uint8_t space_id;         /* ACPI_GAS_* */
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;      /* 1 = byte */
	uint64_t address;
} __attribute__((packed));

#define ACPI_GAS_SYSTEM_IO 1

struct acpi_rsdp {
	char signature[8];        /* "RSD PTR " */
	uint8_t checksum;         /* of the first 20 bytes (the ACPI 1.0 part) */
	char oem_id[6];
	uint8_t revision;         /* 2: has length, xsdt_address, extended_checksum */
	uint32_t rsdt_address;    /* 0: only an XSDT */
	uint32_t length;          /* 36 */
	uint64_t xsdt_address;
	uint8_t extended_checksum; /* of all 36 bytes */
	uint8_t reserved[3];
} __attribute__((packed));

struct acpi_fadt {
	struct acpi_header h;
	uint32_t firmware_ctrl;   /* FACS: none in hardware-reduced ACPI */
	uint32_t dsdt;
	uint8_t reserved0;
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable, acpi_disable, s4bios_req, pstate_cnt;
	uint32_t pm1a_evt_blk, pm1b_evt_blk, pm1a_cnt_blk, pm1b_cnt_blk, pm2_cnt_blk;
	uint32_t pm_tmr_blk, gpe0_blk, gpe1_blk;
	uint8_t pm1_evt_len, pm1_cnt_len, pm2_cnt_len, pm_tmr_len;
	uint8_t gpe0_blk_len, gpe1_blk_len, gpe1_base, cst_cnt;
	uint16_t p_lvl2_lat, p_lvl3_lat, flush_size, flush_stride;
	uint8_t duty_offset, duty_width, day_alrm, mon_alrm, century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk, x_pm1b_evt_blk, x_pm1a_cnt_blk, x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk, x_pm_tmr_blk, x_gpe0_blk, x_gpe1_blk;
	struct acpi_gas sleep_control_reg, sleep_status_reg;
	char hypervisor_vendor_id[8];
} __attribute__((packed));

/* FADT flags and IA-PC boot architecture flags (ACPI 6.5 tables 5.10, 5.11). */
#define ACPI_FADT_WBINVD (1u << 0)
#define ACPI_FADT_PWR_BUTTON (1u << 4)   /* power button is a control method, if any */
#define ACPI_FADT_SLP_BUTTON (1u << 5)
#define ACPI_FADT_RESET_REG_SUP (1u << 10)
#define ACPI_FADT_HW_REDUCED (1u << 20)
#define ACPI_IAPC_LEGACY_DEVICES (1u << 0)
#define ACPI_IAPC_8042 (1u << 1)
#define ACPI_IAPC_NO_VGA (1u << 2)
#define ACPI_IAPC_NO_MSI (1u << 3)
#define ACPI_IAPC_NO_CMOS_RTC (1u << 5)

struct acpi_madt {
	struct acpi_header h;
	uint32_t lapic_address;
	uint32_t flags;           /* ACPI_MADT_PCAT_COMPAT */
} __attribute__((packed));

#define ACPI_MADT_PCAT_COMPAT (1u << 0)

enum acpi_madt_type {
	ACPI_MADT_LAPIC = 0,
	ACPI_MADT_IOAPIC = 1,
	ACPI_MADT_INT_OVERRIDE = 2,
	ACPI_MADT_LAPIC_NMI = 4,
	ACPI_MADT_X2APIC = 9,
	ACPI_MADT_X2APIC_NMI = 10,
};

struct acpi_madt_lapic {
	uint8_t type, length;     /* 0, 8 */
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;           /* ACPI_MADT_ENABLED */
} __attribute__((packed));

struct acpi_madt_x2apic {
	uint8_t type, length;     /* 9, 16 */
	uint16_t reserved;
	uint32_t x2apic_id;
	uint32_t flags;
	uint32_t processor_uid;
} __attribute__((packed));

#define ACPI_MADT_ENABLED (1u << 0)

struct acpi_madt_ioapic {
	uint8_t type, length;     /* 1, 12 */
	uint8_t id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} __attribute__((packed));

struct acpi_madt_int_override {
	uint8_t type, length;     /* 2, 10 */
	uint8_t bus;              /* 0 = ISA */
	uint8_t source;           /* ISA IRQ */
	uint32_t gsi;
	uint16_t flags;           /* ACPI_MPS_* polarity | trigger */
} __attribute__((packed));

struct acpi_madt_lapic_nmi {
	uint8_t type, length;     /* 4, 6 */
	uint8_t processor_uid;    /* 0xFF = all processors */
	uint16_t flags;
	uint8_t lint;
} __attribute__((packed));

struct acpi_madt_x2apic_nmi {
	uint8_t type, length;     /* 10, 12 */
	uint16_t flags;
	uint32_t processor_uid;   /* 0xFFFFFFFF = all processors */
	uint8_t lint;
	uint8_t reserved[3];
} __attribute__((packed));

/* MPS INTI flags: polarity in bits 0-1, trigger mode in bits 2-3. */
#define ACPI_MPS_CONFORMS 0x0
#define ACPI_MPS_ACTIVE_HIGH 0x1
#define ACPI_MPS_ACTIVE_LOW 0x3
#define ACPI_MPS_EDGE (0x1 << 2)
#define ACPI_MPS_LEVEL (0x3 << 2)

_Static_assert(sizeof(struct acpi_header) == 36, "ACPI header layout");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS layout");
_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP layout");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT (revision 6) layout");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT layout");
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT LAPIC layout");
_Static_assert(sizeof(struct acpi_madt_x2apic) == 16, "MADT x2APIC layout");
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT IOAPIC layout");
_Static_assert(sizeof(struct acpi_madt_int_override) == 10, "MADT override layout");
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "MADT LAPIC NMI layout");
_Static_assert(sizeof(struct acpi_madt_x2apic_nmi) == 12, "MADT x2APIC NMI layout");

/* A bump allocator over the ACPI area of guest memory. */
struct acpi_builder {
	struct guest_mem *m;
	uint64_t next, end;
};

/*
 * `len` zeroed bytes at the next 16-byte boundary; *gpa = their address.
 * NULL (err_msg) when they do not fit in the ACPI area or in RAM.
 */
void *acpi_alloc(struct acpi_builder *b, uint64_t len, uint64_t *gpa);

/* Fill a header (checksum 0); acpi_finish() computes the checksum last. */
void acpi_header_init(struct acpi_header *h, const char *signature, uint32_t length,
		      uint8_t revision, const char *oem_table_id);
void acpi_finish(struct acpi_header *h);

/* The byte that makes p[0..len) sum to 0 mod 256 when it replaces a 0. */
uint8_t acpi_checksum(const void *p, size_t len);

/* The builders, called bottom-up by acpi_build(); each gives its address. */
struct acpi_config;
int acpi_build_dsdt(struct acpi_builder *b, const struct acpi_config *c, uint64_t *gpa);
int acpi_build_fadt(struct acpi_builder *b, const struct acpi_config *c, uint64_t dsdt,
		    uint64_t *gpa);
int acpi_build_madt(struct acpi_builder *b, unsigned ncpus, const unsigned *apic_ids,
		    uint64_t *gpa);
int acpi_build_xsdt(struct acpi_builder *b, const uint64_t *tables, unsigned n, uint64_t *gpa);
void acpi_fill_rsdp(struct acpi_rsdp *r, uint64_t xsdt);

#endif
