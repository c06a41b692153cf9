/* SPDX-License-Identifier: MIT */
#include "verify/guest_run.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include <linux/kvm.h>

#include "util/err.h"
#include "vmm/vm.h"

/* The embedded guests fit in the smallest memory skyvm allows; 32 MiB as `run` uses. */
#define GUEST_RUN_MEMORY_MIB 32

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void collect(const struct vm *vm, struct guest_run_result *out)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		const struct vcpu *v = &vm->vcpus[i];
		struct guest_run_vcpu *g = &out->vcpu[i];

		g->table = v->cpuid;
		g->vmm_steal_valid = v->steal_valid;
		g->vmm_steal_ns = v->steal_ns;
		g->report_complete = probe_decode(v->probe_words, v->probe_len, &g->report) == 0;
		if (!g->report_complete && v->probe_len)
			snprintf(g->decode_error, sizeof(g->decode_error), "%s", err_msg());
		else if (!v->probe_len)
			snprintf(g->decode_error, sizeof(g->decode_error),
				 "the guest sent nothing");
	}
	out->written = malloc(sizeof(*out->written));
	if (out->written)
		*out->written = vm->cpu.table;
	for (int k = 0; k < EMU_KIND_COUNT; k++)
		out->emulated[k] = atomic_load(&vm->emulated.n[k]);
	/*
	 * Whether KVM could have set PVCLOCK_TSC_STABLE_BIT: KVM_CLOCK_TSC_STABLE
	 * (Linux 4.9+) tells whether its master clock is in use.  KVM_GET_CLOCK
	 * on an older kernel returns flags 0 without the bit being meaningful,
	 * so the answer is only trusted where KVM_CAP_ADJUST_CLOCK lists it.
	 */
	struct kvm_clock_data clock = { 0 };
	int cap = ioctl(vm->fd, KVM_CHECK_EXTENSION, KVM_CAP_ADJUST_CLOCK);

	if (cap > 0 && (cap & KVM_CLOCK_TSC_STABLE) && ioctl(vm->fd, KVM_GET_CLOCK, &clock) == 0) {
		out->clock_flags_valid = true;
		out->master_clock = clock.flags & KVM_CLOCK_TSC_STABLE;
	}
}

/* A created VM and the copies of everything its configuration points to. */
struct guest_run_vm {
	struct vm vm;
	struct vm_config cfg;
	char *guest_name, *cpu_spec, *cmdline, *console;
};

void guest_run_discard(struct guest_run_vm *g)
{
	if (!g)
		return;
	vm_destroy(&g->vm);
	free(g->guest_name);
	free(g->cpu_spec);
	free(g->cmdline);
	free(g->console);
	free(g);
}

/* strdup() that keeps NULL; false when out of memory. */
static bool copy_str(char **dst, const char *src)
{
	*dst = src ? strdup(src) : NULL;
	return !src || *dst;
}

int guest_run_create(const struct guest_run_config *c, struct guest_run_vm **out)
{
	struct guest_run_vm *g = calloc(1, sizeof(*g));

	*out = NULL;
	if (!g || !copy_str(&g->guest_name, c->guest_name) ||
	    !copy_str(&g->cpu_spec, c->cpu_spec) || !copy_str(&g->cmdline, c->cmdline) ||
	    !copy_str(&g->console, c->console ? c->console : "none")) {
		if (g) {
			free(g->guest_name);
			free(g->cpu_spec);
			free(g->cmdline);
			free(g);
		}
		return err_set("out of memory for a VM");
	}
	g->cfg = (struct vm_config){
		.guest_name = g->guest_name,
		.cmdline = g->cmdline,
		.ncpus = c->ncpus ? c->ncpus : 1,
		.topo = c->topo,
		.memory_mib = GUEST_RUN_MEMORY_MIB,
		.cpu_spec = g->cpu_spec,
		.console = g->console,
		.timeout_s = c->timeout_s,
		.irqchip = IRQCHIP_AUTO,
		.warn = c->warn,
		.sandbox = c->sandbox,
	};
	if (vm_create(&g->vm, &g->cfg) < 0) {
		char why[ERR_MSG_MAX];

		/* vm_destroy() may record messages of its own: keep the cause. */
		snprintf(why, sizeof(why), "%s", err_msg());
		guest_run_discard(g);
		return err_set("%s", why);
	}
	*out = g;
	return 0;
}

int guest_run_finish(struct guest_run_vm *g, struct guest_run_result *out)
{
	struct vm *vm = &g->vm;
	double t0;

	memset(out, 0, sizeof(*out));
	out->vcpu = calloc(g->cfg.ncpus, sizeof(*out->vcpu));
	if (!out->vcpu) {
		unsigned n = g->cfg.ncpus;

		guest_run_discard(g);
		return err_set("out of memory for %u vCPUs", n);
	}
	out->ncpus = g->cfg.ncpus;
	t0 = now_s();
	out->exit_code = vm_run(vm);
	out->seconds = now_s() - t0;
	/* The start of the reason (its first line is what callers show). */
	snprintf(out->reason, sizeof(out->reason), "%.*s", (int)sizeof(out->reason) - 1,
		 vm->stop_reason);
	collect(vm, out);
	if (vm->wedged) {
		/* Its threads still run: leave the VM (vm_destroy() would too). */
		return 0;
	}
	guest_run_discard(g);
	return 0;
}

int guest_run(const struct guest_run_config *c, struct guest_run_result *out)
{
	struct guest_run_vm *g;

	memset(out, 0, sizeof(*out));
	if (guest_run_create(c, &g) < 0)
		return -1;
	return guest_run_finish(g, out);
}

void guest_run_free(struct guest_run_result *r)
{
	free(r->vcpu);
	free(r->written);
	memset(r, 0, sizeof(*r));
}
