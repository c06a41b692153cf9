/* SPDX-License-Identifier: MIT */
/*
 * The guest's ACPI tables, built bottom-up in [LAYOUT_ACPI_START,
 * LAYOUT_ACPI_END): DSDT, FADT -> DSDT, MADT, XSDT -> {FADT, MADT}, and the
 * RSDP -> XSDT at LAYOUT_ACPI_START itself, where the legacy scan of
 * 0xE0000-0xFFFFF finds it when the kernel is not told its address.
 * Hardware-reduced ACPI: no PM timer, no SCI, no FACS.  What a guest needs
 * from ACPI here is the CPUs and the interrupt controller (MADT), the devices
 * it cannot enumerate (DSDT, generated from the machine's devices), and the
 * sleep registers and \_S5 that let it power off.
 */
#ifndef SKYVM_ACPI_ACPI_H
#define SKYVM_ACPI_ACPI_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/guest_mem.h"

#define ACPI_DEV_MAX_RES 4

struct aml;

/* One device in the DSDT (a realized device's resources). */
struct acpi_device {
	char name[5];             /* ACPI name segment, e.g. "COM1" */
	const char *hid;          /* "PNP0501" (written as EisaId) or "LNRO0005" (string) */
	unsigned uid;
	struct {
		bool mmio;            /* Memory32Fixed, else IO (Decode16) */
		uint64_t base, len;
	} res[ACPI_DEV_MAX_RES];
	unsigned nres;
	int irq;                  /* -1: none */
	bool irq_edge_high;       /* Interrupt () descriptor, edge, active high, else IRQNoFlags */
	bool irq_level_high;      /* Interrupt () descriptor, level, active high */
	/*
	 * Optional: AML the device adds (acpi/aml.h): `body` inside its Device ()
	 * after _CRS, `scope` after it in \_SB.  Called with aml_ctx.
	 */
	void (*aml)(const void *aml_ctx, struct aml *body, struct aml *scope);
	const void *aml_ctx;
};

/* The sleep value \_S5 gives for SLP_TYP, written to the sleep control register. */
#define ACPI_S5_SLP_TYP 5
/* Sleep control register (hardware-reduced, ACPI 6.5 4.8.3.7): SLP_TYP bits 2-4, SLP_EN 5. */
#define ACPI_SLEEP_TYP_SHIFT 2
#define ACPI_SLEEP_TYP_MASK 0x1C
#define ACPI_SLEEP_EN 0x20

struct acpi_config {
	unsigned ncpus;
	const unsigned *apic_ids; /* ncpus ids; NULL = 0..ncpus-1 */
	const struct acpi_device *devs;
	unsigned ndevs;
	uint16_t sleep_control_port; /* 0: no sleep registers, no \_S5 */
	uint16_t sleep_status_port;
};

/*
 * Build every table.  *rsdp = the RSDP's guest address.  Returns 0 or -1
 * (err_msg): no vCPUs, an invalid or repeated APIC id, or tables that do not fit.
 */
int acpi_build_tables(struct guest_mem *m, const struct acpi_config *c, uint64_t *rsdp);

/* The tables for CPUs alone: no DSDT devices, no sleep registers. */
int acpi_build(struct guest_mem *m, unsigned ncpus, const unsigned *apic_ids, uint64_t *rsdp);

#endif
