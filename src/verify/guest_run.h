/* SPDX-License-Identifier: MIT */
/*
 * Boot one embedded guest, wait for it to end, and keep what the checks
 * need: each vCPU's CPUID table (as given to KVM_SET_CPUID2), the decoded
 * probe stream, the VMM's own steal-time reading, the emulation fallbacks
 * used, and how the VM ended.  Shared by `cpu verify` (the probe guest) and
 * `host-check` (the probe and hostcheck guests, one short VM each).
 */
#ifndef SKYVM_VERIFY_GUEST_RUN_H
#define SKYVM_VERIFY_GUEST_RUN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/cpu.h"
#include "verify/probe_decode.h"
#include "vmm/emulate.h"
#include "vmm/sandbox.h"

struct guest_run_config {
	const char *guest_name; /* embedded guest: "probe", "hostcheck" */
	const char *cpu_spec;   /* --cpu */
	const char *cmdline;    /* the guest's options; NULL: none */
	unsigned ncpus;
	struct cpu_topology topo; /* 0 fields: derived */
	double timeout_s;       /* 0: none */
	const char *console;    /* "none", "stdio" or "file:PATH" */
	FILE *warn;             /* CPU model warnings; NULL: silent */
	/* The sandbox the run enters once the VM is set up (vmm/sandbox.h); NULL:
	 * none (unit tests).  Entered once per process: a later VM runs under the
	 * filter the first one installed, so every VM must be created before the
	 * first runs (guest_run_create()). */
	const struct sandbox_config *sandbox;
};

struct guest_run_vcpu {
	/* what KVM_SET_CPUID2 was given; its feature MSRs: what the vCPU held after the write */
	struct cpuid_table table;
	struct probe_report report;  /* decoded probe stream (empty for other guests) */
	bool report_complete;        /* probe_decode() returned 0 */
	char decode_error[256];      /* why not, when words were sent */
	bool vmm_steal_valid;        /* the guest registered steal time */
	uint64_t vmm_steal_ns;       /* the counter the VMM read at exit */
};

struct guest_run_result {
	int exit_code;          /* vm_run()'s: the guest's status or skyvm's (exitcodes.h) */
	char reason[512];       /* why the VM ended */
	double seconds;         /* wall time of vm_run() */
	unsigned long emulated[EMU_KIND_COUNT]; /* instructions skyvm completed for KVM */
	unsigned ncpus;
	struct guest_run_vcpu *vcpu; /* ncpus entries */
	/* The model's table: its feature MSRs are what skyvm wrote (cpu/msrs.h); NULL
	 * when it could not be kept (out of memory) */
	struct cpuid_table *written;
	/* KVM_GET_CLOCK at the end of the run: is KVM's master clock in use? */
	bool clock_flags_valid;
	bool master_clock;      /* KVM_CLOCK_TSC_STABLE */
};

/*
 * Create, run and destroy the VM.  Returns 0 when the VM ran (whatever its
 * exit code; read out->exit_code), -1 with err_msg() when it could not be
 * created (no /dev/kvm, a bad model, no such guest).  Free with
 * guest_run_free() either way.
 */
int guest_run(const struct guest_run_config *c, struct guest_run_result *out);
void guest_run_free(struct guest_run_result *r);

/*
 * guest_run() in two steps, for a command that runs several VMs under one
 * sandbox (`host-check`): the seccomp filter forbids creating a VM, so each
 * is created (everything copied from c) before the first one runs.
 * guest_run_create(): -1 with err_msg() when the VM could not be created.
 * guest_run_finish() runs it as guest_run() does and frees g, whatever it
 * returns; guest_run_discard() frees one that will not run (NULL: nothing).
 */
struct guest_run_vm;
int guest_run_create(const struct guest_run_config *c, struct guest_run_vm **g);
int guest_run_finish(struct guest_run_vm *g, struct guest_run_result *out);
void guest_run_discard(struct guest_run_vm *g);

#endif
