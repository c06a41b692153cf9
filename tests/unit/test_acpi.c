/* SPDX-License-Identifier: MIT */
/*
 * The ACPI tables as a guest OS reads them: find the RSDP by the legacy scan,
 * follow XSDT -> FADT -> DSDT and XSDT -> MADT by the offsets of the ACPI
 * specification (not through skyvm's structures), check every checksum,
 * count the MADT's processors and controllers for 1, 2, 8, 255 and 300 vCPUs,
 * walk the DSDT's AML, and, when ACPICA's iasl is installed, let it
 * disassemble every table as a second, independent reader.
 *
 * The tables are generated from a machine (devices/machine.h) holding skyvm's
 * standard devices plus two test MMIO devices ("test-mmio", below) whose
 * windows and interrupts the allocator hands out, as virtio-mmio's are.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "acpi/acpi.h"
#include "boot/layout.h"
#include "devices/machine.h"
#include "test_boot_images.h"
#include "util/err.h"

#define MiB (1ULL << 20)

struct tables {
	struct guest_mem m;
	uint64_t rsdp, xsdt, fadt, madt, dsdt;
};

static const uint8_t *at(struct tables *t, uint64_t gpa, uint64_t len)
{
	const uint8_t *p = guest_ptr(&t->m, gpa, len);

	if (!p)
		fail_msg("table range [0x%llx, +0x%llx) is outside guest memory",
			 (unsigned long long)gpa, (unsigned long long)len);
	return p;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* A table's header: signature and a checksum over its whole length. */
static const uint8_t *table(struct tables *t, uint64_t gpa, const char *sig)
{
	const uint8_t *h = at(t, gpa, 36);
	uint32_t len = get32(h + 4);

	if (memcmp(h, sig, 4) != 0)
		fail_msg("table at 0x%llx is \"%.4s\", expected %s", (unsigned long long)gpa, h,
			 sig);
	assert_true(len >= 36);
	h = at(t, gpa, len);
	if (sum(h, len) != 0)
		fail_msg("%s checksum: bytes sum to 0x%02x", sig, sum(h, len));
	assert_memory_equal(h + 10, "SKYVM ", 6); /* OEM id */
	/* all tables within the ACPI area */
	assert_true(gpa >= LAYOUT_ACPI_START && gpa + len <= LAYOUT_ACPI_END);
	return h;
}

/* An MMIO device with an ACPI _HID, as virtio-mmio is described. */
static int test_mmio_create(struct device *d, const char *opts)
{
	struct dev_region r = { .name = "test-mmio", .space = IO_MMIO, .len = 0x200 };

	d->acpi_hid = "LNRO0005";
	d->acpi_uid = (unsigned)(d->id[strlen(d->id) - 1] - '0');
	d->irq_want = DEV_IRQ_ANY;
	d->irq_edge = true;
	return device_add_region(d, &r) ? 0 : -1;
}

static struct device_class test_mmio_class = { .name = "test-mmio", .create = test_mmio_create };
DEVICE_CLASS(test_mmio_class)

/* The machine skyvm builds for an embedded guest (vm.c), plus two test MMIO devices. */
static void build_machine(struct machine *mc)
{
	static const char *const classes[] = {
		"uart", "i8042", "rtc", "acpi-pm", "debug-exit", "probe-port", "bulk-port",
		"power-button", "test-mmio", "test-mmio",
	};

	machine_init(mc);
	resource_alloc_init(&mc->alloc, LAYOUT_MMIO_START, LAYOUT_MMIO_END, LAYOUT_MMIO_WINDOW, 5,
			    23);
	assert_int_equal(resource_take_gsi(&mc->alloc, 9, "SCI"), 0);
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
		if (!machine_add(mc, classes[i], NULL, NULL))
			fail_msg("machine_add %s: %s", classes[i], err_msg());
	if (machine_allocate(mc) < 0)
		fail_msg("machine_allocate: %s", err_msg());
}

static void build(struct tables *t, unsigned ncpus, const unsigned *ids)
{
	const uint8_t *r, *x, *f;
	uint64_t found = 0;
	struct machine mc;
	struct acpi_device devs[MACHINE_MAX_DEVICES];
	struct acpi_config cfg = { .ncpus = ncpus, .apic_ids = ids };

	memset(t, 0, sizeof(*t));
	assert_int_equal(guest_mem_init(&t->m, 32 * MiB), 0);
	build_machine(&mc);
	machine_acpi_devices(&mc, devs, &cfg);
	if (acpi_build_tables(&t->m, &cfg, &t->rsdp) < 0)
		fail_msg("acpi_build_tables: %s", err_msg());
	machine_free(&mc);

	/* the OS's legacy scan: 16-byte steps through 0xE0000-0xFFFFF */
	for (uint64_t a = 0xE0000; a < 0x100000 && !found; a += 16)
		if (memcmp(at(t, a, 8), "RSD PTR ", 8) == 0)
			found = a;
	assert_int_equal(found, t->rsdp);
	assert_int_equal(t->rsdp, LAYOUT_ACPI_START);
	r = at(t, t->rsdp, 36);
	assert_int_equal(sum(r, 20), 0);     /* ACPI 1.0 checksum */
	assert_int_equal(r[15], 2);          /* revision */
	assert_int_equal(get32(r + 20), 36); /* length */
	assert_int_equal(sum(r, 36), 0);     /* extended checksum */
	t->xsdt = get64(r + 24);

	x = table(t, t->xsdt, "XSDT");
	assert_int_equal(get32(x + 4), 36 + 2 * 8);
	for (int i = 0; i < 2; i++) {
		uint64_t a = get64(x + 36 + 8 * i);
		const uint8_t *h = at(t, a, 4);

		if (!memcmp(h, "FACP", 4))
			t->fadt = a;
		else if (!memcmp(h, "APIC", 4))
			t->madt = a;
		else
			fail_msg("XSDT entry %d: unexpected \"%.4s\"", i, h);
	}
	assert_true(t->fadt && t->madt);
	f = table(t, t->fadt, "FACP");
	t->dsdt = get64(f + 140); /* X_DSDT */
	assert_int_equal(get32(f + 40), t->dsdt); /* DSDT: same address in both fields */
	table(t, t->dsdt, "DSDT");
	table(t, t->madt, "APIC");
}

static void test_fadt_fields(void **state)
{
	struct tables t;
	const uint8_t *f;
	uint32_t flags;
	uint16_t boot_arch;

	build(&t, 1, NULL);
	f = table(&t, t.fadt, "FACP");
	assert_int_equal(get32(f + 4), 276); /* ACPI 6 FADT */
	assert_int_equal(f[8], 6);           /* revision */
	flags = get32(f + 112);
	assert_true(flags & (1u << 20));     /* HW_REDUCED_ACPI */
	assert_true(flags & (1u << 10));     /* RESET_REG_SUP */
	boot_arch = get16(f + 109);
	assert_true(boot_arch & (1u << 1));  /* 8042: Linux probes the i8042 */
	assert_true(boot_arch & (1u << 2));  /* VGA not present */
	assert_false(boot_arch & (1u << 5)); /* the CMOS RTC is present */
	/* reset register: system I/O port 0x64, 8 bits, value 0xFE */
	assert_int_equal(f[116], 1);
	assert_int_equal(f[117], 8);
	assert_int_equal(get64(f + 120), 0x64);
	assert_int_equal(f[128], 0xFE);
	/* no SCI, PM timer or FACS in hardware-reduced ACPI */
	assert_int_equal(get16(f + 46), 0);
	assert_int_equal(get32(f + 76), 0);
	assert_int_equal(get32(f + 36), 0);
	assert_int_equal(get64(f + 132), 0);
	/* sleep control (offset 244) and status (256) registers: ports 0x600, 0x601 */
	assert_int_equal(f[244], 1);
	assert_int_equal(f[245], 8);
	assert_int_equal(get64(f + 248), 0x600);
	assert_int_equal(f[256], 1);
	assert_int_equal(get64(f + 260), 0x601);
	guest_mem_free(&t.m);
}

/* Without sleep registers (acpi_build: CPUs only) neither the registers nor \_S5. */
static void test_no_sleep_registers_without_acpi_pm(void **state)
{
	struct guest_mem m;
	uint64_t rsdp;
	const uint8_t *fadt, *xsdt, *dsdt;

	assert_int_equal(guest_mem_init(&m, 32 * MiB), 0);
	assert_int_equal(acpi_build(&m, 1, NULL, &rsdp), 0);
	xsdt = guest_ptr(&m, get64((const uint8_t *)guest_ptr(&m, rsdp, 36) + 24), 52);
	fadt = guest_ptr(&m, get64(xsdt + 36), 276);
	if (memcmp(fadt, "FACP", 4))
		fadt = guest_ptr(&m, get64(xsdt + 44), 276);
	assert_memory_equal(fadt, "FACP", 4);
	assert_int_equal(get64(fadt + 248), 0);
	assert_int_equal(get64(fadt + 260), 0);
	dsdt = guest_ptr(&m, get64(fadt + 140), 36);
	assert_null(memmem(dsdt, get32(dsdt + 4), "_S5_", 4));
	guest_mem_free(&m);
}

struct madt_seen {
	unsigned n_lapic, n_x2apic, n_ioapic, n_nmi, n_x2nmi;
	unsigned ids[2048], uids[2048], nids;
	uint8_t ioapic_id;
	uint32_t ioapic_addr, ioapic_gsi_base;
	int irq0_gsi, irq9_gsi;
	uint16_t irq0_flags, irq9_flags;
	unsigned n_overrides;
};

static void walk_madt(struct tables *t, struct madt_seen *s)
{
	const uint8_t *h = table(t, t->madt, "APIC");
	uint32_t len = get32(h + 4);

	memset(s, 0, sizeof(*s));
	s->irq0_gsi = s->irq9_gsi = -1;
	assert_int_equal(get32(h + 36), 0xFEE00000);  /* local APIC address */
	assert_int_equal(get32(h + 40) & 1, 1);       /* PCAT_COMPAT */
	for (uint32_t off = 44; off < len;) {
		const uint8_t *e = h + off;

		assert_true(len - off >= 2);
		assert_true(e[1] >= 2 && e[1] <= len - off);
		switch (e[0]) {
		case 0: /* Processor Local APIC */
			assert_int_equal(e[1], 8);
			assert_int_equal(get32(e + 4) & 1, 1); /* enabled */
			s->uids[s->nids] = e[2];
			s->ids[s->nids++] = e[3];
			s->n_lapic++;
			break;
		case 9: /* Processor Local x2APIC */
			assert_int_equal(e[1], 16);
			assert_int_equal(get32(e + 8) & 1, 1);
			s->uids[s->nids] = get32(e + 12);
			s->ids[s->nids++] = get32(e + 4);
			s->n_x2apic++;
			break;
		case 1:
			assert_int_equal(e[1], 12);
			s->ioapic_id = e[2];
			s->ioapic_addr = get32(e + 4);
			s->ioapic_gsi_base = get32(e + 8);
			s->n_ioapic++;
			break;
		case 2:
			assert_int_equal(e[1], 10);
			assert_int_equal(e[2], 0); /* ISA */
			if (e[3] == 0) {
				s->irq0_gsi = (int)get32(e + 4);
				s->irq0_flags = get16(e + 8);
			} else if (e[3] == 9) {
				s->irq9_gsi = (int)get32(e + 4);
				s->irq9_flags = get16(e + 8);
			}
			s->n_overrides++;
			break;
		case 4:
			assert_int_equal(e[1], 6);
			assert_int_equal(e[2], 0xFF); /* all processors */
			assert_int_equal(e[5], 1);    /* LINT1 */
			s->n_nmi++;
			break;
		case 10:
			assert_int_equal(e[1], 12);
			assert_int_equal(get32(e + 4), 0xFFFFFFFF);
			assert_int_equal(e[8], 1);
			s->n_x2nmi++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u at offset %u", e[0], off);
		}
		off += e[1];
	}
}

static void check_madt(unsigned ncpus, const unsigned *ids)
{
	struct tables t;
	struct madt_seen s;
	unsigned want_x2 = 0;

	build(&t, ncpus, ids);
	walk_madt(&t, &s);
	assert_int_equal(s.nids, ncpus);
	for (unsigned i = 0; i < ncpus; i++) {
		unsigned id = ids ? ids[i] : i;

		assert_int_equal(s.ids[i], id);
		assert_int_equal(s.uids[i], i);
		if (id >= 255 || i >= 255)
			want_x2++;
	}
	assert_int_equal(s.n_x2apic, want_x2);
	assert_int_equal(s.n_lapic, ncpus - want_x2);
	assert_int_equal(s.n_ioapic, 1);
	assert_int_equal(s.ioapic_id, ncpus < 0xFE ? ncpus : 0xFE);
	assert_int_equal(s.ioapic_addr, 0xFEC00000);
	assert_int_equal(s.ioapic_gsi_base, 0);
	assert_int_equal(s.n_overrides, 2);
	assert_int_equal(s.irq0_gsi, 2);
	assert_int_equal(s.irq0_flags, 0);
	assert_int_equal(s.irq9_gsi, 9);
	assert_int_equal(s.irq9_flags, 0x000D); /* active high (01), level (11 << 2) */
	assert_int_equal(s.n_nmi, 1);
	assert_int_equal(s.n_x2nmi, want_x2 ? 1 : 0);
	guest_mem_free(&t.m);
}

static void test_madt_1_vcpu(void **state)
{
	check_madt(1, NULL);
}

static void test_madt_2_vcpus(void **state)
{
	check_madt(2, NULL);
}

static void test_madt_8_vcpus_sparse_ids(void **state)
{
	static const unsigned ids[8] = { 0, 2, 4, 6, 8, 10, 12, 14 }; /* e.g. 2 threads/core */

	check_madt(8, ids);
}

static void test_madt_255_vcpus(void **state)
{
	check_madt(255, NULL); /* APIC id 254 is the last xAPIC entry */
}

static void test_madt_300_vcpus_x2apic(void **state)
{
	static unsigned ids[300];

	for (unsigned i = 0; i < 300; i++)
		ids[i] = i * 2; /* ids from 256 on, and uids from 255 on, need x2APIC */
	check_madt(300, ids);
}

static void test_madt_errors(void **state)
{
	struct guest_mem m;
	uint64_t rsdp;
	static const unsigned dup[3] = { 0, 1, 1 };
	static const unsigned bcast[2] = { 0, 0xFFFFFFFF };

	assert_int_equal(guest_mem_init(&m, 4 * MiB), 0);
	assert_int_equal(acpi_build(&m, 0, NULL, &rsdp), -1);
	assert_non_null(strstr(err_msg(), "no vCPUs"));
	assert_int_equal(acpi_build(&m, 3, dup, &rsdp), -1);
	assert_non_null(strstr(err_msg(), "vCPUs 1 and 2 have the same APIC id 1"));
	assert_int_equal(acpi_build(&m, 2, bcast, &rsdp), -1);
	assert_non_null(strstr(err_msg(), "broadcast"));
	/* more vCPUs than the 128 KiB ACPI area can describe */
	assert_int_equal(acpi_build(&m, 10000, NULL, &rsdp), -1);
	assert_non_null(strstr(err_msg(), "ACPI tables need more than"));
	guest_mem_free(&m);
	/* RAM too small to hold the ACPI area */
	assert_int_equal(guest_mem_init(&m, 512 * 1024), 0);
	assert_int_equal(acpi_build(&m, 1, NULL, &rsdp), -1);
	assert_non_null(strstr(err_msg(), "outside guest memory"));
	guest_mem_free(&m);
}

/* ---- AML: a reader for exactly the constructs the DSDT should contain */
struct aml_reader {
	const uint8_t *p;
	size_t pos, end;
};

static uint8_t aml_take(struct aml_reader *r)
{
	if (r->pos >= r->end)
		fail_msg("AML ends early at %zu", r->pos);
	return r->p[r->pos++];
}

/* Decode a PkgLength; returns the end offset of the package. */
static size_t aml_pkg_end(struct aml_reader *r)
{
	size_t start = r->pos, len;
	uint8_t b0 = aml_take(r);
	unsigned follow = b0 >> 6;

	if (follow == 0) {
		len = b0 & 0x3F;
	} else {
		len = b0 & 0x0F;
		for (unsigned i = 0; i < follow; i++)
			len |= (size_t)aml_take(r) << (4 + 8 * i);
	}
	if (start + len > r->end)
		fail_msg("package at %zu (length %zu) runs past its parent (%zu)", start, len,
			 r->end);
	return start + len;
}

static void aml_expect(struct aml_reader *r, const void *bytes, size_t n)
{
	if (r->end - r->pos < n || memcmp(r->p + r->pos, bytes, n) != 0)
		fail_msg("AML at %zu: expected %zu specific bytes", r->pos, n);
	r->pos += n;
}

/* EisaId: three 5-bit letters and four hex digits, stored big-endian. */
static void eisa_decode(uint32_t v, char out[8])
{
	uint32_t be = ((v & 0xFF) << 24) | ((v & 0xFF00) << 8) | ((v >> 8) & 0xFF00) | (v >> 24);

	out[0] = (char)('@' + ((be >> 26) & 0x1F));
	out[1] = (char)('@' + ((be >> 21) & 0x1F));
	out[2] = (char)('@' + ((be >> 16) & 0x1F));
	snprintf(out + 3, 5, "%04X", be & 0xFFFF);
}

struct aml_device {
	char name[5];
	char hid[9];
	unsigned uid;
	unsigned io_base[4], io_len[4], nio;
	uint32_t mem_base, mem_len;
	int irq;
	bool irq_ext; /* Extended Interrupt: active high, exclusive */
	bool irq_level; /* ... and level-triggered (else edge) */
	bool has_crs;
	size_t extra, nextra; /* AML after _CRS in the Device: offset, length */
};

/*
 * Device (NAME) { Name (_HID, DWordConst) Name (_UID, Zero) [Name (_CRS, Buffer)]
 * [the device's own AML] }
 */
static void read_device(struct aml_reader *r, struct aml_device *d)
{
	size_t dev_end, buf_end, size, outer_end = r->end;

	memset(d, 0, sizeof(*d));
	d->irq = -1;
	aml_expect(r, "\x5B\x82", 2);       /* DeviceOp */
	dev_end = aml_pkg_end(r);
	r->end = dev_end;
	memcpy(d->name, r->p + r->pos, 4);
	r->pos += 4;
	aml_expect(r, "\x08_HID", 5);
	if (r->p[r->pos] == 0x0C) {        /* Name(_HID, DWordConst): EisaId */
		r->pos++;
		eisa_decode(get32(r->p + r->pos), d->hid);
		r->pos += 4;
	} else {                           /* Name(_HID, String) */
		size_t n;

		assert_int_equal(aml_take(r), 0x0D);
		n = strnlen((const char *)r->p + r->pos, r->end - r->pos);
		assert_true(n < sizeof(d->hid));
		memcpy(d->hid, r->p + r->pos, n);
		r->pos += n + 1;
	}
	aml_expect(r, "\x08_UID", 5);
	if (r->p[r->pos] == 0x0A) {        /* ByteConst */
		r->pos++;
		d->uid = aml_take(r);
	} else {
		assert_int_equal(aml_take(r), 0x00); /* Zero */
	}
	if (r->pos == dev_end) {
		r->end = outer_end;
		return;
	}
	aml_expect(r, "\x08_CRS\x11", 6);  /* Name(_CRS, Buffer) */
	d->has_crs = true;
	buf_end = aml_pkg_end(r);
	assert_true(buf_end <= dev_end);
	assert_int_equal(aml_take(r), 0x0A); /* BufferSize as ByteConst */
	size = aml_take(r);
	assert_int_equal(size, buf_end - r->pos);
	for (;;) { /* resource descriptors up to the end tag */
		uint8_t tag = aml_take(r);

		if (tag == 0x47) {           /* I/O port, 16-bit decode, fixed */
			assert_int_equal(aml_take(r), 0x01);
			assert_int_equal(get16(r->p + r->pos), get16(r->p + r->pos + 2));
			assert_true(d->nio < 4);
			d->io_base[d->nio] = get16(r->p + r->pos);
			r->pos += 5;
			d->io_len[d->nio++] = aml_take(r);
		} else if (tag == 0x86) {    /* Memory32Fixed: length 9, read-write */
			assert_int_equal(get16(r->p + r->pos), 9);
			assert_int_equal(r->p[r->pos + 2], 1);
			d->mem_base = get32(r->p + r->pos + 3);
			d->mem_len = get32(r->p + r->pos + 7);
			r->pos += 11;
		} else if (tag == 0x89) {    /* Extended Interrupt: one, consumer, high, exclusive */
			uint8_t flags = r->p[r->pos + 2];

			assert_int_equal(get16(r->p + r->pos), 6);
			assert_true(flags == 0x03 || flags == 0x01); /* edge or level */
			assert_int_equal(r->p[r->pos + 3], 1);
			d->irq = (int)get32(r->p + r->pos + 4);
			d->irq_ext = true;
			d->irq_level = flags == 0x01;
			r->pos += 8;
		} else if (tag == 0x22) {    /* IRQ, no flags: exactly one bit */
			uint16_t mask = get16(r->p + r->pos);

			assert_int_equal(mask & (mask - 1), 0);
			d->irq = __builtin_ctz(mask);
			r->pos += 2;
		} else {
			assert_int_equal(tag, 0x79); /* end tag */
			aml_take(r);
			break;
		}
	}
	assert_int_equal(r->pos, buf_end);
	d->extra = r->pos;
	d->nextra = dev_end - r->pos;
	r->pos = dev_end;
	r->end = outer_end;
}

/*
 * The Generic Event Device's own AML, worked out by hand (tests/unit/test_aml.c
 * checks the builders against the same bytes):
 *   OperationRegion (EREG, SystemIO, 0x0604, 0x04)
 *   Field (EREG, DWordAcc, NoLock, WriteAsZeros) { ESEL, 32 }
 *   Method (_EVT, 1, Serialized) {
 *       Local0 = ESEL
 *       If (((Local0 & 0x02) == 0x02)) { Notify (PWRB, 0x80) }
 *   }
 */
static const char ged_aml[] =
	"\x5B\x80" "EREG\x01\x0B\x04\x06\x0A\x04"
	"\x5B\x81\x0B" "EREG\x43" "ESEL\x20"
	"\x14\x1D_EVT\x09" "\x70" "ESEL\x60"
	"\xA0\x10" "\x93\x7B\x60\x0A\x02\x00\x0A\x02" "\x86" "PWRB\x0A\x80";

static void test_dsdt_aml_devices(void **state)
{
	static const struct aml_device want[] = {
		{ "COM1", "PNP0501", 0, { 0x3F8 }, { 8 }, 1, 0, 0, 4, false, false, true, 0, 0 },
		{ "KBD_", "PNP0303", 0, { 0x60, 0x64 }, { 1, 1 }, 2, 0, 0, 1, false, false, true, 0,
		  0 },
		{ "RTC_", "PNP0B00", 0, { 0x70 }, { 2 }, 1, 0, 0, 8, false, false, true, 0, 0 },
		/*
		 * The power button's Generic Event Device: its interrupt alone in
		 * _CRS (the highest GSI, level, active high), its register in its
		 * own AML; then the button it notifies, with no resources at all.
		 */
		{ "GED0", "ACPI0013", 0, { 0 }, { 0 }, 0, 0, 0, 23, true, true, true, 0,
		  sizeof(ged_aml) - 1 },
		{ "PWRB", "PNP0C0C", 0, { 0 }, { 0 }, 0, 0, 0, -1, false, false, false, 0, 0 },
		/* allocated: the first window and the first free GSI (5), then the next */
		{ "D004", "LNRO0005", 0, { 0 }, { 0 }, 0, 0xD0000000, 0x200, 5, true, false, true, 0,
		  0 },
		{ "D005", "LNRO0005", 1, { 0 }, { 0 }, 0, 0xD0001000, 0x200, 6, true, false, true, 0,
		  0 },
	};
	struct tables t;
	const uint8_t *d;
	struct aml_reader r;
	size_t scope_end;
	unsigned n = 0;

	build(&t, 1, NULL);
	d = table(&t, t.dsdt, "DSDT");
	r = (struct aml_reader){ d, 36, get32(d + 4) };

	assert_int_equal(aml_take(&r), 0x10); /* ScopeOp */
	scope_end = aml_pkg_end(&r);
	aml_expect(&r, "\\_SB_", 5);
	while (r.pos < scope_end) {
		struct aml_device got;
		size_t end = r.end;

		r.end = scope_end;
		read_device(&r, &got);
		r.end = end;
		assert_true(n < sizeof(want) / sizeof(want[0]));
		assert_string_equal(got.name, want[n].name);
		assert_string_equal(got.hid, want[n].hid);
		assert_int_equal(got.uid, want[n].uid);
		assert_int_equal(got.nio, want[n].nio);
		for (unsigned i = 0; i < got.nio; i++) {
			assert_int_equal(got.io_base[i], want[n].io_base[i]);
			assert_int_equal(got.io_len[i], want[n].io_len[i]);
		}
		assert_int_equal(got.mem_base, want[n].mem_base);
		assert_int_equal(got.mem_len, want[n].mem_len);
		assert_int_equal(got.irq, want[n].irq);
		assert_int_equal(got.irq_ext, want[n].irq_ext);
		assert_int_equal(got.irq_level, want[n].irq_level);
		assert_int_equal(got.has_crs, want[n].has_crs);
		assert_int_equal(got.nextra, want[n].nextra);
		if (!strcmp(got.name, "GED0"))
			assert_memory_equal(d + got.extra, ged_aml, sizeof(ged_aml) - 1);
		n++;
	}
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	/* then Name (\_S5_, Package (4) { 5, 5, 0, 0 }) ends the DSDT */
	aml_expect(&r, "\x08\\_S5_\x12\x08\x04\x0A\x05\x0A\x05\x00\x00", 15);
	assert_int_equal(r.pos, r.end);
	guest_mem_free(&t.m);
}

/* ---- iasl, when installed: an independent reader of every table */
static int run_quiet(const char *const argv[])
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		freopen("/dev/null", "w", stdout);
		freopen("/dev/null", "w", stderr);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = calloc(1, 1 << 20);
	n = fread(buf, 1, (1 << 20) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static char *iasl_disassemble(struct tables *t, const char *dir, const char *name, uint64_t gpa)
{
	char bin[512], dsl[512];
	const uint8_t *h = at(t, gpa, 36);
	FILE *f;
	const char *argv[] = { "iasl", "-d", bin, NULL };

	snprintf(bin, sizeof(bin), "%s/%s.dat", dir, name);
	snprintf(dsl, sizeof(dsl), "%s/%s.dsl", dir, name);
	f = fopen(bin, "wb");
	assert_non_null(f);
	fwrite(at(t, gpa, get32(h + 4)), 1, get32(h + 4), f);
	fclose(f);
	if (run_quiet(argv) != 0)
		fail_msg("iasl -d %s failed", name);
	return slurp(dsl);
}

static int have_iasl(void)
{
	const char *argv[] = { "iasl", "-v", NULL };

	return run_quiet(argv) == 0;
}

static void expect_in(const char *text, const char *table_name, const char *what)
{
	if (!strstr(text, what))
		fail_msg("iasl's %s disassembly lacks \"%s\"", table_name, what);
}

static void test_iasl_reads_every_table(void **state)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256];
	struct tables t;
	char *s;
	DIR *d;
	struct dirent *de;

	if (!have_iasl()) {
		print_message("skipped: iasl not installed (Debian package acpica-tools)\n");
		skip();
	}
	snprintf(dir, sizeof(dir), "%s/skyvm-acpi-XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
	assert_non_null(mkdtemp(dir));
	build(&t, 4, NULL);

	s = iasl_disassemble(&t, dir, "dsdt", t.dsdt);
	assert_non_null(s);
	expect_in(s, "DSDT", "Device (COM1)");
	expect_in(s, "DSDT", "EisaId (\"PNP0501\")");
	expect_in(s, "DSDT", "IO (Decode16,");
	expect_in(s, "DSDT", "0x03F8");
	expect_in(s, "DSDT", "IRQNoFlags ()");
	expect_in(s, "DSDT", "Device (KBD)");
	expect_in(s, "DSDT", "EisaId (\"PNP0303\")");
	expect_in(s, "DSDT", "Device (RTC)");
	expect_in(s, "DSDT", "EisaId (\"PNP0B00\")");
	expect_in(s, "DSDT", "0x0064");
	expect_in(s, "DSDT", "Name (_HID, \"LNRO0005\")");
	expect_in(s, "DSDT", "Memory32Fixed (ReadWrite,");
	expect_in(s, "DSDT", "0xD0001000");
	expect_in(s, "DSDT", "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )");
	expect_in(s, "DSDT", "Name (\\_S5, Package (0x04)");
	/* the power button: a Generic Event Device and the PNP0C0C button it notifies */
	expect_in(s, "DSDT", "Device (GED0)");
	expect_in(s, "DSDT", "Name (_HID, \"ACPI0013\"");
	expect_in(s, "DSDT", "Interrupt (ResourceConsumer, Level, ActiveHigh, Exclusive, ,, )");
	expect_in(s, "DSDT", "0x00000017,");
	expect_in(s, "DSDT", "OperationRegion (EREG, SystemIO, 0x0604, 0x04)");
	expect_in(s, "DSDT", "Field (EREG, DWordAcc, NoLock, WriteAsZeros)");
	expect_in(s, "DSDT", "Method (_EVT, 1, Serialized)");
	expect_in(s, "DSDT", "Local0 = ESEL");
	expect_in(s, "DSDT", "If (((Local0 & 0x02) == 0x02))");
	expect_in(s, "DSDT", "Notify (PWRB, 0x80)");
	expect_in(s, "DSDT", "Device (PWRB)");
	expect_in(s, "DSDT", "EisaId (\"PNP0C0C\")");
	free(s);
	/* and iasl compiles its own disassembly again: the AML is well formed ASL */
	{
		char dsl[512], out[512];
		const char *argv[] = { "iasl", "-p", out, dsl, NULL };

		snprintf(dsl, sizeof(dsl), "%s/dsdt.dsl", dir);
		snprintf(out, sizeof(out), "%s/recompiled", dir);
		if (run_quiet(argv) != 0)
			fail_msg("iasl could not compile its disassembly of the DSDT (%s)", dsl);
	}

	s = iasl_disassemble(&t, dir, "madt", t.madt);
	assert_non_null(s);
	expect_in(s, "MADT", "Local Apic Address : FEE00000");
	expect_in(s, "MADT", "I/O Apic ID : 04");
	expect_in(s, "MADT", "Address : FEC00000");
	expect_in(s, "MADT", "Interrupt : 00000002");
	expect_in(s, "MADT", "Local Apic ID : 03");
	assert_null(strstr(s, "Invalid"));
	assert_null(strstr(s, "Incorrect checksum"));
	free(s);

	s = iasl_disassemble(&t, dir, "fadt", t.fadt);
	assert_non_null(s);
	expect_in(s, "FADT", "Hardware Reduced (V5) : 1");
	expect_in(s, "FADT", "8042 Present on ports 60/64 (V2) : 1");
	expect_in(s, "FADT", "Reset Register Supported (V2) : 1");
	assert_null(strstr(s, "Incorrect checksum"));
	free(s);

	s = iasl_disassemble(&t, dir, "xsdt", t.xsdt);
	assert_non_null(s);
	assert_null(strstr(s, "Incorrect checksum"));
	free(s);

	d = opendir(dir);
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			char p[600];

			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(dir);
	guest_mem_free(&t.m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fadt_fields),
		cmocka_unit_test(test_madt_1_vcpu),
		cmocka_unit_test(test_madt_2_vcpus),
		cmocka_unit_test(test_madt_8_vcpus_sparse_ids),
		cmocka_unit_test(test_madt_255_vcpus),
		cmocka_unit_test(test_madt_300_vcpus_x2apic),
		cmocka_unit_test(test_madt_errors),
		cmocka_unit_test(test_dsdt_aml_devices),
		cmocka_unit_test(test_no_sleep_registers_without_acpi_pm),
		cmocka_unit_test(test_iasl_reads_every_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
