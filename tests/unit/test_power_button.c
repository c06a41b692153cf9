/* SPDX-License-Identifier: MIT */
/*
 * The power button (devices/power_button.c) without KVM: where the PC
 * machine puts it (port 0x604, the highest GSI, level; the command line's
 * devices keep GSI 5 up; no irqchip forced), the event register a guest's
 * _EVT reads (read-to-clear, the line up exactly while an event is pending),
 * reset, and the snapshot state (a pending press survives save/load and
 * raises the line again; malformed state is refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "boot/layout.h"
#include "devices/machine.h"
#include "util/err.h"

#define GED_PORT 0x604
#define EVT_POWER_BUTTON 0x2u

/* A device host that records the interrupt line. */
struct fake_vm {
	int level[64];   /* -1: never driven */
	unsigned calls;
};

static void fake_set_irq(void *ctx, unsigned gsi, bool level)
{
	struct fake_vm *f = ctx;

	assert_true(gsi < 64);
	f->level[gsi] = level;
	f->calls++;
}

static void fake_stop(void *ctx, int code, const char *reason)
{
	fail_msg("the power button stopped the VM: %s", reason);
}

/* A machine holding the power button alone, realized on a fake host. */
struct rig {
	struct machine m;
	struct fake_vm vm;
	struct device_host host;
	struct device *pb;
};

static void rig_up(struct rig *r)
{
	memset(r, 0, sizeof(*r));
	for (int i = 0; i < 64; i++)
		r->vm.level[i] = -1;
	r->host = (struct device_host){ .ctx = &r->vm, .ncpus = 1, .set_irq = fake_set_irq,
					.stop = fake_stop };
	machine_init(&r->m);
	resource_alloc_init(&r->m.alloc, LAYOUT_MMIO_START, LAYOUT_MMIO_END, LAYOUT_MMIO_WINDOW,
			    5, 23);
	r->pb = machine_add(&r->m, "power-button", NULL, NULL);
	assert_non_null(r->pb);
	if (machine_realize(&r->m, &r->host) < 0)
		fail_msg("machine_realize: %s", err_msg());
}

static uint32_t reg_read(struct rig *r, uint64_t port, unsigned size)
{
	struct device *d = NULL;
	const struct dev_region *reg = machine_find(&r->m.pio, port, size, &d);
	uint8_t b[4] = { 0 };
	uint32_t v = 0;

	assert_non_null(reg);
	assert_ptr_equal(d, r->pb);
	reg->read(d, 0, port, b, size);
	for (unsigned i = 0; i < size; i++)
		v |= (uint32_t)b[i] << (8 * i);
	return v;
}

static void reg_write(struct rig *r, uint64_t port, uint32_t v)
{
	struct device *d = NULL;
	const struct dev_region *reg = machine_find(&r->m.pio, port, 4, &d);
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };

	assert_non_null(reg);
	reg->write(d, 0, port, b, 4);
}

static void test_placed_on_the_pc_machine(void **state)
{
	struct machine m;
	struct device *pb, *disk;
	struct acpi_device devs[MACHINE_MAX_DEVICES];
	struct acpi_config cfg = { .ncpus = 1 };
	const struct acpi_device *ged = NULL;

	assert_int_equal(machine_init_pc(&m, machine_guest_ports(false, false)), 0);
	pb = machine_device(&m, "power-button0");
	assert_non_null(pb);
	/* a device the command line adds after the standard ones: still GSI 5 */
	disk = machine_add(&m, "virtio-rng", NULL, NULL);
	assert_non_null(disk);
	assert_int_equal(machine_allocate(&m), 0);
	assert_int_equal(pb->gsi, 23);
	assert_int_equal(disk->gsi, 5);
	assert_int_equal(disk->region[0].base, 0xD0000000ULL);
	assert_int_equal(pb->nregion, 1);
	assert_int_equal(pb->region[0].space, IO_PIO);
	assert_int_equal(pb->region[0].base, GED_PORT);
	assert_int_equal(pb->region[0].len, 4);
	/* the legacy guests run without an irqchip: the button does not force one */
	assert_true(pb->irq_optional);

	machine_acpi_devices(&m, devs, &cfg);
	for (unsigned i = 0; i < cfg.ndevs; i++)
		if (!strcmp(devs[i].hid, "ACPI0013"))
			ged = &devs[i];
	if (!ged)
		fail_msg("no ACPI0013 device in the machine's ACPI view");
	assert_string_equal(ged->name, "GED0");
	assert_int_equal(ged->nres, 0);   /* the register stays out of _CRS */
	assert_int_equal(ged->irq, 23);
	assert_true(ged->irq_level_high);
	assert_false(ged->irq_edge_high);
	assert_non_null(ged->aml);
	machine_free(&m);
}

static void test_machine_without_button(void **state)
{
	struct machine m;

	machine_init(&m);
	assert_int_equal(machine_power_button(&m), -1);
	assert_non_null(strstr(err_msg(), "no power button"));
	machine_free(&m);
}

static void test_event_register_read_clears(void **state)
{
	struct rig r;

	rig_up(&r);
	/* nothing pending: reads 0, the line is down (or never raised) */
	assert_int_equal(reg_read(&r, GED_PORT, 4), 0);
	assert_true(r.vm.level[23] <= 0);

	assert_int_equal(machine_power_button(&r.m), 0);
	assert_int_equal(r.vm.level[23], 1);
	/* a second press before the guest reads is the same single event */
	assert_int_equal(machine_power_button(&r.m), 0);
	assert_int_equal(r.vm.level[23], 1);
	/* writes change nothing */
	reg_write(&r, GED_PORT, 0xFFFFFFFF);
	reg_write(&r, GED_PORT, 0);
	assert_int_equal(r.vm.level[23], 1);
	/* _EVT's read: the event, once; the line goes down with it */
	assert_int_equal(reg_read(&r, GED_PORT, 4), EVT_POWER_BUTTON);
	assert_int_equal(r.vm.level[23], 0);
	assert_int_equal(reg_read(&r, GED_PORT, 4), 0);
	assert_int_equal(r.vm.level[23], 0);

	/* a byte read clears only the byte it returned */
	assert_int_equal(machine_power_button(&r.m), 0);
	assert_int_equal(reg_read(&r, GED_PORT + 1, 1), 0);
	assert_int_equal(r.vm.level[23], 1);
	assert_int_equal(reg_read(&r, GED_PORT, 1), EVT_POWER_BUTTON);
	assert_int_equal(r.vm.level[23], 0);

	/* reset forgets a press */
	assert_int_equal(machine_power_button(&r.m), 0);
	machine_reset(&r.m);
	assert_int_equal(r.vm.level[23], 0);
	assert_int_equal(reg_read(&r, GED_PORT, 4), 0);
	machine_free(&r.m);
}

static void test_save_load_round_trip(void **state)
{
	struct rig a, b;
	uint8_t buf[64], bad[64];
	size_t len = 0;
	const struct device_ops *ops;

	rig_up(&a);
	ops = &a.pb->cls->ops;
	assert_non_null(ops->save);
	assert_non_null(ops->load);

	/* nothing pending: loads as nothing pending, the line down */
	assert_int_equal(ops->save(a.pb, buf, sizeof(buf), &len), 0);
	rig_up(&b);
	assert_int_equal(ops->load(b.pb, buf, len), 0);
	assert_int_equal(b.vm.level[23], 0);
	assert_int_equal(reg_read(&b, GED_PORT, 4), 0);
	machine_free(&b.m);

	/* a press the guest has not read yet survives, and raises the line again */
	assert_int_equal(machine_power_button(&a.m), 0);
	assert_int_equal(ops->save(a.pb, buf, sizeof(buf), &len), 0);
	assert_int_equal(reg_read(&a, GED_PORT, 4), EVT_POWER_BUTTON); /* saving did not clear it */
	rig_up(&b);
	assert_int_equal(ops->load(b.pb, buf, len), 0);
	assert_int_equal(b.vm.level[23], 1);
	assert_int_equal(reg_read(&b, GED_PORT, 4), EVT_POWER_BUTTON);
	assert_int_equal(b.vm.level[23], 0);

	/* too small a buffer, and state that is not this device's, are refused */
	assert_int_equal(ops->save(a.pb, buf, 2, &len), -1);
	assert_int_equal(ops->save(a.pb, buf, sizeof(buf), &len), 0);
	assert_int_equal(ops->load(b.pb, buf, len - 1), -1);
	memcpy(bad, buf, len);
	bad[0] = 99; /* version */
	assert_int_equal(ops->load(b.pb, bad, len), -1);
	assert_non_null(strstr(err_msg(), "version"));
	memcpy(bad, buf, len);
	bad[len - 1] = 0x80; /* an event this device does not have */
	assert_int_equal(ops->load(b.pb, bad, len), -1);
	assert_non_null(strstr(err_msg(), "malformed"));
	machine_free(&a.m);
	machine_free(&b.m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placed_on_the_pc_machine),
		cmocka_unit_test(test_machine_without_button),
		cmocka_unit_test(test_event_register_read_clears),
		cmocka_unit_test(test_save_load_round_trip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
