/* SPDX-License-Identifier: MIT */
/*
 * Entry of every embedded guest: PVH (32-bit, paging off) and the AP
 * start-up path both end in long mode on the same static page tables and
 * call guest_start() on a stack of their own.
 *
 * Costs matter more than elegance here: on a KVM that interprets CPL0 code
 * every instruction is ~250 ns, so the page tables and GDT are assembled as
 * data rather than built by loops at run time.
 */
#include "lib/ports.h"
#include "lib/smp.h"

#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define SEL_CODE32 0x18

#define CR0_PE 0x00000001
#define CR0_PG 0x80000000
#define CR4_PAE 0x20
#define MSR_EFER 0xc0000080
#define EFER_LME 0x100

/* ---- PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY = 18), read by the loader */
	.section .note.pvh, "a", @note
	.balign 4
	.long 4			/* name size: "Xen\0" */
	.long 4			/* descriptor size */
	.long 18		/* XEN_ELFNOTE_PHYS32_ENTRY */
	.asciz "Xen"
	.balign 4
	.long pvh_entry32
	.balign 4

	.section .text.entry, "ax"
	.code32
/*
 * PVH: flat 32-bit CS/DS/ES/SS, paging off, %ebx = hvm_start_info.  The GDTR
 * may point anywhere, so no segment register is loaded before our lgdt.
 */
	.global pvh_entry32
pvh_entry32:
	cli
	cld
	mov %ebx, %esi		/* start info, for guest_start() */
	mov $1, %ebp		/* boot CPU */
	jmp enter_long_mode

/*
 * APs come here from the trampoline in 32-bit protected mode.  Their data
 * segment caches still hold the real-mode base, so reload them first.
 */
ap_entry32:
	mov $SEL_DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	xor %esi, %esi
	xor %ebp, %ebp

enter_long_mode:
	lgdt gdt_ptr
	mov %cr4, %eax
	or $CR4_PAE, %eax
	mov %eax, %cr4
	mov $pml4, %eax
	mov %eax, %cr3
	mov $MSR_EFER, %ecx
	rdmsr
	or $EFER_LME, %eax
	wrmsr
	mov %cr0, %eax
	or $(CR0_PG | CR0_PE), %eax
	mov %eax, %cr0
	ljmp $SEL_CODE64, $long_entry

	.code64
long_entry:
	mov $SEL_DATA, %eax
	mov %eax, %ds
	mov %eax, %es
	mov %eax, %ss
	mov %eax, %fs
	mov %eax, %gs
	mov %esi, %esi		/* upper halves are undefined after the mode switch */
	mov %ebp, %edx		/* is_boot_cpu */
	xor %eax, %eax		/* boot CPU: stack slot 0 */
	test %edx, %edx
	jnz 1f
	mov $1, %eax		/* APs: the next free slot */
	lock xadd %eax, next_stack_slot(%rip)
	cmp $GUEST_MAX_CPUS, %eax
	jae park		/* more CPUs than stacks: stay out of the way */
1:	mov %eax, %edi		/* slot */
	lea 1(%rax), %ecx
	shl $GUEST_STACK_SHIFT, %rcx
	lea guest_stacks(%rip), %rsp
	add %rcx, %rsp
	xor %ebp, %ebp
	call guest_start	/* (slot, start_info, is_boot_cpu); does not return */
park:
	cli
	hlt
	jmp park

/*
 * AP start-up code, copied to GUEST_AP_TRAMPOLINE (a page below 1 MiB) before
 * the SIPIs; CS = GUEST_AP_TRAMPOLINE >> 4, IP = 0.  Position independent in
 * real mode through DS = CS; the far jump is absolute.
 */
	.balign 16
	.global ap_trampoline_start, ap_trampoline_end
	.code16
ap_trampoline_start:
	cli
	cld
	mov %cs, %ax
	mov %ax, %ds
	lgdtl %ds:(tramp_gdt_ptr - ap_trampoline_start)
	mov %cr0, %eax
	or $CR0_PE, %eax
	mov %eax, %cr0
	ljmpl $SEL_CODE32, $ap_entry32
	.balign 8
tramp_gdt_ptr:
	.word gdt_end - gdt - 1
	.long gdt
ap_trampoline_end:

/*
 * Exception entry: one 16-byte stub per vector (0-31) pushes a zero error
 * code where the CPU pushes none, then the vector; trap_common saves the
 * registers as struct trap_frame (lib/trap.h) and asks trap_dispatch()
 * whether to resume.  The stubs sit at a fixed address (guest.ld asserts
 * it), so the IDT below is plain data and costs no instruction at run time.
 */
#define TRAP_STUBS 0x100000
	.section .text.trapstubs, "ax"
	.code64
	.global trap_stubs
trap_stubs:
	.set vec, 0
	.rept 32
	.balign 16
	.if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || \
	    (vec == 29) || (vec == 30)
	.else
	pushq $0
	.endif
	pushq $vec
	jmp trap_common
	.set vec, vec + 1
	.endr

	.section .text.entry, "ax"
trap_common:
	push %rax
	push %rbx
	push %rcx
	push %rdx
	push %rsi
	push %rdi
	push %rbp
	push %r8
	push %r9
	push %r10
	push %r11
	push %r12
	push %r13
	push %r14
	push %r15
	mov %rsp, %rdi
	call trap_dispatch	/* returns only when the frame may resume */
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %r11
	pop %r10
	pop %r9
	pop %r8
	pop %rbp
	pop %rdi
	pop %rsi
	pop %rdx
	pop %rcx
	pop %rbx
	pop %rax
	add $16, %rsp		/* vector, error code */
	iretq

/*
 * MSR accessors that survive #GP: trap_dispatch() moves a fault at the
 * *_insn label to the *_fault label.  Return 0, or -1 after #GP.
 *   int msr_write_safe(uint32_t msr, uint64_t value)
 *   int msr_read_safe(uint32_t msr, uint64_t *value)
 */
	.global msr_write_safe, msr_write_safe_insn, msr_write_safe_fault
msr_write_safe:
	mov %edi, %ecx
	mov %rsi, %rax
	mov %rsi, %rdx
	shr $32, %rdx
msr_write_safe_insn:
	wrmsr
	xor %eax, %eax
	ret
msr_write_safe_fault:
	mov $-1, %eax
	ret

	.global msr_read_safe, msr_read_safe_insn, msr_read_safe_fault
msr_read_safe:
	mov %edi, %ecx
msr_read_safe_insn:
	rdmsr
	shl $32, %rdx
	or %rdx, %rax
	mov %rax, (%rsi)
	xor %eax, %eax
	ret
msr_read_safe_fault:
	mov $-1, %eax
	ret

/* ---- GDT: accessed bits preset so the CPU never writes to it */
	.data
	.balign 16
gdt:
	.quad 0
	.quad 0x00af9b000000ffff	/* 0x08: 64-bit code */
	.quad 0x00cf93000000ffff	/* 0x10: data, 4 GiB */
	.quad 0x00cf9b000000ffff	/* 0x18: 32-bit code, for the AP path */
gdt_end:
	.balign 8
gdt_ptr:
	.word gdt_end - gdt - 1
	.quad gdt

/* 64-bit interrupt gates (present, DPL 0) for vectors 0-31, selector 0x08. */
	.balign 16
	.global idt_table, idt_table_end
idt_table:
	.set vec, 0
	.rept 32
	.word (TRAP_STUBS + 16 * vec) & 0xffff
	.word SEL_CODE64
	.word 0x8e00
	.word (TRAP_STUBS + 16 * vec) >> 16
	.long 0
	.long 0
	.set vec, vec + 1
	.endr
idt_table_end:

	.balign 4
next_stack_slot:
	.long 1

/*
 * Page tables identity-mapping 0-4 GiB with 2 MiB pages, as data.  The 32-bit
 * hole from 3 GiB (IOAPIC, LAPIC) is mapped uncached (PCD | PWT).
 */
	.section .data.pagetables, "aw"
	.balign 4096
	.global pml4
pml4:
	.quad pdpt + 0x3
	.fill 511, 8, 0
pdpt:
	.quad pd + 0x0000 + 0x3
	.quad pd + 0x1000 + 0x3
	.quad pd + 0x2000 + 0x3
	.quad pd + 0x3000 + 0x3
	.fill 508, 8, 0
pd:
	.set addr, 0
	.rept 2048
	.quad addr | 0x83 | ((addr >= 0xc0000000) & 0x18)
	.set addr, addr + 0x200000
	.endr

	.section .note.GNU-stack, "", @progbits
