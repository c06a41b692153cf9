/* SPDX-License-Identifier: MIT */
/*
 * Completing instructions a restricted KVM cannot emulate.
 *
 * On hosts where KVM interprets guest kernel code (HOST-KVM.md: PVM-style
 * KVM), KVM_RUN returns KVM_EXIT_INTERNAL_ERROR / KVM_INTERNAL_ERROR_EMULATION
 * for a few instructions whose effect userspace can reproduce exactly:
 *   int3            advance RIP by 1 and inject #BP (a trap: RIP after int3)
 *   fwait           a no-op when no x87 exception is pending
 *   clac / stac     clear / set RFLAGS.AC
 *   rdtscp          EDX:EAX = IA32_TSC, ECX = IA32_TSC_AUX
 * Each completion is counted; the counts are printed when the VM ends.
 * Anything else ends the VM with a report.
 */
#ifndef SKYVM_VMM_EMULATE_H
#define SKYVM_VMM_EMULATE_H

#include <stdatomic.h>
#include <stdint.h>

enum emulate_kind { EMU_INT3, EMU_FWAIT, EMU_CLAC, EMU_STAC, EMU_RDTSCP, EMU_KIND_COUNT };

struct emulate_counts {
	atomic_ulong n[EMU_KIND_COUNT];
};

struct vcpu;

/*
 * Which completable instruction the bytes start with: its kind and length,
 * or -1.  Pure; unit-tested.
 */
int emulate_decode(const uint8_t *insn, unsigned len, unsigned *insn_len);
const char *emulate_kind_name(enum emulate_kind k);
/*
 * Complete the instruction at the vCPU's RIP (bytes from KVM's exit or
 * guest memory).  Returns 0 when done (the vCPU may continue), -1 with
 * err_msg() when the instruction is not one skyvm can complete.
 */
int emulate_complete(struct vcpu *vcpu, const uint8_t *insn, unsigned len);

#endif
