/* SPDX-License-Identifier: MIT */
/* Pause and resume (vmm/runstate.h). */
#include "vmm/runstate.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "util/err.h"
#include "vmm/kvmclock.h"

/* How long a vCPU may take to leave KVM_RUN after its kick. */
#define PAUSE_TIMEOUT_S 5

const char *vm_run_state_name(enum vm_run_state s)
{
	switch (s) {
	case VM_RUNNING:
		return "running";
	case VM_PAUSED:
		return "paused";
	case VM_STOPPED:
		return "stopped";
	}
	return "?";
}

const char *vcpu_run_state_name(enum vcpu_run_state s)
{
	switch (s) {
	case VCPU_RUNNING:
		return "running";
	case VCPU_PAUSED:
		return "paused";
	case VCPU_EXITED:
		return "exited";
	}
	return "?";
}

enum vm_run_state vm_run_state(struct vm *vm)
{
	enum vm_run_state s;

	pthread_mutex_lock(&vm->lock);
	s = atomic_load(&vm->stopping) ? VM_STOPPED : vm->run_state;
	pthread_mutex_unlock(&vm->lock);
	return s;
}

int vcpu_pause_point(struct vcpu *v)
{
	struct vm *vm = v->vm;

	if (__atomic_load_n(&vm->run_state, __ATOMIC_ACQUIRE) != VM_PAUSED)
		return 0;
	/*
	 * Complete an I/O exit the handler answered (an IN's data, an MMIO read)
	 * without entering the guest: KVM_RUN with immediate_exit set returns
	 * EINTR once that is done.
	 */
	v->run->immediate_exit = 1;
	if (ioctl(v->fd, KVM_RUN, 0) == 0 || errno != EINTR) {
		/* Not expected: KVM entered nothing but says why on the next run. */
	}
	pthread_mutex_lock(&vm->lock);
	v->run_state = VCPU_PAUSED;
	pthread_cond_broadcast(&vm->state_cond);
	while (vm->run_state == VM_PAUSED && !atomic_load(&vm->stopping))
		pthread_cond_wait(&vm->state_cond, &vm->lock);
	v->run_state = VCPU_RUNNING;
	/* Under the lock: a new pause's kick (also under it) is not undone. */
	if (!atomic_load(&vm->stopping))
		v->run->immediate_exit = 0;
	pthread_cond_broadcast(&vm->state_cond);
	pthread_mutex_unlock(&vm->lock);
	/* A stop's kick is not under the lock: it set `stopping` first. */
	if (atomic_load(&vm->stopping)) {
		v->run->immediate_exit = 1;
		return 1;
	}
	if (vm->kvm.fd >= 0 && kvm_cap(vm->kvm.fd, KVM_CAP_KVMCLOCK_CTRL) > 0)
		ioctl(v->fd, KVM_KVMCLOCK_CTRL, 0); /* EINVAL: the guest has no kvmclock */
	return 0;
}

void vcpu_exited(struct vcpu *v)
{
	pthread_mutex_lock(&v->vm->lock);
	v->run_state = VCPU_EXITED;
	pthread_cond_broadcast(&v->vm->state_cond);
	pthread_mutex_unlock(&v->vm->lock);
}

static bool all_parked(struct vm *vm, unsigned *which)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (vm->vcpus[i].run_state == VCPU_RUNNING) {
			*which = i;
			return false;
		}
	}
	return true;
}

int vm_pause(struct vm *vm)
{
	struct timespec deadline;
	unsigned which = 0;
	int r = 0;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += PAUSE_TIMEOUT_S;
	pthread_mutex_lock(&vm->lock);
	if (atomic_load(&vm->stopping)) {
		pthread_mutex_unlock(&vm->lock);
		return err_set("the VM has stopped: %s", vm->stop_reason);
	}
	if (vm->run_state == VM_PAUSED) {
		pthread_mutex_unlock(&vm->lock);
		return 0;
	}
	__atomic_store_n(&vm->run_state, VM_PAUSED, __ATOMIC_RELEASE);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *v = &vm->vcpus[i];

		if (v->run && v->run_state == VCPU_RUNNING) {
			v->run->immediate_exit = 1;
			if (v->thread_started)
				pthread_kill(v->thread, SIGUSR1);
		}
	}
	while (!all_parked(vm, &which) && !atomic_load(&vm->stopping) && r == 0)
		r = pthread_cond_timedwait(&vm->state_cond, &vm->lock, &deadline);
	if (atomic_load(&vm->stopping)) {
		pthread_mutex_unlock(&vm->lock);
		return err_set("the VM stopped while pausing: %s", vm->stop_reason);
	}
	if (!all_parked(vm, &which)) {
		/* Back to running: a half-paused VM helps nobody. */
		vm->run_state = VM_RUNNING;
		pthread_cond_broadcast(&vm->state_cond);
		pthread_mutex_unlock(&vm->lock);
		return err_set("vCPU %u did not leave KVM_RUN within %d s; the VM keeps running",
			       which, PAUSE_TIMEOUT_S);
	}
	vm->has_paused_clock = false;
	if (vm->fd >= 0 && vm_guest_clock_ns(vm, &vm->paused_clock_ns) == 0)
		vm->has_paused_clock = true;
	pthread_mutex_unlock(&vm->lock);
	return 0;
}

int vm_resume(struct vm *vm, bool stop_clock)
{
	pthread_mutex_lock(&vm->lock);
	if (atomic_load(&vm->stopping)) {
		pthread_mutex_unlock(&vm->lock);
		return err_set("the VM has stopped: %s", vm->stop_reason);
	}
	if (vm->run_state != VM_PAUSED) {
		pthread_mutex_unlock(&vm->lock);
		return err_set("the VM is not paused");
	}
	if (stop_clock && vm->has_paused_clock) {
		struct kvm_clock_data c;

		memset(&c, 0, sizeof(c));
		c.clock = vm->paused_clock_ns;
		if (ioctl(vm->fd, KVM_SET_CLOCK, &c) < 0) {
			int e = errno;

			pthread_mutex_unlock(&vm->lock);
			errno = e;
			return err_errno("KVM_SET_CLOCK");
		}
	}
	__atomic_store_n(&vm->run_state, VM_RUNNING, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&vm->state_cond);
	pthread_mutex_unlock(&vm->lock);
	return 0;
}
