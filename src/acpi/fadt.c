/* SPDX-License-Identifier: MIT */
/*
 * The FADT, revision 6, hardware-reduced: there is no PM1 block, PM timer,
 * GPE or SCI to describe, so those fields stay zero and the OS uses none of
 * them.  What it still says:
 *   - the DSDT (32- and 64-bit fields equal, as ACPICA prefers);
 *   - IAPC_BOOT_ARCH: legacy devices present (COM1 and the i8042 are ISA
 *     devices), an 8042 present (else Linux marks the i8042 "firmware
 *     absent" and never probes it, and skyvm's i8042 is how a guest resets),
 *     no VGA.  The CMOS RTC is present, so NO_CMOS_RTC stays clear;
 *   - a reset register: port 0x64 <- 0xFE, the i8042 reset skyvm implements,
 *     which is what Linux tries first on reboot (reboot=acpi);
 *   - the sleep control and status registers (hardware-reduced sleep,
 *     ACPI 6.5 4.8.3.7), when the machine has them (the acpi-pm device):
 *     with \_S5 in the DSDT, Linux powers off by writing SLP_TYP | SLP_EN
 *     to the control register (it needs both registers to offer S5);
 *   - the hypervisor vendor id.
 */
#include <string.h>

#include "acpi/acpi.h"
#include "acpi/tables.h"

#define FADT_REVISION 6
#define FADT_MINOR_VERSION 0 /* ACPI 6.0: the first FADT with the hypervisor id */
#define I8042_COMMAND_PORT 0x64
#define I8042_CMD_RESET 0xFE

int acpi_build_fadt(struct acpi_builder *b, const struct acpi_config *c, uint64_t dsdt,
		    uint64_t *gpa)
{
	struct acpi_fadt *f = acpi_alloc(b, sizeof(*f), gpa);

	if (!f)
		return -1;
	acpi_header_init(&f->h, "FACP", sizeof(*f), FADT_REVISION, "SKYVFADT");
	f->minor_version = FADT_MINOR_VERSION;
	f->dsdt = (uint32_t)dsdt;
	f->x_dsdt = dsdt;
	f->flags = ACPI_FADT_WBINVD | ACPI_FADT_PWR_BUTTON | ACPI_FADT_SLP_BUTTON |
		   ACPI_FADT_RESET_REG_SUP | ACPI_FADT_HW_REDUCED;
	f->iapc_boot_arch = ACPI_IAPC_LEGACY_DEVICES | ACPI_IAPC_8042 | ACPI_IAPC_NO_VGA;
	f->reset_reg = (struct acpi_gas){
		.space_id = ACPI_GAS_SYSTEM_IO,
		.bit_width = 8,
		.bit_offset = 0,
		.access_size = 1,
		.address = I8042_COMMAND_PORT,
	};
	f->reset_value = I8042_CMD_RESET;
	if (c->sleep_control_port && c->sleep_status_port) {
		f->sleep_control_reg = (struct acpi_gas){
			.space_id = ACPI_GAS_SYSTEM_IO, .bit_width = 8, .access_size = 1,
			.address = c->sleep_control_port,
		};
		f->sleep_status_reg = (struct acpi_gas){
			.space_id = ACPI_GAS_SYSTEM_IO, .bit_width = 8, .access_size = 1,
			.address = c->sleep_status_port,
		};
	}
	memcpy(f->hypervisor_vendor_id, "SKYVM   ", sizeof(f->hypervisor_vendor_id));
	acpi_finish(&f->h);
	return 0;
}
