/* SPDX-License-Identifier: MIT */
/*
 * Fleet baseline: intersect hosts, choose the closest named model, express
 * the rest as +f/-f.  The steps are described in baseline.h.
 */
#include "fleet/baseline.h"

#include <asm/kvm_para.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/msrs.h"
#include "cpu/normalise.h"
#include "fleet/compare.h"
#include "util/err.h"

/* The max-leaf fields: a guest may be given the smallest any host has. */
static const uint32_t max_leaf_fields[] = { 0, KVM_CPUID_SIGNATURE, 0x80000000u };

#define MAX_LEAF_FIELD_COUNT (sizeof(max_leaf_fields) / sizeof(max_leaf_fields[0]))

/* The max-leaf field that bounds `leaf`: the range it belongs to. */
static uint32_t range_base(uint32_t leaf)
{
	if (leaf >= 0x80000000u && leaf < 0xc0000000u)
		return 0x80000000u;
	if (leaf >= KVM_CPUID_SIGNATURE && leaf < KVM_CPUID_SIGNATURE + 0x100)
		return KVM_CPUID_SIGNATURE;
	if (leaf < KVM_CPUID_SIGNATURE)
		return 0;
	return leaf; /* e.g. the Centaur range: kept as the hosts agree on it */
}

static void vendor_of(const struct cpuid_table *t, char out[13])
{
	cpu_vendor_decode(t, out); /* cpu/normalise.c: the one vendor decoder */
}

static int check_one_vendor(const struct cpuid_table *const *hosts, const char *const *names,
			    size_t n)
{
	char first[13], v[13];
	char *list = NULL;
	size_t list_size = 0;
	bool mixed = false;
	FILE *f;

	for (size_t i = 0; i < n; i++)
		if (!cpuid_find_const(hosts[i], 0, 0))
			return err_set("%s: no CPUID leaf 0 (vendor and max leaf)", names[i]);
	vendor_of(hosts[0], first);
	for (size_t i = 1; i < n; i++) {
		vendor_of(hosts[i], v);
		mixed |= strcmp(v, first) != 0;
	}
	if (!mixed)
		return 0;
	f = open_memstream(&list, &list_size);
	if (!f)
		return err_errno("a baseline needs one CPU vendor, and these hosts have several");
	for (size_t i = 0; i < n; i++) {
		vendor_of(hosts[i], v);
		fprintf(f, "%s%s is %s", i ? ", " : "", names[i], v);
	}
	fclose(f);
	err_set("a baseline needs one CPU vendor, and these hosts have several: %s", list);
	free(list);
	return -1;
}

int fleet_intersect(const struct cpuid_table *const *hosts, const char *const *names, size_t n,
		    struct cpuid_table *out)
{
	uint32_t limit[MAX_LEAF_FIELD_COUNT];
	uint32_t kept = 0;

	if (n == 0)
		return err_set("no hosts to intersect");
	if (check_one_vendor(hosts, names, n) < 0)
		return -1;

	for (size_t f = 0; f < MAX_LEAF_FIELD_COUNT; f++) {
		limit[f] = cpuid_value(hosts[0], max_leaf_fields[f], 0, CPUID_EAX);
		for (size_t i = 1; i < n; i++) {
			uint32_t v = cpuid_value(hosts[i], max_leaf_fields[f], 0, CPUID_EAX);

			if (v < limit[f])
				limit[f] = v;
		}
	}

	*out = *hosts[0];
	for (uint32_t e = 0; e < out->nent; e++) {
		struct kvm_cpuid_entry2 *ent = &out->ent[e];
		uint32_t base = range_base(ent->function);
		bool everywhere = true;

		for (size_t f = 0; f < MAX_LEAF_FIELD_COUNT; f++)
			if (base == max_leaf_fields[f] && ent->function > limit[f])
				everywhere = false;
		for (size_t i = 1; i < n && everywhere; i++) {
			const struct kvm_cpuid_entry2 *other =
				cpuid_find_const(hosts[i], ent->function, ent->index);

			if (!other) {
				everywhere = false;
				break;
			}
			for (unsigned w = 0; w < FW_COUNT; w++) {
				const struct feature_word_info *fw = &feature_words[w];

				if (fw->msr || fw->leaf != ent->function ||
				    (fw->indexed && fw->subleaf != ent->index))
					continue;
				*cpuid_reg_ptr(ent, fw->reg) &= cpuid_reg_get(other, fw->reg);
			}
		}
		if (!everywhere)
			continue;
		for (size_t f = 0; f < MAX_LEAF_FIELD_COUNT; f++)
			if (ent->function == max_leaf_fields[f])
				ent->eax = limit[f];
		out->ent[kept++] = *ent;
	}
	out->nent = kept;
	cpuid_sort(out);
	/*
	 * Feature MSRs: what every host lists, each value the AND of theirs;
	 * recorded only when every host's dump records them.
	 */
	out->nmsrs = 0;
	out->msrs_known = true;
	for (size_t i = 0; i < n; i++)
		out->msrs_known &= hosts[i]->msrs_known;
	for (uint32_t m = 0; out->msrs_known && m < hosts[0]->nmsrs; m++) {
		uint64_t v = hosts[0]->msrs[m].value, other;
		bool everywhere = true;

		for (size_t i = 1; i < n && everywhere; i++) {
			everywhere = cpu_msr_get(hosts[i], hosts[0]->msrs[m].index, &other);
			v &= other;
		}
		if (everywhere && cpu_msr_put(out, hosts[0]->msrs[m].index, v) < 0)
			return -1;
	}
	return 0;
}

void fleet_named_features(struct cpu_featureset *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < cpu_features_count; i++)
		featureset_set(out, &cpu_features[i], true);
}

void fleet_unmigratable_features(struct cpu_featureset *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < cpu_features_count; i++)
		if (cpu_features[i].flags & FEAT_UNMIGRATABLE)
			featureset_set(out, &cpu_features[i], true);
}

static bool eligible(const struct fleet_candidate *c, const char *vendor, uint32_t level,
		     uint32_t xlevel)
{
	return !strcmp(c->vendor, vendor) && c->level <= level && c->xlevel <= xlevel;
}

/* True when candidate a should be preferred over b at the same cost: the newer one. */
static bool newer(const struct fleet_candidate *a, size_t ia, const struct fleet_candidate *b,
		  size_t ib)
{
	unsigned fa = fleet_featureset_count(&a->features);
	unsigned fb = fleet_featureset_count(&b->features);

	if (fa != fb)
		return fa > fb;
	if (a->version != b->version)
		return a->version > b->version;
	return ia > ib;
}

void fleet_choose_model(const struct cpu_featureset *target, const struct cpu_featureset *ignore,
			const char *vendor, uint32_t level, uint32_t xlevel,
			const struct fleet_candidate *c, size_t n, struct fleet_choice *out)
{
	size_t best = FLEET_NO_MODEL;
	unsigned best_changes = 0;
	bool best_subset = false;

	for (size_t i = 0; i < n; i++) {
		struct cpu_featureset add, remove;
		unsigned changes;
		bool subset, better;

		if (!eligible(&c[i], vendor, level, xlevel))
			continue;
		for (unsigned w = 0; w < FW_COUNT; w++) {
			uint32_t counted = ignore ? ~ignore->w[w] : ~0u;

			add.w[w] = target->w[w] & ~c[i].features.w[w] & counted;
			remove.w[w] = c[i].features.w[w] & ~target->w[w] & counted;
		}
		changes = fleet_featureset_count(&add) + fleet_featureset_count(&remove);
		subset = fleet_featureset_count(&remove) == 0;
		if (best == FLEET_NO_MODEL)
			better = true;
		else if (subset != best_subset)
			better = subset; /* a model that needs no -f beats one that does */
		else if (changes != best_changes)
			better = changes < best_changes;
		else
			better = newer(&c[i], i, &c[best], best);
		if (!better)
			continue;
		best = i;
		best_changes = changes;
		best_subset = subset;
		out->add = add;
		out->remove = remove;
	}
	out->index = best;
	if (best == FLEET_NO_MODEL) {
		for (unsigned w = 0; w < FW_COUNT; w++)
			out->add.w[w] = target->w[w] & (ignore ? ~ignore->w[w] : ~0u);
		memset(&out->remove, 0, sizeof(out->remove));
		best_changes = fleet_featureset_count(&out->add);
	}
	out->changes = best_changes;
}

/* Append ",<sign><name>" for each bit of `set`, each name once. */
static int append_features(const struct cpu_featureset *set, char sign, char *buf, size_t size,
			   size_t *len)
{
	const char *done[FW_COUNT * 32];
	size_t ndone = 0;

	for (unsigned w = 0; w < FW_COUNT; w++) {
		for (unsigned bit = 0; bit < 32; bit++) {
			const struct cpu_feature *f;
			bool seen = false;
			int n;

			if (!((set->w[w] >> bit) & 1u))
				continue;
			f = cpu_feature_at((enum feature_word)w, bit);
			if (!f) {
				char label[96];

				return err_set("%s has no name, so it cannot be written as %c<feature>",
					       fleet_feature_label((enum feature_word)w, bit, label,
								   sizeof(label)),
					       sign);
			}
			for (size_t i = 0; i < ndone && !seen; i++)
				seen = !strcmp(done[i], f->name);
			if (seen)
				continue;
			done[ndone++] = f->name;
			n = snprintf(buf + *len, size - *len, ",%c%s", sign, f->name);
			if (n < 0 || (size_t)n >= size - *len)
				return err_set("CPU model string longer than %zu bytes", size - 1);
			*len += (size_t)n;
		}
	}
	return 0;
}

int fleet_spec_format(const char *model, const struct cpu_featureset *add,
		      const struct cpu_featureset *remove, char *buf, size_t size)
{
	size_t len;
	int n = snprintf(buf, size, "%s", model);

	if (n < 0 || (size_t)n >= size)
		return err_set("CPU model string longer than %zu bytes", size - 1);
	len = (size_t)n;
	if (append_features(add, '+', buf, size, &len) < 0)
		return -1;
	return append_features(remove, '-', buf, size, &len);
}
