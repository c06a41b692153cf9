/* SPDX-License-Identifier: MIT */
/*
 * Can a CPU model run on a host: the per-field rules listed in compare.h.
 */
#include "fleet/compare.h"

#include <asm/kvm_para.h>
#include <stdio.h>
#include <string.h>

#include "cpu/msrs.h"
#include "cpu/normalise.h"

/* What KVM puts in CPUID.40000000H:EBX,ECX,EDX, and what skyvm's guests see. */
static const char kvm_signature[12] = { 'K', 'V', 'M', 'K', 'V', 'M', 'K', 'V', 'M', 0, 0, 0 };

unsigned fleet_featureset_count(const struct cpu_featureset *s)
{
	unsigned n = 0;

	for (unsigned w = 0; w < FW_COUNT; w++)
		n += (unsigned)__builtin_popcount(s->w[w]);
	return n;
}

void fleet_vmm_owned_features(struct cpu_featureset *out)
{
	/*
	 * kvm-msi-ext-dest-id says how the VMM routes MSIs (QEMU offers it only
	 * with a split irqchip), so like the hypervisor bit it is not a host's.
	 */
	static const char *const owned[] = { "hypervisor", "kvm-msi-ext-dest-id" };

	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++) {
		const struct cpu_feature *f = cpu_feature_find(owned[i]);

		if (f)
			featureset_set(out, f, true);
	}
	out->w[FW_KVM_HINTS] = ~0u;
}

void fleet_demand_from_model(struct fleet_demand *d, const struct cpu_def *def,
			     const struct cpu_featureset *requested)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->vendor, sizeof(d->vendor), "%s", def->vendor);
	d->level = def->level;
	d->xlevel = def->xlevel;
	/* Stage 8 always writes the KVM leaves: the guest sees 0x40000000..0x40000001. */
	d->hv_level = KVM_CPUID_FEATURES;
	memcpy(d->hv_signature, kvm_signature, sizeof(d->hv_signature));
	d->features = *requested;
}

void fleet_offer_from_cpuid(struct fleet_offer *o, const struct cpuid_table *t,
			    const struct cpu_featureset *features)
{
	/* CPUID.40000000H: the hypervisor signature is EBX, ECX, EDX. */
	uint32_t signature[3] = {
		cpuid_value(t, KVM_CPUID_SIGNATURE, 0, CPUID_EBX),
		cpuid_value(t, KVM_CPUID_SIGNATURE, 0, CPUID_ECX),
		cpuid_value(t, KVM_CPUID_SIGNATURE, 0, CPUID_EDX),
	};

	memset(o, 0, sizeof(*o));
	cpu_vendor_decode(t, o->vendor); /* cpu/normalise.c: the one vendor decoder */
	o->level = cpuid_value(t, 0, 0, CPUID_EAX);
	o->xlevel = cpuid_value(t, 0x80000000u, 0, CPUID_EAX);
	o->hv_level = cpuid_value(t, KVM_CPUID_SIGNATURE, 0, CPUID_EAX);
	memcpy(o->hv_signature, signature, sizeof(o->hv_signature));
	if (features)
		o->features = *features;
	else
		featureset_from_cpuid(&o->features, t);
	/* the feature MSRs KVM offers, where the dump recorded them */
	o->msrs_unknown = !t->msrs_known;
	if (t->msrs_known)
		featureset_from_msrs(&o->features, t);
}

void fleet_compare(const struct fleet_demand *d, const struct fleet_offer *o,
		   struct fleet_comparison *out)
{
	struct cpu_featureset owned;
	bool exact;

	memset(out, 0, sizeof(*out));
	fleet_vmm_owned_features(&owned);
	for (unsigned w = 0; w < FW_COUNT; w++) {
		if (o->msrs_unknown && feature_word_is_msr((int)w))
			continue; /* not recorded: cannot say */
		out->missing.w[w] = d->features.w[w] & ~o->features.w[w];
		/* The VMM's own bits are not the host's to offer: never "more". */
		out->extra.w[w] = o->features.w[w] & ~d->features.w[w] & ~owned.w[w];
	}
	out->missing_count = fleet_featureset_count(&out->missing);
	out->extra_count = fleet_featureset_count(&out->extra);
	out->vendor_differs = d->vendor[0] && strcmp(d->vendor, o->vendor) != 0;
	out->level_exceeds = d->level > o->level;
	out->xlevel_exceeds = d->xlevel > o->xlevel;
	out->hv_level_exceeds = d->hv_level > o->hv_level;
	out->signature_differs = memcmp(d->hv_signature, o->hv_signature, 12) != 0;

	if (out->missing_count || out->vendor_differs || out->level_exceeds || out->xlevel_exceeds ||
	    out->hv_level_exceeds || out->signature_differs) {
		out->verdict = FLEET_INCOMPATIBLE;
		return;
	}
	exact = out->extra_count == 0 && d->level == o->level && d->xlevel == o->xlevel &&
		d->hv_level == o->hv_level;
	out->verdict = exact ? FLEET_IDENTICAL : FLEET_RUNS;
}

const char *fleet_verdict_name(enum fleet_verdict v)
{
	switch (v) {
	case FLEET_IDENTICAL: return "identical";
	case FLEET_RUNS: return "runs";
	case FLEET_INCOMPATIBLE: return "incompatible";
	}
	return "?";
}

const char *fleet_feature_label(enum feature_word w, unsigned bit, char *buf, size_t size)
{
	const struct cpu_feature *f = cpu_feature_at(w, bit);

	if (f)
		snprintf(buf, size, "%s.%s [bit %u]", feature_words[w].label, f->name,
			 bit + feature_words[w].msr_shift);
	else
		snprintf(buf, size, "%s [bit %u]", feature_words[w].label,
			 bit + feature_words[w].msr_shift);
	return buf;
}

const char *fleet_signature_text(const char sig[12], char *buf, size_t size)
{
	size_t len = 12, n = 0;

	while (len && sig[len - 1] == '\0')
		len--;
	if (size)
		buf[0] = '\0';
	for (size_t i = 0; i < len && n + 5 < size; i++) {
		unsigned char c = (unsigned char)sig[i];

		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '"')
			buf[n++] = (char)c;
		else
			n += (size_t)snprintf(buf + n, size - n, "\\x%02x", c);
		buf[n] = '\0';
	}
	return buf;
}
