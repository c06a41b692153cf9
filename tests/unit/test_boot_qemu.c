/* SPDX-License-Identifier: MIT */
/*
 * The loaders and ACPI tables judged by a real Linux kernel, without KVM:
 * boot_load() fills a guest memory image exactly as for `skyvm run`, and
 * QEMU in TCG mode (no firmware of its own, no loader of its own) executes
 * it.  A 4 KiB stub at the reset vector does only what the VMM does with
 * struct boot_entry: load skyvm's GDT, enter 32-bit protected mode (PVH) or
 * long mode with skyvm's page tables (bzImage), set EBX or RSI, jump to the
 * entry.  Everything the kernel then learns about the machine (memory map,
 * command line, initrd, ACPI tables, CPUs, IOAPIC, reset register) comes
 * from what boot_load() wrote.
 *
 * Memory image -> QEMU: low RAM (GDT, start info, zero page, page tables,
 * command line) and the kernel and initrd through `-device loader`; the
 * ACPI area 0xE0000-0xFFFFF as the 128 KiB "BIOS", which QEMU maps both
 * below 4 GiB (where the reset vector is) and at 0xE0000.
 *
 * Skipped, with the reason printed, when QEMU, the assembler or the project's
 * test kernel (build/linux, made by `make check`) is absent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/layout.h"
#include "devices/machine.h"
#include "util/err.h"

#define MiB (1ULL << 20)
#define GUEST_MEM (128 * MiB)
#define NCPUS 2
#define BIOS_SIZE 0x20000ULL   /* mapped at 4 GiB - 128 KiB and at 0xE0000 */
#define STUB_OFFSET 0x1F000ULL /* the stub's page in the BIOS: 0xFFFFF000 */
#define QEMU_TIMEOUT "30"

static const char *kernel_cmdline = "console=ttyS0 panic=-1 reboot=acpi tsc_early_khz=2000000";

static int run(const char *const argv[], const char *out_path)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		if (!freopen(out_path ? out_path : "/dev/null", "w", stdout) ||
		    !freopen("/dev/null", "w", stderr))
			_exit(126);
		if (out_path)
			dup2(fileno(stdout), 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	uint8_t *buf;

	if (!f)
		return NULL;
	if (fstat(fileno(f), &st) < 0 || st.st_size <= 0) {
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	*len = fread(buf, 1, (size_t)st.st_size, f);
	buf[*len] = 0;
	fclose(f);
	return buf;
}

static void write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void dump(struct guest_mem *m, const char *path, uint64_t gpa, uint64_t len)
{
	const void *p = guest_ptr(m, gpa, len);

	assert_non_null(p);
	write_file(path, p, len);
}

/*
 * The reset stub, assembled with the system's assembler.  Real mode at
 * F000:FFF0 -> jmp to the page start -> lgdt skyvm's GDT -> protected mode
 * with CS 0x08 -> (bzImage) PAE, CR3, EFER.LME, paging, CS 0x10 -> entry.
 */
static int build_stub(const char *dir, const struct boot_entry *e, uint8_t *page)
{
	char src[512], obj[512], bin[512], text[4096], ttext[64];
	size_t len;
	uint8_t *b;
	int n;

	n = snprintf(text, sizeof(text),
		     "	.code16\n"
		     "	.globl _start\n"
		     "_start:\n"
		     "	cli\n"
		     "	cld\n"
		     "	lgdtl %%cs:(gdtp - _start + 0xF000)\n"
		     "	movl %%cr0, %%eax\n"
		     "	orl $1, %%eax\n"
		     "	movl %%eax, %%cr0\n"
		     "	ljmpl $0x%x, $pm32\n"
		     "	.code32\n"
		     "pm32:\n"
		     "	movw $0x%x, %%ax\n"
		     "	movw %%ax, %%ds\n"
		     "	movw %%ax, %%es\n"
		     "	movw %%ax, %%ss\n"
		     "	movw %%ax, %%fs\n"
		     "	movw %%ax, %%gs\n"
		     "	movl $0x%llx, %%esp\n",
		     BOOT_GDT_SEL_CODE32, BOOT_GDT_SEL_DATA, (unsigned long long)e->rsp);
	if (e->mode == BOOT_ENTRY_PVH32)
		n += snprintf(text + n, sizeof(text) - (size_t)n,
			      "	movl $0x%llx, %%ebx\n"
			      "	movl $0x%llx, %%eax\n"
			      "	jmp *%%eax\n",
			      (unsigned long long)e->rbx, (unsigned long long)e->rip);
	else
		n += snprintf(text + n, sizeof(text) - (size_t)n,
			      "	movl %%cr4, %%eax\n"
			      "	orl $0x20, %%eax\n"          /* PAE */
			      "	movl %%eax, %%cr4\n"
			      "	movl $0x%llx, %%eax\n"
			      "	movl %%eax, %%cr3\n"
			      "	movl $0xC0000080, %%ecx\n"   /* EFER */
			      "	rdmsr\n"
			      "	orl $0x100, %%eax\n"         /* LME */
			      "	wrmsr\n"
			      "	movl %%cr0, %%eax\n"
			      "	orl $0x80000000, %%eax\n"    /* PG */
			      "	movl %%eax, %%cr0\n"
			      "	ljmpl $0x%x, $lm64\n"
			      "	.code64\n"
			      "lm64:\n"
			      "	movl $0x%llx, %%esi\n"
			      "	movabsq $0x%llx, %%rax\n"
			      "	jmp *%%rax\n",
			      (unsigned long long)e->cr3, BOOT_GDT_SEL_CODE64,
			      (unsigned long long)e->rsi, (unsigned long long)e->rip);
	snprintf(text + n, sizeof(text) - (size_t)n,
		 "	.balign 8\n"
		 "gdtp:\n"
		 "	.word %u\n"
		 "	.long 0x%llx\n"
		 "	.org 0xFF0\n"
		 "	.code16\n"
		 "	jmp _start\n"
		 "	.org 0x1000\n",
		 BOOT_GDT_ENTRIES * 8 - 1, (unsigned long long)LAYOUT_BOOT_GDT);

	snprintf(src, sizeof(src), "%s/stub.S", dir);
	snprintf(obj, sizeof(obj), "%s/stub.o", dir);
	snprintf(bin, sizeof(bin), "%s/stub.bin", dir);
	snprintf(ttext, sizeof(ttext), "-Ttext=0x%llx", 0x100000000ULL - BIOS_SIZE + STUB_OFFSET);
	write_file(src, text, strlen(text));
	{
		const char *as[] = { "cc", "-c", "-x", "assembler", "-o", obj, src, NULL };
		const char *ld[] = { "ld", "-N", ttext, "--oformat=binary", "-o", bin, obj, NULL };

		if (run(as, NULL) != 0 || run(ld, NULL) != 0)
			return -1;
	}
	b = read_file(bin, &len);
	if (!b || len != 0x1000) {
		free(b);
		return -1;
	}
	memcpy(page, b, 0x1000);
	free(b);
	return 0;
}

static int have(const char *prog)
{
	const char *argv[] = { prog, "--version", NULL };

	return run(argv, NULL) == 0;
}

static void rm_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[600];

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(dir);
}

static void expect_log(const char *log, const char *what)
{
	if (!strstr(log, what)) {
		/* all of it: print_message() truncates long text */
		fprintf(stderr, "---- guest log ----\n");
		fwrite(log, 1, strlen(log), stderr);
		fprintf(stderr, "\n---- end of guest log ----\n");
		fail_msg("the guest's log lacks \"%s\"", what);
	}
}

/* The test kernel's directory: SKYVM_TEST_KERNEL_DIR, or where `make check` builds it. */
static const char *kernel_dir(void)
{
	const char *d = getenv("SKYVM_TEST_KERNEL_DIR");

	return d && *d ? d : "build/linux";
}

static void boot_in_qemu(const char *kernel_file, enum boot_entry_mode want_mode)
{
	char kernel_path[300];
	const char *tmp = getenv("TMPDIR");
	char dir[256], low[300], kern[300], initrd_bin[300], bios[300], serial[300];
	char dev_low[400], dev_kern[400], dev_initrd[400], memarg[32], smp[16], initrd_path[300];
	uint8_t *kernel, *initrd, *biosimg;
	size_t kernel_len, initrd_len = 0, log_len;
	struct guest_mem m;
	struct boot_entry e;
	struct boot_config c;
	struct machine mc;
	struct acpi_device acpi_devs[MACHINE_MAX_DEVICES];
	struct acpi_config acpi = { 0 };
	char *log;
	int rc;

	if (!have("qemu-system-x86_64") || !have("ld")) {
		print_message("skipped: qemu-system-x86_64 or binutils not installed\n");
		skip();
	}
	snprintf(kernel_path, sizeof(kernel_path), "%s/%s", kernel_dir(), kernel_file);
	kernel = read_file(kernel_path, &kernel_len);
	if (!kernel) {
		print_message("skipped: %s not built (make check builds the test kernel)\n",
			      kernel_path);
		skip();
	}
	snprintf(initrd_path, sizeof(initrd_path), "%s/initramfs.cpio.gz", kernel_dir());
	initrd = read_file(initrd_path, &initrd_len);

	snprintf(dir, sizeof(dir), "%s/skyvm-qemu-XXXXXX", tmp && *tmp ? tmp : P_tmpdir);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(guest_mem_init(&m, GUEST_MEM), 0);
	/* the machine skyvm builds for a kernel: its devices are what the DSDT describes */
	if (machine_init_pc(&mc, machine_guest_ports(false, false)) < 0 ||
	    machine_allocate(&mc) < 0)
		fail_msg("the PC machine: %s", err_msg());
	machine_acpi_devices(&mc, acpi_devs, &acpi);
	c = (struct boot_config){ .kernel = kernel, .kernel_len = kernel_len,
				  .kernel_name = kernel_path, .initrd = initrd,
				  .initrd_len = initrd ? initrd_len : 0,
				  .cmdline = kernel_cmdline, .ncpus = NCPUS, .acpi = &acpi };
	if (boot_load(&m, &c, &e) < 0)
		fail_msg("boot_load: %s", err_msg());
	machine_free(&mc);
	assert_int_equal(e.mode, want_mode);

	snprintf(low, sizeof(low), "%s/low.bin", dir);
	snprintf(kern, sizeof(kern), "%s/kernel.bin", dir);
	snprintf(initrd_bin, sizeof(initrd_bin), "%s/initrd.bin", dir);
	snprintf(bios, sizeof(bios), "%s/bios.bin", dir);
	snprintf(serial, sizeof(serial), "%s/serial.log", dir);
	dump(&m, low, 0, LAYOUT_EBDA_START);
	dump(&m, kern, e.kernel_start, e.kernel_end - e.kernel_start);
	if (e.initrd_start)
		dump(&m, initrd_bin, e.initrd_start, initrd_len);
	biosimg = calloc(1, BIOS_SIZE);
	memcpy(biosimg, guest_ptr(&m, LAYOUT_ACPI_START, STUB_OFFSET), STUB_OFFSET);
	if (build_stub(dir, &e, biosimg + STUB_OFFSET) < 0) {
		print_message("skipped: could not assemble the reset stub\n");
		free(biosimg);
		rm_tree(dir);
		guest_mem_free(&m);
		free(kernel);
		free(initrd);
		skip();
	}
	write_file(bios, biosimg, BIOS_SIZE);
	free(biosimg);

	snprintf(dev_low, sizeof(dev_low), "loader,file=%s,addr=0x0,force-raw=on", low);
	snprintf(dev_kern, sizeof(dev_kern), "loader,file=%s,addr=0x%llx,force-raw=on", kern,
		 (unsigned long long)e.kernel_start);
	snprintf(dev_initrd, sizeof(dev_initrd), "loader,file=%s,addr=0x%llx,force-raw=on",
		 initrd_bin, (unsigned long long)e.initrd_start);
	snprintf(memarg, sizeof(memarg), "%lluM", (unsigned long long)(GUEST_MEM >> 20));
	snprintf(smp, sizeof(smp), "%d", NCPUS);
	{
		char serial_arg[320];
		const char *argv[32] = { "timeout", QEMU_TIMEOUT, "qemu-system-x86_64", "-M", "pc",
					 "-accel", "tcg", "-cpu", "max", "-m", memarg, "-smp", smp,
					 "-nodefaults", "-no-user-config", "-display", "none",
					 "-vga", "none", "-no-reboot", "-bios", bios,
					 "-device", dev_low, "-device", dev_kern };
		int i = 0;

		snprintf(serial_arg, sizeof(serial_arg), "file:%s", serial);
		while (argv[i])
			i++;
		if (e.initrd_start) {
			argv[i++] = "-device";
			argv[i++] = dev_initrd;
		}
		argv[i++] = "-serial";
		argv[i++] = serial_arg;
		argv[i] = NULL;
		rc = run(argv, NULL);
	}
	log = (char *)read_file(serial, &log_len);
	if (!log)
		fail_msg("QEMU (exit %d) produced no serial output", rc);
	for (size_t i = 0; i < log_len; i++)
		if (log[i] == '\0')
			log[i] = ' '; /* stray NULs would hide the rest from strstr() */
	print_message("QEMU TCG exit %d; %zu bytes of guest log (%s, %s initramfs)\n", rc, log_len,
		      e.format, initrd ? "with" : "without");

	/* the zero page or start info: command line and memory map */
	expect_log(log, "Command line: console=ttyS0 panic=-1 reboot=acpi tsc_early_khz=2000000");
	expect_log(log, "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable");
	expect_log(log, "BIOS-e820: [mem 0x000000000009fc00-0x00000000000fffff] reserved");
	expect_log(log, "BIOS-e820: [mem 0x0000000000100000-0x0000000007ffffff] usable");
	/* the tables, as ACPICA lists them, and what the MADT described */
	expect_log(log, "ACPI: RSDP 0x00000000000E0000 000024 (v02 SKYVM )");
	expect_log(log, "ACPI: XSDT 0x");
	expect_log(log, "ACPI: FACP 0x");
	expect_log(log, "ACPI: DSDT 0x");
	expect_log(log, "ACPI: APIC 0x");
	expect_log(log, "IOAPIC[0]: apic_id 2, version");
	expect_log(log, "address 0xfec00000, GSI 0-23");
	expect_log(log, "ACPI: INT_SRC_OVR (bus 0 bus_irq 0 global_irq 2 dfl dfl)");
	expect_log(log, "ACPI: INT_SRC_OVR (bus 0 bus_irq 9 global_irq 9 high level)");
	expect_log(log, "smp: Brought up 1 node, 2 CPUs");
	if (initrd)
		expect_log(log, "Run /init as init process");

	if (strstr(log, "During Region initialization")) {
		/*
		 * ACPICA could not even install its default region handlers:
		 * a kernel without CONFIG_PCI compiles out the PCI_Config one
		 * and then loads no DSDT at all (QEMU's own tables fail the
		 * same way).  Nothing of ours was read yet; say what went
		 * unchecked rather than pass silently.
		 */
		print_message("NOTE: %s loads no DSDT (CONFIG_PCI=n); the AML, the ISA "
			      "devices' IRQs and /init's output were not checked\n", kernel_path);
	} else {
		expect_log(log, "ACPI: 1 ACPI AML tables successfully acquired and loaded");
		/*
		 * ACPI PNP found the DSDT's devices and gave them IRQs (numbered
		 * dynamically: there are no legacy ones), so the UART serves
		 * /init and the i8042 probes.
		 */
		expect_log(log, "pnp: PnP ACPI: found 3 devices");
		expect_log(log, "00:00: ttyS0 at I/O 0x3f8 (irq = ");
		expect_log(log, "i8042: PNP: PS/2 Controller [PNP0303:KBD] at 0x60,0x64 irq ");
		if (initrd)
			expect_log(log, "SKYVM-INIT: cpus=2 online=0-1");
	}
	/* reboot went out through the reset register / i8042: QEMU stopped itself */
	if (initrd)
		assert_int_equal(rc, 0);
	free(log);
	rm_tree(dir);
	guest_mem_free(&m);
	free(kernel);
	free(initrd);
}

static void test_qemu_boots_vmlinux_by_pvh(void **state)
{
	boot_in_qemu("vmlinux", BOOT_ENTRY_PVH32);
}

static void test_qemu_boots_bzimage_by_64bit_protocol(void **state)
{
	boot_in_qemu("bzImage", BOOT_ENTRY_LINUX64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_qemu_boots_vmlinux_by_pvh),
		cmocka_unit_test(test_qemu_boots_bzimage_by_64bit_protocol),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
