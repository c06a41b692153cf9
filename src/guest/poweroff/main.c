/* SPDX-License-Identifier: MIT */
/*
 * A guest that powers the machine off the way an ACPI OS does on a
 * hardware-reduced platform (ACPI 6.5 4.8.3.7 and 7.4.2), reading only the
 * tables the VMM gave it:
 *
 *   RSDP (from hvm_start_info) -> XSDT -> FADT: the sleep control register
 *   (a SystemIO GAS) and X_DSDT; the DSDT's Name (\_S5, Package () {a, b, ..})
 *   gives SLP_TYP; it writes SLP_TYP << 2 | SLP_EN to the control register.
 *
 * It prints each step on COM1 ("POWEROFF ..."), and exits through the
 * debug-exit port with 1 when the tables lack something, or 2 when the
 * write did not end the VM: a VMM that implements S5 ends it with 0 first.
 */
#include "lib/boot.h"
#include "lib/console.h"
#include "lib/io.h"
#include "lib/ports.h"
#include "lib/smp.h"
#include "lib/string.h"

#define SLP_EN 0x20
#define SLP_TYP_SHIFT 2
#define GAS_SYSTEM_IO 1

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
	return v;
}

static void fail(int code, const char *what)
{
	out_printf("POWEROFF failed: %s\n", what);
	out_flush();
	guest_exit(code);
}

static const uint8_t *find_fadt(uint64_t rsdp)
{
	const uint8_t *r = phys_ptr((uintptr_t)rsdp), *x;
	uint32_t len;

	if (!rsdp || memcmp(r, "RSD PTR ", 8) || r[15] < 2)
		return NULL;
	x = phys_ptr((uintptr_t)rd64(r + 24));
	if (memcmp(x, "XSDT", 4))
		return NULL;
	len = rd32(x + 4);
	for (uint32_t off = 36; off + 8 <= len; off += 8) {
		const uint8_t *t = phys_ptr((uintptr_t)rd64(x + off));

		if (!memcmp(t, "FACP", 4))
			return t;
	}
	return NULL;
}

/* An AML integer at p: ZeroOp, OneOp, BytePrefix n. -1 otherwise. */
static int aml_small_int(const uint8_t *p)
{
	if (p[0] == 0x00 || p[0] == 0x01)
		return p[0];
	if (p[0] == 0x0A)
		return p[1];
	return -1;
}

/* SLP_TYPa from Name (_S5_, Package (n) { a, ... }), or -1. */
static int s5_type(const uint8_t *dsdt)
{
	uint32_t len = rd32(dsdt + 4);

	for (uint32_t i = 36; i + 8 < len; i++) {
		const uint8_t *p = dsdt + i;
		unsigned pkglen_bytes;

		if (memcmp(p, "_S5_", 4) || p[4] != 0x12) /* PackageOp */
			continue;
		pkglen_bytes = 1 + (p[5] >> 6);
		/* p[5 + pkglen_bytes] is NumElements, then the first element */
		return aml_small_int(p + 5 + pkglen_bytes + 1);
	}
	return -1;
}

void guest_main(void)
{
	const struct hvm_start_info *si = boot_info.start_info;
	const uint8_t *fadt = find_fadt(si ? si->rsdp_paddr : 0), *dsdt;
	uint64_t port;
	int typ;

	if (!fadt)
		fail(1, "no FADT (RSDP -> XSDT -> FACP)");
	if (rd32(fadt + 4) < 268 || fadt[244] != GAS_SYSTEM_IO || !rd64(fadt + 248))
		fail(1, "the FADT has no sleep control register in system I/O space");
	port = rd64(fadt + 248);
	dsdt = phys_ptr((uintptr_t)rd64(fadt + 140));
	if (memcmp(dsdt, "DSDT", 4))
		fail(1, "no DSDT");
	typ = s5_type(dsdt);
	if (typ < 0 || typ > 7)
		fail(1, "no \\_S5 package with a small integer in the DSDT");
	out_printf("POWEROFF sleep control port 0x%lx, S5 SLP_TYP %d\n", (unsigned long)port, typ);
	out_flush();
	outb((uint16_t)port, (uint8_t)((typ << SLP_TYP_SHIFT) | SLP_EN));
	fail(2, "the VM is still running after the S5 write");
}

void guest_ap_main(unsigned cpu)
{
	cpu_park();
}
