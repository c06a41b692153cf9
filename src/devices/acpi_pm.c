/* SPDX-License-Identifier: MIT */
/*
 * ACPI power management, hardware-reduced (ACPI 6.5 4.8.3.7): the sleep
 * control register (port 0x600) and sleep status register (0x601) the FADT
 * points at, with \_S5 in the DSDT giving SLP_TYP 5.
 *
 * A guest powers off by writing SLP_TYP << 2 | SLP_EN to the control
 * register; with SLP_TYP 5 (S5, soft off) the VM ends with status 0.  Other
 * sleep states are not offered (the DSDT has only \_S5) and a write of one
 * is reported once and ignored.  The status register reads 0 (WAK_STS is
 * never set: no sleep state returns); writes to it are ignored.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "acpi/acpi.h"
#include "devices/device.h"
#include "exitcodes.h"
#include "util/err.h"

#define ACPI_PM_PORT 0x600 /* control, then status */

struct acpi_pm {
	atomic_bool warned; /* an unsupported sleep type was reported */
};

static void pm_read(struct device *d, unsigned cpu, uint64_t addr, uint8_t *data, unsigned size)
{
	for (unsigned i = 0; i < size; i++)
		data[i] = 0;
}

static void pm_write(struct device *d, unsigned cpu, uint64_t addr, const uint8_t *data,
		     unsigned size)
{
	unsigned v = data[0], typ = (v & ACPI_SLEEP_TYP_MASK) >> ACPI_SLEEP_TYP_SHIFT;

	if (addr != ACPI_PM_PORT || !(v & ACPI_SLEEP_EN))
		return;
	if (typ == ACPI_S5_SLP_TYP) {
		dev_stop(d, EXIT_OK, "guest powered off (ACPI S5 on vCPU %u)", cpu);
		return;
	}
	struct acpi_pm *pm = d->state;

	if (!atomic_exchange(&pm->warned, true))
		fprintf(stderr, "skyvm: %s: guest asked for sleep type %u, which is not offered; "
			"ignored\n", d->id, typ);
}

static int pm_create(struct device *d, const char *opts)
{
	struct dev_region r = {
		.name = "acpi-sleep", .space = IO_PIO, .base = ACPI_PM_PORT, .len = 2,
		.read = pm_read, .write = pm_write,
	};

	d->state = calloc(1, sizeof(struct acpi_pm));
	if (!d->state)
		return err_set("out of memory");
	d->acpi_sleep = true;
	return device_add_region(d, &r) ? 0 : -1;
}

static void pm_destroy(struct device *d)
{
	free(d->state);
	d->state = NULL;
}

static struct device_class acpi_pm_class = {
	.name = "acpi-pm",
	.create = pm_create,
	.destroy = pm_destroy,
};
DEVICE_CLASS(acpi_pm_class)
