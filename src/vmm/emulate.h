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
 * Each is first checked as the CPU under hardware KVM would (emulate_check(),
 * from the SDM's exception lists), against the vCPU's own CPUID table (what
 * KVM_SET_CPUID2 was given, the table KVM's own emulator and CR4 checks go
 * by) and its privilege level:
 *   rdtscp          #UD when CPUID does not offer rdtscp (VMX hides it with
 *                   its "enable RDTSCP" control, so hardware KVM raises #UD
 *                   too); #GP(0) when CR4.TSD is set and CPL > 0
 *   clac / stac     #UD at CPL > 0.  Not gated on CPUID's smap: no hardware
 *                   control hides them, so under hardware KVM a guest whose
 *                   CPUID lacks smap still executes them on an SMAP host; and
 *                   a restricted host may force smap into the guest's CPUID
 *                   while the table lacks it (docs/verify.md: forced bits),
 *                   where a #UD would break a guest that checked CPUID
 *   fwait           #NM when CR0.MP and CR0.TS are set; #MF when an unmasked
 *                   x87 exception is pending (FSW.ES) and CR0.NE is set; with
 *                   CR0.NE clear that would be the legacy FERR# interrupt,
 *                   which skyvm does not model: the VM ends with a report
 *   int3            in protected mode (virtual-8086 and long mode included),
 *                   the checks the CPU makes of a software interrupt's gate
 *                   before delivering it, which a #BP that skyvm injects as
 *                   an exception would skip: vector 3's gate beyond the IDT
 *                   limit, or not an interrupt, trap (or, outside long mode,
 *                   task) gate: #GP(0x1a); the gate's DPL below the CPL
 *                   (e.g. a kernel whose #BP gate is DPL 0, int3 at CPL 3):
 *                   #GP(0x1a); not present: #NP(0x1a).  0x1a is the error
 *                   code of IDT entry 3 from a software interrupt (3 << 3 | 2,
 *                   EXT clear).  A gate skyvm cannot read (its page not
 *                   mapped) is left to the delivery, which faults as the CPU
 *                   would.  In real mode (IVT) there is nothing to check.
 *                   Then #BP, a trap: the handler sees RIP after the int3.
 *                   Not reproduced: a fault later in the delivery (a bad
 *                   code segment in the gate) carries EXT set, as for any
 *                   injected exception, where the CPU would clear it.
 * The exception is raised in the guest with RIP on the instruction, as a
 * fault is.  Completions and raised exceptions are counted; the counts are
 * printed when the VM ends.  Anything else ends the VM with a report.
 */
#ifndef SKYVM_VMM_EMULATE_H
#define SKYVM_VMM_EMULATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum emulate_kind { EMU_INT3, EMU_FWAIT, EMU_CLAC, EMU_STAC, EMU_RDTSCP, EMU_KIND_COUNT };

struct emulate_counts {
	atomic_ulong n[EMU_KIND_COUNT];      /* completed */
	atomic_ulong faults[EMU_KIND_COUNT]; /* raised an exception instead */
};

/* Exception vectors skyvm may raise for an instruction it was asked to complete. */
#define EMU_VECTOR_BP 3
#define EMU_VECTOR_UD 6
#define EMU_VECTOR_NM 7
#define EMU_VECTOR_NP 11
#define EMU_VECTOR_GP 13
#define EMU_VECTOR_MF 16

/* What the checks need of the vCPU: read from KVM, or made up by a test. */
struct emulate_state {
	unsigned cpl;    /* current privilege level (emulate_cpl()) */
	uint64_t cr0, cr4;
	uint16_t fsw;    /* x87 status word (fwait only) */
	bool rdtscp;     /* the vCPU's CPUID offers rdtscp */
	/* int3 in protected mode: the IDT and vector 3's gate */
	bool long_mode;   /* EFER.LMA: 16-byte gates, interrupt and trap gates only */
	uint16_t idt_limit;
	bool gate_read;   /* gate[] holds the descriptor (8 or 16 bytes); false:
			   * not readable, delivery left to KVM */
	uint8_t gate[16];
};

enum emulate_action {
	EMU_COMPLETE, /* do what the instruction does */
	EMU_FAULT,    /* raise `vector` instead, RIP unchanged */
	EMU_REFUSE,   /* hardware would do something skyvm does not model */
};

struct emulate_verdict {
	enum emulate_action action;
	uint8_t vector;
	bool has_error_code;
	uint32_t error_code;
	char why[160]; /* for EMU_FAULT and EMU_REFUSE: "rdtscp: CPUID does not offer rdtscp" */
};

/*
 * Which completable instruction the bytes start with: its kind and length,
 * or -1.  Pure; unit-tested.
 */
int emulate_decode(const uint8_t *insn, unsigned len, unsigned *insn_len);
const char *emulate_kind_name(enum emulate_kind k);
/* The CPL: 0 in real mode, 3 in virtual-8086 mode, else SS.DPL.  Pure. */
unsigned emulate_cpl(uint64_t cr0, uint64_t rflags, unsigned ss_dpl);
/* What the CPU would do with instruction `k` in state `s`.  Pure; unit-tested. */
void emulate_check(enum emulate_kind k, const struct emulate_state *s, struct emulate_verdict *v);
/*
 * The first line of an internal-error report: the suberror by name, KVM's
 * data words, and `why` (why skyvm did not complete it; NULL: not asked).
 * Pure; unit-tested.
 */
void emulate_failure_text(char *buf, size_t size, uint32_t suberror, const uint64_t *data,
			  unsigned ndata, const char *why);

struct vcpu;

/*
 * Complete (or fault, as the CPU would) the instruction at the vCPU's RIP
 * (bytes from KVM's exit or guest memory).  Returns 0 when done (the vCPU
 * may continue), -1 with err_msg() saying why when skyvm cannot.
 */
int emulate_complete(struct vcpu *vcpu, const uint8_t *insn, unsigned len);

#endif
