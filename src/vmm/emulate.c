/* SPDX-License-Identifier: MIT */
#include "vmm/emulate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "boot/guest_mem.h"
#include "cpu/features.h"
#include "util/err.h"
#include "vmm/vm.h"

#define RFLAGS_AC (1ULL << 18)
#define RFLAGS_VM (1ULL << 17)
#define CR0_PE (1ULL << 0)
#define CR0_MP (1ULL << 1)
#define CR0_TS (1ULL << 3)
#define CR0_NE (1ULL << 5)
#define CR4_TSD (1ULL << 2)
#define EFER_LMA (1ULL << 10)
/* A software interrupt's error code for IDT entry `v`: IDT flag set, EXT clear. */
#define IDT_ERROR_CODE(v) ((uint32_t)(v) << 3 | 2)
#define BP_VECTOR 3
#define FSW_ES (1u << 7) /* x87 error summary: an unmasked exception is pending */
#define MSR_IA32_TSC 0x10
#define MSR_TSC_AUX 0xc0000103

static const char *const kind_names[EMU_KIND_COUNT] = {
	[EMU_INT3] = "int3", [EMU_FWAIT] = "fwait", [EMU_CLAC] = "clac",
	[EMU_STAC] = "stac", [EMU_RDTSCP] = "rdtscp",
};

const char *emulate_kind_name(enum emulate_kind k)
{
	return (unsigned)k < EMU_KIND_COUNT ? kind_names[k] : "?";
}

/* The byte patterns, without prefixes: a prefixed form is not completed. */
static const struct {
	enum emulate_kind kind;
	uint8_t len;
	uint8_t bytes[3];
} patterns[] = {
	{ EMU_INT3, 1, { 0xcc } },
	{ EMU_FWAIT, 1, { 0x9b } },
	{ EMU_CLAC, 3, { 0x0f, 0x01, 0xca } },
	{ EMU_STAC, 3, { 0x0f, 0x01, 0xcb } },
	{ EMU_RDTSCP, 3, { 0x0f, 0x01, 0xf9 } },
};

int emulate_decode(const uint8_t *insn, unsigned len, unsigned *insn_len)
{
	for (size_t i = 0; i < sizeof(patterns) / sizeof(patterns[0]); i++) {
		if (len >= patterns[i].len && !memcmp(insn, patterns[i].bytes, patterns[i].len)) {
			*insn_len = patterns[i].len;
			return (int)patterns[i].kind;
		}
	}
	return -1;
}

unsigned emulate_cpl(uint64_t cr0, uint64_t rflags, unsigned ss_dpl)
{
	if (!(cr0 & CR0_PE))
		return 0;
	if (rflags & RFLAGS_VM)
		return 3;
	return ss_dpl & 3;
}

static void fault(struct emulate_verdict *v, uint8_t vector, bool has_error_code, const char *fmt,
		  ...) __attribute__((format(printf, 4, 5)));

static void fault(struct emulate_verdict *v, uint8_t vector, bool has_error_code, const char *fmt,
		  ...)
{
	va_list ap;

	v->action = EMU_FAULT;
	v->vector = vector;
	v->has_error_code = has_error_code;
	v->error_code = 0;
	va_start(ap, fmt);
	vsnprintf(v->why, sizeof(v->why), fmt, ap);
	va_end(ap);
}

/* Is the system-descriptor type (byte 5: P DPL S TYPE) a gate int3 may use? */
static bool int3_gate_type_ok(uint8_t access, bool long_mode)
{
	unsigned type = access & 0xf;

	if (access & 0x10)
		return false; /* S set: a code or data segment, not a gate */
	if (long_mode)
		return type == 0xe || type == 0xf; /* 64-bit interrupt, trap gate */
	/* task gate; 16- and 32-bit interrupt and trap gates */
	return type == 0x5 || type == 0x6 || type == 0x7 || type == 0xe || type == 0xf;
}

/* The SDM's INT3 checks of vector 3's gate, in its order (emulate.h). */
static void check_int3(const struct emulate_state *s, struct emulate_verdict *v)
{
	unsigned size = s->long_mode ? 16 : 8;
	uint32_t ec = IDT_ERROR_CODE(BP_VECTOR);
	uint8_t access;
	unsigned dpl;

	if (!(s->cr0 & CR0_PE))
		return; /* real mode: the IVT, nothing to check */
	if (BP_VECTOR * size + size - 1 > s->idt_limit) {
		fault(v, EMU_VECTOR_GP, true, "int3: IDT entry 3 is beyond the IDT limit 0x%x",
		      s->idt_limit);
		v->error_code = ec;
		return;
	}
	if (!s->gate_read)
		return; /* the delivery reads it, and faults as the CPU would */
	access = s->gate[5];
	if (!int3_gate_type_ok(access, s->long_mode)) {
		fault(v, EMU_VECTOR_GP, true, "int3: IDT entry 3 (type 0x%x%s) is no %s", access & 0x1f,
		      s->long_mode ? ", long mode" : "",
		      s->long_mode ? "interrupt or trap gate" : "interrupt, trap or task gate");
		v->error_code = ec;
		return;
	}
	dpl = (access >> 5) & 3;
	if (dpl < s->cpl) {
		fault(v, EMU_VECTOR_GP, true, "int3 at CPL %u through IDT entry 3 of DPL %u", s->cpl,
		      dpl);
		v->error_code = ec;
		return;
	}
	if (!(access & 0x80)) {
		fault(v, EMU_VECTOR_NP, true, "int3: IDT entry 3 is not present");
		v->error_code = ec;
	}
}

/* The SDM's exception lists for each instruction, minus LOCK (never decoded). */
void emulate_check(enum emulate_kind k, const struct emulate_state *s, struct emulate_verdict *v)
{
	const char *name = emulate_kind_name(k);

	memset(v, 0, sizeof(*v));
	v->action = EMU_COMPLETE;
	switch (k) {
	case EMU_CLAC:
	case EMU_STAC:
		/* Not gated on smap: see emulate.h. */
		if (s->cpl > 0)
			fault(v, EMU_VECTOR_UD, false, "%s at CPL %u (only CPL 0 may)", name, s->cpl);
		break;
	case EMU_RDTSCP:
		if (!s->rdtscp)
			fault(v, EMU_VECTOR_UD, false, "rdtscp: this vCPU's CPUID does not offer "
			      "rdtscp");
		else if ((s->cr4 & CR4_TSD) && s->cpl > 0)
			fault(v, EMU_VECTOR_GP, true, "rdtscp at CPL %u with CR4.TSD set", s->cpl);
		break;
	case EMU_FWAIT:
		if ((s->cr0 & CR0_MP) && (s->cr0 & CR0_TS))
			fault(v, EMU_VECTOR_NM, false, "fwait with CR0.MP and CR0.TS set");
		else if ((s->fsw & FSW_ES) && (s->cr0 & CR0_NE))
			fault(v, EMU_VECTOR_MF, false, "fwait with an x87 exception pending "
			      "(FSW 0x%04x)", s->fsw);
		else if (s->fsw & FSW_ES) {
			v->action = EMU_REFUSE;
			snprintf(v->why, sizeof(v->why),
				 "fwait with an x87 exception pending (FSW 0x%04x) and CR0.NE "
				 "clear: the CPU would signal FERR#, which skyvm does not model",
				 s->fsw);
		}
		break;
	case EMU_INT3:
		check_int3(s, v);
		break;
	case EMU_KIND_COUNT:
		break;
	}
}

static const char *suberror_name(uint32_t suberror)
{
	switch (suberror) {
	case KVM_INTERNAL_ERROR_EMULATION: return "emulation failure";
	case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception while delivering an exception";
	case KVM_INTERNAL_ERROR_DELIVERY_EV: return "event delivery failed";
	case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "unexpected exit reason";
	default: return "unknown suberror";
	}
}

void emulate_failure_text(char *buf, size_t size, uint32_t suberror, const uint64_t *data,
			  unsigned ndata, const char *why)
{
	size_t n;
	unsigned first = 0;

	if (!size)
		return;
	if (suberror == KVM_INTERNAL_ERROR_EMULATION)
		n = (size_t)snprintf(buf, size, "KVM could not emulate an instruction "
				     "(KVM_EXIT_INTERNAL_ERROR, suberror %u: %s)", suberror,
				     suberror_name(suberror));
	else
		n = (size_t)snprintf(buf, size, "KVM_EXIT_INTERNAL_ERROR, suberror %u: %s",
				     suberror, suberror_name(suberror));
	if (why && n < size)
		n += (size_t)snprintf(buf + n, size - n, "; skyvm did not complete it: %s", why);
	if (ndata > 16)
		ndata = 16; /* struct kvm_run's internal.data[] */
	/* An emulation failure's first words are flags and the instruction bytes,
	 * reported on their own line: only what KVM adds after them here. */
	if (suberror == KVM_INTERNAL_ERROR_EMULATION && ndata >= 3 &&
	    (data[0] & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES))
		first = 3;
	if (ndata > first && n < size) {
		n += (size_t)snprintf(buf + n, size - n, "; KVM's data:");
		for (unsigned i = first; i < ndata && n < size; i++)
			n += (size_t)snprintf(buf + n, size - n, " 0x%llx",
					      (unsigned long long)data[i]);
	}
}

static int read_msrs(int fd, uint64_t *tsc, uint64_t *aux)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[2];
	} m;

	memset(&m, 0, sizeof(m));
	m.hdr.nmsrs = 2;
	m.e[0].index = MSR_IA32_TSC;
	m.e[1].index = MSR_TSC_AUX;
	if (ioctl(fd, KVM_GET_MSRS, &m) != 2)
		return err_errno("KVM_GET_MSRS (TSC, TSC_AUX) for rdtscp");
	*tsc = m.e[0].data;
	*aux = m.e[1].data;
	return 0;
}

/*
 * Copy `len` bytes at guest linear address `la` (KVM_TRANSLATE, page by page,
 * then the bounds-checked accessor).  False when a page is not mapped or not
 * guest RAM.
 */
static bool read_linear(struct vcpu *vcpu, uint64_t la, uint8_t *buf, unsigned len)
{
	while (len) {
		struct kvm_translation t;
		unsigned chunk = 4096 - (unsigned)(la & 4095);
		const uint8_t *p;

		if (chunk > len)
			chunk = len;
		memset(&t, 0, sizeof(t));
		t.linear_address = la;
		if (ioctl(vcpu->fd, KVM_TRANSLATE, &t) < 0 || !t.valid)
			return false;
		p = guest_ptr(&vcpu->vm->mem, t.physical_address, chunk);
		if (!p)
			return false;
		memcpy(buf, p, chunk);
		buf += chunk;
		la += chunk;
		len -= chunk;
	}
	return true;
}

/* The vCPU's side of emulate_check(): registers, CPUID table, x87 status, IDT. */
static int read_state(struct vcpu *vcpu, enum emulate_kind kind, const struct kvm_regs *regs,
		      struct emulate_state *st)
{
	struct kvm_sregs sregs;
	struct cpu_featureset fs;

	memset(st, 0, sizeof(*st));
	if (KVM_CHECKED(vcpu->fd, KVM_GET_SREGS, &sregs) < 0)
		return -1;
	st->cr0 = sregs.cr0;
	st->cr4 = sregs.cr4;
	st->cpl = emulate_cpl(sregs.cr0, regs->rflags, sregs.ss.dpl);
	featureset_from_cpuid(&fs, &vcpu->cpuid);
	st->rdtscp = featureset_has_name(&fs, "rdtscp");
	if (kind == EMU_INT3 && (sregs.cr0 & CR0_PE)) {
		unsigned size;

		st->long_mode = sregs.efer & EFER_LMA;
		st->idt_limit = sregs.idt.limit;
		size = st->long_mode ? 16 : 8;
		if (BP_VECTOR * size + size - 1 <= sregs.idt.limit)
			st->gate_read = read_linear(vcpu, sregs.idt.base + BP_VECTOR * size,
						    st->gate, size);
	}
	if (kind == EMU_FWAIT) {
		struct kvm_fpu fpu;

		if (KVM_CHECKED(vcpu->fd, KVM_GET_FPU, &fpu) < 0)
			return -1;
		st->fsw = fpu.fsw;
	}
	return 0;
}

static int inject(struct vcpu *vcpu, uint8_t vector, bool has_error_code, uint32_t error_code)
{
	struct kvm_vcpu_events ev;

	if (KVM_CHECKED(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
		return -1;
	ev.exception.injected = 1;
	ev.exception.nr = vector;
	ev.exception.has_error_code = has_error_code;
	ev.exception.error_code = error_code;
	ev.flags = 0;
	return KVM_CHECKED(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev);
}

int emulate_complete(struct vcpu *vcpu, const uint8_t *insn, unsigned len)
{
	struct kvm_regs regs;
	struct emulate_state st;
	struct emulate_verdict verdict;
	unsigned n = 0;
	int kind = emulate_decode(insn, len, &n);

	if (kind < 0) {
		char bytes[16 * 3 + 1] = "";
		size_t at = 0;

		for (unsigned i = 0; i < len && i < 16 && at < sizeof(bytes); i++)
			at += (size_t)snprintf(bytes + at, sizeof(bytes) - at, "%s%02x",
					       i ? " " : "", insn[i]);
		if (!len)
			return err_set("KVM gave no instruction bytes and the bytes at RIP could "
				       "not be read");
		return err_set("the instruction (%s) is none of those skyvm completes "
			       "(int3, fwait, clac, stac, rdtscp)", bytes);
	}
	if (KVM_CHECKED(vcpu->fd, KVM_GET_REGS, &regs) < 0 ||
	    read_state(vcpu, (enum emulate_kind)kind, &regs, &st) < 0)
		return err_wrap("%s", emulate_kind_name((enum emulate_kind)kind));
	emulate_check((enum emulate_kind)kind, &st, &verdict);
	if (verdict.action == EMU_REFUSE)
		return err_set("%s", verdict.why);
	if (verdict.action == EMU_FAULT) {
		/* A fault: RIP stays on the instruction, as the CPU leaves it. */
		if (inject(vcpu, verdict.vector, verdict.has_error_code, verdict.error_code) < 0)
			return err_wrap("raising exception %u for %s", verdict.vector,
					verdict.why);
		atomic_fetch_add(&vcpu->vm->emulated.faults[kind], 1);
		return 0;
	}
	regs.rip += n;
	switch ((enum emulate_kind)kind) {
	case EMU_INT3:
	case EMU_FWAIT:
		break;
	case EMU_CLAC:
		regs.rflags &= ~RFLAGS_AC;
		break;
	case EMU_STAC:
		regs.rflags |= RFLAGS_AC;
		break;
	case EMU_RDTSCP: {
		uint64_t tsc = 0, aux = 0;

		if (read_msrs(vcpu->fd, &tsc, &aux) < 0)
			return -1;
		regs.rax = (uint32_t)tsc;
		regs.rdx = tsc >> 32;
		regs.rcx = (uint32_t)aux;
		break;
	}
	case EMU_KIND_COUNT:
		return err_set("bad emulation kind");
	}
	if (KVM_CHECKED(vcpu->fd, KVM_SET_REGS, &regs) < 0)
		return -1;
	/* #BP is a trap: the handler sees RIP after the int3 (set above). */
	if (kind == EMU_INT3 && inject(vcpu, EMU_VECTOR_BP, false, 0) < 0)
		return -1;
	atomic_fetch_add(&vcpu->vm->emulated.n[kind], 1);
	return 0;
}
