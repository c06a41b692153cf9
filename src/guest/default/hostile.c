/* SPDX-License-Identifier: MIT */
/*
 * Hostile `test=` cases of the default guest: a guest doing what no OS
 * should, each with one defined outcome that tests/e2e/test_hostile.py
 * holds skyvm to.  docs/hostile-guests.md has the table.
 *
 *   wild-pio         out then in on every byte port that no device claims
 *   wild-mmio        32-bit write then read across the MMIO hole and above RAM
 *   halt             cli; hlt on the boot CPU
 *   no-ap            --cpus >= 2, the APs are never sent INIT/SIPI; exit 0
 *   acpi-write       overwrite the RSDP, XSDT, DSDT and every other table,
 *                    then power off through the ACPI sleep port
 *   ap-triple-fault  the APs triple-fault, the boot CPU spins on
 *
 * The sweeps cost one exit per access (twice per address): about 131 000
 * for the ports and 11 000 for MMIO, a few seconds under nested KVM on QEMU
 * TCG (~70 us an exit) and about one here.
 */
#include "default/hostile.h"

#include "lib/boot.h"
#include "lib/console.h"
#include "lib/io.h"
#include "lib/ports.h"
#include "lib/smp.h"
#include "lib/string.h"
#include "lib/trap.h"

#define WILD_PIO_VALUE 0x5a
#define WILD_MMIO_VALUE 0x5a5a5a5au

/* skyvm's acpi-pm device (docs/devices.md "ACPI power-off"): S5 is SLP_TYP 5. */
#define ACPI_SLEEP_CONTROL 0x600
#define ACPI_GED_EVENT 0x604 /* the power button's event register (power-button0) */
#define ACPI_SLEEP_S5 ((5u << 2) | (1u << 5))

#define E820_RAM 1
#define MIB (1ull << 20)
#define GIB (1ull << 30)

static volatile int ap_mode;
enum { AP_NORMAL, AP_TRIPLE_FAULT };

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

/*
 * Ports the guest leaves alone, sorted: skyvm's devices (docs/devices.md:
 * uart, i8042, rtc, acpi-pm, power-button, debug-exit, probe, bulk) and KVM's in-kernel
 * legacy devices, present with an irqchip (PIC 0x20/0xa0, PIT 0x40-0x43 and
 * port 0x61, ELCR 0x4d0).  Everything else is nobody's.
 */
static const struct {
	uint16_t base, len;
} claimed_ports[] = {
	{ 0x20, 2 },   { 0x40, 4 },    { 0x60, 2 }, { 0x64, 1 },
	{ 0x70, 2 },   { 0xa0, 2 },    { GUEST_PORT_COM1, 8 },
	{ 0x4d0, 2 },  { GUEST_PORT_DEBUG_EXIT, 1 }, { GUEST_PORT_PROBE_DATA, 1 },
	{ GUEST_PORT_BULK, 1 }, { ACPI_SLEEP_CONTROL, 2 }, { ACPI_GED_EVENT, 4 },
};
#define NCLAIMED (sizeof(claimed_ports) / sizeof(claimed_ports[0]))

static __attribute__((noreturn)) void wild_pio(void)
{
	uint32_t port = 0, accessed = 0, bad = 0, first_bad = 0;
	uint8_t first_val = 0;

	out_now("guest: test=wild-pio: out and in on every unclaimed port\n");
	for (unsigned i = 0; i <= NCLAIMED; i++) {
		uint32_t end = i < NCLAIMED ? claimed_ports[i].base : 0x10000;

		for (; port < end; port++) {
			uint8_t v;

			outb((uint16_t)port, WILD_PIO_VALUE);
			v = inb((uint16_t)port);
			accessed++;
			if (v != 0xff && !bad++) {
				first_bad = port;
				first_val = v;
			}
		}
		if (i < NCLAIMED)
			port = claimed_ports[i].base + claimed_ports[i].len;
	}
	out_now("guest: wild-pio: %u ports, %u writes, %u reads, %u not all ones\n", accessed,
		accessed, accessed, bad);
	if (bad) {
		out_now("guest: wild-pio: port 0x%x read 0x%x\n", first_bad, first_val);
		guest_exit(GUEST_STATUS_TEST_FAILED);
	}
	guest_exit(GUEST_STATUS_OK);
}

/* The end of RAM below 4 GiB and whether there is RAM above, from the PVH memory map. */
static uint64_t low_ram_end(bool *high_ram)
{
	const struct hvm_start_info *si = boot_info.start_info;
	const struct {
		uint64_t addr, size;
		uint32_t type, reserved;
	} *e = phys_ptr(si->memmap_paddr);
	uint64_t end = 0;

	*high_ram = false;
	for (uint32_t i = 0; i < si->memmap_entries; i++) {
		if (e[i].type != E820_RAM)
			continue;
		if (e[i].addr >= 4 * GIB)
			*high_ram = true;
		else if (e[i].addr + e[i].size > end)
			end = e[i].addr + e[i].size;
	}
	return end;
}

/* 4-5 GiB, 2 MiB pages, uncached: the library's tables map 0-4 GiB only. */
static uint64_t pd_high[512] __attribute__((aligned(4096)));
extern uint64_t pml4[];

static void map_5th_gib(void)
{
	uint64_t *pdpt = phys_ptr(pml4[0] & ~0xfffull);

	for (unsigned i = 0; i < 512; i++)
		pd_high[i] = (4 * GIB + i * 2 * MIB) | 0x83 | 0x18;
	pdpt[4] = (uintptr_t)pd_high | 3;
	__asm__ volatile("mov %%cr3, %%rax; mov %%rax, %%cr3" ::: "rax", "memory");
}

struct sweep {
	uint64_t start, end, stride;
};

static __attribute__((noreturn)) void wild_mmio(void)
{
	bool high_ram;
	uint64_t ram_end = (low_ram_end(&high_ram) + MIB - 1) & ~(MIB - 1);
	/*
	 * Every 4 KiB page of the first MiB of skyvm's device-window range
	 * (windows are handed out there in 4 KiB steps, docs/devices.md), every
	 * MiB elsewhere: all 188 000 pages of the hole would take minutes under
	 * nested TCG.  Skipped: the IOAPIC and LAPIC pages (in-kernel with an
	 * irqchip) and KVM's identity-map and TSS pages (0xfeffc000, reserved).
	 */
	const struct sweep sweeps[] = {
		{ ram_end, 0xd0000000, MIB },
		{ 0xd0000000, 0xd0100000, 4096 },
		{ 0xd0100000, 0xfec00000, MIB },
		{ 0xfed00000, 0xfee00000, MIB },
		{ 0xfef00000, 0xfeffc000, MIB },
		{ 0xff000000, 4 * GIB, MIB },
		{ 4 * GIB, high_ram ? 4 * GIB : 5 * GIB, MIB },
	};
	uint32_t accessed = 0, bad = 0, first_val = 0;
	uint64_t first_bad = 0;

	out_now("guest: test=wild-mmio: write and read from 0x%lx to 0x%lx\n",
		(unsigned long)ram_end, (unsigned long)(high_ram ? 4 * GIB : 5 * GIB));
	if (!high_ram)
		map_5th_gib();
	for (unsigned s = 0; s < sizeof(sweeps) / sizeof(sweeps[0]); s++) {
		for (uint64_t a = sweeps[s].start; a < sweeps[s].end; a += sweeps[s].stride) {
			volatile uint32_t *p = phys_ptr((uintptr_t)a);
			uint32_t v;

			*p = WILD_MMIO_VALUE;
			v = *p;
			accessed++;
			if (v != 0xffffffffu && !bad++) {
				first_bad = a;
				first_val = v;
			}
		}
	}
	out_now("guest: wild-mmio: %u addresses, %u writes, %u reads, %u not all ones\n",
		accessed, accessed, accessed, bad);
	if (bad) {
		out_now("guest: wild-mmio: 0x%lx read 0x%x\n", (unsigned long)first_bad, first_val);
		guest_exit(GUEST_STATUS_TEST_FAILED);
	}
	guest_exit(GUEST_STATUS_OK);
}

/* ---- ACPI tables */

struct table_span {
	uint64_t addr;
	uint32_t len;
};

static uint32_t load32(uint64_t a)
{
	uint32_t v;

	memcpy(&v, phys_ptr((uintptr_t)a), 4);
	return v;
}

static uint64_t load64(uint64_t a)
{
	uint64_t v;

	memcpy(&v, phys_ptr((uintptr_t)a), 8);
	return v;
}

#define MAX_TABLES 16

/* The RSDP, the XSDT, each table it lists and the FADT's DSDT. */
static unsigned find_tables(struct table_span *t)
{
	uint64_t rsdp = boot_info.madt.rsdp, xsdt;
	unsigned n = 0, entries;

	if (!rsdp)
		return 0;
	t[n++] = (struct table_span){ rsdp, 36 };
	xsdt = load64(rsdp + 24);
	if (!xsdt || load32(xsdt + 4) < 36)
		return n;
	t[n++] = (struct table_span){ xsdt, load32(xsdt + 4) };
	entries = (load32(xsdt + 4) - 36) / 8;
	for (unsigned i = 0; i < entries && n < MAX_TABLES - 1; i++) {
		uint64_t a = load64(xsdt + 36 + 8 * i);

		t[n++] = (struct table_span){ a, load32(a + 4) };
		if (!memcmp(phys_ptr((uintptr_t)a), "FACP", 4)) {
			uint64_t dsdt = load32(a + 4) >= 148 ? load64(a + 140) : 0;

			if (!dsdt)
				dsdt = load32(a + 40);
			if (dsdt)
				t[n++] = (struct table_span){ dsdt, load32(dsdt + 4) };
		}
	}
	return n;
}

static __attribute__((noreturn)) void acpi_write(void)
{
	struct table_span t[MAX_TABLES];
	unsigned n = find_tables(t), bytes = 0, unchanged = 0;
	bool dsdt = false;

	for (unsigned i = 0; i < n; i++) {
		uint8_t *p = phys_ptr((uintptr_t)t[i].addr);

		if (!memcmp(p, "DSDT", 4))
			dsdt = true;
		memset(p, 0xff, t[i].len);
		bytes += t[i].len;
		if (p[0] != 0xff || p[t[i].len - 1] != 0xff)
			unchanged++;
	}
	out_now("guest: test=acpi-write: overwrote %u ACPI tables (%u bytes) from 0x%lx, "
		"%u writes did not stick\n",
		n, bytes, (unsigned long)(n ? t[0].addr : 0), unchanged);
	if (n < 3 || !dsdt || unchanged)
		guest_exit(GUEST_STATUS_TEST_FAILED);
	out_now("guest: acpi-write: powering off through port 0x%x\n", ACPI_SLEEP_CONTROL);
	outb(ACPI_SLEEP_CONTROL, ACPI_SLEEP_S5);
	out_now("guest: acpi-write: still running after the power-off write\n");
	guest_exit(GUEST_STATUS_TEST_FAILED);
}

/* ---- CPUs */

static __attribute__((noreturn)) void triple_fault(void)
{
	trap_load_null_idt();
	/* A non-canonical address: #GP -> no IDT -> #DF -> triple fault. */
	__asm__ volatile("movq 0x8000000000000000, %%rax" ::: "rax", "memory");
	guest_exit(GUEST_STATUS_TEST_FAILED);
}

static __attribute__((noreturn)) void spin(void)
{
	__asm__ volatile("cli");
	for (;;)
		__asm__ volatile("" ::: "memory");
}

void hostile_ap(unsigned cpu)
{
	if (ap_mode != AP_TRIPLE_FAULT)
		return;
	out_now("cpu %u: test=ap-triple-fault: null IDT, then #GP\n", cpu);
	triple_fault();
}

bool hostile_run(const char *t, size_t n)
{
	if (str_equal_n(t, n, "wild-pio"))
		wild_pio();
	if (str_equal_n(t, n, "wild-mmio"))
		wild_mmio();
	if (str_equal_n(t, n, "acpi-write"))
		acpi_write();
	if (str_equal_n(t, n, "halt")) {
		out_now("guest: test=halt: cli; hlt\n");
		for (;;)
			__asm__ volatile("cli; hlt");
	}
	if (str_equal_n(t, n, "no-ap")) {
		out_now("guest: test=no-ap: %u cpus, the APs never get INIT or SIPI\n",
			smp_cpu_count());
		guest_exit(smp_cpu_count() < 2 ? GUEST_STATUS_TEST_FAILED : GUEST_STATUS_OK);
	}
	if (str_equal_n(t, n, "ap-triple-fault")) {
		out_now("guest: test=ap-triple-fault: %u cpus, cpu 0 spins on\n", smp_cpu_count());
		if (smp_cpu_count() < 2)
			guest_exit(GUEST_STATUS_TEST_FAILED);
		ap_mode = AP_TRIPLE_FAULT;
		smp_start_aps();
		spin();
	}
	return false;
}
