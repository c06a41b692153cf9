/* SPDX-License-Identifier: MIT */
#include "cpu/fixups.h"

#include <asm/kvm_para.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cpu/features.h"
#include "cpu/host.h"
#include "kvm/kvm.h"
#include "util/err.h"


void cpu_host_facts_default(struct cpu_host_facts *out)
{
	out->hypercalls_hang = false;
	out->tsc_deadline_timer = true;
	out->brand[0] = '\0';
}

void cpu_host_facts_probe(struct cpu_host_facts *out)
{
	int fd;

	cpu_host_facts_default(out);
	/*
	 * A PVM host (the kvm_pvm module loaded) spins a vCPU that
	 * executes vmcall forever, so PV features built on hypercalls would
	 * hang a guest the first time it uses them.
	 */
	out->hypercalls_hang = access("/sys/module/kvm_pvm", F_OK) == 0;
	cpu_host_brand(out->brand);
	fd = open(kvm_device_path(), O_RDWR | O_CLOEXEC); /* SKYVM_KVM_DEVICE, as everywhere */
	if (fd >= 0) {
		out->tsc_deadline_timer =
			ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_TSC_DEADLINE_TIMER) > 0;
		close(fd);
	}
}

void cpu_fixup_hypercall_features(struct cpuid_table *t, bool hypercalls_hang)
{
	struct kvm_cpuid_entry2 *e;
	uint32_t clear = 0;

	if (!hypercalls_hang)
		return;
	for (size_t i = 0; i < cpu_features_count; i++) {
		const struct cpu_feature *f = &cpu_features[i];

		if (f->word == FW_KVM_FEATURES && (f->flags & FEAT_NEEDS_HYPERCALL))
			clear |= 1u << f->bit;
	}
	/* CPUID.40000001H:EAX KVM features: drop the hypercall-based ones. */
	e = cpuid_find(t, KVM_CPUID_FEATURES, 0);
	if (e)
		e->eax &= ~clear;
}

/* Set or clear the named feature's bit in `t`, where its leaf exists. */
static void set_named(struct cpuid_table *t, const char *name, bool on)
{
	const struct cpu_feature *f = cpu_feature_find(name);
	struct kvm_cpuid_entry2 *e;
	uint32_t *r;

	if (!f)
		return;
	e = cpuid_find(t, feature_words[f->word].leaf, feature_words[f->word].subleaf);
	if (!e)
		return;
	r = cpuid_reg_ptr(e, feature_words[f->word].reg);
	*r = on ? *r | 1u << f->bit : *r & ~(1u << f->bit);
}

void cpu_fixup_tsc_deadline(struct cpuid_table *t, bool tsc_deadline_timer)
{
	/* TSC-Deadline: emulated by KVM's LAPIC when it has the cap. */
	set_named(t, "tsc-deadline", tsc_deadline_timer);
}

void cpu_fixup_vmm_bits(struct cpuid_table *t)
{
	struct kvm_cpuid_entry2 *e;

	/* hypervisor: always true of a guest; KVM leaves it to us. */
	set_named(t, "hypervisor", true);
	/*
	 * CPUID.40000001H:EDX KVM hints: KVM reports 0 because a hint is the
	 * VMM's promise (a dedicated pCPU per vCPU), not a host capability;
	 * QEMU treats KVM_HINTS_REALTIME as always available likewise.
	 */
	e = cpuid_find(t, KVM_CPUID_FEATURES, 0);
	if (e)
		e->edx |= 1u << KVM_HINTS_REALTIME;
	/*
	 * kvm-msi-ext-dest-id is a promise about the VMM's IOAPIC and MSI
	 * routing (15-bit destination ids), which only a userspace IOAPIC keeps
	 * (QEMU sets it with a split irqchip).  skyvm's IOAPIC is KVM's
	 * in-kernel one: never offered, whatever a table says.
	 */
	set_named(t, "kvm-msi-ext-dest-id", false);
}

void cpu_fixup_topoext(struct cpuid_table *t)
{
	/* Only where the table reaches its leaf: a host without 0x80000001 has no AMD leaves. */
	set_named(t, "topoext", true);
}

int cpu_host_fixups(struct cpuid_table *t, const struct cpu_host_facts *facts)
{
	if (!cpuid_find(t, 0, 0) || !cpuid_find(t, 1, 0))
		return err_set("supported CPUID has no leaf 0 or 1");
	cpu_fixup_hypercall_features(t, facts->hypercalls_hang);
	cpu_fixup_tsc_deadline(t, facts->tsc_deadline_timer);
	cpu_fixup_vmm_bits(t);
	cpu_fixup_topoext(t);
	return 0;
}
