/* SPDX-License-Identifier: MIT */
/*
 * Do guest system calls work?  The minimum a kernel sets up for one:
 * a GDT with user segments and a TSS (for the stack of exceptions taken at
 * CPL3), user-accessible pages for the code and stack, EFER.SCE and
 * STAR/LSTAR/SFMASK, then iretq to CPL3 and SYSCALL (user.S).
 *
 * The library's page tables (lib/entry.S) map 0-4 GiB with 2 MiB pages,
 * supervisor only.  The first 2 MiB (this image: code, data, stacks) are
 * made user-accessible; 2-4 MiB stays supervisor-only for the handler's
 * proof write (user.S).  Nothing here runs on an AP.
 */
#include "hostcheck/syscall.h"

#include "hostcheck/protocol.h"
#include "lib/io.h"
#include "lib/msr.h"

#define SEL_KERNEL_CODE 0x08
#define SEL_KERNEL_DATA 0x10
#define SEL_USER_DATA 0x20 /* STAR[63:48] + 8 */
#define SEL_USER_CODE 0x28 /* STAR[63:48] + 16 */
#define SEL_TSS 0x30
#define RPL3 3

#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_SFMASK 0xc0000084
#define EFER_SCE 1ull
#define RFLAGS_FIXED 0x2ull
#define SFMASK_BITS 0x47700ull /* TF, IF, DF, IOPL, NT, AC: as Linux */
#define PTE_USER 0x4ull
#define PTE_ADDR 0x000ffffffffff000ull
#define USER_LIMIT 0x200000ull /* the first 2 MiB page, made user-accessible */

struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3, iomap_base;
};

struct __attribute__((packed)) table_ptr {
	uint16_t limit;
	uint64_t base;
};

static struct tss64 tss __attribute__((aligned(16)));
static uint8_t kernel_stack[8192] __attribute__((aligned(16)));
static uint8_t user_stack[8192] __attribute__((aligned(16)));

/* Flat segments with the accessed bit preset (the CPU never writes the GDT). */
static uint64_t gdt[8] __attribute__((aligned(16))) = {
	0,
	0x00af9b000000ffffull, /* 0x08 kernel code, 64-bit */
	0x00cf93000000ffffull, /* 0x10 kernel data */
	0x00cf9b000000ffffull, /* 0x18 32-bit code, as lib/entry.S (APs) */
	0x00cff3000000ffffull, /* 0x20 user data, DPL 3 */
	0x00affb000000ffffull, /* 0x28 user code, 64-bit, DPL 3 */
	0, 0,                  /* 0x30 TSS (16 bytes), filled at run time */
};

extern const char user_entry[], syscall_entry[], syscall_entry_end[];

bool syscall_in_handler(uint64_t rip)
{
	return rip >= (uintptr_t)syscall_entry && rip < (uintptr_t)syscall_entry_end;
}

static void load_gdt_and_tss(void)
{
	uint64_t base = (uintptr_t)&tss, limit = sizeof(tss) - 1;
	struct table_ptr p = { sizeof(gdt) - 1, (uintptr_t)gdt };

	tss.rsp[0] = (uintptr_t)(kernel_stack + sizeof(kernel_stack));
	tss.iomap_base = sizeof(tss); /* no I/O bitmap: ports need CPL <= IOPL */
	/* 64-bit available TSS (type 9), present, DPL 0 */
	gdt[SEL_TSS / 8] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
			   ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
	gdt[SEL_TSS / 8 + 1] = base >> 32;
	__asm__ volatile("lgdt %0" : : "m"(p));
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
}

static uint64_t *table_at(uint64_t entry)
{
	return (uint64_t *)(uintptr_t)(entry & PTE_ADDR);
}

/* User bit on the path to 0-2 MiB; 2-4 MiB stays supervisor-only. */
static void open_first_2mib_to_user(void)
{
	uint64_t cr3, *pml4, *pdpt, *pd;

	__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	pml4 = table_at(cr3);
	pdpt = table_at(pml4[0]);
	pd = table_at(pdpt[0]);
	pml4[0] |= PTE_USER;
	pdpt[0] |= PTE_USER;
	pd[0] |= PTE_USER;
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
}

void syscall_check(void)
{
	uint64_t user_rsp = (uintptr_t)(user_stack + sizeof(user_stack));

	/* The user half must sit in the page opened to CPL3 (the image is ~0.8 MiB at 1 MiB). */
	if (user_rsp > USER_LIMIT || (uintptr_t)user_entry >= USER_LIMIT)
		guest_exit(HOSTCHECK_SETUP_FAILED);
	load_gdt_and_tss();
	open_first_2mib_to_user();
	msr_write(MSR_EFER, msr_read(MSR_EFER) | EFER_SCE);
	msr_write(MSR_STAR, (uint64_t)(SEL_USER_DATA - 8) << 48 | (uint64_t)SEL_KERNEL_CODE << 32);
	msr_write(MSR_LSTAR, (uintptr_t)syscall_entry);
	msr_write(MSR_SFMASK, SFMASK_BITS);
	__asm__ volatile("pushq %0\n\t"
			 "pushq %1\n\t"
			 "pushq %2\n\t"
			 "pushq %3\n\t"
			 "pushq %4\n\t"
			 "iretq"
			 :
			 : "i"(SEL_USER_DATA | RPL3), "r"(user_rsp), "i"(RFLAGS_FIXED),
			   "i"(SEL_USER_CODE | RPL3), "r"((uintptr_t)user_entry)
			 : "memory");
	__builtin_unreachable();
}
