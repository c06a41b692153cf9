/* SPDX-License-Identifier: MIT */
/*
 * Which subleaves exist is a property of each leaf (SDM, APM); the table
 * below names the rule per leaf, everything else is read at subleaf 0.
 */
#include "probe/sweep.h"

#include "lib/cpuid.h"
#include "lib/ports.h"
#include "lib/string.h"
#include "probe/records.h"

/* Ranges beyond these are garbage (or a hostile table): stop and say so. */
#define BASIC_LIMIT 0x3f
#define RANGE_SPAN 0xff
#define SUBLEAF_LIMIT 16

enum subleaf_rule {
	SUB_NONE,
	SUB_COUNT_IN_EAX, /* subleaf 0 EAX = highest subleaf (7, 0x14, 0x17, ...) */
	SUB_CACHE,        /* until EAX[4:0] (cache type) is 0: leaf 4, 0x8000001d */
	SUB_LEVEL,        /* until ECX[15:8] (level type) is 0: 0xb, 0x1f, 0x80000026 */
	SUB_XSAVE,        /* 0, 1, and each component in the XCR0|XSS masks: 0xd */
	SUB_FIRST_FOUR,   /* 0..3 (RDT, SGX, PQoS: sparse, small) */
};

struct subleaf_rule_entry {
	uint32_t leaf;
	uint8_t rule;
};

static const struct subleaf_rule_entry subleaf_rules[] = {
	{ 0x4, SUB_CACHE },         { 0x7, SUB_COUNT_IN_EAX },  { 0xb, SUB_LEVEL },
	{ 0xd, SUB_XSAVE },         { 0xf, SUB_FIRST_FOUR },    { 0x10, SUB_FIRST_FOUR },
	{ 0x12, SUB_FIRST_FOUR },   { 0x14, SUB_COUNT_IN_EAX }, { 0x17, SUB_COUNT_IN_EAX },
	{ 0x18, SUB_COUNT_IN_EAX }, { 0x1d, SUB_COUNT_IN_EAX }, { 0x1e, SUB_FIRST_FOUR },
	{ 0x1f, SUB_LEVEL },        { 0x20, SUB_COUNT_IN_EAX }, { 0x23, SUB_FIRST_FOUR },
	{ 0x24, SUB_COUNT_IN_EAX }, { 0x8000001d, SUB_CACHE },  { 0x80000020, SUB_FIRST_FOUR },
	{ 0x80000026, SUB_LEVEL },
};

static unsigned rule_of(uint32_t leaf)
{
	for (unsigned i = 0; i < sizeof(subleaf_rules) / sizeof(subleaf_rules[0]); i++)
		if (subleaf_rules[i].leaf == leaf)
			return subleaf_rules[i].rule;
	return SUB_NONE;
}

static struct cpuid_regs send(unsigned cpu, struct sweep_summary *s, uint32_t leaf,
			      uint32_t subleaf)
{
	struct cpuid_regs r = cpuid_count(leaf, subleaf);
	uint32_t p[PROBE_LEN_CPUID] = { leaf, subleaf, r.eax, r.ebx, r.ecx, r.edx };

	rec_emit(cpu, PROBE_REC_CPUID, p, PROBE_LEN_CPUID);
	s->records++;
	return r;
}

static void sweep_leaf(unsigned cpu, struct sweep_summary *s, uint32_t leaf)
{
	struct cpuid_regs r0 = send(cpu, s, leaf, 0), r;
	unsigned rule = rule_of(leaf);
	uint64_t mask;

	switch (rule) {
	case SUB_COUNT_IN_EAX:
		for (uint32_t i = 1; i <= r0.eax && i < SUBLEAF_LIMIT; i++)
			send(cpu, s, leaf, i);
		break;
	case SUB_CACHE:
		r = r0;
		for (uint32_t i = 1; (r.eax & 0x1f) && i < SUBLEAF_LIMIT; i++)
			r = send(cpu, s, leaf, i);
		break;
	case SUB_LEVEL:
		r = r0;
		for (uint32_t i = 1; (r.ecx & 0xff00) && i < SUBLEAF_LIMIT; i++)
			r = send(cpu, s, leaf, i);
		break;
	case SUB_XSAVE:
		r = send(cpu, s, leaf, 1);
		mask = ((uint64_t)r0.edx << 32 | r0.eax) | ((uint64_t)r.edx << 32 | r.ecx);
		for (uint32_t i = 2; i < 64; i++)
			if (mask >> i & 1)
				send(cpu, s, leaf, i);
		break;
	case SUB_FIRST_FOUR:
		for (uint32_t i = 1; i < 4; i++)
			send(cpu, s, leaf, i);
		break;
	default:
		break;
	}
}

static void overflow(unsigned cpu, uint32_t leaf)
{
	uint32_t p[PROBE_LEN_ERROR] = { PROBE_ERR_CPUID_OVERFLOW, leaf };

	rec_emit(cpu, PROBE_REC_ERROR, p, PROBE_LEN_ERROR);
}

/* Leaves base..max (capped at base + span). */
static uint32_t sweep_range(unsigned cpu, struct sweep_summary *s, uint32_t base, uint32_t max,
			    uint32_t span)
{
	if (max - base > span) {
		overflow(cpu, max);
		max = base + span;
	}
	for (uint32_t leaf = base + 1; leaf <= max; leaf++)
		sweep_leaf(cpu, s, leaf);
	return max;
}

void cpuid_sweep(unsigned cpu, struct sweep_summary *s)
{
	struct cpuid_regs r;

	memset(s, 0, sizeof(*s));
	r = cpuid(0);
	sweep_leaf(cpu, s, 0);
	s->max_basic = sweep_range(cpu, s, 0, r.eax, BASIC_LIMIT);

	/* Without the hypervisor bit, 0x40000000 echoes a basic leaf on Intel: skip. */
	if (cpuid(1).ecx & CPUID_1_ECX_HYPERVISOR) {
		r = send(cpu, s, KVM_CPUID_SIGNATURE, 0);
		memcpy(s->hypervisor + 0, &r.ebx, 4);
		memcpy(s->hypervisor + 4, &r.ecx, 4);
		memcpy(s->hypervisor + 8, &r.edx, 4);
		s->hypervisor[12] = 0;
		s->kvm = cpuid_is_kvm(&r);
		/* KVM's ABI: EAX 0 means 0x40000001 (hosts before the field existed). */
		if (s->kvm && r.eax < KVM_CPUID_FEATURES)
			r.eax = KVM_CPUID_FEATURES;
		if (r.eax >= KVM_CPUID_SIGNATURE)
			s->max_hypervisor =
				sweep_range(cpu, s, KVM_CPUID_SIGNATURE, r.eax, RANGE_SPAN);
		else
			s->max_hypervisor = KVM_CPUID_SIGNATURE;
		if (s->kvm && s->max_hypervisor >= KVM_CPUID_FEATURES)
			s->kvm_features = cpuid(KVM_CPUID_FEATURES).eax;
	}

	r = send(cpu, s, 0x80000000, 0);
	if (r.eax > 0x80000000 && r.eax < 0x80010000)
		s->max_extended = sweep_range(cpu, s, 0x80000000, r.eax, RANGE_SPAN);
	else if (r.eax == 0x80000000)
		s->max_extended = r.eax;
}
