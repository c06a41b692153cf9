/* SPDX-License-Identifier: MIT */
/*
 * vCPUs: set-up, the run loop, and the exit table.
 *
 * Each vCPU runs KVM_RUN on its own thread.  Exits are dispatched through
 * exit_handlers[], indexed by kvm_run.exit_reason; a handler returns 0 to
 * re-enter the guest or 1 when this vCPU is done (the VM has been stopped
 * with vm_stop(), or the vCPU parked itself).
 */
#include "vmm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "boot/layout.h"
#include "cpu/msrs.h"
#include "exitcodes.h"
#include "util/err.h"
#include "vmm/runstate.h"
#include "vmm/sandbox.h"

#define MSR_IA32_MISC_ENABLE 0x1a0
#define MISC_ENABLE_FAST_STRING 1ULL
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define MSR_KVM_STEAL_TIME 0x4b564d03

#define CR0_PE 0x1ULL
#define CR0_ET 0x10ULL
#define CR0_PG 0x80000000ULL
#define CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_EXTINT 0x700
#define APIC_MODE_NMI 0x400

static int set_cpuid(struct vcpu *v)
{
	struct kvm_cpuid2 *c;
	size_t size;
	int r;

	if (v->vm->cfg->restore_cpuid)
		v->cpuid = v->vm->cfg->restore_cpuid[v->index]; /* a restore: as saved */
	else if (cpu_vcpu_cpuid(&v->vm->cpu, v->index, &v->cpuid) < 0)
		return err_wrap("vCPU %u CPUID", v->index);
	size = sizeof(*c) + v->cpuid.nent * sizeof(c->entries[0]);
	c = calloc(1, size);
	if (!c)
		return err_set("out of memory");
	c->nent = v->cpuid.nent;
	memcpy(c->entries, v->cpuid.ent, v->cpuid.nent * sizeof(c->entries[0]));
	r = KVM_CHECKED(v->fd, KVM_SET_CPUID2, c);
	free(c);
	if (r < 0)
		return err_wrap("vCPU %u", v->index);
	/* A guest must not use PV MSRs the model hides (#GP instead). */
	if (v->vm->kvm.has_enforce_pv_cpuid) {
		struct kvm_enable_cap cap = { .cap = KVM_CAP_ENFORCE_PV_FEATURE_CPUID,
					      .args = { 1 } };

		if (KVM_CHECKED(v->fd, KVM_ENABLE_CAP, &cap) < 0)
			return -1;
	}
	return 0;
}

/* One MSR with KVM_SET_MSRS: 1 when KVM took it, 0 when it refused, -1 on error. */
static int set_one_msr(struct vcpu *v, uint32_t index, uint64_t data)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[1];
	} m;
	int r;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 1;
	m.e[0].index = index;
	m.e[0].data = data;
	r = ioctl(v->fd, KVM_SET_MSRS, &m);
	if (r < 0)
		return err_errno("vCPU %u: KVM_SET_MSRS (MSR 0x%x)", v->index, index);
	return r == 1;
}

/*
 * What the guest reads from each feature MSR its CPUID lets it read: the
 * vCPU's value, read back (what KVM took, or its own where it refused), kept
 * in the vCPU's table for the snapshot and the migration CPU check
 * (snapshot/cpucheck.h).  An MSR KVM will not read for this vCPU is left out.
 */
static int record_feature_msrs(struct vcpu *v)
{
	uint32_t idx[CPU_FEATURE_MSRS_MAX];
	size_t n = cpu_feature_msr_indices(idx, CPU_FEATURE_MSRS_MAX);
	struct cpuid_table *t = &v->cpuid;

	t->nmsrs = 0;
	t->msrs_known = true;
	for (size_t i = 0; i < n; i++) {
		uint64_t value;

		if (cpu_msr_gated(t, idx[i]) && kvm_get_msr(v->fd, idx[i], &value) == 0 &&
		    cpu_msr_put(t, idx[i], value) < 0)
			return err_wrap("vCPU %u", v->index);
	}
	return 0;
}

static int set_msrs(struct vcpu *v)
{
	int r = set_one_msr(v, MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING);

	if (r <= 0)
		return r < 0 ? -1 : err_set("vCPU %u: KVM refused IA32_MISC_ENABLE", v->index);
	/*
	 * The model's feature MSRs (ARCH_CAPABILITIES, ...: cpu/msrs.h), after
	 * KVM_SET_CPUID2: KVM (Linux 6.18 seen) takes a non-zero value only for
	 * a vCPU whose CPUID has the MSR's bit, and only bits it reported on
	 * /dev/kvm, which the pipeline filtered against.  So a refusal means KVM does not run the guest
	 * with skyvm's CPUID (a PVM host gives guests its own): the guest then
	 * reads KVM's value, as before skyvm wrote these, and vCPU 0 says so.
	 * A restore writes none here: the snapshot's own MSRs carry them, and
	 * its table already holds what the guest saw.
	 */
	if (v->vm->cfg->restore_cpuid)
		return 0;
	for (uint32_t i = 0; i < v->cpuid.nmsrs && i < CPU_FEATURE_MSRS_MAX; i++) {
		r = set_one_msr(v, v->cpuid.msrs[i].index, v->cpuid.msrs[i].value);
		if (r < 0)
			return -1;
		if (!r && v->index == 0)
			fprintf(stderr, "skyvm: warning: KVM refused the model's MSR 0x%x = 0x%llx "
					"(does it run guests with skyvm's CPUID?): the guest reads "
					"KVM's value\n", v->cpuid.msrs[i].index,
				(unsigned long long)v->cpuid.msrs[i].value);
	}
	return record_feature_msrs(v);
}

static int set_fpu(struct vcpu *v)
{
	struct kvm_fpu fpu;

	memset(&fpu, 0, sizeof(fpu));
	fpu.fcw = 0x37f;    /* x87 default after FNINIT */
	fpu.mxcsr = 0x1f80; /* all SSE exceptions masked */
	return KVM_CHECKED(v->fd, KVM_SET_FPU, &fpu);
}

/* Boot registers of the BSP for the entry the loader chose. */
static int set_boot_regs(struct vcpu *v)
{
	const struct boot_entry *e = &v->vm->entry;
	struct kvm_sregs s;
	struct kvm_regs r;
	struct kvm_segment data;

	if (KVM_CHECKED(v->fd, KVM_GET_SREGS, &s) < 0)
		return -1;
	boot_gdt_to_segment(BOOT_GDT_DATA, BOOT_GDT_SEL_DATA, &data);
	s.ds = s.es = s.fs = s.gs = s.ss = data;
	boot_gdt_to_segment(BOOT_GDT_TSS, BOOT_GDT_SEL_TSS, &s.tr);
	s.gdt.base = LAYOUT_BOOT_GDT;
	s.gdt.limit = BOOT_GDT_ENTRIES * 8 - 1;
	if (e->mode == BOOT_ENTRY_LINUX64) {
		boot_gdt_to_segment(BOOT_GDT_CODE64, BOOT_GDT_SEL_CODE64, &s.cs);
		s.cr3 = e->cr3;
		s.cr4 |= CR4_PAE;
		s.efer |= EFER_LME | EFER_LMA;
		s.cr0 |= CR0_PE | CR0_ET | CR0_PG;
	} else {
		/* PVH: 32-bit protected mode, paging off (PVH ABI) */
		boot_gdt_to_segment(BOOT_GDT_CODE32, BOOT_GDT_SEL_CODE32, &s.cs);
		s.cr0 = (s.cr0 | CR0_PE | CR0_ET) & ~CR0_PG;
		s.cr4 = 0;
		s.efer = 0;
	}
	if (KVM_CHECKED(v->fd, KVM_SET_SREGS, &s) < 0)
		return -1;
	memset(&r, 0, sizeof(r));
	r.rflags = 0x2;
	r.rip = e->rip;
	r.rsi = e->rsi;
	r.rbx = e->rbx;
	r.rsp = r.rbp = e->rsp;
	return KVM_CHECKED(v->fd, KVM_SET_REGS, &r);
}

int vcpu_create(struct vm *vm, struct vcpu *v, unsigned index, unsigned apic_id)
{
	v->vm = vm;
	v->index = index;
	v->apic_id = apic_id;
	v->fd = KVM_CHECKED_VAL(vm->fd, KVM_CREATE_VCPU, apic_id);
	if (v->fd < 0)
		return err_wrap("vCPU %u", index);
	v->run = mmap(NULL, vm->kvm.run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		v->run = NULL;
		return err_errno("vCPU %u: mmap kvm_run", index);
	}
	/* CPUID before anything that depends on it, and before the first KVM_RUN. */
	if (set_cpuid(v) < 0 || set_msrs(v) < 0 || set_fpu(v) < 0)
		return -1;
	if (index == 0 && set_boot_regs(v) < 0)
		return -1;
	return 0;
}

int vcpus_init_lapics(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct kvm_lapic_state l;
		uint32_t *lint0, *lint1;

		if (KVM_CHECKED(vm->vcpus[i].fd, KVM_GET_LAPIC, &l) < 0)
			return -1;
		lint0 = (uint32_t *)(void *)&l.regs[APIC_LVT_LINT0];
		lint1 = (uint32_t *)(void *)&l.regs[APIC_LVT_LINT1];
		*lint0 = (*lint0 & ~0x700u) | APIC_MODE_EXTINT;
		*lint1 = (*lint1 & ~0x700u) | APIC_MODE_NMI;
		/*
		 * Writing every LAPIC once after the last KVM_CREATE_VCPU is also what
		 * makes INIT/SIPI to the APs work on restricted KVM hosts.
		 */
		if (KVM_CHECKED(vm->vcpus[i].fd, KVM_SET_LAPIC, &l) < 0)
			return -1;
	}
	return 0;
}

#define PROBE_MAX_WORDS (1u << 20) /* 4 MiB per vCPU: far beyond any sweep */

void vcpu_probe_append(struct vcpu *v, const uint8_t *data, size_t nwords)
{
	if (v->probe_len + nwords > v->probe_cap) {
		size_t cap = v->probe_cap ? v->probe_cap : 1024;
		uint32_t *p;

		while (cap < v->probe_len + nwords)
			cap *= 2;
		if (cap > PROBE_MAX_WORDS) {
			vm_stop(v->vm, EXIT_GUEST_OUTPUT,
				"vCPU %u sent more than %u probe words: stopped", v->index,
				PROBE_MAX_WORDS);
			return;
		}
		p = realloc(v->probe_words, cap * sizeof(*p));
		if (!p) {
			vm_stop(v->vm, EXIT_ERROR, "out of memory for probe data");
			return;
		}
		v->probe_words = p;
		v->probe_cap = cap;
	}
	memcpy(v->probe_words + v->probe_len, data, nwords * 4); /* little endian, as sent */
	v->probe_len += nwords;
}

/* ---- exits */

/*
 * Port and MMIO exits go to the device that claimed the address
 * (devices/machine.h).  Nobody's ports read as all ones and swallow writes,
 * as on a PC bus; unclaimed MMIO likewise.  Both are counted (bus_unclaimed())
 * and reported once at the end, never per access.
 */
static int handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct machine *m = &v->vm->machine;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	struct device *d = NULL;
	/* By the first port, as a PC bus decodes: a 4-byte access to a 1-port device
	 * (the probe and bulk ports) is that device's. */
	const struct dev_region *r = machine_find(&m->pio, run->io.port, 1, &d);

	atomic_store(&v->where_dev, d);
	atomic_store(&v->where_addr, run->io.port);
	atomic_store(&v->where, run->io.direction == KVM_EXIT_IO_OUT ? VCPU_AT_PIO_WRITE
									: VCPU_AT_PIO_READ);
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			if (r && r->write)
				r->write(d, v->index, run->io.port, data, run->io.size);
			else
				bus_unclaimed(&m->pio, run->io.port, true);
		} else if (r && r->read) {
			r->read(d, v->index, run->io.port, data, run->io.size);
		} else {
			memset(data, 0xff, run->io.size);
			bus_unclaimed(&m->pio, run->io.port, false);
		}
	}
	if (r && r->end)
		r->end(d, v->index);
	atomic_store(&v->where, VCPU_AT_VMM);
	return atomic_load(&v->vm->stopping);
}

static int handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct machine *m = &v->vm->machine;
	unsigned len = run->mmio.len <= sizeof(run->mmio.data) ? run->mmio.len : 0;
	struct device *d = NULL;
	const struct dev_region *r = len ? machine_find(&m->mmio, run->mmio.phys_addr, len, &d)
					 : NULL;

	atomic_store(&v->where_dev, d);
	atomic_store(&v->where_addr, run->mmio.phys_addr);
	atomic_store(&v->where, run->mmio.is_write ? VCPU_AT_MMIO_WRITE : VCPU_AT_MMIO_READ);
	if (run->mmio.is_write) {
		if (r && r->write)
			r->write(d, v->index, run->mmio.phys_addr, run->mmio.data, len);
		else
			bus_unclaimed(&m->mmio, run->mmio.phys_addr, true);
	} else if (r && r->read) {
		r->read(d, v->index, run->mmio.phys_addr, run->mmio.data, len);
	} else {
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
		bus_unclaimed(&m->mmio, run->mmio.phys_addr, false);
	}
	if (r && r->end)
		r->end(d, v->index);
	atomic_store(&v->where, VCPU_AT_VMM);
	return atomic_load(&v->vm->stopping);
}

static int handle_hlt(struct vcpu *v)
{
	struct vm *vm = v->vm;
	bool all;

	/* Only without an irqchip: nothing can wake this vCPU again. */
	pthread_mutex_lock(&vm->lock);
	v->halted = true;
	all = ++vm->halted_vcpus == vm->ncpus;
	pthread_mutex_unlock(&vm->lock);
	if (all)
		vm_stop(vm, EXIT_OK, "all vCPUs halted with no interrupt source");
	return 1;
}

static int stop_with_report(struct vcpu *v, int code, const char *what, const uint8_t *insn,
			    unsigned insn_len)
{
	char report[2048];

	vcpu_describe(v, insn, insn_len, report, sizeof(report));
	vm_stop(v->vm, code, "%s on vCPU %u\n%s", what, v->index, report);
	return 1;
}

/*
 * KVM on AMD (SVM) resets a vCPU after a shutdown intercept, before the exit
 * reaches us (the VMCB is undefined after one): its registers are then the
 * architectural reset state, not where the guest faulted.  Say so rather
 * than let the report pass for the fault's.
 */
static bool at_reset_state(struct vcpu *v)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return false;
	return r.rip == 0xfff0 && s.cs.selector == 0xf000 && !(s.cr0 & 1) && !s.cr3 && !s.efer;
}

static int handle_shutdown(struct vcpu *v)
{
	char report[2048];
	bool reset = at_reset_state(v);

	vcpu_describe(v, NULL, 0, report, sizeof(report));
	vm_stop(v->vm, EXIT_GUEST_SHUTDOWN, "guest triple fault (KVM_EXIT_SHUTDOWN) on vCPU %u\n%s%s",
		v->index,
		reset ? "  the registers below are the vCPU's reset state: KVM on AMD resets a vCPU "
			"before it reports a shutdown, so where the guest faulted is lost\n" : "",
		report);
	return 1;
}

static int handle_fail_entry(struct vcpu *v)
{
	char what[128];

	snprintf(what, sizeof(what), "KVM_EXIT_FAIL_ENTRY (hardware reason 0x%llx)",
		 (unsigned long long)v->run->fail_entry.hardware_entry_failure_reason);
	return stop_with_report(v, EXIT_GUEST_FAIL_ENTRY, what, NULL, 0);
}

/* The bytes at RIP, from guest memory (KVM_TRANSLATE of CS.base + RIP). */
static unsigned read_insn_at_rip(struct vcpu *v, uint8_t *buf, unsigned max)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	struct kvm_translation t;
	const uint8_t *p;

	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0)
		return 0;
	memset(&t, 0, sizeof(t));
	t.linear_address = s.cs.base + r.rip;
	if (ioctl(v->fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
		return 0;
	/* Stop at the page end rather than translate a second page. */
	if (max > 4096 - (t.physical_address & 4095))
		max = 4096 - (unsigned)(t.physical_address & 4095);
	p = guest_ptr(&v->vm->mem, t.physical_address, max);
	if (!p)
		return 0;
	memcpy(buf, p, max);
	return max;
}

/*
 * The whole report reaches the user: the stop reason holds the first line
 * (what KVM said, its data words, why skyvm did not complete the
 * instruction) and vcpu_describe()'s registers and instruction bytes.
 */
_Static_assert(sizeof(((struct vm *)0)->stop_reason) >= 1024 + 2048,
	       "stop_reason must hold an internal-error line and a vCPU report");

static int handle_internal_error(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t insn[16];
	unsigned len = 0;
	char what[1024], why[512];
	uint64_t data[16];
	unsigned ndata;
	bool asked = false;

	if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
		if (run->emulation_failure.ndata >= 3 &&
		    (run->emulation_failure.flags &
		     KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES)) {
			len = run->emulation_failure.insn_size;
			if (len > sizeof(insn))
				len = sizeof(insn);
			memcpy(insn, run->emulation_failure.insn_bytes, len);
		} else {
			len = read_insn_at_rip(v, insn, 15);
		}
		if (emulate_complete(v, insn, len) == 0)
			return 0;
		snprintf(why, sizeof(why), "%s", err_msg());
		asked = true;
	}
	ndata = run->internal.ndata < 16 ? run->internal.ndata : 16;
	for (unsigned i = 0; i < ndata; i++)
		data[i] = run->internal.data[i];
	emulate_failure_text(what, sizeof(what), run->internal.suberror, data, ndata,
			     asked ? why : NULL);
	return stop_with_report(v, EXIT_GUEST_INTERNAL, what, insn, len);
}

static int handle_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_stop(v->vm, EXIT_OK, "guest powered off");
		return 1;
	case KVM_SYSTEM_EVENT_RESET:
		vm_stop(v->vm, EXIT_OK, "guest reset");
		return 1;
	default:
		return stop_with_report(v, EXIT_GUEST_UNHANDLED, "guest crash system event", NULL,
					0);
	}
}

static int handle_intr(struct vcpu *v)
{
	(void)v;
	return 0;
}

typedef int (*exit_handler)(struct vcpu *v);

static const exit_handler exit_handlers[] = {
	[KVM_EXIT_IO] = handle_io,
	[KVM_EXIT_MMIO] = handle_mmio,
	[KVM_EXIT_HLT] = handle_hlt,
	[KVM_EXIT_SHUTDOWN] = handle_shutdown,
	[KVM_EXIT_FAIL_ENTRY] = handle_fail_entry,
	[KVM_EXIT_INTR] = handle_intr,
	[KVM_EXIT_INTERNAL_ERROR] = handle_internal_error,
	[KVM_EXIT_SYSTEM_EVENT] = handle_system_event,
};

/* Read the PV registrations and this vCPU's steal time (from its own thread). */
static void collect_pv_state(struct vcpu *v)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[2];
	} m;
	const uint64_t *steal;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 2;
	m.e[0].index = MSR_KVM_STEAL_TIME;
	m.e[1].index = MSR_KVM_SYSTEM_TIME_NEW;
	if (ioctl(v->fd, KVM_GET_MSRS, &m) != 2)
		return;
	v->msr_steal_time = m.e[0].data;
	v->msr_system_time = m.e[1].data;
	if (!(v->msr_steal_time & 1))
		return;
	/* struct kvm_steal_time starts with the u64 steal counter (ns). */
	steal = guest_ptr(&v->vm->mem, v->msr_steal_time & ~63ULL, sizeof(*steal));
	if (steal) {
		v->steal_ns = __atomic_load_n(steal, __ATOMIC_RELAXED);
		v->steal_valid = true;
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	struct vm *vm = v->vm;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", v->index);
	sandbox_thread_start(name);

	while (!atomic_load(&vm->stopping)) {
		unsigned reason;
		int r;

		if (vcpu_pause_point(v))
			break;
		atomic_store(&v->where, VCPU_AT_KVM_RUN);
		r = ioctl(v->fd, KVM_RUN, 0);
		atomic_store(&v->where, VCPU_AT_VMM);

		if (r < 0) {
			/* EINTR: kicked; EAGAIN: an AP woken by INIT before its SIPI. */
			if (errno == EINTR || errno == EAGAIN)
				continue;
			vm_stop(vm, EXIT_ERROR, "vCPU %u: KVM_RUN: %s", v->index, strerror(errno));
			break;
		}
		v->exits++;
		reason = v->run->exit_reason;
		if (reason >= sizeof(exit_handlers) / sizeof(exit_handlers[0]) ||
		    !exit_handlers[reason]) {
			char what[96];

			snprintf(what, sizeof(what), "unhandled exit %s (%u)", kvm_exit_name(reason),
				 reason);
			stop_with_report(v, EXIT_GUEST_UNHANDLED, what, NULL, 0);
			break;
		}
		if (exit_handlers[reason](v))
			break;
	}
	collect_pv_state(v);
	vcpu_exited(v);
	atomic_store(&v->where, VCPU_AT_EXITED);
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	int r = pthread_create(&v->thread, NULL, vcpu_thread, v);

	if (r) {
		errno = r;
		return err_errno("vCPU %u: pthread_create", v->index);
	}
	v->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *v)
{
	if (!v->thread_started)
		return;
	v->run->immediate_exit = 1;
	pthread_kill(v->thread, SIGUSR1);
}

void vcpu_join(struct vcpu *v)
{
	if (v->thread_started)
		pthread_join(v->thread, NULL);
	v->thread_started = false;
}

int vcpu_join_until(struct vcpu *v, const struct timespec *deadline)
{
	if (!v->thread_started)
		return 0;
	for (;;) {
		struct timespec now, step;
		int r;

		/* Wake again every 100 ms: a kick costs nothing, a lost one a hang. */
		clock_gettime(CLOCK_MONOTONIC, &now);
		step = now;
		step.tv_nsec += 100000000L;
		if (step.tv_nsec >= 1000000000L) {
			step.tv_sec++;
			step.tv_nsec -= 1000000000L;
		}
		if (step.tv_sec > deadline->tv_sec ||
		    (step.tv_sec == deadline->tv_sec && step.tv_nsec > deadline->tv_nsec))
			step = *deadline;
		r = pthread_clockjoin_np(v->thread, NULL, CLOCK_MONOTONIC, &step);
		if (r == 0) {
			v->thread_started = false;
			return 0;
		}
		if (r != ETIMEDOUT)
			return -1;
		if (step.tv_sec == deadline->tv_sec && step.tv_nsec == deadline->tv_nsec)
			return -1;
		vcpu_kick(v);
	}
}

void vcpu_where_text(struct vcpu *v, char *buf, size_t size)
{
	const struct device *d = atomic_load(&v->where_dev);
	unsigned long long a = atomic_load(&v->where_addr);
	const char *dev = d ? d->id : "no device";

	switch (atomic_load(&v->where)) {
	case VCPU_AT_KVM_RUN:
		snprintf(buf, size, "in KVM_RUN (kicked: immediate_exit and SIGUSR1)");
		break;
	case VCPU_AT_PIO_READ:
		snprintf(buf, size, "in a port read of %s at 0x%llx", dev, a);
		break;
	case VCPU_AT_PIO_WRITE:
		snprintf(buf, size, "in a port write to %s at 0x%llx", dev, a);
		break;
	case VCPU_AT_MMIO_READ:
		snprintf(buf, size, "in an MMIO read of %s at 0x%llx", dev, a);
		break;
	case VCPU_AT_MMIO_WRITE:
		snprintf(buf, size, "in an MMIO write to %s at 0x%llx", dev, a);
		break;
	case VCPU_AT_EXITED:
		snprintf(buf, size, "leaving its thread");
		break;
	default:
		snprintf(buf, size, "in skyvm between exits (pause point, exit handler)");
		break;
	}
}

void vcpu_destroy(struct vcpu *v)
{
	if (v->run)
		munmap(v->run, v->vm->kvm.run_size);
	v->run = NULL;
	if (v->fd >= 0)
		close(v->fd);
	v->fd = -1;
	free(v->probe_words);
	v->probe_words = NULL;
}

void vcpu_describe(struct vcpu *v, const uint8_t *insn, unsigned insn_len, char *buf,
		   size_t size)
{
	struct kvm_regs r;
	struct kvm_sregs s;
	size_t n = 0;

#define OUT(...)                                                                \
	do {                                                                    \
		if (n < size)                                                   \
			n += (size_t)snprintf(buf + n, size - n, __VA_ARGS__);  \
	} while (0)

	buf[0] = '\0';
	if (ioctl(v->fd, KVM_GET_REGS, &r) < 0 || ioctl(v->fd, KVM_GET_SREGS, &s) < 0) {
		OUT("  (registers unavailable: %s)\n", strerror(errno));
		return;
	}
	OUT("  exit %s, vCPU %u (APIC id %u), RIP 0x%016llx, RSP 0x%016llx, RFLAGS 0x%llx\n",
	    kvm_exit_name(v->run->exit_reason), v->index, v->apic_id, (unsigned long long)r.rip,
	    (unsigned long long)r.rsp, (unsigned long long)r.rflags);
	OUT("  RAX %016llx RBX %016llx RCX %016llx RDX %016llx\n", (unsigned long long)r.rax,
	    (unsigned long long)r.rbx, (unsigned long long)r.rcx, (unsigned long long)r.rdx);
	OUT("  RSI %016llx RDI %016llx RBP %016llx R8  %016llx\n", (unsigned long long)r.rsi,
	    (unsigned long long)r.rdi, (unsigned long long)r.rbp, (unsigned long long)r.r8);
	OUT("  CR0 %llx CR2 %llx CR3 %llx CR4 %llx EFER %llx CS %04x (%s)\n",
	    (unsigned long long)s.cr0, (unsigned long long)s.cr2, (unsigned long long)s.cr3,
	    (unsigned long long)s.cr4, (unsigned long long)s.efer, s.cs.selector,
	    s.cs.l ? "64-bit" : s.cs.db ? "32-bit" : "16-bit");
	if (insn_len) {
		OUT("  instruction bytes:");
		for (unsigned i = 0; i < insn_len; i++)
			OUT(" %02x", insn[i]);
		OUT("\n");
	}
#undef OUT
}
