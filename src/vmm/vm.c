/* SPDX-License-Identifier: MIT */
/*
 * Creating, running and ending a VM.  The order of vm_create() matters:
 *   0. the machine: the standard devices and the command line's, resources
 *      allocated (no KVM needed: a bad --disk is found on any host)
 *   1. /dev/kvm: API version and required capabilities (kvm/kvm.c)
 *   2. KVM_CREATE_VM, TSS and identity-map addresses (in the 32-bit hole)
 *   3. guest memory and its memslots (low RAM, RAM above 4 GiB)
 *   4. in-kernel irqchip (+ PIT2 for kernels): only when the guest needs
 *      interrupts; they cost milliseconds to create and tear down
 *   5. CPU model: supported CPUID -> cpu_configure() (cpu/cpu.h)
 *   6. the image (kernel or embedded guest) and boot tables (boot/boot.h)
 *   7. vCPUs: KVM_SET_CPUID2 on each before its first KVM_RUN, MSRs, FPU,
 *      boot registers on the BSP; then every LAPIC written once
 *   8. devices realized (devices/machine.h); their resources were allocated
 *      before step 1, since ACPI and the kernel command line (step 6)
 *      describe them
 */
#include "vmm/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "boot/layout.h"
#include "cpu/host.h"
#include "cpu/topology.h"
#include "cpu/xsave.h"
#include "exitcodes.h"
#include "guest/embedded.h"
#include "util/err.h"
#include "util/file.h"
#include "vmm/vcpu.h"

#define KERNEL_MAX_BYTES (512ULL << 20)
#define INITRD_MAX_BYTES (1ULL << 30)

void vm_stop(struct vm *vm, int exit_code, const char *fmt, ...)
{
	va_list ap;
	bool first;

	pthread_mutex_lock(&vm->lock);
	first = !atomic_load(&vm->stopping);
	if (first) {
		vm->exit_code = exit_code;
		va_start(ap, fmt);
		vsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
		va_end(ap);
		atomic_store(&vm->stopping, true);
		vm->run_state = VM_STOPPED;
		pthread_cond_broadcast(&vm->stopped_cond);
		pthread_cond_broadcast(&vm->state_cond); /* paused vCPUs end too */
	}
	pthread_mutex_unlock(&vm->lock);
}

void vm_irq_line(struct vm *vm, unsigned gsi, bool level)
{
	struct kvm_irq_level l = { .irq = gsi, .level = level };

	if (vm->has_irqchip)
		ioctl(vm->fd, KVM_IRQ_LINE, &l);
}

/* ---- the device host: what devices may ask of the VM (devices/device.h) */

static void *host_mem(void *ctx, uint64_t gpa, uint64_t len)
{
	struct vm *vm = ctx;

	return guest_ptr(&vm->mem, gpa, len);
}

/* RAM as guest_mem lays it out: below the 32-bit hole, and the rest from 4 GiB. */
static unsigned host_ram_ranges(void *ctx, uint64_t *gpa, uint64_t *len, unsigned max)
{
	struct vm *vm = ctx;
	unsigned n = 0;

	if (n < max && vm->mem.low_size) {
		gpa[n] = 0;
		len[n++] = vm->mem.low_size;
	}
	if (n < max && vm->mem.size > vm->mem.low_size) {
		gpa[n] = LAYOUT_HOLE_END;
		len[n++] = vm->mem.size - vm->mem.low_size;
	}
	return n;
}

static void host_set_irq(void *ctx, unsigned gsi, bool level)
{
	vm_irq_line(ctx, gsi, level);
}

static int host_irqfd(void *ctx, unsigned gsi, int fd, bool assign)
{
	struct vm *vm = ctx;
	struct kvm_irqfd irqfd = { .fd = (uint32_t)fd, .gsi = gsi,
				   .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };

	if (!vm->has_irqchip)
		return err_set("GSI %u: no irqchip to deliver it", gsi);
	return KVM_CHECKED(vm->fd, KVM_IRQFD, &irqfd);
}

static int host_ioeventfd(void *ctx, uint64_t addr, unsigned len, uint64_t data, bool pio,
			   int fd, bool assign)
{
	struct vm *vm = ctx;
	struct kvm_ioeventfd io = {
		.datamatch = data, .addr = addr, .len = len, .fd = fd,
		.flags = KVM_IOEVENTFD_FLAG_DATAMATCH | (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	return KVM_CHECKED(vm->fd, KVM_IOEVENTFD, &io);
}

static void host_stop(void *ctx, int code, const char *reason)
{
	vm_stop(ctx, code, "%s", reason);
}

static void host_cpu_words(void *ctx, unsigned cpu, const uint8_t *data, size_t nwords)
{
	struct vm *vm = ctx;

	if (cpu < vm->ncpus)
		vcpu_probe_append(&vm->vcpus[cpu], data, nwords);
}

static int build_machine(struct vm *vm)
{
	const struct vm_config *c = vm->cfg;

	/* skyvm's own ports only for the guests that speak their protocols. */
	if (machine_init_pc(&vm->machine, machine_guest_ports(!c->kernel_path, c->debug_exit)) < 0)
		return -1;
	for (unsigned i = 0; i < c->ndevices; i++)
		if (!machine_add(&vm->machine, c->devices[i].cls, c->devices[i].id,
				 c->devices[i].opts))
			return -1;
	return machine_allocate(&vm->machine);
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
		want = c->kernel_path || vm->ncpus > 1 || machine_needs_irqchip(&vm->machine);
		break;
	}
	if (!want && machine_needs_irqchip(&vm->machine))
		return err_set("--irqchip none: a device needs interrupts (a virtio device); "
			       "drop --irqchip none");
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
 * KVM refuses a CPUID table with AMX tile data unless the process asked for
 * the (large) guest xstate permission first; which component that is, is the
 * XSAVE stage's decision (cpu_xsave_guest_perm).
 */
#define ARCH_REQ_XCOMP_GUEST_PERM 0x1025

static int request_amx_permission(struct vm *vm)
{
	int component = cpu_xsave_guest_perm(&vm->cpu.table);

	if (component < 0)
		return 0;
	if (syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_GUEST_PERM, (unsigned long)component) < 0)
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
	if (vm->cfg->restore_cpuid) {
		/* A restore: the saved tables stand; the pipeline is not re-run. */
		free(supported);
		vm->cpu.table = vm->cfg->restore_cpuid[0];
		featureset_from_cpuid(&vm->cpu.enabled, &vm->cpu.table);
		snprintf(vm->cpu.def.name, sizeof(vm->cpu.def.name), "%s",
			 vm->cfg->restore_model_name ? vm->cfg->restore_model_name : "restored");
		return request_amx_permission(vm);
	}
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
	struct acpi_device acpi_devs[MACHINE_MAX_DEVICES];
	struct acpi_config acpi = { 0 };
	struct boot_config bc = {
		.cmdline = c->cmdline,
		.ncpus = vm->ncpus,
		.apic_ids = apic_ids,
		.acpi = &acpi,
	};
	uint8_t *kernel = NULL, *initrd = NULL;
	size_t kernel_len = 0, initrd_len = 0;
	char *cmdline = NULL;
	int r = -1;

	machine_acpi_devices(&vm->machine, acpi_devs, &acpi);
	/*
	 * What the devices add to a kernel's command line (virtio_mmio.device=...):
	 * only with acpi=off in it; otherwise the DSDT alone describes them.
	 */
	if (c->kernel_path) {
		cmdline = calloc(1, LAYOUT_CMDLINE_MAX);
		if (!cmdline)
			return err_set("out of memory");
		snprintf(cmdline, LAYOUT_CMDLINE_MAX, "%s", c->cmdline ? c->cmdline : "");
		if (machine_cmdline(&vm->machine, cmdline, LAYOUT_CMDLINE_MAX) < 0) {
			free(cmdline);
			return -1;
		}
		bc.cmdline = cmdline;
	}

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
	free(cmdline);
	free(kernel);
	free(initrd);
	return r;
}

/*
 * Linux on skyvm's hardware-reduced ACPI platform calibrates the TSC against
 * kvmclock; with kvmclock hidden it has no reference at all (no PIT
 * calibration without a legacy PIC, no HPET or PM timer) and stops at
 * "could not calculate TSC khz".  So when a kernel runs without kvmclock, the
 * TSC frequency KVM gives the vCPU goes on its command line, unless the user
 * set one.  2047 bytes is the smallest cmdline_size a 64-bit kernel has.
 */
#define LINUX_MIN_CMDLINE 2047

static void add_tsc_khz_hint(struct vm *vm)
{
	char *cmd, add[48];
	size_t len, n;
	int khz;

	if (!vm->cfg->kernel_path || featureset_has_name(&vm->cpu.enabled, "kvmclock"))
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
	{
		/* vm_run() waits on it with a CLOCK_MONOTONIC deadline (--timeout) */
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&vm->stopped_cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	pthread_cond_init(&vm->state_cond, NULL);
	vm->host = (struct device_host){
		.ctx = vm, .ncpus = cfg->ncpus, .console = &vm->console, .loop = &vm->loop,
		.mem = host_mem, .ram_ranges = host_ram_ranges, .set_irq = host_set_irq, .irqfd = host_irqfd,
		.ioeventfd = host_ioeventfd, .stop = host_stop, .cpu_words = host_cpu_words,
	};

	if (cfg->memory_mib < LAYOUT_MIN_MEMORY_MIB)
		return err_set("--memory %llu: too little memory, at least %llu MiB are needed",
			       (unsigned long long)cfg->memory_mib, LAYOUT_MIN_MEMORY_MIB);
	if (console_open(&vm->console, cfg->console, cfg->max_output) < 0)
		return -1;
	if (event_loop_init(&vm->loop) < 0)
		return -1;
	vm->loop_ready = true;
	if (build_machine(vm) < 0)
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
	if (!cfg->restore_cpuid && load_image(vm, apic_ids) < 0)
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
	if (machine_realize(&vm->machine, &vm->host) < 0)
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

static void on_timeout(struct vm *vm)
{
	vm_stop(vm, EXIT_TIMEOUT, "--timeout %.3g s expired: the guest was still running",
		vm->cfg->timeout_s);
}

static atomic_bool any_wedged;

bool vm_wedged(void)
{
	return atomic_load(&any_wedged);
}

void vm_report_wedged(struct vm *vm, int code)
{
	char line[700];
	int flags = fcntl(STDERR_FILENO, F_GETFL);
	int n;

	if (flags >= 0)
		fcntl(STDERR_FILENO, F_SETFL, flags | O_NONBLOCK);
	n = snprintf(line, sizeof(line), "skyvm: %s (exit %d)\n", vm->stop_reason, code);
	if (write(STDERR_FILENO, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1) < 0 ||
	    write(STDERR_FILENO, vm->wedged_report, strlen(vm->wedged_report)) < 0) {
		/* stderr gone or full: the exit code still says it */
	}
	if (flags >= 0)
		fcntl(STDERR_FILENO, F_SETFL, flags);
}

static void add_ms(struct timespec *t, long ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static long ms_until(const struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (t->tv_sec - now.tv_sec) * 1000L + (t->tv_nsec - now.tv_nsec) / 1000000L;
}

/*
 * Wait for the stop.  --timeout is counted here, on the thread that waits,
 * not by a timer on the event loop: a loop thread held up in a handler would
 * hold the timeout up with it.
 */
static void wait_for_stop(struct vm *vm)
{
	struct timespec deadline;
	bool timed = vm->cfg->timeout_s > 0;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	if (timed)
		add_ms(&deadline, (long)(vm->cfg->timeout_s * 1000.0 + 0.5));
	pthread_mutex_lock(&vm->lock);
	while (!atomic_load(&vm->stopping)) {
		if (!timed) {
			pthread_cond_wait(&vm->stopped_cond, &vm->lock);
		} else if (pthread_cond_timedwait(&vm->stopped_cond, &vm->lock, &deadline) ==
			   ETIMEDOUT && !atomic_load(&vm->stopping)) {
			pthread_mutex_unlock(&vm->lock);
			on_timeout(vm);
			pthread_mutex_lock(&vm->lock);
		}
	}
	pthread_mutex_unlock(&vm->lock);
}

static void wedged_append(struct vm *vm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void wedged_append(struct vm *vm, const char *fmt, ...)
{
	size_t n = strlen(vm->wedged_report);
	va_list ap;

	if (n + 1 >= sizeof(vm->wedged_report))
		return;
	va_start(ap, fmt);
	vsnprintf(vm->wedged_report + n, sizeof(vm->wedged_report) - n, fmt, ap);
	va_end(ap);
	vm->wedged = true;
	atomic_store(&any_wedged, true);
}

/*
 * After the stop: every vCPU thread and the loop thread get VM_STOP_GRACE_MS
 * in all to end.  One that does not is named with where it is, and left:
 * it cannot be cancelled safely (it may hold a device's lock), and the
 * process is about to end anyway.
 */
static void end_threads(struct vm *vm)
{
	struct timespec grace;
	char why[256];

	clock_gettime(CLOCK_MONOTONIC, &grace);
	add_ms(&grace, VM_STOP_GRACE_MS);
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (vcpu_join_until(&vm->vcpus[i], &grace) < 0) {
			vcpu_where_text(&vm->vcpus[i], why, sizeof(why));
			wedged_append(vm, "skyvm: vCPU %u did not stop within %d ms of the stop: %s\n",
				      i, VM_STOP_GRACE_MS, why);
		}
	}
	if (event_loop_stop_timed(&vm->loop, ms_until(&grace) > 100 ? ms_until(&grace) : 100, why,
				  sizeof(why)) < 0)
		wedged_append(vm, "skyvm: %s\n", why);
}

static void on_quit_key(void *ctx)
{
	vm_stop(ctx, EXIT_OK, "Ctrl-A x on the console");
}

/*
 * With the terminal in raw mode, a SIGTERM, SIGHUP or SIGINT (kill, a closed
 * terminal) ends the VM through the loop, so the terminal is restored on the
 * way out instead of being left raw.  The signals are blocked before any
 * thread starts, so only the loop's signalfd sees them.
 */
static void on_signal(void *opaque, uint32_t events)
{
	struct vm *vm = opaque;
	struct signalfd_siginfo si;

	if (read(vm->signal_fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	vm_stop(vm, EXIT_SIGNAL_BASE + (int)si.ssi_signo, "terminated by signal %u (terminal restored)",
		si.ssi_signo);
}

static int catch_terminal_signals(struct vm *vm)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return err_set("pthread_sigmask");
	vm->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (vm->signal_fd < 0)
		return err_errno("signalfd");
	return event_loop_add(&vm->loop, vm->signal_fd, EPOLLIN, on_signal, vm);
}

/*
 * The end of set-up: everything the VM needs is open (devices, KVM, the
 * console, the API socket).  The --user drop and the seccomp filter come now,
 * before the event loop and vCPU threads start, so they are born under it;
 * a thread already running (the API server's) gets it too (TSYNC).
 */
static int enter_sandbox(struct vm *vm)
{
	const struct sandbox_config *sb = vm->cfg->sandbox;

	if (!sb)
		return 0;
	if (vm->console.raw_tty)
		sandbox_restore_tty(STDIN_FILENO, &vm->console.saved_termios);
	return sandbox_enter(sb);
}

/* Console output left in the buffer is written while the reader takes it. */
#define CONSOLE_STALL_MS 250

int vm_run(struct vm *vm)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler; /* no SA_RESTART: KVM_RUN returns EINTR */
	sigaction(SIGUSR1, &sa, NULL);
	/* A console reader that goes away is an EPIPE to count, not a death. */
	signal(SIGPIPE, SIG_IGN);
	if (console_attach(&vm->console, &vm->loop, on_quit_key, vm) < 0 ||
	    (vm->console.raw_tty && catch_terminal_signals(vm) < 0) ||
	    enter_sandbox(vm) < 0 || event_loop_start(&vm->loop) < 0) {
		vm_stop(vm, EXIT_ERROR, "%s", err_msg());
	}
	for (unsigned i = 0; i < vm->ncpus && !atomic_load(&vm->stopping); i++) {
		if (vcpu_start(&vm->vcpus[i]) < 0) {
			vm_stop(vm, EXIT_ERROR, "%s", err_msg());
			break;
		}
	}
	wait_for_stop(vm);
	end_threads(vm);
	if (vm->wedged)
		return vm->exit_code; /* the console's lock may be held: leave it */
	console_finish(&vm->console, CONSOLE_STALL_MS);
	if (vm->signal_fd > 0) {
		event_loop_remove(&vm->loop, vm->signal_fd);
		close(vm->signal_fd);
		vm->signal_fd = -1;
	}
	return vm->exit_code;
}

void vm_destroy(struct vm *vm)
{
	if (vm->wedged)
		return; /* threads still use all of it; the process ends next */
	if (vm->loop_ready)
		event_loop_stop(&vm->loop);
	machine_free(&vm->machine);
	if (vm->vcpus) {
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
	if (vm->loop_ready)
		event_loop_destroy(&vm->loop);
	vm->loop_ready = false;
	console_close(&vm->console);
	pthread_mutex_destroy(&vm->lock);
	pthread_cond_destroy(&vm->stopped_cond);
	pthread_cond_destroy(&vm->state_cond);
}
