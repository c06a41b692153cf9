/* SPDX-License-Identifier: MIT */
/* The CPU check before a restore (snapshot/cpucheck.h). */
#include "snapshot/cpucheck.h"

#include <stdio.h>
#include <string.h>

#include "cpu/filter.h"
#include "cpu/msrs.h"
#include "fleet/compare.h"

#define LEAF_XSAVE 0xd

static const char *const topology_owned[] = { "ht", "cmp-legacy" };

static void add_line(struct snap_cpu_verdict *v, const char *line)
{
	size_t len = strlen(v->text);

	v->nproblems++;
	if (len + strlen(line) + 2 < sizeof(v->text))
		snprintf(v->text + len, sizeof(v->text) - len, "%s\n", line);
}

/* The label of feature MSR `index` (QEMU's, e.g. "MSR(10AH)"). */
static const char *msr_label(uint32_t index)
{
	for (int w = 0; w < FW_COUNT; w++)
		if (feature_word_is_msr(w) && feature_words[w].msr == index)
			return feature_words[w].label;
	return "MSR";
}

/*
 * The feature MSRs (cpu/msrs.h): each bit of a feature MSR that a vCPU's
 * CPUID let the guest read must be one the host's KVM reports for it (an
 * MSR KVM does not list supports none).  Missing bits go into out->missing
 * as CPUID bits do.  Where either side has no record (a snapshot or stream
 * without the values, a host dump without feature_msrs) the MSR cannot be
 * checked: that is a problem line, never a pass.
 */
static void check_feature_msrs(const struct cpuid_table *tables, unsigned ncpus,
			       const struct cpuid_table *host, struct snap_cpu_verdict *out)
{
	uint32_t idx[CPU_FEATURE_MSRS_MAX];
	size_t n = cpu_feature_msr_indices(idx, CPU_FEATURE_MSRS_MAX);

	for (size_t m = 0; m < n; m++) {
		uint64_t want = 0, have = 0;
		bool gated = false, unrecorded = false;
		char line[256];

		for (unsigned i = 0; i < ncpus; i++) {
			uint64_t v;

			if (!cpu_msr_gated(&tables[i], idx[m]))
				continue;
			gated = true;
			if (!tables[i].msrs_known)
				unrecorded = true;
			else if (cpu_msr_get(&tables[i], idx[m], &v))
				want |= v;
		}
		if (!gated)
			continue;
		if (unrecorded) {
			out->msrs_unchecked++;
			snprintf(line, sizeof(line),
				 "cannot check feature MSR %s: the snapshot does not record the "
				 "value the guest read", msr_label(idx[m]));
			add_line(out, line);
			continue;
		}
		if (!want)
			continue;
		if (!host->msrs_known) {
			out->msrs_unchecked++;
			snprintf(line, sizeof(line),
				 "cannot check feature MSR %s = 0x%llx: the host's record has no "
				 "feature MSRs (record it with 'skyvm cpu host --json')",
				 msr_label(idx[m]), (unsigned long long)want);
			add_line(out, line);
			continue;
		}
		if (!cpu_msr_get(host, idx[m], &have))
			have = 0; /* KVM does not list it: no bit supported */
		for (int w = 0; w < FW_COUNT; w++)
			if (feature_word_is_msr(w) && feature_words[w].msr == idx[m])
				out->missing.w[w] |=
					(uint32_t)((want & ~have) >> feature_words[w].msr_shift);
	}
}

void snapshot_cpu_check(const struct cpuid_table *tables, unsigned ncpus,
			const struct cpuid_table *host, const struct cpu_host_facts *facts,
			struct snap_cpu_verdict *out)
{
	static struct cpuid_table fixed; /* 100+ KiB: not on the stack */
	struct cpu_featureset hostfs, owned;
	uint64_t host_xcr0, guest_xcr0 = 0;
	uint32_t guest_size = 0;

	memset(out, 0, sizeof(*out));
	fixed = *host;
	cpu_host_fixups(&fixed, facts);
	featureset_from_cpuid(&hostfs, &fixed);
	fleet_vmm_owned_features(&owned);
	/* Topology bits the VMM sets from --smp (cpu/topology.c), not the host's. */
	for (size_t i = 0; i < sizeof(topology_owned) / sizeof(topology_owned[0]); i++) {
		const struct cpu_feature *f = cpu_feature_find(topology_owned[i]);

		if (f)
			featureset_set(&owned, f, true);
	}
	for (unsigned i = 0; i < ncpus; i++) {
		struct cpu_featureset g;

		featureset_from_cpuid(&g, &tables[i]);
		for (int w = 0; w < FW_COUNT; w++)
			out->missing.w[w] |= g.w[w] & ~hostfs.w[w] & ~owned.w[w];
		guest_xcr0 |= cpuid_value(&tables[i], LEAF_XSAVE, 0, CPUID_EAX) |
			      (uint64_t)cpuid_value(&tables[i], LEAF_XSAVE, 0, CPUID_EDX) << 32;
		if (cpuid_value(&tables[i], LEAF_XSAVE, 0, CPUID_ECX) > guest_size)
			guest_size = cpuid_value(&tables[i], LEAF_XSAVE, 0, CPUID_ECX);
	}
	check_feature_msrs(tables, ncpus, host, out);
	for (int w = 0; w < FW_COUNT; w++) {
		for (unsigned b = 0; b < 32; b++) {
			char desc[96], line[160];

			if (!((out->missing.w[w] >> b) & 1u))
				continue;
			out->nmissing++;
			cpu_bit_describe((enum feature_word)w, b, desc, sizeof(desc));
			snprintf(line, sizeof(line), "host doesn't support requested feature: %s",
				 desc);
			add_line(out, line);
		}
	}
	host_xcr0 = cpuid_value(&fixed, LEAF_XSAVE, 0, CPUID_EAX) |
		    (uint64_t)cpuid_value(&fixed, LEAF_XSAVE, 0, CPUID_EDX) << 32;
	out->missing_xcr0 = guest_xcr0 & ~host_xcr0;
	if (out->missing_xcr0) {
		char line[160];

		snprintf(line, sizeof(line),
			 "host doesn't support requested XSAVE components: 0x%llx "
			 "(CPUID.0DH:EAX/EDX)", (unsigned long long)out->missing_xcr0);
		add_line(out, line);
	}
	out->guest_xsave_size = guest_size;
	out->host_xsave_size = cpuid_value(&fixed, LEAF_XSAVE, 0, CPUID_ECX);
	if (guest_size > out->host_xsave_size) {
		char line[160];

		snprintf(line, sizeof(line),
			 "host's XSAVE area is smaller than the guest's: %u bytes < %u "
			 "(CPUID.0DH:ECX)", out->host_xsave_size, guest_size);
		add_line(out, line);
	}
}

json_t *snapshot_cpu_verdict_json(const struct snap_cpu_verdict *v)
{
	json_t *missing = json_array(), *problems = json_array();
	char copy[sizeof(v->text)], *save = NULL;

	for (int w = 0; w < FW_COUNT; w++) {
		for (unsigned b = 0; b < 32; b++) {
			const struct cpu_feature *f;
			char desc[96];

			if (!((v->missing.w[w] >> b) & 1u))
				continue;
			f = cpu_feature_at((enum feature_word)w, b);
			cpu_bit_describe((enum feature_word)w, b, desc, sizeof(desc));
			json_array_append_new(missing,
					      json_pack("{s:o,s:s,s:i,s:s}", "feature",
							f ? json_string(f->name) : json_null(),
							"register", feature_words[w].label, "bit",
							(int)(b + feature_words[w].msr_shift),
							"text", desc));
		}
	}
	snprintf(copy, sizeof(copy), "%s", v->text);
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		json_array_append_new(problems, json_string(l));
	return json_pack("{s:b,s:o,s:o,s:I,s:i,s:i,s:b}", "compatible", v->nproblems == 0,
			 "missing", missing, "problems", problems, "missing_xsave_components",
			 (json_int_t)v->missing_xcr0, "guest_xsave_size", (int)v->guest_xsave_size,
			 "host_xsave_size", (int)v->host_xsave_size, "feature_msrs_checked",
			 v->msrs_unchecked == 0);
}
