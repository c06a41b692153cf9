/* SPDX-License-Identifier: MIT */
/*
 * The benchmark peer: the least a program can do on /dev/kvm to run a guest.
 *
 *   bare_kvm                 the KVM objects `skyvm run` creates for its embedded
 *                            guest: VM, TSS and identity-map addresses, one 32 MiB
 *                            memslot (skyvm's default --memory), one vCPU with the
 *                            host's supported CPUID set (KVM_SET_CPUID2), no irqchip.
 *                            The guest runs in 64-bit mode, as skyvm's embedded
 *                            guests do (page tables: one 2 MiB page; flat GDT
 *                            state set through KVM_SET_SREGS), writes 0 to the
 *                            debug-exit port 0x501 and the program exits 0, as
 *                            skyvm does.
 *   bare_kvm --real-mode     the same guest code in real mode, no page tables
 *   bare_kvm --linux-objects the same plus a 128 MiB memslot, the in-kernel irqchip
 *                            (PIC, IOAPIC, LAPIC written once) and PIT2: what
 *                            `skyvm run --irqchip kernel --memory 128` creates
 *   bare_kvm --exits N       the guest does N `out` to port 0x510 first (N <= 65535),
 *                            each one exit to userspace and back; prints the mean
 *                            nanoseconds per exit measured from the first
 * Exits 0 when the guest reached the final port write.  Guest memory is one
 * anonymous mapping of exactly the memslot's size (bench/timeit.c's meter finds it).
 */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define CODE_ADDR 0x1000
#define PML4_ADDR 0x2000 /* -> PDPT 0x3000 -> PD 0x4000: one 2 MiB page at 0 */
#define EXIT_PORT 0x501
#define LOOP_PORT 0x510

static int die(const char *what)
{
	perror(what);
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	int linux_objects = 0, real_mode = 0;
	unsigned long exits = 0;
	size_t mem_size = 32 << 20;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--linux-objects"))
			linux_objects = 1;
		else if (!strcmp(argv[i], "--real-mode"))
			real_mode = 1;
		else if (!strcmp(argv[i], "--exits") && i + 1 < argc)
			exits = strtoul(argv[++i], NULL, 10);
		else
			return fprintf(stderr, "usage: bare_kvm [--linux-objects] [--real-mode] [--exits N]\n"), 2;
	}
	if (exits > 65535)
		exits = 65535;
	if (linux_objects)
		mem_size = 128 << 20;

	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		die("/dev/kvm");
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		die("KVM_CREATE_VM");
	uint8_t *mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap");
	/*
	 * mov dx, LOOP_PORT; mov cx, exits; jcxz done; l: out dx, al; loop l;
	 * done: mov dx, EXIT_PORT; mov al, 0; out dx, al; hlt
	 */
	uint8_t code16[] = { 0xba, LOOP_PORT & 0xff, LOOP_PORT >> 8,
			     0xb9, (uint8_t)exits, (uint8_t)(exits >> 8),
			     0xe3, 0x03,
			     0xee, 0xe2, 0xfd,
			     0xba, EXIT_PORT & 0xff, EXIT_PORT >> 8,
			     0xb0, 0x00, 0xee, 0xf4 };
	/* The same in 64-bit mode: 32-bit immediates, jrcxz and loop count in rcx. */
	uint8_t code64[] = { 0xba, LOOP_PORT & 0xff, LOOP_PORT >> 8, 0, 0,
			     0xb9, (uint8_t)exits, (uint8_t)(exits >> 8), 0, 0,
			     0xe3, 0x03,
			     0xee, 0xe2, 0xfd,
			     0xba, EXIT_PORT & 0xff, EXIT_PORT >> 8, 0, 0,
			     0xb0, 0x00, 0xee, 0xf4 };
	if (real_mode) {
		memcpy(mem + CODE_ADDR, code16, sizeof(code16));
	} else {
		uint64_t *pml4 = (uint64_t *)(void *)(mem + PML4_ADDR);

		memcpy(mem + CODE_ADDR, code64, sizeof(code64));
		pml4[0] = (PML4_ADDR + 0x1000) | 3;       /* present, writable */
		pml4[512] = (PML4_ADDR + 0x2000) | 3;     /* PDPT[0] */
		pml4[1024] = 0x83;                        /* PD[0]: 2 MiB page at 0 */
	}
	/* skyvm's LAYOUT_KVM_TSS and LAYOUT_KVM_IDENTITY_MAP (src/boot/layout.h) */
	if (ioctl(vm, KVM_SET_TSS_ADDR, 0xfeffd000UL) < 0)
		die("KVM_SET_TSS_ADDR");
	uint64_t ident = 0xfeffc000ULL;
	if (ioctl(vm, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
		die("KVM_SET_IDENTITY_MAP_ADDR");
	struct kvm_userspace_memory_region region = {
		.slot = 0, .guest_phys_addr = 0, .memory_size = mem_size,
		.userspace_addr = (uint64_t)(uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		die("KVM_SET_USER_MEMORY_REGION");
	if (linux_objects) {
		struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

		if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0)
			die("KVM_CREATE_IRQCHIP");
		if (ioctl(vm, KVM_CREATE_PIT2, &pit) < 0)
			die("KVM_CREATE_PIT2");
	}
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		die("KVM_CREATE_VCPU");
	/* A VMM must give the vCPU a CPUID table; the host's supported one is the least. */
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[256];
	} cpuid = { .c.nent = 256 };
	if (ioctl(kvm, KVM_GET_SUPPORTED_CPUID, &cpuid) < 0)
		die("KVM_GET_SUPPORTED_CPUID");
	if (ioctl(vcpu, KVM_SET_CPUID2, &cpuid) < 0)
		die("KVM_SET_CPUID2");
	if (linux_objects) {
		struct kvm_lapic_state lapic;

		if (ioctl(vcpu, KVM_GET_LAPIC, &lapic) < 0)
			die("KVM_GET_LAPIC");
		if (ioctl(vcpu, KVM_SET_LAPIC, &lapic) < 0)
			die("KVM_SET_LAPIC");
	}
	int run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
				   vcpu, 0);
	if (run == MAP_FAILED)
		die("mmap kvm_run");
	struct kvm_sregs sregs;
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (!real_mode) {
		struct kvm_segment seg = { .base = 0, .limit = 0xffffffff, .selector = 0x10,
					   .present = 1, .type = 3, .dpl = 0, .db = 1, .s = 1,
					   .l = 0, .g = 1 };

		sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
		seg.selector = 0x8;
		seg.type = 11;
		seg.db = 0;
		seg.l = 1;
		sregs.cs = seg;
		sregs.cr3 = PML4_ADDR;
		sregs.cr4 = 1u << 5;                      /* PAE */
		sregs.cr0 = 0x80000011;                   /* PG, ET, PE */
		sregs.efer = (1u << 8) | (1u << 10);      /* LME, LMA */
	}
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS");
	struct kvm_regs regs = { .rip = CODE_ADDR, .rflags = 2 };
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_REGS");

	uint64_t t0 = 0, loops = 0;
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			die("KVM_RUN");
		if (run->exit_reason != KVM_EXIT_IO) {
			fprintf(stderr, "unexpected exit %u\n", run->exit_reason);
			return 1;
		}
		if (run->io.port == LOOP_PORT) {
			if (!loops++)
				t0 = now_ns();
			continue;
		}
		if (run->io.port == EXIT_PORT)
			break;
	}
	if (exits)
		printf("%.1f ns/exit over %lu exits\n",
		       loops > 1 ? (double)(now_ns() - t0) / (double)(loops - 1) : 0.0, loops);
	return 0;
}
