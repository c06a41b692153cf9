/* SPDX-License-Identifier: MIT */
/*
 * A virtual machine: KVM objects, guest memory, vCPU threads, devices, and
 * the way it ends.
 *
 * Lifecycle: vm_create() (the machine's devices and their resources, memory,
 * image, KVM, irqchip, CPU model, vCPUs, device realize) -> vm_run() (one
 * thread per vCPU and the event loop's thread until something stops the VM)
 * -> vm_destroy().  Whatever ends the VM (debug-exit port, ACPI power-off,
 * i8042 reset, triple fault, emulation failure, timeout, output limit,
 * Ctrl-A x) calls vm_stop() once with an exit code and a reason; the first
 * caller wins and every vCPU is kicked out of KVM_RUN.
 *
 * Devices see none of this: they get the VM's struct device_host
 * (devices/device.h), whose callbacks are implemented here.
 */
#ifndef SKYVM_VMM_VM_H
#define SKYVM_VMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "boot/boot.h"
#include "boot/guest_mem.h"
#include "cpu/cpu.h"
#include "devices/machine.h"
#include "kvm/kvm.h"
#include "vmm/console.h"
#include "vmm/emulate.h"
#include "vmm/event_loop.h"
#include "vmm/sandbox.h"

enum irqchip_mode { IRQCHIP_AUTO, IRQCHIP_KERNEL, IRQCHIP_NONE };

/* A device the command line adds to the standard ones (devices/machine.h). */
struct vm_device_spec {
	const char *cls;          /* "virtio-blk" */
	const char *id;           /* NULL: "<class><n>" */
	const char *opts;         /* class-specific, e.g. "path=disk.img,ro" */
};

#define VM_MAX_DEVICE_SPECS 32

struct vm_config {
	const char *kernel_path;  /* NULL: boot the embedded guest */
	const char *guest_name;   /* embedded guest ("default", "probe") */
	bool debug_exit;          /* --debug-exit: the debug-exit port for a kernel too */
	const char *initrd_path;
	const char *cmdline;
	unsigned ncpus;
	struct cpu_topology topo;
	uint64_t memory_mib;
	const char *cpu_spec;     /* "--cpu", e.g. "host" or "Skylake-Server,-avx512f" */
	const char *console;      /* "stdio", "file:PATH", "none" */
	double timeout_s;         /* 0: none */
	uint64_t max_output;      /* console bytes before the VM is stopped; 0: no limit */
	enum irqchip_mode irqchip;
	bool verbose;             /* VMM notes on stderr */
	FILE *warn;               /* CPU model warnings (stderr) */
	/* Beyond the standard devices every VM has (vm.c: standard_devices). */
	struct vm_device_spec devices[VM_MAX_DEVICE_SPECS];
	unsigned ndevices;
	/*
	 * Restore (src/snapshot): each vCPU gets exactly these CPUID tables
	 * (ncpus of them) instead of the model pipeline's, and no image is
	 * loaded (guest memory comes from the snapshot).  NULL: a fresh boot.
	 */
	const struct cpuid_table *restore_cpuid;
	const char *restore_model_name;
	/*
	 * The sandbox vm_run() enters before the VM's threads start
	 * (vmm/sandbox.h): the --user drop and the seccomp filter.  NULL: none
	 * (tests, cpu verify's probe).
	 */
	const struct sandbox_config *sandbox;
};

/* Where a vCPU thread is (vmm/runstate.h). */
enum vcpu_run_state { VCPU_RUNNING, VCPU_PAUSED, VCPU_EXITED };
/* What the VM was asked to be (vmm/runstate.h). */
enum vm_run_state { VM_RUNNING, VM_PAUSED, VM_STOPPED };

struct vcpu {
	struct vm *vm;
	unsigned index;
	unsigned apic_id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	struct cpuid_table cpuid; /* what KVM_SET_CPUID2 was given */
	uint64_t exits;
	bool halted;              /* parked after HLT without an irqchip */
	/* Words the probe guest sent on the probe port (src/guest/lib/ports.h). */
	uint32_t *probe_words;
	size_t probe_len, probe_cap;
	/* Steal-time and kvmclock registration seen at exit (KVM_GET_MSRS). */
	uint64_t msr_steal_time, msr_system_time;
	uint64_t steal_ns;
	bool steal_valid;
	/* Run state (vmm/runstate.h): under vm->lock. */
	enum vcpu_run_state run_state;
	/* Where the thread is (enum vcpu_where, atomics): what a stop that the
	 * thread does not answer reports. */
	atomic_int where;
	atomic_uint_least64_t where_addr;
	_Atomic(const struct device *) where_dev;
};

struct vm {
	const struct vm_config *cfg;
	struct kvm kvm;
	int fd;
	struct guest_mem mem;
	bool has_irqchip;
	bool has_pit;
	struct cpu_result cpu;
	unsigned ncpus;
	struct vcpu *vcpus;
	struct boot_entry entry;
	struct machine machine;
	struct device_host host;  /* what the devices may ask of this VM */
	struct console console;
	struct event_loop loop;
	bool loop_ready;
	int signal_fd;            /* SIGTERM/SIGHUP/SIGINT while the terminal is raw; 0: none */

	pthread_mutex_t lock;
	pthread_cond_t stopped_cond;
	atomic_bool stopping;
	int exit_code;
	char stop_reason[4096]; /* an internal error's full report fits */
	unsigned halted_vcpus;
	struct emulate_counts emulated;
	/* Pause/resume (vmm/runstate.h): under `lock`; vCPUs wait on state_cond. */
	enum vm_run_state run_state;
	pthread_cond_t state_cond;
	uint64_t paused_clock_ns; /* KVM_GET_CLOCK at the pause (has_paused_clock) */
	bool has_paused_clock;
	/*
	 * Set by vm_run() when a vCPU or the event loop thread did not end within
	 * VM_STOP_GRACE_MS of the stop: wedged_report says which and where.
	 * Such a VM is left as it is by vm_destroy() (its threads may still use
	 * it) and the process must end without exit()'s clean-up (vm_wedged()).
	 */
	bool wedged;
	char wedged_report[2048];
};

/* How long vm_run() waits for the vCPU and event loop threads after a stop. */
#define VM_STOP_GRACE_MS 2000

int vm_create(struct vm *vm, const struct vm_config *cfg);
/*
 * Run until stopped (or --timeout, counted by the calling thread itself, so
 * a busy event loop cannot delay it); returns the exit code.  The threads
 * get VM_STOP_GRACE_MS to end after the stop; any that do not are reported
 * in vm->wedged_report and left running (vm->wedged).
 */
int vm_run(struct vm *vm);
/* True once any VM in this process had threads that did not stop: the
 * process should end with _exit(), not exit() (those threads may hold
 * stdio's locks). */
bool vm_wedged(void);
/* The stop's reason and vm->wedged_report on stderr, without stdio and
 * without waiting for a reader that does not read. */
void vm_report_wedged(struct vm *vm, int code);
void vm_destroy(struct vm *vm);

/* End the VM: the first call sets the exit code and reason. Thread-safe. */
void vm_stop(struct vm *vm, int exit_code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Raise or lower an interrupt line (GSI; no-op without an irqchip). */
void vm_irq_line(struct vm *vm, unsigned gsi, bool level);

#endif
