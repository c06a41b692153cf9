/* SPDX-License-Identifier: MIT */
/* The clock a guest has read (vmm/kvmclock.h). */
#include "vmm/kvmclock.h"

#include <linux/kvm.h>
#include <string.h>
#include <sys/ioctl.h>

#include "util/err.h"
#include "vmm/vm.h"

#define MSR_IA32_TSC 0x10
#define MSR_KVM_SYSTEM_TIME 0x12
#define MSR_KVM_SYSTEM_TIME_NEW 0x4b564d01
#define SYSTEM_TIME_ENABLE 1ull

bool pvclock_area_ns(const struct pvclock_area *p, uint64_t tsc, uint64_t *ns)
{
	uint64_t delta;

	if (p->version == 0 || (p->version & 1))
		return false;
	/* A TSC behind the timestamp: the guest reads system_time (delta 0). */
	delta = tsc > p->tsc_timestamp ? tsc - p->tsc_timestamp : 0;
	if (p->tsc_shift < 0)
		delta >>= -p->tsc_shift;
	else
		delta <<= p->tsc_shift;
	*ns = p->system_time + (uint64_t)(((unsigned __int128)delta * p->tsc_to_system_mul) >> 32);
	return true;
}

/* This vCPU's reading now; false when it has no pvclock area. */
static bool vcpu_reading(struct vm *vm, struct vcpu *v, uint64_t *ns)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[3];
	} m;
	uint64_t area = 0;
	const struct pvclock_area *p;
	struct pvclock_area copy;
	int got;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 3;
	m.e[0].index = MSR_IA32_TSC;
	m.e[1].index = MSR_KVM_SYSTEM_TIME_NEW;
	m.e[2].index = MSR_KVM_SYSTEM_TIME;
	/* KVM_GET_MSRS stops at the first MSR it cannot read: the old one may be hidden. */
	got = ioctl(v->fd, KVM_GET_MSRS, &m);
	if (got < 2)
		return false;
	if (m.e[1].data & SYSTEM_TIME_ENABLE)
		area = m.e[1].data;
	else if (got == 3 && (m.e[2].data & SYSTEM_TIME_ENABLE))
		area = m.e[2].data;
	if (!area)
		return false;
	p = guest_ptr(&vm->mem, area & ~SYSTEM_TIME_ENABLE, sizeof(*p));
	if (!p)
		return false;
	memcpy(&copy, p, sizeof(copy));
	return pvclock_area_ns(&copy, m.e[0].data, ns);
}

int vm_guest_clock_ns(struct vm *vm, uint64_t *ns)
{
	struct kvm_clock_data c;

	memset(&c, 0, sizeof(c));
	if (ioctl(vm->fd, KVM_GET_CLOCK, &c) < 0)
		return err_errno("KVM_GET_CLOCK");
	*ns = c.clock;
	if (c.flags & KVM_CLOCK_TSC_STABLE)
		return 0;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		uint64_t r;

		if (vm->vcpus[i].fd >= 0 && vcpu_reading(vm, &vm->vcpus[i], &r) && r > *ns)
			*ns = r;
	}
	return 0;
}
