/* SPDX-License-Identifier: MIT */
#include "vmm/emulate.h"

#include <string.h>
#include <sys/ioctl.h>

#include "util/err.h"
#include "vmm/vm.h"

#define RFLAGS_AC (1ULL << 18)
#define MSR_IA32_TSC 0x10
#define MSR_TSC_AUX 0xc0000103
#define VECTOR_BP 3

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

int emulate_complete(struct vcpu *vcpu, const uint8_t *insn, unsigned len)
{
	struct kvm_regs regs;
	unsigned n = 0;
	int kind = emulate_decode(insn, len, &n);

	if (kind < 0)
		return err_set("instruction not completable by skyvm");
	if (KVM_CHECKED(vcpu->fd, KVM_GET_REGS, &regs) < 0)
		return -1;
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
	if (kind == EMU_INT3) {
		/* #BP is a trap: the handler sees RIP after the int3 (set above). */
		struct kvm_vcpu_events ev;

		if (KVM_CHECKED(vcpu->fd, KVM_GET_VCPU_EVENTS, &ev) < 0)
			return -1;
		ev.exception.injected = 1;
		ev.exception.nr = VECTOR_BP;
		ev.exception.has_error_code = 0;
		ev.exception.error_code = 0;
		ev.flags = 0;
		if (KVM_CHECKED(vcpu->fd, KVM_SET_VCPU_EVENTS, &ev) < 0)
			return -1;
	}
	atomic_fetch_add(&vcpu->vm->emulated.n[kind], 1);
	return 0;
}
