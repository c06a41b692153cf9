/* SPDX-License-Identifier: MIT */
#include "cpu/cpuid.h"

#include <stdlib.h>
#include <string.h>

static bool entry_matches(const struct kvm_cpuid_entry2 *e, uint32_t leaf, uint32_t subleaf)
{
	if (e->function != leaf)
		return false;
	if (e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)
		return e->index == subleaf;
	return true;
}

const struct kvm_cpuid_entry2 *cpuid_find_const(const struct cpuid_table *t, uint32_t leaf,
						uint32_t subleaf)
{
	for (uint32_t i = 0; i < t->nent; i++)
		if (entry_matches(&t->ent[i], leaf, subleaf))
			return &t->ent[i];
	return NULL;
}

struct kvm_cpuid_entry2 *cpuid_find(struct cpuid_table *t, uint32_t leaf, uint32_t subleaf)
{
	return (struct kvm_cpuid_entry2 *)cpuid_find_const(t, leaf, subleaf);
}

struct kvm_cpuid_entry2 *cpuid_get_or_add(struct cpuid_table *t, uint32_t leaf, uint32_t subleaf,
					  bool indexed)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(t, leaf, subleaf);

	if (e)
		return e;
	if (t->nent >= CPUID_MAX_ENTRIES)
		return NULL;
	e = &t->ent[t->nent++];
	memset(e, 0, sizeof(*e));
	e->function = leaf;
	e->index = indexed ? subleaf : 0;
	e->flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
	return e;
}

void cpuid_remove_leaf(struct cpuid_table *t, uint32_t leaf)
{
	uint32_t out = 0;

	for (uint32_t i = 0; i < t->nent; i++)
		if (t->ent[i].function != leaf)
			t->ent[out++] = t->ent[i];
	t->nent = out;
}

uint32_t *cpuid_reg_ptr(struct kvm_cpuid_entry2 *e, enum cpuid_reg r)
{
	switch (r) {
	case CPUID_EAX: return &e->eax;
	case CPUID_EBX: return &e->ebx;
	case CPUID_ECX: return &e->ecx;
	case CPUID_EDX: return &e->edx;
	}
	return &e->eax;
}

uint32_t cpuid_reg_get(const struct kvm_cpuid_entry2 *e, enum cpuid_reg r)
{
	return *cpuid_reg_ptr((struct kvm_cpuid_entry2 *)e, r);
}

uint32_t cpuid_value(const struct cpuid_table *t, uint32_t leaf, uint32_t subleaf,
		     enum cpuid_reg r)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find_const(t, leaf, subleaf);

	return e ? cpuid_reg_get(e, r) : 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct kvm_cpuid_entry2 *x = a, *y = b;

	if (x->function != y->function)
		return x->function < y->function ? -1 : 1;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return 0;
}

void cpuid_sort(struct cpuid_table *t)
{
	qsort(t->ent, t->nent, sizeof(t->ent[0]), entry_cmp);
}

const char *cpuid_reg_name(enum cpuid_reg r)
{
	static const char *const names[] = { "EAX", "EBX", "ECX", "EDX" };

	return (unsigned)r < 4 ? names[r] : "?";
}
