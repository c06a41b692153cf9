/* SPDX-License-Identifier: MIT */
/*
 * The device model without KVM: device ids, the resource allocator (MMIO
 * windows, GSIs, overlaps), the kernel command line generated from the
 * devices, bus lookup, and the console backend (bounded output buffer,
 * Ctrl-A commands).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/debug_exit.h"
#include "devices/machine.h"
#include "exitcodes.h"
#include "util/err.h"
#include "vmm/console.h"
#include "vmm/event_loop.h"

/* A test class: an MMIO window and any GSI; opts "cmd" adds a command-line item. */
static int tdev_cmdline(const struct device *d, char *buf, size_t size)
{
	snprintf(buf, size, "tdev.device=0x%llx@%d", (unsigned long long)d->region[0].base,
		 d->gsi);
	return 0;
}

static int tdev_create(struct device *d, const char *opts)
{
	struct dev_region r = { .name = "tdev", .space = IO_MMIO, .len = 0x200 };

	if (opts && !strcmp(opts, "bad"))
		return err_set("bad option");
	d->irq_want = DEV_IRQ_ANY;
	if (opts && !strcmp(opts, "cmd"))
		d->cmdline = tdev_cmdline;
	return device_add_region(d, &r) ? 0 : -1;
}

static struct device_class tdev_class = { .name = "tdev", .create = tdev_create };
DEVICE_CLASS(tdev_class)

/* A class with a fixed port range (for overlap checks). */
static int tport_create(struct device *d, const char *opts)
{
	struct dev_region r = { .name = "tport", .space = IO_PIO, .base = 0x3f8, .len = 8 };

	return device_add_region(d, &r) ? 0 : -1;
}

static struct device_class tport_class = { .name = "tport", .create = tport_create };
DEVICE_CLASS(tport_class)

static void init(struct machine *m, unsigned gsi_last)
{
	machine_init(m);
	resource_alloc_init(&m->alloc, 0xD0000000ULL, 0xD0003000ULL, 0x1000, 5, gsi_last);
}

static void test_ids_and_errors(void **state)
{
	struct machine m;

	init(&m, 23);
	assert_non_null(machine_add(&m, "tdev", NULL, NULL));
	assert_non_null(machine_add(&m, "tdev", "disk-a", NULL));
	assert_non_null(machine_add(&m, "tdev", NULL, NULL));
	assert_string_equal(m.dev[0]->id, "tdev0");
	assert_string_equal(m.dev[2]->id, "tdev1");
	assert_null(machine_add(&m, "tdev", "disk-a", NULL));
	assert_non_null(strstr(err_msg(), "used twice"));
	assert_null(machine_add(&m, "tdev", "bad id!", NULL));
	assert_null(machine_add(&m, "tdev", NULL, "bad"));
	assert_non_null(strstr(err_msg(), "bad option"));
	assert_null(machine_add(&m, "no-such", NULL, NULL));
	assert_int_equal(m.n, 3);
	machine_free(&m);
}

static void test_allocator_hands_out_windows_and_gsis_in_order(void **state)
{
	struct machine m;

	init(&m, 23);
	assert_int_equal(resource_take_gsi(&m.alloc, 6, "fixed"), 0);
	assert_int_equal(resource_take_gsi(&m.alloc, 6, "again"), -1);
	for (int i = 0; i < 3; i++)
		assert_non_null(machine_add(&m, "tdev", NULL, NULL));
	assert_int_equal(machine_allocate(&m), 0);
	assert_int_equal(m.dev[0]->region[0].base, 0xD0000000ULL);
	assert_int_equal(m.dev[1]->region[0].base, 0xD0001000ULL);
	assert_int_equal(m.dev[2]->region[0].base, 0xD0002000ULL);
	assert_int_equal(m.dev[0]->gsi, 5);
	assert_int_equal(m.dev[1]->gsi, 7); /* 6 was taken */
	assert_int_equal(m.dev[2]->gsi, 8);
	assert_true(machine_needs_irqchip(&m));
	machine_free(&m);
}

static void test_allocator_runs_out_clearly(void **state)
{
	struct machine m;

	init(&m, 23);
	for (int i = 0; i < 4; i++) /* the range holds three windows */
		assert_non_null(machine_add(&m, "tdev", NULL, NULL));
	assert_int_equal(machine_allocate(&m), -1);
	assert_non_null(strstr(err_msg(), "no room"));
	machine_free(&m);

	init(&m, 6); /* two GSIs: 5 and 6 */
	m.alloc.mmio_end = 0xE0000000ULL;
	for (int i = 0; i < 3; i++)
		assert_non_null(machine_add(&m, "tdev", NULL, NULL));
	assert_int_equal(machine_allocate(&m), -1);
	assert_non_null(strstr(err_msg(), "no interrupt line left"));
	machine_free(&m);
}

static void test_overlapping_ports_are_refused(void **state)
{
	struct machine m;

	init(&m, 23);
	assert_non_null(machine_add(&m, "uart", NULL, NULL));
	assert_non_null(machine_add(&m, "tport", NULL, NULL));
	assert_int_equal(machine_allocate(&m), -1);
	assert_non_null(strstr(err_msg(), "overlaps uart0"));
	machine_free(&m);
}

static void test_fixed_gsi_conflict(void **state)
{
	struct machine m;

	init(&m, 23);
	assert_int_equal(resource_take_gsi(&m.alloc, 4, "someone"), 0);
	assert_non_null(machine_add(&m, "uart", NULL, NULL));
	assert_int_equal(machine_allocate(&m), -1);
	assert_non_null(strstr(err_msg(), "GSI 4 is already taken"));
	machine_free(&m);
}

/* Linux's reading of acpi= (arch/x86/kernel/acpi/boot.c parse_acpi): the last off/force wins. */
static void test_cmdline_acpi_off(void **state)
{
	static const struct {
		const char *cmdline;
		bool off;
	} cases[] = {
		{ "", false },
		{ "console=ttyS0", false },
		{ "acpi=off", true },
		{ "console=ttyS0 acpi=off panic=-1", true },
		{ "  acpi=off\t", true },
		{ "\"acpi=off\"", true },
		{ "acpi=off acpi=force", false },
		{ "acpi=force acpi=off", true },
		{ "acpi=noirq", false },           /* interrupt routing only: the DSDT is read */
		{ "acpi=offx", false },
		{ "xacpi=off", false },
		{ "pci=noacpi", false },
		{ "foo=\"bar acpi=off\"", false }, /* inside another option's value */
		{ "console=ttyS0 -- acpi=off", false }, /* init's argument, not the kernel's */
		{ "acpi=off -- acpi=force", true },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (linux_cmdline_acpi_off(cases[i].cmdline) != cases[i].off)
			fail_msg("'%s': expected ACPI %s", cases[i].cmdline,
				 cases[i].off ? "off" : "on");
}

static void test_cmdline_and_bus(void **state)
{
	struct machine m;
	char buf[256] = "console=ttyS0";
	struct device *d = NULL;
	struct device_host h = { 0 };

	init(&m, 23);
	assert_non_null(machine_add(&m, "tdev", NULL, "cmd"));
	assert_non_null(machine_add(&m, "tdev", NULL, NULL));
	assert_non_null(machine_add(&m, "tdev", NULL, "cmd"));
	assert_int_equal(machine_allocate(&m), 0);
	/* ACPI on (the DSDT describes the devices): nothing added */
	assert_int_equal(machine_cmdline(&m, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "console=ttyS0");
	/* ACPI off: the command line is the only description */
	snprintf(buf, sizeof(buf), "console=ttyS0 acpi=off");
	assert_int_equal(machine_cmdline(&m, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "console=ttyS0 acpi=off tdev.device=0xd0000000@5 "
				 "tdev.device=0xd0002000@7");
	snprintf(buf, sizeof(buf), "acpi=off");
	assert_int_equal(machine_cmdline(&m, buf, 20), -1); /* no room: an error, not a cut */

	assert_int_equal(machine_realize(&m, &h), 0);
	assert_non_null(machine_find(&m.mmio, 0xD0001000ULL, 4, &d));
	assert_ptr_equal(d, m.dev[1]);
	assert_non_null(machine_find(&m.mmio, 0xD00011FCULL, 4, &d));
	assert_null(machine_find(&m.mmio, 0xD00011FEULL, 4, &d)); /* crosses the end */
	assert_null(machine_find(&m.mmio, 0xD0001200ULL, 1, &d));
	machine_free(&m);
}

/* ---- accesses nobody claimed: counted, reported once */

static void test_unclaimed_accesses_are_summarised_once(void **state)
{
	struct machine m;
	char buf[256];

	machine_init(&m);
	assert_int_equal(machine_unclaimed_summary(&m, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	bus_unclaimed(&m.pio, 0x80, true);
	bus_unclaimed(&m.pio, 0x81, false);
	bus_unclaimed(&m.pio, 0x82, false);
	assert_true(machine_unclaimed_summary(&m, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "unclaimed accesses (reads gave all ones, writes were dropped): "
				 "port 2 reads, 1 writes (first at 0x80)");
	bus_unclaimed(&m.mmio, 0x100000000ULL, false);
	assert_true(machine_unclaimed_summary(&m, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "unclaimed accesses (reads gave all ones, writes were dropped): "
				 "port 2 reads, 1 writes (first at 0x80); "
				 "MMIO 1 reads, 0 writes (first at 0x100000000)");
	/* A short buffer is cut, never overrun; the length says how much was wanted. */
	assert_true(machine_unclaimed_summary(&m, buf, 10) > 10);
	assert_int_equal(strlen(buf), 9);
	machine_free(&m);
}

/* ---- which devices a VM gets (machine_init_pc) */

/* The class of the device whose port region holds `port`, or NULL. */
static const char *port_owner(const struct machine *m, uint64_t port)
{
	for (unsigned i = 0; i < m->n; i++)
		for (unsigned j = 0; j < m->dev[i]->nregion; j++) {
			const struct dev_region *r = &m->dev[i]->region[j];

			if (r->space == IO_PIO && port >= r->base && port - r->base < r->len)
				return m->dev[i]->cls->name;
		}
	return NULL;
}

static void test_guest_ports_follow_the_guest(void **state)
{
	/* embedded guests get every port, with or without --debug-exit */
	assert_int_equal(machine_guest_ports(true, false), MACHINE_PORTS_EMBEDDED);
	assert_int_equal(machine_guest_ports(true, true), MACHINE_PORTS_EMBEDDED);
	/* the user's kernel: none, or debug-exit alone when asked for */
	assert_int_equal(machine_guest_ports(false, false), 0);
	assert_int_equal(machine_guest_ports(false, true), MACHINE_PORT_DEBUG_EXIT);
}

/* The PC platform's devices and the ACPI/command-line view, for each port set. */
static void check_pc(unsigned ports, const char *const *want, size_t nwant)
{
	struct machine m;
	struct acpi_device devs[MACHINE_MAX_DEVICES];
	struct acpi_config cfg = { 0 };
	char cmdline[64] = "console=ttyS0";

	if (machine_init_pc(&m, ports) < 0)
		fail_msg("machine_init_pc(%u): %s", ports, err_msg());
	assert_int_equal(machine_allocate(&m), 0);
	if (m.n != nwant)
		fail_msg("ports %u: %u devices, expected %zu", ports, m.n, nwant);
	for (size_t i = 0; i < nwant; i++)
		assert_string_equal(m.dev[i]->cls->name, want[i]);
	/* the PC ports are always there */
	assert_string_equal(port_owner(&m, 0x3f8), "uart");
	assert_string_equal(port_owner(&m, 0x64), "i8042");
	assert_string_equal(port_owner(&m, 0x600), "acpi-pm");
	assert_string_equal(port_owner(&m, 0x604), "power-button");
	/* skyvm's own ports exactly when selected */
	if (ports & MACHINE_PORT_DEBUG_EXIT)
		assert_string_equal(port_owner(&m, 0x501), "debug-exit");
	else
		assert_null(port_owner(&m, 0x501));
	if (ports & MACHINE_PORTS_REPORT) {
		assert_string_equal(port_owner(&m, 0x510), "probe-port");
		assert_string_equal(port_owner(&m, 0x512), "bulk-port");
	} else {
		assert_null(port_owner(&m, 0x510));
		assert_null(port_owner(&m, 0x512));
	}
	/* ACPI and the kernel command line describe the same PC either way */
	machine_acpi_devices(&m, devs, &cfg);
	assert_int_equal(cfg.sleep_control_port, 0x600);
	/* COM1, the keyboard controller, the RTC, the power button's event device */
	assert_int_equal(cfg.ndevs, 4);
	assert_string_equal(devs[0].hid, "PNP0501");
	assert_string_equal(devs[1].hid, "PNP0303");
	assert_string_equal(devs[2].hid, "PNP0B00");
	assert_string_equal(devs[3].hid, "ACPI0013");
	assert_int_equal(machine_cmdline(&m, cmdline, sizeof(cmdline)), 0);
	assert_string_equal(cmdline, "console=ttyS0");
	machine_free(&m);
}

static void test_pc_machine_per_guest(void **state)
{
	static const char *const kernel[] = { "uart", "i8042", "rtc", "acpi-pm", "power-button" };
	static const char *const kernel_debug_exit[] = { "uart", "i8042", "rtc", "acpi-pm",
							 "debug-exit", "power-button" };
	static const char *const embedded[] = { "uart", "i8042", "rtc", "acpi-pm", "debug-exit",
						"probe-port", "bulk-port", "power-button" };

	check_pc(machine_guest_ports(false, false), kernel, 5);
	check_pc(machine_guest_ports(false, true), kernel_debug_exit, 6);
	check_pc(machine_guest_ports(true, false), embedded, 8);
}

/* ---- the debug-exit port's status mapping */

static void test_no_guest_status_becomes_a_skyvm_code(void **state)
{
	static const int own[] = { EXIT_ERROR, EXIT_USAGE, EXIT_CPU_MISMATCH,
				   EXIT_CPU_INCOMPATIBLE, EXIT_GUEST_STATUS, EXIT_GUEST_SHUTDOWN,
				   EXIT_GUEST_INTERNAL, EXIT_GUEST_FAIL_ENTRY,
				   EXIT_GUEST_UNHANDLED, EXIT_TIMEOUT, EXIT_GUEST_OUTPUT,
				   EXIT_SIGNAL_BASE + 2, EXIT_SIGNAL_BASE + 15, 255 };

	for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
		if (!exit_code_is_skyvms(own[i]))
			fail_msg("%d is skyvm's own code", own[i]);
	for (unsigned s = 0; s < 256; s++) {
		int code = debug_exit_code((uint8_t)s);
		bool passes = s == 0 || (s >= 5 && s <= 118) || s == 126 || s == 127;

		if (code == EXIT_TIMEOUT)
			fail_msg("status %u became 124, the time-out code", s);
		if (passes && code != (int)s)
			fail_msg("status %u became %d, expected it unchanged", s, code);
		if (!passes && code != EXIT_GUEST_STATUS)
			fail_msg("status %u became %d, expected %d", s, code, EXIT_GUEST_STATUS);
		if (code != EXIT_GUEST_STATUS && exit_code_is_skyvms(code))
			fail_msg("status %u became skyvm's own code %d", s, code);
	}
}

struct stop_record {
	int code, stops;
	char reason[512];
};

static void record_stop(void *ctx, int code, const char *reason)
{
	struct stop_record *r = ctx;

	r->code = code;
	r->stops++;
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
}

/* The device as a vCPU's port exit reaches it: through the machine's bus. */
static void write_debug_exit(uint8_t status, struct stop_record *rec)
{
	struct machine m;
	struct device *d = NULL;
	struct device_host h = { .ctx = rec, .stop = record_stop };
	const struct dev_region *r;

	memset(rec, 0, sizeof(*rec));
	assert_int_equal(machine_init_pc(&m, MACHINE_PORT_DEBUG_EXIT), 0);
	assert_int_equal(machine_allocate(&m), 0);
	/* only the debug-exit device: the others want a console backend to realize */
	for (unsigned i = 0; i < m.n; i++)
		if (!strcmp(m.dev[i]->cls->name, "debug-exit"))
			d = m.dev[i];
	if (!d)
		fail_msg("no debug-exit device");
	d->host = &h;
	r = &d->region[0];
	assert_int_equal(r->base, 0x501);
	r->write(d, 1, 0x501, &status, 1);
	machine_free(&m);
}

static void test_debug_exit_device_maps_the_status(void **state)
{
	struct stop_record rec;

	write_debug_exit(42, &rec);
	assert_int_equal(rec.stops, 1);
	assert_int_equal(rec.code, 42);
	assert_string_equal(rec.reason, "guest wrote 42 to the debug-exit port (vCPU 1)");

	write_debug_exit(124, &rec);
	assert_int_equal(rec.code, EXIT_GUEST_STATUS);
	assert_non_null(strstr(rec.reason, "guest wrote 124 to the debug-exit port (vCPU 1)"));
	assert_non_null(strstr(rec.reason, "skyvm exits with 119"));

	write_debug_exit(0, &rec);
	assert_int_equal(rec.code, 0);
	write_debug_exit(1, &rec);
	assert_int_equal(rec.code, EXIT_GUEST_STATUS);
	write_debug_exit(0x7f, &rec); /* the embedded guests' exception status */
	assert_int_equal(rec.code, 0x7f);
}

/* ---- console */
struct typed {
	uint8_t b[64];
	size_t n;
	int quits;
};

static void sink(void *opaque, const uint8_t *buf, size_t len)
{
	struct typed *t = opaque;

	memcpy(t->b + t->n, buf, len);
	t->n += len;
}

static void quit(void *ctx)
{
	((struct typed *)ctx)->quits++;
}

static void test_console_escape(void **state)
{
	struct console c;
	struct typed t = { .n = 0 };

	assert_int_equal(console_open(&c, "none", 0), 0);
	console_set_input(&c, sink, &t, false);
	c.quit = quit;
	c.quit_ctx = &t;
	console_input(&c, (const uint8_t *)"ab\x01\x01" "c\x01z", 7);
	assert_int_equal(t.n, 7);
	assert_memory_equal(t.b, "ab\x01\x01" "c\x01z", 7); /* not a terminal: no commands */
	t.n = 0;
	c.escapes = true;
	console_input(&c, (const uint8_t *)"ab\x01\x01" "c\x01z", 7);
	assert_int_equal(t.n, 6);
	assert_memory_equal(t.b, "ab\x01" "c\x01z", 6); /* ^A^A -> ^A; ^A z -> both */
	t.n = 0;
	console_input(&c, (const uint8_t *)"q\x01", 2); /* split across reads */
	console_input(&c, (const uint8_t *)"xrest", 5);
	assert_int_equal(t.quits, 1);
	assert_int_equal(t.n, 1);
	console_close(&c);
}

static void test_console_output_never_blocks(void **state)
{
	struct console c;
	struct event_loop loop;
	int p[2];
	static uint8_t chunk[65536];
	uint64_t total = 0;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(event_loop_init(&loop), 0);
	assert_int_equal(console_open(&c, "none", 0), 0);
	c.out_fd = p[1];
	assert_int_equal(console_attach(&c, &loop, NULL, NULL), 0);
	assert_true(c.out_async);
	/* Nobody reads the pipe: 10 MiB must return at once, the excess dropped. */
	for (int i = 0; i < 160; i++) {
		assert_true(console_write(&c, chunk, sizeof(chunk)));
		total += sizeof(chunk);
	}
	assert_true(c.dropped > 0);
	assert_true(c.dropped < total);
	console_finish(&c, 10);
	assert_int_equal(c.len, 0);
	assert_true(c.dropped >= total - CONSOLE_BUFFER - 65536 * 16);
	close(p[0]);
	/* The reader is gone: EPIPE is counted, not fatal. */
	c.out_async = false;
	c.out_gone = false;
	c.finished = false;
	signal(SIGPIPE, SIG_IGN);
	console_write(&c, chunk, 10);
	assert_true(c.out_gone);
	c.out_fd = -1;
	close(p[1]);
	console_close(&c);
	event_loop_destroy(&loop);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_and_errors),
		cmocka_unit_test(test_allocator_hands_out_windows_and_gsis_in_order),
		cmocka_unit_test(test_allocator_runs_out_clearly),
		cmocka_unit_test(test_overlapping_ports_are_refused),
		cmocka_unit_test(test_fixed_gsi_conflict),
		cmocka_unit_test(test_cmdline_acpi_off),
		cmocka_unit_test(test_cmdline_and_bus),
		cmocka_unit_test(test_unclaimed_accesses_are_summarised_once),
		cmocka_unit_test(test_guest_ports_follow_the_guest),
		cmocka_unit_test(test_pc_machine_per_guest),
		cmocka_unit_test(test_no_guest_status_becomes_a_skyvm_code),
		cmocka_unit_test(test_debug_exit_device_maps_the_status),
		cmocka_unit_test(test_console_escape),
		cmocka_unit_test(test_console_output_never_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
