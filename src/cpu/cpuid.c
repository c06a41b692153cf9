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
	uint32_t i = 0, out;

	/* Entries before the first match stay where they are: no copying them. */
	while (i < t->nent && t->ent[i].function != leaf)
		i++;
	for (out = i; i < t->nent; i++)
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

static bool entry_before(const struct kvm_cpuid_entry2 *x, const struct kvm_cpuid_entry2 *y)
{
	if (x->function != y->function)
		return x->function < y->function;
	return x->index < y->index;
}

/*
 * By (leaf, subleaf), equal keys keeping their order.  An insertion sort: the
 * tables come nearly sorted (KVM's, a model's, one sorted and then grown by a
 * few leaves), so this is about one comparison per entry, where qsort()'s
 * merge sort paid for a buffer and a call per comparison on every `skyvm run`.
 */
void cpuid_sort(struct cpuid_table *t)
{
	for (uint32_t i = 1; i < t->nent; i++) {
		struct kvm_cpuid_entry2 e;
		uint32_t j = i;

		if (!entry_before(&t->ent[i], &t->ent[i - 1]))
			continue;
		e = t->ent[i];
		do {
			t->ent[j] = t->ent[j - 1];
			j--;
		} while (j > 0 && entry_before(&e, &t->ent[j - 1]));
		t->ent[j] = e;
	}
}

const char *cpuid_reg_name(enum cpuid_reg r)
{
	static const char *const names[] = { "EAX", "EBX", "ECX", "EDX" };

	return (unsigned)r < 4 ? names[r] : "?";
}
