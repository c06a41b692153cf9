/* SPDX-License-Identifier: MIT */
/*
 * C entry of every CPU (from entry.S, in long mode on its own stack), and the
 * ways a guest ends.
 */
#include "lib/bulk.h"
#include "lib/boot.h"
#include "lib/cmdline.h"
#include "lib/console.h"
#include "lib/io.h"
#include "lib/smp.h"
#include "lib/trap.h"

struct boot_info boot_info;

void guest_start(unsigned slot, uint32_t start_info, unsigned is_boot_cpu);

void cpu_park(void)
{
	for (;;)
		__asm__ volatile("cli; hlt");
}

void guest_exit(uint8_t status)
{
	outb(GUEST_PORT_DEBUG_EXIT, status);
	cpu_park(); /* a VMM without the port: stop here */
}

void guest_start(unsigned slot, uint32_t start_info, unsigned is_boot_cpu)
{
	const struct hvm_start_info *si = (const struct hvm_start_info *)(uintptr_t)start_info;

	if (!is_boot_cpu) {
		unsigned cpu = smp_enter_ap(slot);

		if (!cpu)
			cpu_park();
		trap_load_idt();
		guest_ap_main(cpu);
		cpu_park();
	}
	trap_load_idt();
	bulk_port_detect();
	if (!si || si->magic != HVM_START_MAGIC) {
		out_now("guest: no PVH start info (ebx 0x%x)\n", start_info);
		guest_exit(GUEST_STATUS_BAD_BOOT);
	}
	boot_info.start_info = si;
	if (si->cmdline_paddr)
		cmdline_set((const char *)(uintptr_t)si->cmdline_paddr);
	/* `acpi=scan` ignores the loader's RSDP address: the path for loaders that give none. */
	boot_info.madt_error = acpi_read_madt(cmdline_is("acpi", "scan") ? 0 : si->rsdp_paddr,
					      &boot_info.madt);
	smp_init_boot_cpu();
	guest_main();
	cpu_park();
}
