/* SPDX-License-Identifier: MIT */
/* The CPU check before a restore (snapshot/cpucheck.h). */
#include "snapshot/cpucheck.h"

#include <stdio.h>
#include <string.h>

#include "cpu/filter.h"
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
							(int)b, "text", desc));
		}
	}
	snprintf(copy, sizeof(copy), "%s", v->text);
	for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		json_array_append_new(problems, json_string(l));
	return json_pack("{s:b,s:o,s:o,s:I,s:i,s:i}", "compatible", v->nproblems == 0, "missing",
			 missing, "problems", problems, "missing_xsave_components",
			 (json_int_t)v->missing_xcr0, "guest_xsave_size", (int)v->guest_xsave_size,
			 "host_xsave_size", (int)v->host_xsave_size);
}
