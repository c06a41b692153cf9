/* SPDX-License-Identifier: MIT */
/*
 * Pause and resume: the run-state machine of a VM and its vCPUs.
 *
 *   VM:    running --pause--> paused --resume--> running
 *          any state --vm_stop()--> stopped (final)
 *   vCPU:  running (in or around KVM_RUN) / paused (parked on vm->state_cond)
 *          / exited (its thread is done: the VM stopped, or it halted without
 *          an irqchip)
 *
 * vm_pause() marks the VM paused and kicks every vCPU (immediate_exit + a
 * signal).  Each vCPU, at the top of its run loop, runs KVM_RUN once more with
 * immediate_exit set: KVM first completes a port or MMIO read the VMM answered
 * (the data lands in the guest's register) and then returns EINTR without
 * entering the guest (Documentation/virt/kvm/api.rst, immediate_exit).  Only
 * then does it park, so the registers read while paused are complete.
 * vm_pause() returns once no vCPU is running.
 *
 * The guest's clock: at the pause skyvm reads kvmclock (KVM_GET_CLOCK); by
 * default vm_resume() sets it back (KVM_SET_CLOCK), so guest time does not
 * advance while paused, as QEMU does for a stopped VM, and every vCPU then
 * gets KVM_KVMCLOCK_CTRL (where the host offers it and the guest registered
 * kvmclock): the guest's soft-lockup watchdog is told the vCPU was stopped by
 * the host instead of reporting a lockup.  With `keep_clock` false the clock
 * is left to run: the guest sees the pause as a jump in time.  The TSC itself
 * is never stopped by KVM: a guest reading the raw TSC sees the pause.
 */
#ifndef SKYVM_VMM_RUNSTATE_H
#define SKYVM_VMM_RUNSTATE_H

#include "vmm/vm.h"

/* Pause every vCPU; 0 (also when already paused), or -1 (err_set). */
int vm_pause(struct vm *vm);
/* Resume a paused VM; `stop_clock`: guest time did not run while paused. */
int vm_resume(struct vm *vm, bool stop_clock);
enum vm_run_state vm_run_state(struct vm *vm);
const char *vm_run_state_name(enum vm_run_state s);
const char *vcpu_run_state_name(enum vcpu_run_state s);

/* For the vCPU threads (vmm/vcpu.c): park while paused; 1: leave the run loop. */
int vcpu_pause_point(struct vcpu *v);
void vcpu_exited(struct vcpu *v);

#endif
