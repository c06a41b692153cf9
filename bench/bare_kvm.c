/* SPDX-License-Identifier: MIT */
/*
 * The benchmark peer: the least a program can do on /dev/kvm to run a guest.
 *
 *   bare_kvm                 VM, one 2 MiB memslot, one vCPU, no irqchip; the guest
 *                            (real mode) writes 0 to port 0x501 and skyvm-style exits
 *   bare_kvm --linux-objects the same plus TSS address, 128 MiB memslot, in-kernel
 *                            irqchip and PIT2: the objects a Linux guest needs
 *   bare_kvm --exits N       the guest does N port writes first; prints the mean
 *                            nanoseconds per exit to userspace and back
 * Exits 0 when the guest reached the final port write.
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
	int linux_objects = 0;
	unsigned long exits = 0;
	size_t mem_size = 2 << 20;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--linux-objects"))
			linux_objects = 1;
		else if (!strcmp(argv[i], "--exits") && i + 1 < argc)
			exits = strtoul(argv[++i], NULL, 10);
		else
			return fprintf(stderr, "usage: bare_kvm [--linux-objects] [--exits N]\n"), 2;
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
	uint8_t code[] = { 0xba, LOOP_PORT & 0xff, LOOP_PORT >> 8,
			   0xb9, (uint8_t)exits, (uint8_t)(exits >> 8),
			   0xe3, 0x03,
			   0xee, 0xe2, 0xfd,
			   0xba, EXIT_PORT & 0xff, EXIT_PORT >> 8,
			   0xb0, 0x00, 0xee, 0xf4 };
	memcpy(mem + CODE_ADDR, code, sizeof(code));
	if (linux_objects && ioctl(vm, KVM_SET_TSS_ADDR, 0xfeffd000UL) < 0)
		die("KVM_SET_TSS_ADDR");
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
