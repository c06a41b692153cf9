/* SPDX-License-Identifier: MIT */
/*
 * Which instructions skyvm completes for a restricted KVM, their lengths, and
 * the checks the CPU would make first (CPUID, privilege level, CR0/CR4, x87).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <linux/kvm.h>

#include "util/err.h"
#include "vmm/emulate.h"

struct decode_case {
	const char *what;
	uint8_t bytes[4];
	unsigned len;
	int kind; /* -1: not completable */
	unsigned insn_len;
};

static const struct decode_case cases[] = {
	{ "int3", { 0xcc }, 1, EMU_INT3, 1 },
	{ "int3 then more", { 0xcc, 0x90, 0x90 }, 3, EMU_INT3, 1 },
	{ "fwait", { 0x9b }, 1, EMU_FWAIT, 1 },
	{ "clac", { 0x0f, 0x01, 0xca }, 3, EMU_CLAC, 3 },
	{ "stac", { 0x0f, 0x01, 0xcb }, 3, EMU_STAC, 3 },
	{ "rdtscp", { 0x0f, 0x01, 0xf9 }, 3, EMU_RDTSCP, 3 },
	{ "truncated clac", { 0x0f, 0x01 }, 2, -1, 0 },
	{ "no bytes", { 0 }, 0, -1, 0 },
	{ "xgetbv (not completable)", { 0x0f, 0x01, 0xd0 }, 3, -1, 0 },
	{ "int 0x80 (not completable)", { 0xcd, 0x80 }, 2, -1, 0 },
	{ "lock cmpxchg16b (not completable)", { 0xf0, 0x48, 0x0f, 0xc7 }, 4, -1, 0 },
	{ "prefixed rdtscp is not matched", { 0x66, 0x0f, 0x01, 0xf9 }, 4, -1, 0 },
};

static void test_decode_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		unsigned n = 99;
		int kind = emulate_decode(cases[i].bytes, cases[i].len, &n);

		if (kind != cases[i].kind)
			fail_msg("%s: kind %d, expected %d", cases[i].what, kind, cases[i].kind);
		if (kind >= 0 && n != cases[i].insn_len)
			fail_msg("%s: length %u, expected %u", cases[i].what, n, cases[i].insn_len);
	}
}

static void test_kind_names(void **state)
{
	(void)state;
	assert_string_equal(emulate_kind_name(EMU_INT3), "int3");
	assert_string_equal(emulate_kind_name(EMU_RDTSCP), "rdtscp");
	assert_string_equal(emulate_kind_name((enum emulate_kind)99), "?");
}

#define CR0_PE 0x1ULL
#define CR0_MP 0x2ULL
#define CR0_TS 0x8ULL
#define CR0_NE 0x20ULL
#define CR4_TSD 0x4ULL
#define RFLAGS_VM (1ULL << 17)

static void test_cpl(void **state)
{
	(void)state;
	assert_int_equal(emulate_cpl(0, 0, 3), 0);                 /* real mode: 0 */
	assert_int_equal(emulate_cpl(CR0_PE, RFLAGS_VM, 0), 3);    /* virtual-8086: 3 */
	assert_int_equal(emulate_cpl(CR0_PE, 0, 0), 0);
	assert_int_equal(emulate_cpl(CR0_PE, 0, 3), 3);            /* SS.DPL */
}

struct check_case {
	const char *what;
	enum emulate_kind kind;
	struct emulate_state st;
	enum emulate_action action;
	uint8_t vector;
	bool has_error_code;
	const char *why; /* a piece of the verdict's text */
};

/* A vCPU: CPL, CR0, CR4, FSW, rdtscp offered. */
#define ST(cpl_, cr0_, cr4_, fsw_, rdtscp_)                                              \
	{ .cpl = cpl_, .cr0 = cr0_, .cr4 = cr4_, .fsw = fsw_, .rdtscp = rdtscp_ }
#define PM (CR0_PE | CR0_NE)
#define ALL ST(0, PM, 0, 0, true)

static const struct check_case checks[] = {
	/* everything offered, CPL 0: completed */
	{ "rdtscp at CPL 0", EMU_RDTSCP, ALL, EMU_COMPLETE, 0, false, NULL },
	{ "clac at CPL 0", EMU_CLAC, ALL, EMU_COMPLETE, 0, false, NULL },
	{ "stac at CPL 0", EMU_STAC, ALL, EMU_COMPLETE, 0, false, NULL },
	{ "fwait, nothing pending", EMU_FWAIT, ALL, EMU_COMPLETE, 0, false, NULL },
	{ "int3 in real mode (the IVT)", EMU_INT3, ST(0, 0, 0, 0, false), EMU_COMPLETE, 0, false,
	  NULL },
	/* hidden from CPUID: #UD, as hardware KVM does (VMX's "enable RDTSCP") */
	{ "rdtscp hidden", EMU_RDTSCP, ST(0, PM, 0, 0, false), EMU_FAULT, EMU_VECTOR_UD, false,
	  "does not offer rdtscp" },
	/* clac/stac: no hardware control hides them (emulate.h); the CPL does count */
	{ "clac at CPL 3", EMU_CLAC, ST(3, PM, 0, 0, true), EMU_FAULT, EMU_VECTOR_UD, false,
	  "CPL 3" },
	{ "stac at CPL 1", EMU_STAC, ST(1, PM, 0, 0, true), EMU_FAULT, EMU_VECTOR_UD, false,
	  "CPL 1" },
	{ "clac in real mode (CPL 0)", EMU_CLAC, ST(0, 0, 0, 0, false), EMU_COMPLETE, 0, false,
	  NULL },
	/* rdtscp and CR4.TSD */
	{ "rdtscp at CPL 3", EMU_RDTSCP, ST(3, PM, 0, 0, true), EMU_COMPLETE, 0, false, NULL },
	{ "rdtscp at CPL 3, CR4.TSD", EMU_RDTSCP, ST(3, PM, CR4_TSD, 0, true), EMU_FAULT,
	  EMU_VECTOR_GP, true, "CR4.TSD" },
	{ "rdtscp at CPL 0, CR4.TSD", EMU_RDTSCP, ST(0, PM, CR4_TSD, 0, true), EMU_COMPLETE, 0,
	  false, NULL },
	{ "rdtscp hidden beats TSD", EMU_RDTSCP, ST(3, PM, CR4_TSD, 0, false), EMU_FAULT,
	  EMU_VECTOR_UD, false, "does not offer rdtscp" },
	/* fwait: device-not-available, pending x87 exceptions */
	{ "fwait, CR0.MP|TS", EMU_FWAIT, ST(0, PM | CR0_MP | CR0_TS, 0, 0, true), EMU_FAULT,
	  EMU_VECTOR_NM, false, "CR0.MP" },
	{ "fwait, CR0.TS alone", EMU_FWAIT, ST(0, PM | CR0_TS, 0, 0, true), EMU_COMPLETE, 0,
	  false, NULL },
	{ "fwait, exception pending", EMU_FWAIT, ST(0, PM, 0, 0x0081, true), EMU_FAULT,
	  EMU_VECTOR_MF, false, "pending" },
	{ "fwait, pending, CR0.NE clear", EMU_FWAIT, ST(0, CR0_PE, 0, 0x0081, true), EMU_REFUSE,
	  0, false, "FERR#" },
};

static void test_checks_as_the_cpu(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		const struct check_case *c = &checks[i];
		struct emulate_verdict v;

		memset(&v, 0xa5, sizeof(v));
		emulate_check(c->kind, &c->st, &v);
		if (v.action != c->action)
			fail_msg("%s: action %d, expected %d (%s)", c->what, v.action, c->action,
				 v.why);
		if (c->action == EMU_FAULT &&
		    (v.vector != c->vector || v.has_error_code != c->has_error_code ||
		     v.error_code != 0))
			fail_msg("%s: vector %u error code %d/%u, expected %u %d", c->what,
				 v.vector, v.has_error_code, v.error_code, c->vector,
				 c->has_error_code);
		if (c->why && !strstr(v.why, c->why))
			fail_msg("%s: '%s' does not say '%s'", c->what, v.why, c->why);
		if (!c->why && v.why[0])
			fail_msg("%s: unexpected text '%s'", c->what, v.why);
	}
}

/*
 * int3 in protected mode: vector 3's gate as the CPU checks it for a software
 * interrupt.  A gate: access byte (P DPL S TYPE), long mode or not, IDT limit.
 */
struct int3_case {
	const char *what;
	unsigned cpl;
	bool long_mode, v86;
	uint16_t idt_limit;
	bool gate_read;
	uint8_t access;
	enum emulate_action action;
	uint8_t vector; /* with error code 0x1a: IDT entry 3, EXT clear */
	const char *why;
};

#define P 0x80
#define DPL(n) ((n) << 5)
#define INTR64 0x0e
#define TRAP64 0x0f
#define TASK 0x05
#define INTR16 0x06
#define LM true
#define IDT64 0xfff /* 256 16-byte gates */
#define IDT32 0x7ff

static const struct int3_case int3_cases[] = {
	/* Linux: #BP's gate is DPL 3, so a user int3 reaches the kernel's handler */
	{ "CPL 3, DPL 3 interrupt gate", 3, LM, false, IDT64, true, P | DPL(3) | INTR64,
	  EMU_COMPLETE, 0, NULL },
	{ "CPL 0, DPL 0 trap gate", 0, LM, false, IDT64, true, P | DPL(0) | TRAP64,
	  EMU_COMPLETE, 0, NULL },
	{ "32-bit, CPL 0, task gate", 0, false, false, IDT32, true, P | TASK, EMU_COMPLETE, 0,
	  NULL },
	{ "32-bit, CPL 3, DPL 3 16-bit interrupt gate", 3, false, false, IDT32, true,
	  P | DPL(3) | INTR16, EMU_COMPLETE, 0, NULL },
	/* the software-interrupt privilege check an injected #BP would skip */
	{ "CPL 3, DPL 0 gate", 3, LM, false, IDT64, true, P | DPL(0) | INTR64, EMU_FAULT,
	  EMU_VECTOR_GP, "CPL 3 through IDT entry 3 of DPL 0" },
	{ "CPL 2, DPL 1 gate", 2, false, false, IDT32, true, P | DPL(1) | TRAP64, EMU_FAULT,
	  EMU_VECTOR_GP, "DPL 1" },
	{ "virtual-8086 (CPL 3), DPL 0 gate", 3, false, true, IDT32, true, P | INTR64,
	  EMU_FAULT, EMU_VECTOR_GP, "CPL 3" },
	/* the limit: entry 3 is bytes 48..63 in long mode, 24..31 otherwise */
	{ "limit ends inside entry 3 (long mode)", 0, LM, false, 62, true, P | INTR64,
	  EMU_FAULT, EMU_VECTOR_GP, "beyond the IDT limit 0x3e" },
	{ "limit just covers entry 3 (long mode)", 0, LM, false, 63, true, P | INTR64,
	  EMU_COMPLETE, 0, NULL },
	{ "limit 31 in long mode", 0, LM, false, 31, false, 0, EMU_FAULT, EMU_VECTOR_GP,
	  "beyond" },
	{ "limit 31 in 32-bit mode covers it", 0, false, false, 31, true, P | INTR64,
	  EMU_COMPLETE, 0, NULL },
	/* the type */
	{ "task gate in long mode", 0, LM, false, IDT64, true, P | TASK, EMU_FAULT,
	  EMU_VECTOR_GP, "no interrupt or trap gate" },
	{ "16-bit gate in long mode", 0, LM, false, IDT64, true, P | INTR16, EMU_FAULT,
	  EMU_VECTOR_GP, "long mode" },
	{ "a code segment (S set)", 0, false, false, IDT32, true, P | 0x10 | 0x0a, EMU_FAULT,
	  EMU_VECTOR_GP, "interrupt, trap or task gate" },
	{ "type 0 (reserved)", 0, LM, false, IDT64, true, P, EMU_FAULT, EMU_VECTOR_GP, "type" },
	/* present last: the DPL check comes first, then #NP */
	{ "not present", 0, LM, false, IDT64, true, DPL(0) | INTR64, EMU_FAULT, EMU_VECTOR_NP,
	  "not present" },
	{ "not present and DPL too low: #GP first", 3, LM, false, IDT64, true,
	  DPL(0) | INTR64, EMU_FAULT, EMU_VECTOR_GP, "DPL 0" },
	{ "bad type and not present: #GP first", 0, LM, false, IDT64, true, TASK, EMU_FAULT,
	  EMU_VECTOR_GP, "type" },
	/* a gate skyvm could not read: the delivery (KVM) checks it */
	{ "gate not readable", 3, LM, false, IDT64, false, 0, EMU_COMPLETE, 0, NULL },
};

static void test_int3_gate_checks(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(int3_cases) / sizeof(int3_cases[0]); i++) {
		const struct int3_case *c = &int3_cases[i];
		struct emulate_state st = {
			.cpl = c->cpl, .cr0 = PM, .long_mode = c->long_mode,
			.idt_limit = c->idt_limit, .gate_read = c->gate_read,
		};
		struct emulate_verdict v;

		if (c->v86)
			st.cpl = emulate_cpl(PM, RFLAGS_VM, 0);
		/* a whole gate: the offset and selector bytes must not matter */
		memset(st.gate, 0xff, sizeof(st.gate));
		st.gate[5] = c->access;
		memset(&v, 0xa5, sizeof(v));
		emulate_check(EMU_INT3, &st, &v);
		if (v.action != c->action)
			fail_msg("%s: action %d, expected %d (%s)", c->what, v.action, c->action,
				 v.why);
		if (c->action == EMU_FAULT &&
		    (v.vector != c->vector || !v.has_error_code || v.error_code != 0x1a))
			fail_msg("%s: vector %u error code %d/0x%x, expected %u with 0x1a", c->what,
				 v.vector, v.has_error_code, v.error_code, c->vector);
		if (c->why && !strstr(v.why, c->why))
			fail_msg("%s: '%s' does not say '%s'", c->what, v.why, c->why);
		if (!c->why && v.why[0])
			fail_msg("%s: unexpected text '%s'", c->what, v.why);
	}
}

static void test_failure_text(void **state)
{
	char buf[512];
	/* flags (instruction bytes), size 3 + bytes 0f 01 d0, then two words of KVM's */
	const uint64_t emu[] = { KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES, 0xd0010f03,
				 0, 0x30, 0x1234 };
	const uint64_t ev[] = { 0x80000b0e, 0x31 };

	(void)state;
	emulate_failure_text(buf, sizeof(buf), KVM_INTERNAL_ERROR_EMULATION, emu, 5,
			     "the instruction (0f 01 d0) is none of those skyvm completes");
	assert_string_equal(buf, "KVM could not emulate an instruction (KVM_EXIT_INTERNAL_ERROR, "
				 "suberror 1: emulation failure); skyvm did not complete it: the "
				 "instruction (0f 01 d0) is none of those skyvm completes; KVM's "
				 "data: 0x30 0x1234");
	emulate_failure_text(buf, sizeof(buf), KVM_INTERNAL_ERROR_DELIVERY_EV, ev, 2, NULL);
	assert_string_equal(buf, "KVM_EXIT_INTERNAL_ERROR, suberror 3: event delivery failed; "
				 "KVM's data: 0x80000b0e 0x31");
	/* a short buffer is cut, never overrun */
	emulate_failure_text(buf, 20, KVM_INTERNAL_ERROR_EMULATION, emu, 5, "why");
	assert_int_equal(strlen(buf), 19);
	/* a suberror KVM may add later is named as such */
	emulate_failure_text(buf, sizeof(buf), 99, ev, 2, NULL);
	assert_non_null(strstr(buf, "suberror 99: unknown suberror"));
}

/* Bytes skyvm does not complete are refused before the vCPU is touched, and named. */
static void test_refusal_names_the_bytes(void **state)
{
	const uint8_t popcnt[15] = { 0xf3, 0x48, 0x0f, 0xb8, 0xc0, 0xc3, 0x0f, 0x1f,
				     0x44, 0x00, 0x00, 0xcc, 0xc3, 0x66, 0x66 };

	(void)state;
	assert_int_equal(emulate_complete(NULL, popcnt, sizeof(popcnt)), -1);
	assert_string_equal(err_msg(), "the instruction (f3 48 0f b8 c0 c3 0f 1f 44 00 00 cc c3 "
				       "66 66) is none of those skyvm completes (int3, fwait, "
				       "clac, stac, rdtscp)");
	assert_int_equal(emulate_complete(NULL, popcnt, 0), -1);
	assert_non_null(strstr(err_msg(), "no instruction bytes"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_table),
		cmocka_unit_test(test_kind_names),
		cmocka_unit_test(test_cpl),
		cmocka_unit_test(test_checks_as_the_cpu),
		cmocka_unit_test(test_int3_gate_checks),
		cmocka_unit_test(test_failure_text),
		cmocka_unit_test(test_refusal_names_the_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
