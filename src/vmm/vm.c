/* SPDX-License-Identifier: MIT */
/*
 * Creating, running and ending a VM.  The order of vm_create() matters:
 *   1. /dev/kvm: API version and required capabilities (kvm/kvm.c)
 *   2. KVM_CREATE_VM, TSS and identity-map addresses (in the 32-bit hole)
 *   3. guest memory and its memslots (low RAM, RAM above 4 GiB)
 *   4. in-kernel irqchip (+ PIT2 for kernels): only when the guest needs
 *      interrupts; they cost milliseconds to create and tear down
 *   5. CPU model: supported CPUID -> cpu_configure() (cpu/cpu.h)
 *   6. the image (kernel or embedded guest) and boot tables (boot/boot.h)
 *   7. vCPUs: KVM_SET_CPUID2 on each before its first KVM_RUN, MSRs, FPU,
 *      boot registers on the BSP; then every LAPIC written once
 *   8. devices (self-registered, devices/bus.h)
 */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "boot/layout.h"
#include "cpu/host.h"
#include "cpu/topology.h"
#include "exitcodes.h"
#include "guest/embedded.h"
#include "util/err.h"
#include "util/file.h"
#include "vmm/vcpu.h"

#define KERNEL_MAX_BYTES (512ULL << 20)
#define INITRD_MAX_BYTES (1ULL << 30)

static int stop_efd = -1; /* written by vm_stop(), polled by vm_run() */

void vm_stop(struct vm *vm, int exit_code, const char *fmt, ...)
{
	va_list ap;
	uint64_t one = 1;
	bool first;

	pthread_mutex_lock(&vm->lock);
	first = !atomic_load(&vm->stopping);
	if (first) {
		vm->exit_code = exit_code;
		va_start(ap, fmt);
		vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
		va_end(ap);
		atomic_store(&vm->stopping, true);
	}
	pthread_mutex_unlock(&vm->lock);
	if (first && stop_efd >= 0 && write(stop_efd, &one, sizeof(one)) < 0) {
		/* vm_run() also notices `stopping` on its next poll timeout */
	}
}

void vm_irq_line(struct vm *vm, unsigned irq, bool level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };

	if (vm->has_irqchip)
		ioctl(vm->fd, KVM_IRQ_LINE, &l);
}

/*
 * GSI routing as on a PC with ACPI: ISA IRQ n goes to PIC pin n and IOAPIC
 * pin n, except IRQ 0 (the PIT), which the MADT overrides to GSI 2.
 */
static int setup_gsi_routing(struct vm *vm)
{
	struct {
		struct kvm_irq_routing hdr;
		struct kvm_irq_routing_entry e[40];
	} r;
	unsigned n = 0;

	memset(&r, 0, sizeof(r));
	for (unsigned i = 0; i < 16; i++) {
		if (i == 2)
			continue; /* cascade */
		r.e[n].gsi = i;
		r.e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		r.e[n].u.irqchip.irqchip = i < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
		r.e[n].u.irqchip.pin = i % 8;
		n++;
	}
	for (unsigned i = 0; i < 24; i++) {
		if (i == 2)
			continue;
		r.e[n].gsi = i;
		r.e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
		r.e[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		r.e[n].u.irqchip.pin = i == 0 ? 2 : i;
		n++;
	}
	r.hdr.nr = n;
	return KVM_CHECKED(vm->fd, KVM_SET_GSI_ROUTING, &r);
}

static int set_memslot(struct vm *vm, unsigned slot, uint64_t gpa, uint64_t size, void *host)
{
	struct kvm_userspace_memory_region region = {
		.slot = slot,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)host,
	};

	return KVM_CHECKED(vm->fd, KVM_SET_USER_MEMORY_REGION, &region);
}

static int setup_memslots(struct vm *vm)
{
	if (set_memslot(vm, 0, 0, vm->mem.low_size, vm->mem.host) < 0)
		return err_wrap("guest memory (low %llu MiB)",
				(unsigned long long)(vm->mem.low_size >> 20));
	if (vm->mem.size > vm->mem.low_size &&
	    set_memslot(vm, 1, LAYOUT_HOLE_END, vm->mem.size - vm->mem.low_size,
			vm->mem.host + vm->mem.low_size) < 0)
		return err_wrap("guest memory above 4 GiB");
	return 0;
}

static int setup_irqchip(struct vm *vm)
{
	const struct vm_config *c = vm->cfg;
	bool want;

	switch (c->irqchip) {
	case IRQCHIP_KERNEL:
		want = true;
		break;
	case IRQCHIP_NONE:
		want = false;
		break;
	default:
		/* The embedded guests need interrupts only to start APs. */
		want = c->kernel_path || vm->ncpus > 1;
		break;
	}
	if (!want) {
		if (vm->ncpus > 1)
			return err_set("--cpus %u needs the in-kernel irqchip (APs start with "
				       "INIT/SIPI on the local APIC): drop --irqchip none",
				       vm->ncpus);
		return 0;
	}
	if (KVM_CHECKED_VAL(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return -1;
	vm->has_irqchip = true;
	if (setup_gsi_routing(vm) < 0)
		return -1;
	if (c->kernel_path || c->irqchip == IRQCHIP_KERNEL) {
		struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };

		if (KVM_CHECKED(vm->fd, KVM_CREATE_PIT2, &pit) < 0)
			return -1;
		vm->has_pit = true;
	}
	return 0;
}

/*
 * CPUID.(EAX=0DH,ECX=0):EAX[18] XTILEDATA: KVM refuses a CPUID table with
 * AMX tile data unless the process asked for the (large) guest xstate
 * permission first.
 */
#define ARCH_REQ_XCOMP_GUEST_PERM 0x1025
#define XFEATURE_XTILEDATA 18

static int request_amx_permission(struct vm *vm)
{
	if (!(cpuid_value(&vm->cpu.table, 0xd, 0, CPUID_EAX) & (1u << XFEATURE_XTILEDATA)))
		return 0;
	if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_GUEST_PERM, XFEATURE_XTILEDATA) < 0)
		return err_errno("--cpu %s enables AMX, but the kernel refused the guest "
				 "permission for AMX state (ARCH_REQ_XCOMP_GUEST_PERM)",
				 vm->cfg->cpu_spec);
	return 0;
}

static int setup_cpu_model(struct vm *vm)
{
	struct cpuid_table *supported = calloc(1, sizeof(*supported));
	struct cpu_topology topo = vm->cfg->topo;
	int r;

	if (!supported)
		return err_set("out of memory");
	topo.cpus = vm->ncpus;
	r = cpu_host_supported_fd(vm->kvm.fd, supported);
	if (r == 0)
		r = cpu_configure(vm->cfg->cpu_spec, supported, &topo, &vm->cpu, vm->cfg->warn);
	free(supported);
	if (r < 0)
		return err_wrap("--cpu %s", vm->cfg->cpu_spec);
	return request_amx_permission(vm);
}

static int load_image(struct vm *vm, unsigned *apic_ids)
{
	const struct vm_config *c = vm->cfg;
	struct boot_config bc = {
		.cmdline = c->cmdline,
		.ncpus = vm->ncpus,
		.apic_ids = apic_ids,
	};
	uint8_t *kernel = NULL, *initrd = NULL;
	size_t kernel_len = 0, initrd_len = 0;
	int r = -1;

	if (c->kernel_path) {
		if (file_read_all(c->kernel_path, "kernel", KERNEL_MAX_BYTES, &kernel,
				  &kernel_len) < 0)
			return -1;
		bc.kernel = kernel;
		bc.kernel_len = kernel_len;
		bc.kernel_name = c->kernel_path;
	} else {
		const struct embedded_guest *g = embedded_guest_find(c->guest_name);

		if (!g)
			return err_set("no embedded guest called '%s'", c->guest_name);
		bc.kernel = g->start;
		bc.kernel_len = (size_t)(g->end - g->start);
		bc.kernel_name = c->guest_name;
	}
	if (c->initrd_path) {
		if (file_read_all(c->initrd_path, "initrd", INITRD_MAX_BYTES, &initrd,
				  &initrd_len) < 0)
			goto out;
		bc.initrd = initrd;
		bc.initrd_len = initrd_len;
	}
	r = boot_load(&vm->mem, &bc, &vm->entry);
out:
	free(kernel);
	free(initrd);
	return r;
}

static int init_devices(struct vm *vm)
{
	for (struct device_type *t = device_types(); t; t = t->next)
		if (t->slot >= DEVICE_MAX_TYPES)
			return err_set("device %s: more than %d device types", t->name,
				       DEVICE_MAX_TYPES);
	for (struct device_type *t = device_types(); t; t = t->next)
		if (t->init && t->init(vm) < 0)
			return err_wrap("device %s", t->name);
	return 0;
}

static void exit_devices(struct vm *vm)
{
	/* Walk backwards: the list is singly linked and short. */
	struct device_type *stack[32];
	unsigned n = 0;

	for (struct device_type *t = device_types(); t && n < 32; t = t->next)
		stack[n++] = t;
	while (n--)
		if (stack[n]->exit)
			stack[n]->exit(vm);
}

/*
 * Linux on skyvm's hardware-reduced ACPI platform calibrates the TSC against
 * kvmclock; with kvmclock hidden it has no reference at all (no PIT
 * calibration without a legacy PIC, no HPET or PM timer) and stops at
 * "could not calculate TSC khz".  So when a kernel runs without kvmclock, the
 * TSC frequency KVM gives the vCPU goes on its command line, unless the user
 * set one.  2047 bytes is the smallest cmdline_size a 64-bit kernel has.
 */
#define KVMCLOCK_BITS ((1u << 0) | (1u << 3)) /* 0x40000001.EAX: both kvmclock MSR pairs */
#define LINUX_MIN_CMDLINE 2047

static void add_tsc_khz_hint(struct vm *vm)
{
	char *cmd, add[48];
	size_t len, n;
	int khz;

	if (!vm->cfg->kernel_path || (vm->cpu.enabled.w[FW_KVM_FEATURES] & KVMCLOCK_BITS))
		return;
	cmd = guest_ptr(&vm->mem, LAYOUT_CMDLINE, LINUX_MIN_CMDLINE + 1);
	if (!cmd || strstr(cmd, "tsc_early_khz="))
		return;
	khz = ioctl(vm->vcpus[0].fd, KVM_GET_TSC_KHZ, 0);
	if (khz <= 0)
		return;
	len = strnlen(cmd, LINUX_MIN_CMDLINE);
	n = (size_t)snprintf(add, sizeof(add), "%stsc_early_khz=%d", len ? " " : "", khz);
	if (len + n > LINUX_MIN_CMDLINE)
		return;
	memcpy(cmd + len, add, n + 1);
	if (vm->cfg->verbose)
		fprintf(stderr, "skyvm: kvmclock is hidden: added '%s' to the command line\n",
			add + (len ? 1 : 0));
}

int vm_create(struct vm *vm, const struct vm_config *cfg)
{
	struct cpu_topology topo = cfg->topo;
	unsigned *apic_ids = NULL;
	int r = -1;

	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->fd = -1;
	vm->kvm.fd = -1;
	vm->ncpus = cfg->ncpus;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->stopped_cond, NULL);

	if (cfg->memory_mib < LAYOUT_MIN_MEMORY_MIB)
		return err_set("--memory %llu: too little memory, at least %llu MiB are needed",
			       (unsigned long long)cfg->memory_mib, LAYOUT_MIN_MEMORY_MIB);
	if (console_open(&vm->console, cfg->console, cfg->max_output) < 0)
		return -1;

	/*
	 * The image first, before /dev/kvm: a bad kernel or too little memory is
	 * the user's to fix on any machine, and is found without KVM.
	 */
	topo.cpus = vm->ncpus;
	if (cpu_topology_resolve(&topo, &topo) < 0)
		return -1;
	apic_ids = calloc(vm->ncpus, sizeof(*apic_ids));
	vm->vcpus = calloc(vm->ncpus, sizeof(*vm->vcpus));
	if (!apic_ids || !vm->vcpus) {
		err_set("out of memory for %u vCPUs", vm->ncpus);
		goto out;
	}
	for (unsigned i = 0; i < vm->ncpus; i++) {
		apic_ids[i] = cpu_apic_id(&topo, i);
		vm->vcpus[i].fd = -1;
	}
	if (guest_mem_init(&vm->mem, cfg->memory_mib << 20) < 0)
		goto out;
	/*
	 * The embedded guests touch a few hundred KiB.  With transparent huge pages
	 * on "always", loading one at 1 MiB faults in (and zeroes) a whole 2 MiB
	 * page; 4 KiB pages are cheaper to start with and keep RSS small.  Kernels
	 * keep huge pages (fewer nested-paging misses).
	 */
	if (!cfg->kernel_path)
		madvise(vm->mem.host, vm->mem.size, MADV_NOHUGEPAGE);
	if (load_image(vm, apic_ids) < 0)
		goto out;

	if (kvm_open(&vm->kvm, kvm_device_path()) < 0)
		goto out;
	if (vm->ncpus > (unsigned)vm->kvm.max_vcpus) {
		err_set("--cpus %u: this host's KVM supports at most %d vCPUs", vm->ncpus,
			vm->kvm.max_vcpus);
		goto out;
	}
	vm->fd = KVM_CHECKED_VAL(vm->kvm.fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		goto out;
	if (KVM_CHECKED_VAL(vm->fd, KVM_SET_TSS_ADDR, LAYOUT_KVM_TSS) < 0)
		goto out;
	if (kvm_cap(vm->kvm.fd, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
		uint64_t ident = LAYOUT_KVM_IDENTITY_MAP;

		if (KVM_CHECKED(vm->fd, KVM_SET_IDENTITY_MAP_ADDR, &ident) < 0)
			goto out;
	}
	if (vm->kvm.has_exit_on_emulation_failure) {
		/* Emulation failures come to us with the instruction bytes. */
		struct kvm_enable_cap cap = { .cap = KVM_CAP_EXIT_ON_EMULATION_FAILURE,
					      .args = { 1 } };

		if (KVM_CHECKED(vm->fd, KVM_ENABLE_CAP, &cap) < 0)
			goto out;
	}
	if (setup_memslots(vm) < 0 || setup_irqchip(vm) < 0 || setup_cpu_model(vm) < 0)
		goto out;
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (vcpu_create(vm, &vm->vcpus[i], i, apic_ids[i]) < 0)
			goto out;
	if (vm->has_irqchip && vcpus_init_lapics(vm) < 0)
		goto out;
	add_tsc_khz_hint(vm);
	if (init_devices(vm) < 0)
		goto out;
	r = 0;
out:
	free(apic_ids);
	return r;
}

static void kick_handler(int sig)
{
	(void)sig;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* stdin -> the UART, until EOF; defined by the UART (devices/uart.c). */
void uart_input(struct vm *vm, const uint8_t *buf, size_t len);

static void wait_for_stop(struct vm *vm)
{
	double deadline = vm->cfg->timeout_s > 0 ? now_s() + vm->cfg->timeout_s : 0;
	bool input = vm->console.input;

	while (!atomic_load(&vm->stopping)) {
		struct pollfd p[2] = {
			{ .fd = stop_efd, .events = POLLIN },
			{ .fd = STDIN_FILENO, .events = POLLIN },
		};
		int timeout_ms = -1;
		int n;

		if (deadline) {
			double left = deadline - now_s();

			if (left <= 0) {
				vm_stop(vm, EXIT_TIMEOUT,
					"--timeout %.3g s expired: the guest was still running",
					vm->cfg->timeout_s);
				break;
			}
			timeout_ms = (int)(left * 1000) + 1;
		}
		n = poll(p, input ? 2 : 1, timeout_ms);
		if (n < 0 && errno != EINTR)
			break;
		if (n > 0 && input && (p[1].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL))) {
			uint8_t buf[256];
			ssize_t got = read(STDIN_FILENO, buf, sizeof(buf));

			if (got > 0)
				uart_input(vm, buf, (size_t)got);
			else
				input = false; /* EOF: the guest keeps running */
		}
	}
}

static void enter_raw_mode(struct vm *vm)
{
	struct termios t;

	if (!vm->console.input || !isatty(STDIN_FILENO))
		return;
	if (tcgetattr(STDIN_FILENO, &vm->console.saved_termios) < 0)
		return;
	t = vm->console.saved_termios;
	cfmakeraw(&t);
	t.c_oflag |= OPOST; /* keep "\n" -> "\r\n" for the host terminal */
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
		vm->console.raw_tty = true;
}

int vm_run(struct vm *vm)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler; /* no SA_RESTART: KVM_RUN returns EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (stop_efd < 0) {
		err_errno("eventfd");
		return EXIT_ERROR;
	}
	enter_raw_mode(vm);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (vcpu_start(&vm->vcpus[i]) < 0) {
			vm_stop(vm, EXIT_ERROR, "%s", err_msg());
			break;
		}
	}
	wait_for_stop(vm);
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_join(&vm->vcpus[i]);
	if (vm->console.raw_tty) {
		tcsetattr(STDIN_FILENO, TCSANOW, &vm->console.saved_termios);
		vm->console.raw_tty = false;
	}
	close(stop_efd);
	stop_efd = -1;
	return vm->exit_code;
}

void vm_destroy(struct vm *vm)
{
	if (vm->vcpus) {
		exit_devices(vm);
		for (unsigned i = 0; i < vm->ncpus; i++)
			vcpu_destroy(&vm->vcpus[i]);
		free(vm->vcpus);
		vm->vcpus = NULL;
	}
	if (vm->fd >= 0)
		close(vm->fd);
	vm->fd = -1;
	kvm_close(&vm->kvm);
	guest_mem_free(&vm->mem);
	console_close(&vm->console);
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->stopped_cond);
}
