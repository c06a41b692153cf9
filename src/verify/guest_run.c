/* SPDX-License-Identifier: MIT */
#include "verify/guest_run.h"

#include <stdatomic.h>
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

int guest_run(const struct guest_run_config *c, struct guest_run_result *out)
{
	struct vm_config cfg = {
		.guest_name = c->guest_name,
		.cmdline = c->cmdline,
		.ncpus = c->ncpus ? c->ncpus : 1,
		.topo = c->topo,
		.memory_mib = GUEST_RUN_MEMORY_MIB,
		.cpu_spec = c->cpu_spec,
		.console = c->console ? c->console : "none",
		.timeout_s = c->timeout_s,
		.irqchip = IRQCHIP_AUTO,
		.warn = c->warn,
	};
	struct vm *vm = calloc(1, sizeof(*vm));
	double t0;

	memset(out, 0, sizeof(*out));
	out->vcpu = calloc(cfg.ncpus, sizeof(*out->vcpu));
	if (!vm || !out->vcpu) {
		free(vm);
		return err_set("out of memory for %u vCPUs", cfg.ncpus);
	}
	out->ncpus = cfg.ncpus;
	if (vm_create(vm, &cfg) < 0) {
		char why[ERR_MSG_MAX];

		/* vm_destroy() may record messages of its own: keep the cause. */
		snprintf(why, sizeof(why), "%s", err_msg());
		vm_destroy(vm);
		free(vm);
		return err_set("%s", why);
	}
	t0 = now_s();
	out->exit_code = vm_run(vm);
	out->seconds = now_s() - t0;
	/* The start of the reason (its first line is what callers show). */
	snprintf(out->reason, sizeof(out->reason), "%.*s", (int)sizeof(out->reason) - 1,
		 vm->stop_reason);
	collect(vm, out);
	vm_destroy(vm);
	free(vm);
	return 0;
}

void guest_run_free(struct guest_run_result *r)
{
	free(r->vcpu);
	memset(r, 0, sizeof(*r));
}
